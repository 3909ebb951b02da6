package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/lanewatch/lanewatch/store"
)

// goMigrations are the Go migrations of store/migrations (see its doc.go), written with the
// store's own encodings.
func goMigrations(d *dialect) []*goose.Migration {
	return []*goose.Migration{
		goose.NewGoMigration(8, &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			return moveStates(ctx, d, conn{e: tx, b: &binder{dollar: d.dollar}})
		}}, nil),
	}
}

// The `states` key prefixes that version 8 moves into tables, as the code before it wrote them.
const (
	oldPlaquePrefix   = "plaques/registry/"
	oldScanPrefix     = "plaques/scan/"
	oldVersionPrefix  = "rules/versions/"
	oldIncidentPrefix = "camera/incident/"
)

// The JSON the code before version 8 stored; frozen here, whatever the packages do now.
type (
	oldPlaqueRecord struct {
		Plaque *struct {
			ID       string  `json:"id"`
			Address  string  `json:"address"`
			District string  `json:"district"`
			Lat      float64 `json:"lat"`
			Lon      float64 `json:"lon"`
			Party    struct {
				Name       string   `json:"name"`
				Contact    string   `json:"contact"`
				Department string   `json:"department"`
				Duties     []string `json:"duties"`
			} `json:"party"`
		} `json:"plaque"`
		Deleted bool `json:"deleted"`
	}
	oldVersion struct {
		ID    string            `json:"id"`
		Hash  string            `json:"hash"`
		At    time.Time         `json:"at"`
		Actor string            `json:"actor"`
		Rules int               `json:"rules"`
		Files map[string]string `json:"files"`
	}
	oldIncident struct {
		ID             string          `json:"id"`
		CameraID       string          `json:"camera_id"`
		Type           string          `json:"type"`
		Category       string          `json:"category"`
		RegionID       string          `json:"region_id"`
		BBox           [4]float64      `json:"bbox"`
		HasBBox        bool            `json:"has_bbox"`
		FirstSeen      time.Time       `json:"first_seen"`
		LastSeen       time.Time       `json:"last_seen"`
		Detections     int             `json:"detections"`
		BestConfidence float64         `json:"best_confidence"`
		First          json.RawMessage `json:"first_snapshot"`
		Latest         json.RawMessage `json:"latest_snapshot"`
		Recent         []string        `json:"recent"`
		CaseIDs        []string        `json:"case_ids"`
	}
)

// moveStates moves the plaques, plaque report scans, rule-set versions and camera incidents
// out of `states` into their tables and deletes the moved rows. A row that cannot be read
// stays in `states` untouched (nothing is lost; the new code ignores it, as the old code
// ignored or refused it). Rule state (rules/state/...) and every other key stay.
func moveStates(ctx context.Context, d *dialect, tx conn) error {
	type row struct {
		key   string
		value []byte
		at    time.Time
	}
	var rs []row
	for _, prefix := range []string{oldPlaquePrefix, oldScanPrefix, oldVersionPrefix, oldIncidentPrefix} {
		some, err := collect(tx.query(ctx, `SELECT key, value, updated_at FROM states WHERE `+d.startsWith, prefix),
			func(s scanner) (row, error) {
				var r row
				err := s.Scan(&r.key, &r.value, scanT(&r.at))
				return r, err
			})
		if err != nil {
			return fmt.Errorf("read states %q: %w", prefix, err)
		}
		rs = append(rs, some...)
	}
	for _, r := range rs {
		moved, err := moveState(ctx, d, tx, r.key, r.value, r.at)
		if err != nil {
			return fmt.Errorf("move state %q: %w", r.key, err)
		}
		if !moved {
			continue
		}
		if _, err := tx.exec(ctx, `DELETE FROM states WHERE key = ?`, r.key); err != nil {
			return fmt.Errorf("delete state %q: %w", r.key, err)
		}
	}
	return nil
}

// moveState writes one states row into its table; moved is false for a row left in place.
func moveState(ctx context.Context, d *dialect, tx conn, key string, value []byte, at time.Time) (bool, error) {
	switch {
	case strings.HasPrefix(key, oldPlaquePrefix):
		var r oldPlaqueRecord
		if json.Unmarshal(value, &r) != nil {
			return false, nil
		}
		p := store.Plaque{ID: strings.TrimPrefix(key, oldPlaquePrefix), Deleted: r.Deleted || r.Plaque == nil, UpdatedAt: at}
		if !p.Deleted {
			if r.Plaque.ID != p.ID {
				return false, nil
			}
			p.Address, p.District, p.Lat, p.Lon = r.Plaque.Address, r.Plaque.District, r.Plaque.Lat, r.Plaque.Lon
			p.PartyName, p.PartyContact = r.Plaque.Party.Name, r.Plaque.Party.Contact
			p.PartyDepartment, p.PartyDuties = r.Plaque.Party.Department, r.Plaque.Party.Duties
		}
		return true, putPlaque(ctx, d, tx, p)
	case strings.HasPrefix(key, oldScanPrefix):
		plaque, scan, ok := strings.Cut(strings.TrimPrefix(key, oldScanPrefix), "/")
		if !ok {
			return false, nil
		}
		return true, putPlaqueReport(ctx, d, tx, plaque, scan, string(value), at)
	case strings.HasPrefix(key, oldVersionPrefix):
		var v oldVersion
		if json.Unmarshal(value, &v) != nil || v.ID == "" {
			return false, nil
		}
		return true, putRuleVersion(ctx, d, tx, store.RuleVersion(v))
	case strings.HasPrefix(key, oldIncidentPrefix):
		var i oldIncident
		if json.Unmarshal(value, &i) != nil || i.ID == "" {
			return false, nil
		}
		return true, putIncident(ctx, d, tx, store.Incident{ID: i.ID, CameraID: i.CameraID, Type: i.Type,
			Category: i.Category, RegionID: i.RegionID, BBox: i.BBox, HasBBox: i.HasBBox,
			FirstSeen: i.FirstSeen, LastSeen: i.LastSeen, Detections: i.Detections,
			BestConfidence: i.BestConfidence, FirstSnapshot: rawOrNil(i.First), LatestSnapshot: rawOrNil(i.Latest),
			Recent: i.Recent, CaseIDs: i.CaseIDs})
	}
	return false, nil
}

// rawOrNil is nil for absent or null JSON.
func rawOrNil(m json.RawMessage) []byte {
	if len(m) == 0 || string(m) == "null" {
		return nil
	}
	return []byte(m)
}
