package sqlstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Leader is a leader election among the nodes sharing one database: the node holding the
// session advisory lock of its name (pg_try_advisory_lock on a dedicated connection, outside
// the pool) is the leader. The lock goes away with the connection, so a node that dies or loses
// the database hands leadership over to the next node that tries.
//
// A leader that loses its connection notices at its next check (Interval) and steps down;
// until then two nodes may both believe they lead, so work run on the leader must still be
// safe to repeat (it is: see ARCHITECTURE.md, Multi-node).
type Leader struct {
	s        *Postgres
	key      int64
	name     string
	interval time.Duration
	logger   *slog.Logger
	leading  atomic.Bool
	held     bool // lock held on the current connection; Run's goroutine only
}

// NewLeader returns an election for name (hashed into the advisory lock key), checked every
// interval (default 2s). Run drives it.
func (s *Postgres) NewLeader(name string, interval time.Duration, logger *slog.Logger) *Leader {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := fnv.New64a()
	h.Write([]byte("lanewatch/leader/" + name))
	return &Leader{s: s, key: int64(h.Sum64()), name: name, interval: interval, logger: logger.With("component", "leader", "election", name)}
}

// IsLeader reports whether this node held the lock at the last check.
func (l *Leader) IsLeader() bool { return l.leading.Load() }

// Run campaigns until ctx ends: it connects, tries the lock every interval while not leading,
// and pings the connection every interval while leading. onChange (may be nil) is called
// with each change of leadership. On return the lock is released (the connection closed).
func (l *Leader) Run(ctx context.Context, onChange func(leading bool)) error {
	var conn *pgx.Conn
	set := func(v bool) {
		if l.leading.Swap(v) != v {
			l.logger.Info("leadership changed", "leading", v)
			if onChange != nil {
				onChange(v)
			}
		}
	}
	drop := func() {
		set(false)
		if conn != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = conn.Close(cctx)
			cancel()
			conn = nil
		}
	}
	defer drop()
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		if err := l.check(ctx, &conn); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			l.logger.Warn("leader election", "err", err)
			drop()
		} else {
			set(conn != nil && l.held)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// check runs one round on *conn (connecting when nil): try the lock, or confirm it is held.
func (l *Leader) check(ctx context.Context, conn **pgx.Conn) error {
	cctx, cancel := context.WithTimeout(ctx, l.interval+5*time.Second)
	defer cancel()
	if *conn == nil {
		l.held = false
		c, err := pgx.ConnectConfig(cctx, l.s.pool.Config().ConnConfig.Copy())
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		*conn = c
	}
	if l.held {
		// The lock lives as long as the session: a working connection still holds it.
		if err := (*conn).Ping(cctx); err != nil {
			l.held = false
			return fmt.Errorf("ping: %w", err)
		}
		return nil
	}
	var got bool
	if err := (*conn).QueryRow(cctx, `SELECT pg_try_advisory_lock($1)`, l.key).Scan(&got); err != nil {
		return fmt.Errorf("try lock: %w", err)
	}
	l.held = got
	return nil
}
