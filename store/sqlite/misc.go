package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// cleanText makes s storable as text in every supported database: invalid UTF-8 and NUL bytes
// are replaced with U+FFFD.
func cleanText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// AddDeadLetter stores dl, writes the assigned ID back into dl and deletes all but the keep
// newest dead letters; keep <= 0 keeps everything. Text fields are stored with invalid UTF-8
// and NUL bytes replaced by U+FFFD.
func (s *Store) AddDeadLetter(ctx context.Context, dl *lanewatch.DeadLetter, keep int) error {
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO dead_letters
			(at, device_id, topic, kind, reason, error, payload) VALUES (?, ?, ?, ?, ?, ?, ?)
			RETURNING id`, encTime(dl.At), cleanText(dl.DeviceID), cleanText(dl.Topic),
			cleanText(dl.Kind), cleanText(dl.Reason), cleanText(dl.Error), cleanText(dl.Payload)).Scan(&id)
		if err != nil || keep <= 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM dead_letters WHERE id <= (SELECT id
			FROM dead_letters ORDER BY id DESC LIMIT 1 OFFSET ?)`, keep)
		return err
	})
	if err != nil {
		return fmt.Errorf("add dead letter: %w", err)
	}
	dl.ID = id
	return nil
}

// ListDeadLetters returns dead letters newest first, after cursor (the last ID of the previous
// page), and the cursor of the next page ("" at the end).
func (s *Store) ListDeadLetters(ctx context.Context, limit int, cursor string) ([]*lanewatch.DeadLetter, string, error) {
	limit = store.ClampLimit(limit)
	after, err := parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	if after == 0 {
		after = 1<<63 - 1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, device_id, topic, kind, reason, error, payload
		FROM dead_letters WHERE id < ? ORDER BY id DESC LIMIT ?`, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list dead letters: %w", err)
	}
	defer rows.Close()
	out := make([]*lanewatch.DeadLetter, 0, min(limit, 64))
	for rows.Next() {
		var (
			dl lanewatch.DeadLetter
			at int64
		)
		if err := rows.Scan(&dl.ID, &at, &dl.DeviceID, &dl.Topic, &dl.Kind, &dl.Reason, &dl.Error, &dl.Payload); err != nil {
			return nil, "", fmt.Errorf("list dead letters: %w", err)
		}
		dl.At = decTime(at)
		out = append(out, &dl)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list dead letters: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = strconv.FormatInt(out[limit-1].ID, 10)
	}
	return out, next, nil
}

// GetState returns the value under key; ENotFound if absent.
func (s *Store) GetState(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.r.QueryRowContext(ctx, `SELECT value FROM states WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lanewatch.Errorf(lanewatch.ENotFound, "state %q not found", key)
	}
	if err != nil {
		return nil, fmt.Errorf("get state %q: %w", key, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// PutState stores value under key, replacing any previous value.
func (s *Store) PutState(ctx context.Context, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO states (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		key, value, time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("put state %q: %w", key, err)
	}
	return nil
}

// WriteStates applies puts and deletes in one transaction.
func (s *Store) WriteStates(ctx context.Context, ws []store.StateWrite) error {
	if len(ws) == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, w := range ws {
			var err error
			if w.Value == nil {
				_, err = tx.ExecContext(ctx, `DELETE FROM states WHERE key = ?`, w.Key)
			} else {
				_, err = tx.ExecContext(ctx, `INSERT INTO states (key, value, updated_at) VALUES (?, ?, ?)
					ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, w.Key, w.Value, now)
			}
			if err != nil {
				return fmt.Errorf("%q: %w", w.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write states: %w", err)
	}
	return nil
}

// ListStates returns all keys with the prefix and their values.
func (s *Store) ListStates(ctx context.Context, prefix string) (map[string][]byte, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, value FROM states
		WHERE substr(key, 1, length(?1)) = ?1`, prefix)
	if err != nil {
		return nil, fmt.Errorf("list states %q: %w", prefix, err)
	}
	defer rows.Close()
	out := make(map[string][]byte)
	for rows.Next() {
		var (
			k string
			v []byte
		)
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("list states %q: %w", prefix, err)
		}
		if v == nil {
			v = []byte{}
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list states %q: %w", prefix, err)
	}
	return out, nil
}

// DeleteState removes key; absent keys are not an error.
func (s *Store) DeleteState(ctx context.Context, key string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM states WHERE key = ?`, key); err != nil {
		return fmt.Errorf("delete state %q: %w", key, err)
	}
	return nil
}
