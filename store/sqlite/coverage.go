package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lanewatch/lanewatch/store"
)

// MergeCoverage unites each record with the stored one of its (day, segment), in one
// transaction.
func (s *Store) MergeCoverage(ctx context.Context, recs []store.SegmentCoverage) error {
	if len(recs) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, r := range recs {
			old, err := scanCoverage(tx.QueryRowContext(ctx, `SELECT day, segment_id, intervals, first_at, last_at, vehicles
				FROM segment_coverage WHERE day = ? AND segment_id = ?`, r.Day, r.SegmentID))
			switch {
			case errors.Is(err, sql.ErrNoRows):
				old = store.SegmentCoverage{Day: r.Day, SegmentID: r.SegmentID}
			case err != nil:
				return err
			}
			m := store.MergeSegmentCoverage(old, r)
			iv, _ := json.Marshal(m.Intervals)
			vs, _ := json.Marshal(m.Vehicles)
			if _, err := tx.ExecContext(ctx, `INSERT INTO segment_coverage
				(day, segment_id, intervals, first_at, last_at, vehicles, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (day, segment_id) DO UPDATE SET intervals = excluded.intervals, first_at = excluded.first_at,
				last_at = excluded.last_at, vehicles = excluded.vehicles, updated_at = excluded.updated_at`,
				cleanText(r.Day), cleanText(r.SegmentID), string(iv), encTime(m.First), encTime(m.Last), string(vs), time.Now().UnixNano()); err != nil {
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
	rows, err := s.r.QueryContext(ctx, `SELECT day, segment_id, intervals, first_at, last_at, vehicles
		FROM segment_coverage WHERE day = ? ORDER BY segment_id`, day)
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

func scanCoverage(row interface{ Scan(...any) error }) (store.SegmentCoverage, error) {
	var (
		r           store.SegmentCoverage
		iv, vs      string
		first, last int64
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
	r.First, r.Last = decTime(first), decTime(last)
	return r, nil
}
