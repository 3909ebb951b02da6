package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// AddDeadLetter stores dl, writes the assigned ID back into dl and deletes all but the keep
// newest dead letters; keep <= 0 keeps everything. Text fields are stored with invalid UTF-8
// and NUL bytes replaced by U+FFFD.
func (s *Store) AddDeadLetter(ctx context.Context, dl *lanewatch.DeadLetter, keep int) error {
	var id int64
	err := s.inTx(ctx, func(tx conn) error {
		err := tx.queryRow(ctx, `INSERT INTO dead_letters
			(at, device_id, topic, kind, reason, error, payload) VALUES (?, ?, ?, ?, ?, ?, ?)
			RETURNING id`, s.d.t(dl.At), cleanText(dl.DeviceID), cleanText(dl.Topic),
			cleanText(dl.Kind), cleanText(dl.Reason), cleanText(dl.Error), cleanText(dl.Payload)).Scan(&id)
		if err != nil || keep <= 0 {
			return err
		}
		_, err = tx.exec(ctx, `DELETE FROM dead_letters WHERE id <= (SELECT id
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
	out, err := collect(s.r().query(ctx, `SELECT id, at, device_id, topic, kind, reason, error, payload
		FROM dead_letters WHERE id < ? ORDER BY id DESC LIMIT ?`, after, limit+1), func(row scanner) (*lanewatch.DeadLetter, error) {
		var dl lanewatch.DeadLetter
		err := row.Scan(&dl.ID, scanT(&dl.At), &dl.DeviceID, &dl.Topic, &dl.Kind, &dl.Reason, &dl.Error, &dl.Payload)
		return &dl, err
	})
	if err != nil {
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
	err := s.r().queryRow(ctx, `SELECT value FROM states WHERE key = ?`, key).Scan(&v)
	if isNoRows(err) {
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
	if err := s.WriteStates(ctx, []store.StateWrite{{Key: key, Value: value}}); err != nil {
		return fmt.Errorf("put state %q: %w", key, err)
	}
	return nil
}

// statesChunk bounds the rows of one statement of WriteStates (3 arguments each).
const statesChunk = 300

// WriteStates applies puts and deletes in one transaction. Only the last write of each key
// matters, so they are applied as one DELETE of the deleted keys and one upsert of the rest
// (per statesChunk keys): a few round trips whatever the number of writes.
func (s *Store) WriteStates(ctx context.Context, ws []store.StateWrite) error {
	if len(ws) == 0 {
		return nil
	}
	last := make(map[string]int, len(ws))
	for i, w := range ws {
		last[w.Key] = i
	}
	var dels, puts []any
	now := s.d.t(time.Now())
	for i, w := range ws {
		switch {
		case last[w.Key] != i:
		case w.Value == nil:
			dels = append(dels, w.Key)
		default:
			puts = append(puts, w.Key, w.Value, now)
		}
	}
	err := s.inTx(ctx, func(tx conn) error {
		for len(dels) > 0 {
			n := min(len(dels), statesChunk)
			if _, err := tx.exec(ctx, `DELETE FROM states WHERE key IN (`+placeholders(n)+`)`, dels[:n]...); err != nil {
				return err
			}
			dels = dels[n:]
		}
		for len(puts) > 0 {
			n := min(len(puts)/3, statesChunk)
			if _, err := tx.exec(ctx, `INSERT INTO states (key, value, updated_at) VALUES `+rows(n, 3)+`
				ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
				puts[:3*n]...); err != nil {
				return err
			}
			puts = puts[3*n:]
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
	out := make(map[string][]byte)
	err := each(s.r().query(ctx, `SELECT key, value FROM states WHERE `+s.d.startsWith, prefix), func(row scanner) error {
		var (
			k string
			v []byte
		)
		if err := row.Scan(&k, &v); err != nil {
			return err
		}
		if v == nil {
			v = []byte{}
		}
		out[k] = v
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list states %q: %w", prefix, err)
	}
	return out, nil
}

// DeleteState removes key; absent keys are not an error.
func (s *Store) DeleteState(ctx context.Context, key string) error {
	if _, err := s.w().exec(ctx, `DELETE FROM states WHERE key = ?`, key); err != nil {
		return fmt.Errorf("delete state %q: %w", key, err)
	}
	return nil
}
