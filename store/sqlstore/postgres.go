package sqlstore

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
	"github.com/lanewatch/lanewatch/store/migrations"
)

// PostgresOptions configures OpenPostgres.
type PostgresOptions struct {
	// DSN is a PostgreSQL connection string (URL or keyword/value); pool settings such as
	// pool_max_conns may be given in it. Required.
	DSN string
	// Logger receives migration progress; nil discards it.
	Logger *slog.Logger
}

// Validate checks o.
func (o *PostgresOptions) Validate() error {
	if o.DSN == "" {
		return lanewatch.Errorf(lanewatch.EInvalid, "postgres: dsn is required")
	}
	return nil
}

// Postgres is the store on PostgreSQL: the common Store plus what only PostgreSQL offers to a
// cluster of nodes, leader election (NewLeader) and notifications (Notify, Listen).
type Postgres struct {
	*Store
	pool *pgxpool.Pool
}

var _ store.Store = (*Postgres)(nil)

func postgresDialect() *dialect {
	return &dialect{
		name:       "postgres",
		dollar:     true,
		forUpdate:  ` FOR UPDATE`,
		startsWith: `starts_with(key, ?)`,
		constraint: postgresConstraint,
		openCase:   postgresOpenCase,
		claim:      postgresClaim,
	}
}

// OpenPostgres connects to the database through a pgx pool configured from the DSN, applies
// pending migrations (under an advisory lock) and returns the store. SQL runs through
// database/sql on that pool (pgx's stdlib adapter).
func OpenPostgres(ctx context.Context, o PostgresOptions) (*Postgres, error) {
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
	d := postgresDialect()
	db := stdlib.OpenDBFromPool(pool)
	if err := migrations.Up(ctx, db, migrations.Postgres, o.Logger, goMigrations(d)...); err != nil {
		_ = db.Close()
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	closeFn := func() error {
		err := db.Close() // does not close the pool
		pool.Close()
		return err
	}
	return &Postgres{Store: newStore(d, db, db, closeFn, o.Logger), pool: pool}, nil
}

// postgresOpenCase is one INSERT ... ON CONFLICT on the partial unique index of open rule
// cases, so concurrent callers on any number of connections or nodes open exactly one case.
func postgresOpenCase(ctx context.Context, d *dialect, tx conn, c *lanewatch.Case, occurrences int, lastSeen time.Time) (int64, bool, error) {
	var (
		id       int64
		inserted bool
	)
	// xmax is 0 on a freshly inserted row and the locking transaction's id on an updated one.
	err := tx.queryRow(ctx, insertCaseSQL+`
		ON CONFLICT (rule, key) WHERE rule <> '' AND status NOT IN ('closed', 'rejected')
		DO UPDATE SET occurrences = cases.occurrences + 1, last_seen_at = EXCLUDED.last_seen_at
		RETURNING id, xmax = 0`, caseArgs(d, c, occurrences, lastSeen)...).Scan(&id, &inserted)
	return id, inserted, err
}

// postgresClaim leases due pending notifications with one UPDATE over FOR UPDATE SKIP LOCKED,
// so several nodes share the work.
func postgresClaim(ctx context.Context, s *Store, now, leaseUntil time.Time, limit int) ([]*store.Notification, error) {
	out, err := collect(s.w().query(ctx, `UPDATE notifications SET next_attempt = ? WHERE id IN (
		SELECT id FROM notifications WHERE status = 'pending' AND next_attempt <= ?
		ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED)
		RETURNING `+notificationCols, s.d.t(leaseUntil), s.d.t(now), limit), scanNotification)
	if err != nil {
		return nil, err
	}
	// RETURNING has no order: oldest first by id.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].ID < out[j-1].ID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}
