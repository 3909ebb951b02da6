package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

const commandCols = `id, device_id, name, params, status, actor, created_at, expires_at, updated_at,
	attempts, result, history`

func scanCommand(row scanner) (*store.Command, error) {
	var (
		c       store.Command
		id      int64
		params  string
		result  sql.NullString
		history string
	)
	if err := row.Scan(&id, &c.DeviceID, &c.Name, &params, &c.Status, &c.Actor, scanT(&c.CreatedAt),
		scanT(&c.ExpiresAt), scanT(&c.UpdatedAt), &c.Attempts, &result, &history); err != nil {
		return nil, err
	}
	c.ID, c.Params = strconv.FormatInt(id, 10), []byte(params)
	if result.Valid {
		c.Result = []byte(result.String)
	}
	if err := json.Unmarshal([]byte(history), &c.History); err != nil {
		return nil, fmt.Errorf("command %d history: %w", id, err)
	}
	for i := range c.History {
		c.History[i].At = c.History[i].At.UTC()
	}
	return &c, nil
}

func encodeHistory(h []store.CommandEvent) (string, error) {
	if h == nil {
		h = []store.CommandEvent{}
	}
	b, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("encode history: %w", err)
	}
	return string(b), nil
}

func nullText(b []byte) sql.NullString {
	if b == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: cleanText(string(b)), Valid: true}
}

// CreateCommand inserts c; see store.Commands.
func (s *Store) CreateCommand(ctx context.Context, c *store.Command) error {
	if c.DeviceID == "" || c.Name == "" || c.Status == "" {
		return lanewatch.Errorf(lanewatch.EInvalid, "command: device, name and status are required")
	}
	params := string(c.Params)
	if params == "" {
		params = "{}"
	}
	hist, err := encodeHistory(c.History)
	if err != nil {
		return err
	}
	var id int64
	err = s.w().queryRow(ctx, `INSERT INTO commands (device_id, name, params, status, actor, created_at,
		expires_at, updated_at, attempts, result, history) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		cleanText(c.DeviceID), cleanText(c.Name), cleanText(params), c.Status, cleanText(c.Actor), s.d.t(c.CreatedAt),
		s.d.t(c.ExpiresAt), s.d.t(c.UpdatedAt), c.Attempts, nullText(c.Result), hist).Scan(&id)
	if err != nil {
		return fmt.Errorf("create command for %q: %w", c.DeviceID, err)
	}
	c.ID = strconv.FormatInt(id, 10)
	return nil
}

func commandNotFound(id string) error {
	return lanewatch.Errorf(lanewatch.ENotFound, "command %q not found", id)
}

// GetCommand returns a command; ENotFound if absent.
func (s *Store) GetCommand(ctx context.Context, id string) (*store.Command, error) {
	n, ok := parseID(id)
	if !ok {
		return nil, commandNotFound(id)
	}
	c, err := scanCommand(s.r().queryRow(ctx, `SELECT `+commandCols+` FROM commands WHERE id = ?`, n))
	if isNoRows(err) {
		return nil, commandNotFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("get command %q: %w", id, err)
	}
	return c, nil
}

// ListCommands returns a device's commands, newest first.
func (s *Store) ListCommands(ctx context.Context, deviceID string, limit int, cursor string) ([]*store.Command, string, error) {
	limit = store.ClampLimit(limit)
	before, err := parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	if before == 0 {
		before = 1<<63 - 1
	}
	out, err := collect(s.r().query(ctx, `SELECT `+commandCols+` FROM commands WHERE device_id = ? AND id < ?
		ORDER BY id DESC LIMIT ?`, deviceID, before, limit+1), scanCommand)
	if err != nil {
		return nil, "", fmt.Errorf("list commands of %q: %w", deviceID, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// PendingCommands returns a device's queued or sent commands that expire after now, oldest first.
func (s *Store) PendingCommands(ctx context.Context, deviceID string, now time.Time) ([]*store.Command, error) {
	out, err := collect(s.r().query(ctx, `SELECT `+commandCols+` FROM commands WHERE device_id = ?
		AND status IN ('queued', 'sent') AND expires_at > ? ORDER BY id`, deviceID, s.d.t(now)), scanCommand)
	if err != nil {
		return nil, fmt.Errorf("pending commands of %q: %w", deviceID, err)
	}
	return out, nil
}

// PendingCommandDevices returns the devices with a queued or sent command expiring after now.
func (s *Store) PendingCommandDevices(ctx context.Context, now time.Time) ([]string, error) {
	out, err := collect(s.r().query(ctx, `SELECT DISTINCT device_id FROM commands
		WHERE status IN ('queued', 'sent') AND expires_at > ? ORDER BY device_id`, s.d.t(now)), func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, fmt.Errorf("devices with pending commands: %w", err)
	}
	return out, nil
}

// UpdateCommand applies one conditional transition; see store.Commands.
func (s *Store) UpdateCommand(ctx context.Context, id string, from []string, ch store.CommandChange) (*store.Command, error) {
	n, ok := parseID(id)
	if !ok {
		return nil, commandNotFound(id)
	}
	var out *store.Command
	err := s.inTx(ctx, func(tx conn) error {
		c, err := scanCommand(tx.queryRow(ctx, `SELECT `+commandCols+` FROM commands WHERE id = ?`+s.d.forUpdate, n))
		if isNoRows(err) {
			return commandNotFound(id)
		}
		if err != nil {
			return err
		}
		if !slices.Contains(from, c.Status) {
			return lanewatch.Errorf(lanewatch.EConflict, "command %s is %s, not %v", id, c.Status, from)
		}
		if err := applyCommandChange(ctx, s.d, tx, c, ch); err != nil {
			return err
		}
		out = c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update command %s: %w", id, err)
	}
	return out, nil
}

// applyCommandChange writes ch onto the stored command c (and into c).
func applyCommandChange(ctx context.Context, d *dialect, tx conn, c *store.Command, ch store.CommandChange) error {
	c.Status, c.UpdatedAt = ch.Status, ch.At.UTC()
	c.History = append(c.History, store.CommandEvent{Status: ch.Status, At: ch.At.UTC(), Note: cleanText(ch.Note)})
	if ch.Status == store.CommandSent {
		c.Attempts++
	}
	if ch.Result != nil {
		c.Result = ch.Result
	}
	hist, err := encodeHistory(c.History)
	if err != nil {
		return err
	}
	n, _ := parseID(c.ID)
	_, err = tx.exec(ctx, `UPDATE commands SET status = ?, updated_at = ?, attempts = ?, result = ?, history = ?
		WHERE id = ?`, c.Status, d.t(c.UpdatedAt), c.Attempts, nullText(c.Result), hist, n)
	return err
}

// ExpireCommands moves pending commands past their expiry to expired; see store.Commands.
func (s *Store) ExpireCommands(ctx context.Context, now time.Time, limit int) ([]*store.Command, error) {
	limit = store.ClampLimit(limit)
	var out []*store.Command
	err := s.inTx(ctx, func(tx conn) error {
		due, err := collect(tx.query(ctx, `SELECT `+commandCols+` FROM commands WHERE status IN ('queued', 'sent')
			AND expires_at <= ? ORDER BY id LIMIT ?`+s.d.forUpdate, s.d.t(now), limit), scanCommand)
		if err != nil {
			return err
		}
		for _, c := range due {
			if err := applyCommandChange(ctx, s.d, tx, c, store.CommandChange{Status: store.CommandExpired, At: now, Note: "ttl passed"}); err != nil {
				return err
			}
		}
		out = due
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("expire commands: %w", err)
	}
	return out, nil
}
