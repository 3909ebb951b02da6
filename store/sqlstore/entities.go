package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

const plaqueCols = `id, address, district, lat, lon, party_name, party_contact, party_department,
	party_duties, deleted, updated_at`

func plaqueArgs(d *dialect, p store.Plaque) ([]any, error) {
	b, err := json.Marshal(p.PartyDuties) // null for nil: nil and empty both round-trip
	if err != nil {
		return nil, fmt.Errorf("encode duties: %w", err)
	}
	return []any{p.ID, p.Address, p.District, p.Lat, p.Lon, p.PartyName, p.PartyContact,
		p.PartyDepartment, string(b), p.Deleted, d.t(p.UpdatedAt)}, nil
}

// ListPlaques returns every stored plaque, tombstones included, ordered by id.
func (s *Store) ListPlaques(ctx context.Context) ([]store.Plaque, error) {
	out, err := collect(s.r().query(ctx, `SELECT `+plaqueCols+` FROM plaques ORDER BY id`), func(row scanner) (store.Plaque, error) {
		var (
			p      store.Plaque
			duties string
		)
		if err := row.Scan(&p.ID, &p.Address, &p.District, &p.Lat, &p.Lon, &p.PartyName, &p.PartyContact,
			&p.PartyDepartment, &duties, &p.Deleted, scanT(&p.UpdatedAt)); err != nil {
			return p, err
		}
		if err := json.Unmarshal([]byte(duties), &p.PartyDuties); err != nil {
			return p, fmt.Errorf("plaque %q duties: %w", p.ID, err)
		}
		return p, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list plaques: %w", err)
	}
	return out, nil
}

// PutPlaque inserts or replaces the plaque p.ID.
func (s *Store) PutPlaque(ctx context.Context, p store.Plaque) error {
	if err := putPlaque(ctx, s.d, s.w(), p); err != nil {
		return fmt.Errorf("put plaque %q: %w", p.ID, err)
	}
	return nil
}

func putPlaque(ctx context.Context, d *dialect, c conn, p store.Plaque) error {
	args, err := plaqueArgs(d, p)
	if err != nil {
		return err
	}
	_, err = c.exec(ctx, `INSERT INTO plaques (`+plaqueCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET address = excluded.address, district = excluded.district,
		lat = excluded.lat, lon = excluded.lon, party_name = excluded.party_name,
		party_contact = excluded.party_contact, party_department = excluded.party_department,
		party_duties = excluded.party_duties, deleted = excluded.deleted, updated_at = excluded.updated_at`, args...)
	return err
}

// SeedPlaque inserts p unless its id is stored (live or tombstone).
func (s *Store) SeedPlaque(ctx context.Context, p store.Plaque) (bool, error) {
	args, err := plaqueArgs(s.d, p)
	if err != nil {
		return false, fmt.Errorf("seed plaque %q: %w", p.ID, err)
	}
	n, err := affected(s.w().exec(ctx, `INSERT INTO plaques (`+plaqueCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, args...))
	if err != nil {
		return false, fmt.Errorf("seed plaque %q: %w", p.ID, err)
	}
	return n > 0, nil
}

// GetPlaqueReport returns the case opened for a plaque's scan; ENotFound if none was.
func (s *Store) GetPlaqueReport(ctx context.Context, plaqueID, scanID string) (string, error) {
	var caseID string
	err := s.r().queryRow(ctx, `SELECT case_id FROM plaque_reports WHERE plaque_id = ? AND scan_id = ?`,
		plaqueID, scanID).Scan(&caseID)
	if isNoRows(err) {
		return "", lanewatch.Errorf(lanewatch.ENotFound, "no report of plaque %q scan %q", plaqueID, scanID)
	}
	if err != nil {
		return "", fmt.Errorf("get plaque report %q/%q: %w", plaqueID, scanID, err)
	}
	return caseID, nil
}

// PutPlaqueReport records the case opened for a plaque's scan.
func (s *Store) PutPlaqueReport(ctx context.Context, plaqueID, scanID, caseID string, at time.Time) error {
	if err := putPlaqueReport(ctx, s.d, s.w(), plaqueID, scanID, caseID, at); err != nil {
		return fmt.Errorf("put plaque report %q/%q: %w", plaqueID, scanID, err)
	}
	return nil
}

func putPlaqueReport(ctx context.Context, d *dialect, c conn, plaqueID, scanID, caseID string, at time.Time) error {
	_, err := c.exec(ctx, `INSERT INTO plaque_reports (plaque_id, scan_id, case_id, at) VALUES (?, ?, ?, ?)
		ON CONFLICT (plaque_id, scan_id) DO UPDATE SET case_id = excluded.case_id, at = excluded.at`,
		cleanText(plaqueID), cleanText(scanID), caseID, d.t(at))
	return err
}

// ListRuleVersions returns every stored version with its files, ordered by id.
func (s *Store) ListRuleVersions(ctx context.Context) ([]store.RuleVersion, error) {
	out, err := collect(s.r().query(ctx, `SELECT id, hash, at, actor, rules, files FROM rule_versions ORDER BY id`),
		func(row scanner) (store.RuleVersion, error) {
			var (
				v     store.RuleVersion
				files string
			)
			if err := row.Scan(&v.ID, &v.Hash, scanT(&v.At), &v.Actor, &v.Rules, &files); err != nil {
				return v, err
			}
			if err := json.Unmarshal([]byte(files), &v.Files); err != nil {
				return v, fmt.Errorf("rule version %q files: %w", v.ID, err)
			}
			return v, nil
		})
	if err != nil {
		return nil, fmt.Errorf("list rule versions: %w", err)
	}
	return out, nil
}

// PutRuleVersion stores v and prunes all but the keep newest versions, in one transaction.
func (s *Store) PutRuleVersion(ctx context.Context, v store.RuleVersion, keep int) error {
	err := s.inTx(ctx, func(tx conn) error {
		if err := putRuleVersion(ctx, s.d, tx, v); err != nil {
			return err
		}
		if keep <= 0 {
			return nil
		}
		_, err := tx.exec(ctx, `DELETE FROM rule_versions WHERE id NOT IN (
			SELECT id FROM rule_versions ORDER BY id DESC LIMIT ?)`, keep)
		return err
	})
	if err != nil {
		return fmt.Errorf("put rule version %q: %w", v.ID, err)
	}
	return nil
}

func putRuleVersion(ctx context.Context, d *dialect, c conn, v store.RuleVersion) error {
	files := v.Files
	if files == nil {
		files = map[string]string{}
	}
	b, err := json.Marshal(files)
	if err != nil {
		return fmt.Errorf("encode files: %w", err)
	}
	_, err = c.exec(ctx, `INSERT INTO rule_versions (id, hash, at, actor, rules, files) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, at = excluded.at, actor = excluded.actor,
		rules = excluded.rules, files = excluded.files`,
		v.ID, v.Hash, d.t(v.At), cleanText(v.Actor), v.Rules, cleanText(string(b)))
	return err
}

const incidentCols = `id, camera_id, type, category, region_id, bbox, has_bbox, first_seen, last_seen,
	detections, best_confidence, first_snapshot, latest_snapshot, recent, case_ids`

// ListIncidents returns every stored incident, ordered by id.
func (s *Store) ListIncidents(ctx context.Context) ([]store.Incident, error) {
	out, err := collect(s.r().query(ctx, `SELECT `+incidentCols+` FROM camera_incidents ORDER BY id`), func(row scanner) (store.Incident, error) {
		var (
			i                     store.Incident
			bbox, recent, cases   string
			firstSnap, latestSnap sql.NullString
		)
		if err := row.Scan(&i.ID, &i.CameraID, &i.Type, &i.Category, &i.RegionID, &bbox, &i.HasBBox,
			scanT(&i.FirstSeen), scanT(&i.LastSeen), &i.Detections, &i.BestConfidence, &firstSnap, &latestSnap,
			&recent, &cases); err != nil {
			return i, err
		}
		for _, f := range []struct {
			s string
			v any
		}{{bbox, &i.BBox}, {recent, &i.Recent}, {cases, &i.CaseIDs}} {
			if err := json.Unmarshal([]byte(f.s), f.v); err != nil {
				return i, fmt.Errorf("incident %q: %w", i.ID, err)
			}
		}
		if firstSnap.Valid {
			i.FirstSnapshot = []byte(firstSnap.String)
		}
		if latestSnap.Valid {
			i.LatestSnapshot = []byte(latestSnap.String)
		}
		return i, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list camera incidents: %w", err)
	}
	return out, nil
}

// PutIncident inserts or replaces the incident inc.ID.
func (s *Store) PutIncident(ctx context.Context, inc store.Incident) error {
	if err := putIncident(ctx, s.d, s.w(), inc); err != nil {
		return fmt.Errorf("put camera incident %q: %w", inc.ID, err)
	}
	return nil
}

func putIncident(ctx context.Context, d *dialect, c conn, i store.Incident) error {
	bbox, _ := json.Marshal(i.BBox)
	recent, err := json.Marshal(i.Recent)
	if err != nil {
		return err
	}
	cases, err := json.Marshal(i.CaseIDs)
	if err != nil {
		return err
	}
	_, err = c.exec(ctx, `INSERT INTO camera_incidents (`+incidentCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET camera_id = excluded.camera_id, type = excluded.type,
		category = excluded.category, region_id = excluded.region_id, bbox = excluded.bbox,
		has_bbox = excluded.has_bbox, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
		detections = excluded.detections, best_confidence = excluded.best_confidence,
		first_snapshot = excluded.first_snapshot, latest_snapshot = excluded.latest_snapshot,
		recent = excluded.recent, case_ids = excluded.case_ids`,
		i.ID, cleanText(i.CameraID), cleanText(i.Type), i.Category, cleanText(i.RegionID), string(bbox), i.HasBBox,
		d.t(i.FirstSeen), d.t(i.LastSeen), i.Detections, i.BestConfidence, nullJSON(i.FirstSnapshot),
		nullJSON(i.LatestSnapshot), cleanText(string(recent)), cleanText(string(cases)))
	return err
}

// DeleteIncident removes an incident; absent ids are not an error.
func (s *Store) DeleteIncident(ctx context.Context, id string) error {
	if _, err := s.w().exec(ctx, `DELETE FROM camera_incidents WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete camera incident %q: %w", id, err)
	}
	return nil
}

// nullJSON is JSON text, or NULL for none.
func nullJSON(b []byte) sql.NullString {
	if b == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: cleanText(string(b)), Valid: true}
}
