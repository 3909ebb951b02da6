package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

const notificationCols = `id, key, channel, recipient, event, case_id, payload, status, attempts,
	next_attempt, last_error, created_at, sent_at`

func scanNotification(row pgx.Row) (*store.Notification, error) {
	var n store.Notification
	if err := row.Scan(&n.ID, &n.Key, &n.Channel, &n.Recipient, &n.Event, &n.CaseID, &n.Payload,
		&n.Status, &n.Attempts, &n.NextAttempt, &n.LastError, &n.CreatedAt, &n.SentAt); err != nil {
		return nil, err
	}
	n.NextAttempt, n.CreatedAt, n.SentAt = utc(n.NextAttempt), utc(n.CreatedAt), utcPtr(n.SentAt)
	return &n, nil
}

// EnqueueNotification inserts n as pending unless its key exists; see store.Outbox.
func (s *Store) EnqueueNotification(ctx context.Context, n *store.Notification) (bool, error) {
	if n.Key == "" || n.Channel == "" {
		return false, lanewatch.Errorf(lanewatch.EInvalid, "notification: key and channel are required")
	}
	payload := n.Payload
	if payload == nil {
		payload = []byte{}
	}
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO notifications (key, channel, recipient, event,
		case_id, payload, status, attempts, next_attempt, last_error, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, '', $8) ON CONFLICT (key) DO NOTHING RETURNING id`,
		n.Key, n.Channel, cleanText(n.Recipient), n.Event, n.CaseID, payload, n.NextAttempt, n.CreatedAt).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("enqueue notification %q: %w", n.Key, err)
	}
	n.ID, n.Status, n.Attempts = id, store.NotificationPending, 0
	return true, nil
}

// ClaimNotifications leases due pending notifications (FOR UPDATE SKIP LOCKED, so several
// nodes share the work); see store.Outbox.
func (s *Store) ClaimNotifications(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*store.Notification, error) {
	limit = store.ClampLimit(limit)
	rows, err := s.pool.Query(ctx, `UPDATE notifications SET next_attempt = $1 WHERE id IN (
		SELECT id FROM notifications WHERE status = 'pending' AND next_attempt <= $2
		ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+notificationCols, leaseUntil, now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim notifications: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.Notification, error) {
		return scanNotification(row)
	})
	if err != nil {
		return nil, fmt.Errorf("claim notifications: %w", err)
	}
	// RETURNING has no order: oldest first by id.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].ID < out[j-1].ID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// FinishNotification records the outcome of one delivery attempt; see store.Outbox.
func (s *Store) FinishNotification(ctx context.Context, id int64, status string, at, next time.Time, lastError string) error {
	switch status {
	case store.NotificationPending, store.NotificationSent, store.NotificationFailed:
	default:
		return lanewatch.Errorf(lanewatch.EInvalid, "notification status %q is not pending, sent or failed", status)
	}
	var sent *time.Time
	if status == store.NotificationSent {
		sent = &at
	}
	tag, err := s.pool.Exec(ctx, `UPDATE notifications SET status = $1, attempts = attempts + 1,
		next_attempt = $2, last_error = $3, sent_at = $4 WHERE id = $5`,
		status, next, cleanText(lastError), sent, id)
	if err != nil {
		return fmt.Errorf("finish notification %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("finish notification %d: %w", id, lanewatch.Errorf(lanewatch.ENotFound, "notification %d not found", id))
	}
	return nil
}

// GetNotification returns a notification by key; ENotFound if absent.
func (s *Store) GetNotification(ctx context.Context, key string) (*store.Notification, error) {
	n, err := scanNotification(s.pool.QueryRow(ctx, `SELECT `+notificationCols+`
		FROM notifications WHERE key = $1`, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, lanewatch.Errorf(lanewatch.ENotFound, "notification %q not found", key)
	}
	if err != nil {
		return nil, fmt.Errorf("get notification %q: %w", key, err)
	}
	return n, nil
}

// CountNotifications returns the number of notifications per status.
func (s *Store) CountNotifications(ctx context.Context) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT status, COUNT(*) FROM notifications GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("count notifications: %w", err)
	}
	out := map[string]int{}
	var (
		st string
		n  int
	)
	_, err = pgx.ForEachRow(rows, []any{&st, &n}, func() error { out[st] = n; return nil })
	if err != nil {
		return nil, fmt.Errorf("count notifications: %w", err)
	}
	return out, nil
}
