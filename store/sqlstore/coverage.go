package sqlstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch/store"
)

// MergeCoverage unites each record with the stored one of its (day, segment), in one
// transaction. Each row is made to exist, read (on PostgreSQL locked FOR UPDATE) and rewritten,
// so nodes merging concurrently do not lose each other's intervals; rows are visited in
// (day, segment) order, so two nodes merging overlapping sets cannot deadlock.
func (s *Store) MergeCoverage(ctx context.Context, recs []store.SegmentCoverage) error {
	if len(recs) == 0 {
		return nil
	}
	recs = slices.Clone(recs)
	slices.SortFunc(recs, func(a, b store.SegmentCoverage) int {
		return cmp.Or(strings.Compare(a.Day, b.Day), strings.Compare(a.SegmentID, b.SegmentID))
	})
	now := s.d.t(time.Now())
	err := s.inTx(ctx, func(tx conn) error {
		for _, r := range recs {
			day, seg := cleanText(r.Day), cleanText(r.SegmentID)
			if _, err := tx.exec(ctx, `INSERT INTO segment_coverage (day, segment_id, updated_at)
				VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, day, seg, now); err != nil {
				return err
			}
			old, err := scanCoverage(tx.queryRow(ctx, `SELECT day, segment_id, intervals, first_at, last_at, vehicles
				FROM segment_coverage WHERE day = ? AND segment_id = ?`+s.d.forUpdate, day, seg))
			if err != nil {
				return err
			}
			m := store.MergeSegmentCoverage(old, r)
			iv, _ := json.Marshal(m.Intervals)
			vs, _ := json.Marshal(m.Vehicles)
			if _, err := tx.exec(ctx, `UPDATE segment_coverage SET intervals = ?, first_at = ?, last_at = ?,
				vehicles = ?, updated_at = ? WHERE day = ? AND segment_id = ?`,
				string(iv), s.d.tz(m.First), s.d.tz(m.Last), string(vs), now, day, seg); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("merge coverage: %w", err)
	}
	return nil
}

// ListCoverage returns the records of a day ordered by segment id.
func (s *Store) ListCoverage(ctx context.Context, day string) ([]store.SegmentCoverage, error) {
	out, err := collect(s.r().query(ctx, `SELECT day, segment_id, intervals, first_at, last_at, vehicles
		FROM segment_coverage WHERE day = ? ORDER BY segment_id`, day), scanCoverage)
	if err != nil {
		return nil, fmt.Errorf("list coverage: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func scanCoverage(row scanner) (store.SegmentCoverage, error) {
	var (
		r      store.SegmentCoverage
		iv, vs string
	)
	if err := row.Scan(&r.Day, &r.SegmentID, &iv, scanT(&r.First), scanT(&r.Last), &vs); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(iv), &r.Intervals); err != nil {
		return r, fmt.Errorf("coverage %s/%s intervals: %w", r.Day, r.SegmentID, err)
	}
	if err := json.Unmarshal([]byte(vs), &r.Vehicles); err != nil {
		return r, fmt.Errorf("coverage %s/%s vehicles: %w", r.Day, r.SegmentID, err)
	}
	return r, nil
}
