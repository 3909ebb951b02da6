package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// Store is a store.Store on a SQL database, SQLite or PostgreSQL. It is safe for concurrent use.
type Store struct {
	d      *dialect
	b      *binder
	wdb    *sql.DB // writes and transactions (SQLite: exactly one connection)
	rdb    *sql.DB // reads (SQLite: read-only connections; PostgreSQL: wdb)
	close  func() error
	logger *slog.Logger
}

var _ store.Store = (*Store)(nil)

func newStore(d *dialect, w, r *sql.DB, closeFn func() error, logger *slog.Logger) *Store {
	return &Store{d: d, b: &binder{dollar: d.dollar}, wdb: w, rdb: r, close: closeFn,
		logger: logger.With("component", "store."+d.name)}
}

// w is the connection for writes.
func (s *Store) w() conn { return conn{e: s.wdb, b: s.b} }

// r is the connection for reads.
func (s *Store) r() conn { return conn{e: s.rdb, b: s.b} }

// Ping checks that the database answers (on SQLite both connection pools).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.wdb.PingContext(ctx); err != nil {
		return fmt.Errorf("%s: ping: %w", s.d.name, err)
	}
	if s.rdb != s.wdb {
		if err := s.rdb.PingContext(ctx); err != nil {
			return fmt.Errorf("%s: ping: %w", s.d.name, err)
		}
	}
	return nil
}

// Close releases the database (on SQLite checkpointing the WAL).
func (s *Store) Close() error { return s.close() }

// inTx runs fn in a write transaction and commits it when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx conn) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(conn{e: tx, b: s.b}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// affected returns the rows a statement changed.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
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

// rows returns "(?, ?), (?, ?), ..." with n tuples of width marks.
func rows(n, width int) string {
	tuple := "(" + placeholders(width) + ")"
	return strings.TrimSuffix(strings.Repeat(tuple+", ", n), ", ")
}

// cleanText makes s storable as text in every supported database: invalid UTF-8 and NUL bytes
// are replaced with U+FFFD.
func cleanText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// collect scans every row with scan; the result is never nil.
func collect[T any](q result, scan func(scanner) (T, error)) ([]T, error) {
	if q.err != nil {
		return nil, q.err
	}
	rs := q.rs
	defer rs.Close()
	out := []T{}
	for rs.Next() {
		v, err := scan(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// each calls fn with every row.
func each(q result, fn func(scanner) error) error {
	if q.err != nil {
		return q.err
	}
	rs := q.rs
	defer rs.Close()
	for rs.Next() {
		if err := fn(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}

// isNoRows reports whether err is sql.ErrNoRows.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
