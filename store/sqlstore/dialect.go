package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// dialect is what differs between the engines: how SQL is spelled (placeholders, row locks,
// prefix match), how times are encoded, how constraint errors are told apart, and the two
// operations whose concurrency guarantee each engine gets its own way (opening a rule case,
// claiming notifications). Everything else is one SQL text run on both.
type dialect struct {
	name string
	// dollar rebinds "?" placeholders to PostgreSQL's "$1, $2, ...".
	dollar bool
	// unixTime stores times as INTEGER unix nanoseconds (SQLite) instead of TIMESTAMPTZ.
	unixTime bool
	// forUpdate is appended to a SELECT that reads a row to be rewritten in the transaction.
	forUpdate string
	// startsWith is the condition "key starts with the one argument".
	startsWith string
	// constraint classifies a constraint violation.
	constraint func(err error) violation
	// openCase inserts a case or, for a rule case whose (rule, key) has an open case, bumps the
	// open one; inserted tells which (see store.Cases.CreateCase).
	openCase func(ctx context.Context, d *dialect, tx conn, c *lanewatch.Case, occurrences int, lastSeen time.Time) (id int64, inserted bool, err error)
	// claim leases due pending notifications (see store.Outbox.ClaimNotifications).
	claim func(ctx context.Context, s *Store, now, leaseUntil time.Time, limit int) ([]*store.Notification, error)
}

// violation is a constraint failure the store maps to a domain error code.
type violation int

const (
	noViolation violation = iota
	uniqueViolation
	foreignKeyViolation
)

func sqliteConstraint(err error) violation {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return noViolation
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return uniqueViolation
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return foreignKeyViolation
	}
	return noViolation
}

func postgresConstraint(err error) violation {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return noViolation
	}
	switch e.Code {
	case "23505":
		return uniqueViolation
	case "23503":
		return foreignKeyViolation
	}
	return noViolation
}

// binder rebinds "?" placeholders for the dialect. Rebinding is one pass over the query text,
// far below a round trip to the server, so nothing is cached.
type binder struct {
	dollar bool
}

// bind returns q with "?" replaced by "$1", "$2", ... when the dialect numbers placeholders.
// The store's SQL has no "?" inside string literals.
func (b *binder) bind(q string) string {
	if !b.dollar || !strings.Contains(q, "?") {
		return q
	}
	var sb strings.Builder
	sb.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(n))
			continue
		}
		sb.WriteByte(q[i])
	}
	return sb.String()
}

// execer is what *sql.DB and *sql.Tx have in common.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn runs SQL written with "?" placeholders on a database or transaction of the dialect.
type conn struct {
	e execer
	b *binder
}

func (c conn) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.e.ExecContext(ctx, c.b.bind(q), args...)
}

// query runs a query for collect or each.
func (c conn) query(ctx context.Context, q string, args ...any) result {
	rs, err := c.e.QueryContext(ctx, c.b.bind(q), args...)
	return result{rs: rs, err: err}
}

// result is the outcome of a query, consumed by collect or each.
type result struct {
	rs  *sql.Rows
	err error
}

func (c conn) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return c.e.QueryRowContext(ctx, c.b.bind(q), args...)
}

// Time is the one encoding of every time column, a sql.Scanner and driver.Valuer: INTEGER unix
// nanoseconds on SQLite (0 is the zero time) and TIMESTAMPTZ on PostgreSQL; NULL is an absent
// optional time. Times read back are in UTC. Values are built by the dialect (t, tp, tz)
// and scan destinations with scanT and scanTP.
type Time struct {
	v    time.Time
	null bool // write NULL
	unix bool // write unix nanoseconds

	dst  *time.Time  // Scan into a time (NULL is the zero time)
	pdst **time.Time // Scan into an optional time (NULL is nil)
}

var (
	_ driver.Valuer = Time{}
	_ sql.Scanner   = (*Time)(nil)
)

// Value encodes the time for the dialect it was made for.
func (t Time) Value() (driver.Value, error) {
	switch {
	case t.null:
		return nil, nil
	case !t.unix:
		return t.v, nil
	case t.v.IsZero():
		return int64(0), nil
	}
	return t.v.UnixNano(), nil
}

// Scan decodes either encoding into the destination.
func (t *Time) Scan(src any) error {
	var (
		v     time.Time
		valid = true
	)
	switch x := src.(type) {
	case nil:
		valid = false
	case int64:
		if x != 0 {
			v = time.Unix(0, x).UTC()
		}
	case time.Time:
		if !x.IsZero() {
			v = x.UTC()
		}
	default:
		return fmt.Errorf("time column: cannot decode %T", src)
	}
	switch {
	case t.pdst != nil && valid:
		*t.pdst = &v
	case t.pdst != nil:
		*t.pdst = nil
	case t.dst != nil:
		*t.dst = v
	}
	return nil
}

// scanT is a Scan destination for a time column.
func scanT(dst *time.Time) *Time { return &Time{dst: dst} }

// scanTP is a Scan destination for an optional time column.
func scanTP(dst **time.Time) *Time { return &Time{pdst: dst} }

// t encodes a time for a NOT NULL column.
func (d *dialect) t(v time.Time) Time { return Time{v: v, unix: d.unixTime} }

// tp encodes an optional time: nil is NULL.
func (d *dialect) tp(v *time.Time) Time {
	if v == nil {
		return Time{null: true}
	}
	return Time{v: *v, unix: d.unixTime}
}

// tz encodes a time whose zero means "none yet": NULL on PostgreSQL, 0 on SQLite (whose
// columns of this kind are NOT NULL DEFAULT 0).
func (d *dialect) tz(v time.Time) Time {
	if v.IsZero() && !d.unixTime {
		return Time{null: true}
	}
	return Time{v: v, unix: d.unixTime}
}
