package sqlstore

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notify sends payload on a PostgreSQL notification channel (pg_notify); every node listening
// on it receives the payload, the sender included.
func (s *Postgres) Notify(ctx context.Context, channel, payload string) error {
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		return fmt.Errorf("notify %s: %w", channel, err)
	}
	return nil
}

// Listen calls fn with the payload of every notification on channel until ctx ends, on a
// dedicated connection that is re-established (after a pause of retry, default 2s) when it
// breaks. Notifications sent while the connection is down are lost; fn is also called with
// the empty payload after each (re)connection so the caller can catch up on what it missed.
func (s *Postgres) Listen(ctx context.Context, channel string, retry time.Duration, logger *slog.Logger, fn func(payload string)) error {
	if retry <= 0 {
		retry = 2 * time.Second
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	for {
		err := s.listenOnce(ctx, channel, fn)
		if ctx.Err() != nil {
			return nil
		}
		logger.Warn("listen: connection lost; reconnecting", "channel", channel, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retry):
		}
	}
}

func (s *Postgres) listenOnce(ctx context.Context, channel string, fn func(string)) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen %s: %w", channel, err)
	}
	fn("")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		fn(n.Payload)
	}
}
