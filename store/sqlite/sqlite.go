package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
	"github.com/lanewatch/lanewatch/store/migrations"

	"modernc.org/sqlite" // also registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"
)

// Options configures Open.
type Options struct {
	// Path is the database file; it is created if missing. Required.
	Path string
	// Logger receives migration progress; nil discards it.
	Logger *slog.Logger
	// BusyTimeout is how long a connection waits for a lock held by another process
	// (default 5s).
	BusyTimeout time.Duration
	// MaxReaders bounds the read connections (default max(4, GOMAXPROCS)).
	MaxReaders int
}

// Validate checks o.
func (o *Options) Validate() error {
	if o.Path == "" {
		return lanewatch.Errorf(lanewatch.EInvalid, "sqlite: path is required")
	}
	if strings.ContainsAny(o.Path, "?#") || strings.HasPrefix(o.Path, "file:") || strings.HasPrefix(o.Path, ":memory:") {
		return lanewatch.Errorf(lanewatch.EInvalid, "sqlite: path %q: must be a plain file name", o.Path)
	}
	return nil
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.MaxReaders <= 0 {
		o.MaxReaders = max(4, runtime.GOMAXPROCS(0))
	}
}

// Store is a store.Store on SQLite. It is safe for concurrent use.
type Store struct {
	w      *sql.DB // exactly one connection: every write transaction
	r      *sql.DB // read-only connections
	logger *slog.Logger
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at o.Path, applies pending migrations and
// returns the store.
func Open(ctx context.Context, o Options) (*Store, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o.setDefaults()
	common := url.Values{}
	common.Add("_pragma", "busy_timeout("+strconv.FormatInt(o.BusyTimeout.Milliseconds(), 10)+")")
	common.Add("_pragma", "foreign_keys(1)")
	common.Add("_pragma", "synchronous(NORMAL)")

	wq := url.Values{}
	for k, v := range common {
		wq[k] = append([]string(nil), v...)
	}
	wq.Add("_pragma", "journal_mode(WAL)")
	wq.Set("_txlock", "immediate") // take the write lock at BEGIN: no deadlock-prone upgrades
	w, err := sql.Open("sqlite", o.Path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", o.Path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", o.Path, err)
	}
	if err := migrations.Up(ctx, w, migrations.SQLite, o.Logger); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", o.Path, err)
	}

	rq := common
	rq.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", o.Path+"?"+rq.Encode())
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", o.Path, err)
	}
	r.SetMaxOpenConns(o.MaxReaders)
	r.SetMaxIdleConns(o.MaxReaders)
	r.SetConnMaxIdleTime(5 * time.Minute)
	return &Store{w: w, r: r, logger: o.Logger.With("component", "store.sqlite")}, nil
}

// Ping checks that both connection pools answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close closes the database, checkpointing the WAL.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// queryer is what reads need; *sql.DB and *sql.Tx both have it.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in a write transaction and commits it when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Times are stored as unix nanoseconds; 0 stands for the zero time.

func encTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func decTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func encTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return encTime(*t)
}

func decTimePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := decTime(n.Int64)
	return &t
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
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

// placeholders returns "?, ?, ..." with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY constraint failure.
func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}
