package sqlstore

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

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
	"github.com/lanewatch/lanewatch/store/migrations"
)

// SQLiteOptions configures OpenSQLite.
type SQLiteOptions struct {
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
func (o *SQLiteOptions) Validate() error {
	if o.Path == "" {
		return lanewatch.Errorf(lanewatch.EInvalid, "sqlite: path is required")
	}
	if strings.ContainsAny(o.Path, "?#") || strings.HasPrefix(o.Path, "file:") || strings.HasPrefix(o.Path, ":memory:") {
		return lanewatch.Errorf(lanewatch.EInvalid, "sqlite: path %q: must be a plain file name", o.Path)
	}
	return nil
}

func (o *SQLiteOptions) setDefaults() {
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

func sqliteDialect() *dialect {
	return &dialect{
		name:       "sqlite",
		unixTime:   true,
		startsWith: `substr(key, 1, length(?1)) = ?1`,
		constraint: sqliteConstraint,
		openCase:   sqliteOpenCase,
		claim:      sqliteClaim,
	}
}

// OpenSQLite opens (creating if needed) the database at o.Path, applies pending migrations and
// returns the store. Writes go through one connection (SQLite allows one writer at a time, so
// queuing in Go beats SQLITE_BUSY retries), reads through a pool of read-only connections that
// WAL mode lets run beside the writer.
func OpenSQLite(ctx context.Context, o SQLiteOptions) (*Store, error) {
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
	d := sqliteDialect()
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
	if err := migrations.Up(ctx, w, migrations.SQLite, o.Logger, goMigrations(d)...); err != nil {
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
	closeFn := func() error { return errors.Join(r.Close(), w.Close()) }
	return newStore(d, w, r, closeFn, o.Logger), nil
}

// sqliteOpenCase bumps the open case of (rule, key) if there is one, else inserts c. The
// single writer connection serializes it.
func sqliteOpenCase(ctx context.Context, d *dialect, tx conn, c *lanewatch.Case, occurrences int, lastSeen time.Time) (int64, bool, error) {
	if c.Rule != "" {
		var openID int64
		err := tx.queryRow(ctx, `UPDATE cases SET occurrences = occurrences + 1,
			last_seen_at = ? WHERE rule = ? AND key = ? AND status NOT IN ('closed', 'rejected')
			RETURNING id`, d.t(lastSeen), c.Rule, c.Key).Scan(&openID)
		switch {
		case err == nil:
			return openID, false, nil
		case !isNoRows(err):
			return 0, false, err
		}
	}
	var id int64
	err := tx.queryRow(ctx, insertCaseSQL+` RETURNING id`, caseArgs(d, c, occurrences, lastSeen)...).Scan(&id)
	return id, true, err
}

// sqliteClaim reads the due notifications and moves their next attempt, in one write
// transaction (which the single writer makes exclusive).
func sqliteClaim(ctx context.Context, s *Store, now, leaseUntil time.Time, limit int) ([]*store.Notification, error) {
	var out []*store.Notification
	err := s.inTx(ctx, func(tx conn) error {
		var err error
		out, err = collect(tx.query(ctx, `SELECT `+notificationCols+` FROM notifications
			WHERE status = 'pending' AND next_attempt <= ? ORDER BY id LIMIT ?`, s.d.t(now), limit), scanNotification)
		if err != nil || len(out) == 0 {
			return err
		}
		args := make([]any, 0, len(out)+1)
		args = append(args, s.d.t(leaseUntil))
		for _, n := range out {
			args = append(args, n.ID)
			n.NextAttempt = leaseUntil.UTC()
		}
		_, err = tx.exec(ctx, `UPDATE notifications SET next_attempt = ? WHERE id IN (`+
			placeholders(len(out))+`)`, args...)
		return err
	})
	if len(out) == 0 {
		out = nil
	}
	return out, err
}
