package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// AddDeadLetter stores dl, writes the assigned ID back into dl and deletes all but the keep
// newest dead letters; keep <= 0 keeps everything. Text fields are stored with invalid UTF-8
// and NUL bytes replaced by U+FFFD.
func (s *Store) AddDeadLetter(ctx context.Context, dl *lanewatch.DeadLetter, keep int) error {
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO dead_letters
			(at, device_id, topic, kind, reason, error, payload) VALUES ($1, $2, $3, $4, $5, $6, $7)
			RETURNING id`, dl.At, cleanText(dl.DeviceID), cleanText(dl.Topic), cleanText(dl.Kind),
			cleanText(dl.Reason), cleanText(dl.Error), cleanText(dl.Payload)).Scan(&id)
		if err != nil || keep <= 0 {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM dead_letters WHERE id <= (SELECT id FROM dead_letters
			ORDER BY id DESC LIMIT 1 OFFSET $1)`, keep)
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
	rows, err := s.pool.Query(ctx, `SELECT id, at, device_id, topic, kind, reason, error, payload
		FROM dead_letters WHERE id < $1 ORDER BY id DESC LIMIT $2`, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list dead letters: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*lanewatch.DeadLetter, error) {
		var dl lanewatch.DeadLetter
		err := row.Scan(&dl.ID, &dl.At, &dl.DeviceID, &dl.Topic, &dl.Kind, &dl.Reason, &dl.Error, &dl.Payload)
		dl.At = utc(dl.At)
		return &dl, err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list dead letters: %w", err)
	}
	if out == nil {
		out = []*lanewatch.DeadLetter{}
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
	err := s.pool.QueryRow(ctx, `SELECT value FROM states WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
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
	_, err := s.pool.Exec(ctx, `INSERT INTO states (key, value, updated_at) VALUES ($1, $2, now())
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
		key, value)
	if err != nil {
		return fmt.Errorf("put state %q: %w", key, err)
	}
	return nil
}

// WriteStates applies puts and deletes in one transaction (one batch round trip).
func (s *Store) WriteStates(ctx context.Context, ws []store.StateWrite) error {
	if len(ws) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, w := range ws {
			if w.Value == nil {
				b.Queue(`DELETE FROM states WHERE key = $1`, w.Key)
			} else {
				b.Queue(`INSERT INTO states (key, value, updated_at) VALUES ($1, $2, now())
					ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`, w.Key, w.Value)
			}
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("write states: %w", err)
	}
	return nil
}

// ListStates returns all keys with the prefix and their values.
func (s *Store) ListStates(ctx context.Context, prefix string) (map[string][]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT key, value FROM states WHERE starts_with(key, $1)`, prefix)
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
	if _, err := s.pool.Exec(ctx, `DELETE FROM states WHERE key = $1`, key); err != nil {
		return fmt.Errorf("delete state %q: %w", key, err)
	}
	return nil
}
