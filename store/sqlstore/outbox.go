package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

const notificationCols = `id, key, channel, recipient, event, case_id, payload, status, attempts,
	next_attempt, last_error, created_at, sent_at`

func scanNotification(row scanner) (*store.Notification, error) {
	var n store.Notification
	if err := row.Scan(&n.ID, &n.Key, &n.Channel, &n.Recipient, &n.Event, &n.CaseID, &n.Payload,
		&n.Status, &n.Attempts, scanT(&n.NextAttempt), &n.LastError, scanT(&n.CreatedAt), scanTP(&n.SentAt)); err != nil {
		return nil, err
	}
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
	err := s.w().queryRow(ctx, `INSERT INTO notifications (key, channel, recipient, event,
		case_id, payload, status, attempts, next_attempt, last_error, created_at)
		VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, '', ?) ON CONFLICT (key) DO NOTHING RETURNING id`,
		n.Key, n.Channel, cleanText(n.Recipient), n.Event, n.CaseID, payload,
		s.d.t(n.NextAttempt), s.d.t(n.CreatedAt)).Scan(&id)
	if isNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("enqueue notification %q: %w", n.Key, err)
	}
	n.ID, n.Status, n.Attempts = id, store.NotificationPending, 0
	return true, nil
}

// ClaimNotifications leases due pending notifications; see store.Outbox. How depends on the
// engine (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the single writer).
func (s *Store) ClaimNotifications(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*store.Notification, error) {
	out, err := s.d.claim(ctx, s, now, leaseUntil, store.ClampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("claim notifications: %w", err)
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
	n, err := affected(s.w().exec(ctx, `UPDATE notifications SET status = ?, attempts = attempts + 1,
		next_attempt = ?, last_error = ?, sent_at = ? WHERE id = ?`,
		status, s.d.t(next), cleanText(lastError), s.d.tp(sent), id))
	if err != nil {
		return fmt.Errorf("finish notification %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("finish notification %d: %w", id, lanewatch.Errorf(lanewatch.ENotFound, "notification %d not found", id))
	}
	return nil
}

// GetNotification returns a notification by key; ENotFound if absent.
func (s *Store) GetNotification(ctx context.Context, key string) (*store.Notification, error) {
	n, err := scanNotification(s.r().queryRow(ctx, `SELECT `+notificationCols+`
		FROM notifications WHERE key = ?`, key))
	if isNoRows(err) {
		return nil, lanewatch.Errorf(lanewatch.ENotFound, "notification %q not found", key)
	}
	if err != nil {
		return nil, fmt.Errorf("get notification %q: %w", key, err)
	}
	return n, nil
}

// CountNotifications returns the number of notifications per status.
func (s *Store) CountNotifications(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := each(s.r().query(ctx, `SELECT status, COUNT(*) FROM notifications GROUP BY status`), func(row scanner) error {
		var (
			st string
			n  int
		)
		err := row.Scan(&st, &n)
		out[st] = n
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("count notifications: %w", err)
	}
	return out, nil
}
