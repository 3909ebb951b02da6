package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lanewatch/lanewatch/store"
)

// MergeCoverage unites each record with the stored one of its (day, segment), in one
// transaction. Rows are locked (FOR UPDATE) while merged, so nodes merging concurrently do not
// lose each other's intervals.
func (s *Store) MergeCoverage(ctx context.Context, recs []store.SegmentCoverage) error {
	if len(recs) == 0 {
		return nil
	}
	// Rows are locked in (day, segment) order, so two nodes merging overlapping sets cannot
	// deadlock.
	recs = slices.Clone(recs)
	slices.SortFunc(recs, func(a, b store.SegmentCoverage) int {
		return cmp.Or(strings.Compare(a.Day, b.Day), strings.Compare(a.SegmentID, b.SegmentID))
	})
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for _, r := range recs {
			day, seg := cleanText(r.Day), cleanText(r.SegmentID)
			if _, err := tx.Exec(ctx, `INSERT INTO segment_coverage (day, segment_id) VALUES ($1, $2)
				ON CONFLICT DO NOTHING`, day, seg); err != nil {
				return err
			}
			old, err := scanCoverage(tx.QueryRow(ctx, `SELECT day, segment_id, intervals, first_at, last_at, vehicles
				FROM segment_coverage WHERE day = $1 AND segment_id = $2 FOR UPDATE`, day, seg))
			if err != nil {
				return err
			}
			m := store.MergeSegmentCoverage(old, r)
			iv, _ := json.Marshal(m.Intervals)
			vs, _ := json.Marshal(m.Vehicles)
			if _, err := tx.Exec(ctx, `UPDATE segment_coverage SET intervals = $3, first_at = $4, last_at = $5,
				vehicles = $6, updated_at = now() WHERE day = $1 AND segment_id = $2`,
				day, seg, string(iv), nullTime(m.First), nullTime(m.Last), string(vs)); err != nil {
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
	rows, err := s.pool.Query(ctx, `SELECT day, segment_id, intervals, first_at, last_at, vehicles
		FROM segment_coverage WHERE day = $1 ORDER BY segment_id`, day)
	if err != nil {
		return nil, fmt.Errorf("list coverage: %w", err)
	}
	defer rows.Close()
	var out []store.SegmentCoverage
	for rows.Next() {
		r, err := scanCoverage(rows)
		if err != nil {
			return nil, fmt.Errorf("list coverage: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list coverage: %w", err)
	}
	return out, nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func scanCoverage(row pgx.Row) (store.SegmentCoverage, error) {
	var (
		r           store.SegmentCoverage
		iv, vs      string
		first, last *time.Time
	)
	if err := row.Scan(&r.Day, &r.SegmentID, &iv, &first, &last, &vs); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(iv), &r.Intervals); err != nil {
		return r, fmt.Errorf("coverage %s/%s intervals: %w", r.Day, r.SegmentID, err)
	}
	if err := json.Unmarshal([]byte(vs), &r.Vehicles); err != nil {
		return r, fmt.Errorf("coverage %s/%s vehicles: %w", r.Day, r.SegmentID, err)
	}
	if first != nil {
		r.First = first.UTC()
	}
	if last != nil {
		r.Last = last.UTC()
	}
	return r, nil
}
