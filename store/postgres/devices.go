package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

const deviceCols = `id, type, district, contractor, plate, tags, password_hash, online, last_seen, created_at, updated_at`

func encTags(tags map[string]string) (string, error) {
	if len(tags) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(tags)
	if err != nil {
		return "", fmt.Errorf("encode tags: %w", err)
	}
	return string(b), nil
}

func scanDevice(row pgx.Row) (*lanewatch.Device, error) {
	var (
		d    lanewatch.Device
		typ  string
		tags string
	)
	if err := row.Scan(&d.ID, &typ, &d.District, &d.Contractor, &d.Plate, &tags, &d.PasswordHash,
		&d.Online, &d.LastSeen, &d.CreatedAt, &d.UpdatedAt); err != nil {
		return nil, err
	}
	d.Type = lanewatch.DeviceType(typ)
	d.Tags = map[string]string{}
	if err := json.Unmarshal([]byte(tags), &d.Tags); err != nil {
		return nil, fmt.Errorf("decode tags of device %q: %w", d.ID, err)
	}
	d.LastSeen, d.CreatedAt, d.UpdatedAt = utcPtr(d.LastSeen), utc(d.CreatedAt), utc(d.UpdatedAt)
	return &d, nil
}

// CreateDevice inserts d; EConflict if the id exists.
func (s *Store) CreateDevice(ctx context.Context, d *lanewatch.Device) error {
	tags, err := encTags(d.Tags)
	if err != nil {
		return fmt.Errorf("create device %q: %w", d.ID, err)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO devices (`+deviceCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
		d.ID, string(d.Type), d.District, d.Contractor, d.Plate, tags, d.PasswordHash,
		d.Online, d.LastSeen, d.CreatedAt, d.UpdatedAt)
	if err != nil {
		return fmt.Errorf("create device %q: %w", d.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return lanewatch.Errorf(lanewatch.EConflict, "device %q already exists", d.ID)
	}
	return nil
}

// UpdateDevice replaces the registry fields of an existing device, and its password hash when
// d.PasswordHash is not empty; ENotFound if absent.
func (s *Store) UpdateDevice(ctx context.Context, d *lanewatch.Device) error {
	tags, err := encTags(d.Tags)
	if err != nil {
		return fmt.Errorf("update device %q: %w", d.ID, err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE devices SET type = $1, district = $2, contractor = $3,
		plate = $4, tags = $5, password_hash = COALESCE(NULLIF($6, ''), password_hash),
		updated_at = $7 WHERE id = $8`,
		string(d.Type), d.District, d.Contractor, d.Plate, tags, d.PasswordHash, d.UpdatedAt, d.ID)
	if err != nil {
		return fmt.Errorf("update device %q: %w", d.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return lanewatch.Errorf(lanewatch.ENotFound, "device %q not found", d.ID)
	}
	return nil
}

// DeleteDevice removes a device; ENotFound if absent.
func (s *Store) DeleteDevice(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM devices WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete device %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return lanewatch.Errorf(lanewatch.ENotFound, "device %q not found", id)
	}
	return nil
}

// GetDevice returns one device with its password hash.
func (s *Store) GetDevice(ctx context.Context, id string) (*lanewatch.Device, error) {
	d, err := scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, lanewatch.Errorf(lanewatch.ENotFound, "device %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get device %q: %w", id, err)
	}
	return d, nil
}

// ListDevices returns devices matching f ordered by id, after f.Cursor (the last id of the
// previous page), and the cursor of the next page ("" at the end).
func (s *Store) ListDevices(ctx context.Context, f store.DeviceFilter) ([]*lanewatch.Device, string, error) {
	limit := store.ClampLimit(f.Limit)
	var w where
	w.add("id > ?", f.Cursor) // the column's collation is "C": byte order

	if f.Type != "" {
		w.add("type = ?", string(f.Type))
	}
	if f.District != "" {
		w.add("district = ?", f.District)
	}
	if f.Contractor != "" {
		w.add("contractor = ?", f.Contractor)
	}
	query := `SELECT ` + deviceCols + ` FROM devices` + w.sql() + ` ORDER BY id LIMIT ` + w.next(limit+1)
	rows, err := s.pool.Query(ctx, query, w.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	out := make([]*lanewatch.Device, 0, min(limit, 64))
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list devices: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list devices: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// SetPresence records a device's online state and last-seen time. Unknown ids are ignored, and
// so is a report older than the one already recorded (a replayed or late status message).
func (s *Store) SetPresence(ctx context.Context, id string, online bool, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE devices SET online = $1, last_seen = $2
		WHERE id = $3 AND (last_seen IS NULL OR last_seen <= $2)`, online, at, id)
	if err != nil {
		return fmt.Errorf("set presence of device %q: %w", id, err)
	}
	return nil
}
