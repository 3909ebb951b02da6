package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
	"github.com/lanewatch/lanewatch/store/migrations"
)

// Options configures Open.
type Options struct {
	// DSN is a PostgreSQL connection string (URL or keyword/value); pool settings such as
	// pool_max_conns may be given in it. Required.
	DSN string
	// Logger receives migration progress; nil discards it.
	Logger *slog.Logger
}

// Validate checks o.
func (o *Options) Validate() error {
	if o.DSN == "" {
		return lanewatch.Errorf(lanewatch.EInvalid, "postgres: dsn is required")
	}
	return nil
}

// Store is a store.Store on PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
}

var _ store.Store = (*Store)(nil)

// Open connects to the database, applies pending migrations and returns the store.
func Open(ctx context.Context, o Options) (*Store, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(o.DSN)
	if err != nil {
		// The parse error may quote the DSN, password included: keep only its kind.
		return nil, lanewatch.Errorf(lanewatch.EInvalid, "postgres: invalid dsn")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", cfg.ConnConfig.Host, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	db := stdlib.OpenDBFromPool(pool)
	err = migrations.Up(ctx, db, migrations.Postgres, o.Logger)
	_ = db.Close() // does not close the pool
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &Store{pool: pool, logger: o.Logger.With("component", "store.postgres")}, nil
}

// Ping checks the database connection.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes every connection of the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// inTx runs fn in a transaction and commits it when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// PostgreSQL error codes the store maps to domain errors.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// utc returns t in UTC (pgx reads timestamptz in the local zone).
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := utc(*t)
	return &u
}

// parseID parses a decimal row id; ok is false for anything else.
func parseID(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// parseCursor parses a numeric cursor; "" is 0 (the start).
func parseCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, ok := parseID(s)
	if !ok {
		return 0, lanewatch.Errorf(lanewatch.EInvalid, "cursor: %q is not a valid cursor", s)
	}
	return n, nil
}

// where builds a conjunction with numbered placeholders.
type where struct {
	conds []string
	args  []any
}

// add appends cond, in which "?" stands for v's placeholder.
func (w *where) add(cond string, v any) {
	w.args = append(w.args, v)
	w.conds = append(w.conds, strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1))
}

// sql returns " WHERE ..." or "".
func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// next returns the placeholder for one more argument v.
func (w *where) next(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// cleanText makes s storable as PostgreSQL text: invalid UTF-8 and NUL bytes are replaced with
// U+FFFD.
func cleanText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
