package store

import (
	"context"
	"slices"
	"sort"
	"time"
)

// Coverage persists which stretches of each road segment were cleaned on each day. Merges are
// unions, so writing the same record twice (a journal replay, or two nodes) changes nothing.
type Coverage interface {
	// MergeCoverage merges each record into the stored one of its (Day, SegmentID): intervals
	// are united, First is the earliest, Last the latest, Vehicles the union.
	MergeCoverage(ctx context.Context, recs []SegmentCoverage) error
	// ListCoverage returns the records of a day ordered by segment id.
	ListCoverage(ctx context.Context, day string) ([]SegmentCoverage, error)
}

// SegmentCoverage is the coverage of one road segment on one day.
type SegmentCoverage struct {
	// Day is the local date, YYYY-MM-DD, in the configured time zone.
	Day       string
	SegmentID string
	// Intervals are covered stretches [from, to] in metres along the segment, sorted and
	// disjoint after a merge.
	Intervals [][2]float64
	First     time.Time
	Last      time.Time
	Vehicles  []string // sorted
}

// MergeSegmentCoverage returns the union of a and b (same day and segment); the result's
// intervals are sorted and disjoint and its vehicles sorted and unique.
func MergeSegmentCoverage(a, b SegmentCoverage) SegmentCoverage {
	out := SegmentCoverage{Day: a.Day, SegmentID: a.SegmentID}
	all := append(append([][2]float64(nil), a.Intervals...), b.Intervals...)
	sort.Slice(all, func(i, j int) bool { return all[i][0] < all[j][0] })
	for _, iv := range all {
		if iv[1] < iv[0] {
			iv[0], iv[1] = iv[1], iv[0]
		}
		if n := len(out.Intervals); n > 0 && iv[0] <= out.Intervals[n-1][1] {
			out.Intervals[n-1][1] = max(out.Intervals[n-1][1], iv[1])
			continue
		}
		out.Intervals = append(out.Intervals, iv)
	}
	out.First, out.Last = a.First, a.Last
	if !b.First.IsZero() && (out.First.IsZero() || b.First.Before(out.First)) {
		out.First = b.First
	}
	if b.Last.After(out.Last) {
		out.Last = b.Last
	}
	out.Vehicles = append(append([]string(nil), a.Vehicles...), b.Vehicles...)
	slices.Sort(out.Vehicles)
	out.Vehicles = slices.Compact(out.Vehicles)
	return out
}
