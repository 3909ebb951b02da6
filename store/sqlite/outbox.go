package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

const notificationCols = `id, key, channel, recipient, event, case_id, payload, status, attempts,
	next_attempt, last_error, created_at, sent_at`

func scanNotification(row interface{ Scan(...any) error }) (*store.Notification, error) {
	var (
		n             store.Notification
		next, created int64
		sent          sql.NullInt64
	)
	if err := row.Scan(&n.ID, &n.Key, &n.Channel, &n.Recipient, &n.Event, &n.CaseID, &n.Payload,
		&n.Status, &n.Attempts, &next, &n.LastError, &created, &sent); err != nil {
		return nil, err
	}
	n.NextAttempt, n.CreatedAt, n.SentAt = decTime(next), decTime(created), decTimePtr(sent)
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
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO notifications (key, channel, recipient, event,
			case_id, payload, status, attempts, next_attempt, last_error, created_at)
			VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, '', ?) ON CONFLICT (key) DO NOTHING RETURNING id`,
			n.Key, n.Channel, cleanText(n.Recipient), n.Event, n.CaseID, payload,
			encTime(n.NextAttempt), encTime(n.CreatedAt)).Scan(&id)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("enqueue notification %q: %w", n.Key, err)
	}
	n.ID, n.Status, n.Attempts = id, store.NotificationPending, 0
	return true, nil
}

// ClaimNotifications leases due pending notifications; see store.Outbox.
func (s *Store) ClaimNotifications(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*store.Notification, error) {
	limit = store.ClampLimit(limit)
	var out []*store.Notification
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+notificationCols+` FROM notifications
			WHERE status = 'pending' AND next_attempt <= ? ORDER BY id LIMIT ?`,
			encTime(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			n, err := scanNotification(rows)
			if err != nil {
				return err
			}
			out = append(out, n)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		_ = rows.Close()
		if len(out) == 0 {
			return nil
		}
		ids := make([]any, 0, len(out)+1)
		ids = append(ids, encTime(leaseUntil))
		for _, n := range out {
			ids = append(ids, n.ID)
			n.NextAttempt = leaseUntil.UTC()
		}
		_, err = tx.ExecContext(ctx, `UPDATE notifications SET next_attempt = ? WHERE id IN (`+
			placeholders(len(out))+`)`, ids...)
		return err
	})
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
	var sent any
	if status == store.NotificationSent {
		sent = encTime(at)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE notifications SET status = ?, attempts = attempts + 1,
			next_attempt = ?, last_error = ?, sent_at = ? WHERE id = ?`,
			status, encTime(next), cleanText(lastError), sent, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return lanewatch.Errorf(lanewatch.ENotFound, "notification %d not found", id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish notification %d: %w", id, err)
	}
	return nil
}

// GetNotification returns a notification by key; ENotFound if absent.
func (s *Store) GetNotification(ctx context.Context, key string) (*store.Notification, error) {
	n, err := scanNotification(s.r.QueryRowContext(ctx, `SELECT `+notificationCols+`
		FROM notifications WHERE key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lanewatch.Errorf(lanewatch.ENotFound, "notification %q not found", key)
	}
	if err != nil {
		return nil, fmt.Errorf("get notification %q: %w", key, err)
	}
	return n, nil
}

// CountNotifications returns the number of notifications per status.
func (s *Store) CountNotifications(ctx context.Context) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT status, COUNT(*) FROM notifications GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("count notifications: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			st string
			n  int
		)
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count notifications: %w", err)
		}
		out[strings.Clone(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count notifications: %w", err)
	}
	return out, nil
}
