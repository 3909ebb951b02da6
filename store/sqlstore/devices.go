package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

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

func scanDevice(row scanner) (*lanewatch.Device, error) {
	var (
		d    lanewatch.Device
		typ  string
		tags string
	)
	if err := row.Scan(&d.ID, &typ, &d.District, &d.Contractor, &d.Plate, &tags, &d.PasswordHash,
		&d.Online, scanTP(&d.LastSeen), scanT(&d.CreatedAt), scanT(&d.UpdatedAt)); err != nil {
		return nil, err
	}
	d.Type = lanewatch.DeviceType(typ)
	d.Tags = map[string]string{}
	if err := json.Unmarshal([]byte(tags), &d.Tags); err != nil {
		return nil, fmt.Errorf("decode tags of device %q: %w", d.ID, err)
	}
	return &d, nil
}

// CreateDevice inserts d; EConflict if the id exists.
func (s *Store) CreateDevice(ctx context.Context, d *lanewatch.Device) error {
	tags, err := encTags(d.Tags)
	if err != nil {
		return fmt.Errorf("create device %q: %w", d.ID, err)
	}
	n, err := affected(s.w().exec(ctx, `INSERT INTO devices (`+deviceCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		d.ID, string(d.Type), d.District, d.Contractor, d.Plate, tags, d.PasswordHash,
		d.Online, s.d.tp(d.LastSeen), s.d.t(d.CreatedAt), s.d.t(d.UpdatedAt)))
	if err != nil {
		return fmt.Errorf("create device %q: %w", d.ID, err)
	}
	if n == 0 {
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
	n, err := affected(s.w().exec(ctx, `UPDATE devices SET type = ?, district = ?, contractor = ?,
		plate = ?, tags = ?, password_hash = COALESCE(NULLIF(?, ''), password_hash),
		updated_at = ? WHERE id = ?`,
		string(d.Type), d.District, d.Contractor, d.Plate, tags, d.PasswordHash, s.d.t(d.UpdatedAt), d.ID))
	if err != nil {
		return fmt.Errorf("update device %q: %w", d.ID, err)
	}
	if n == 0 {
		return lanewatch.Errorf(lanewatch.ENotFound, "device %q not found", d.ID)
	}
	return nil
}

// DeleteDevice removes a device; ENotFound if absent.
func (s *Store) DeleteDevice(ctx context.Context, id string) error {
	n, err := affected(s.w().exec(ctx, `DELETE FROM devices WHERE id = ?`, id))
	if err != nil {
		return fmt.Errorf("delete device %q: %w", id, err)
	}
	if n == 0 {
		return lanewatch.Errorf(lanewatch.ENotFound, "device %q not found", id)
	}
	return nil
}

// GetDevice returns one device with its password hash.
func (s *Store) GetDevice(ctx context.Context, id string) (*lanewatch.Device, error) {
	d, err := scanDevice(s.r().queryRow(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, lanewatch.Errorf(lanewatch.ENotFound, "device %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get device %q: %w", id, err)
	}
	return d, nil
}

// ListDevices returns devices matching f ordered by id (byte order: PostgreSQL's column has the
// "C" collation), after f.Cursor (the last id of the previous page), and the cursor of the next
// page ("" at the end).
func (s *Store) ListDevices(ctx context.Context, f store.DeviceFilter) ([]*lanewatch.Device, string, error) {
	limit := store.ClampLimit(f.Limit)
	var (
		where = []string{"id > ?"}
		args  = []any{f.Cursor}
	)
	if f.Type != "" {
		where, args = append(where, "type = ?"), append(args, string(f.Type))
	}
	if f.District != "" {
		where, args = append(where, "district = ?"), append(args, f.District)
	}
	if f.Contractor != "" {
		where, args = append(where, "contractor = ?"), append(args, f.Contractor)
	}
	args = append(args, limit+1)
	out, err := collect(s.r().query(ctx, `SELECT `+deviceCols+` FROM devices WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, args...), scanDevice)
	if err != nil {
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
	_, err := s.w().exec(ctx, `UPDATE devices SET online = ?, last_seen = ?
		WHERE id = ? AND (last_seen IS NULL OR last_seen <= ?)`,
		online, s.d.t(at), id, s.d.t(at))
	if err != nil {
		return fmt.Errorf("set presence of device %q: %w", id, err)
	}
	return nil
}
