package migrations

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strings"
	"testing/fstest"
	"text/template"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed sqlite/*.sql postgres/*.sql common/*.sql
var files embed.FS

// Dialect names a schema directory.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Types are the column types and table options a common/ migration names, per dialect: a
// common file is a text/template executed with the Types of the dialect being migrated.
type Types struct {
	Key    string // text compared byte by byte (ids, keys)
	Text   string // text
	Int    string // 64-bit integer
	Real   string // double precision
	Bool   string // boolean (INTEGER 0/1 on SQLite)
	Time   string // a time in the store's encoding (unix nanoseconds on SQLite)
	Blob   string // bytes
	Serial string // an auto-incremented 64-bit primary key, with its PRIMARY KEY clause
	Strict string // table options after the closing parenthesis
	False  string // the false literal
}

// TypesOf returns the types of dialect d.
func TypesOf(d Dialect) Types {
	if d == Postgres {
		return Types{Key: `text COLLATE "C"`, Text: "text", Int: "bigint", Real: "double precision",
			Bool: "boolean", Time: "timestamptz", Blob: "bytea",
			Serial: "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", False: "false"}
	}
	return Types{Key: "TEXT", Text: "TEXT", Int: "INTEGER", Real: "REAL", Bool: "INTEGER",
		Time: "INTEGER", Blob: "BLOB", Serial: "INTEGER PRIMARY KEY AUTOINCREMENT",
		Strict: " STRICT", False: "0"}
}

// FS returns the SQL migrations of dialect d: every common/ file rendered for d, and the files
// of d's own directory, which win over a common file of the same version.
func FS(d Dialect) (fs.FS, error) {
	switch d {
	case SQLite, Postgres:
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q", d)
	}
	out := fstest.MapFS{}
	versions := map[string]string{} // version prefix -> file name
	own, err := fs.Glob(files, string(d)+"/*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	for _, name := range own {
		b, err := files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		base := path.Base(name)
		out[base] = &fstest.MapFile{Data: b}
		versions[version(base)] = base
	}
	common, err := fs.Glob(files, "common/*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	types := TypesOf(d)
	for _, name := range common {
		base := path.Base(name)
		if _, ok := versions[version(base)]; ok {
			continue // the dialect overrides it
		}
		b, err := files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		t, err := template.New(base).Option("missingkey=error").Parse(string(b))
		if err != nil {
			return nil, fmt.Errorf("migrations: %s: %w", name, err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, types); err != nil {
			return nil, fmt.Errorf("migrations: %s: %w", name, err)
		}
		out[base] = &fstest.MapFile{Data: buf.Bytes()}
	}
	return out, nil
}

// version is the version part of a migration file name ("00007" of "00007_plaques.sql").
func version(name string) string {
	v, _, _ := strings.Cut(name, "_")
	return strings.TrimLeft(v, "0")
}

// Up applies every pending migration of dialect d to db: the SQL ones of FS(d) and the Go ones
// given (data moves, which the store writes with its own encodings; see doc.go). On PostgreSQL
// it holds a session advisory lock meanwhile, so several nodes starting at once migrate one
// after the other. A nil logger discards goose's progress messages.
func Up(ctx context.Context, db *sql.DB, d Dialect, logger *slog.Logger, goMigrations ...*goose.Migration) error {
	fsys, err := FS(d)
	if err != nil {
		return err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(logger.With("component", "migrations")),
		goose.WithGoMigrations(goMigrations...),
	}
	dialect := goose.DialectSQLite3
	if d == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("migrations: session locker: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("migrations: %s: %w", d, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: %s up: %w", d, err)
	}
	return nil
}
