package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/lanewatch/lanewatch/store"
)

// testCoverage checks that merges are unions and idempotent.
func testCoverage(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := store.SegmentCoverage{Day: "2025-03-14", SegmentID: "seg-1", Intervals: [][2]float64{{0, 10}, {20, 30}},
		First: at(0), Last: at(60e9), Vehicles: []string{"sw-2"}}
	b := store.SegmentCoverage{Day: "2025-03-14", SegmentID: "seg-1", Intervals: [][2]float64{{5, 22}, {50, 60}},
		First: at(-60e9), Last: at(30e9), Vehicles: []string{"sw-1", "sw-2"}}
	other := store.SegmentCoverage{Day: "2025-03-15", SegmentID: "seg-1", Intervals: [][2]float64{{0, 1}}, First: at(0), Last: at(0), Vehicles: []string{"x"}}
	for _, batch := range [][]store.SegmentCoverage{{a}, {b, other}, {a, b}} { // the last one is a replay
		if err := s.MergeCoverage(ctx, batch); err != nil {
			t.Fatalf("MergeCoverage: %v", err)
		}
	}
	got, err := s.ListCoverage(ctx, "2025-03-14")
	if err != nil {
		t.Fatalf("ListCoverage: %v", err)
	}
	want := []store.SegmentCoverage{{Day: "2025-03-14", SegmentID: "seg-1", Intervals: [][2]float64{{0, 30}, {50, 60}},
		First: at(-60e9), Last: at(60e9), Vehicles: []string{"sw-1", "sw-2"}}}
	if len(got) != 1 || !got[0].First.Equal(want[0].First) || !got[0].Last.Equal(want[0].Last) {
		t.Fatalf("ListCoverage = %+v, want %+v", got, want)
	}
	got[0].First, got[0].Last = want[0].First, want[0].Last
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ListCoverage = %+v, want %+v", got, want)
	}
	if got, _ := s.ListCoverage(ctx, "2025-03-16"); len(got) != 0 {
		t.Fatalf("ListCoverage of an empty day = %+v", got)
	}

	// Two nodes merging the same segments in opposite orders at the same time: no deadlock,
	// nothing lost.
	const segs = 40
	var fwd, rev []store.SegmentCoverage
	for i := range segs {
		r := store.SegmentCoverage{Day: "2025-03-17", SegmentID: fmt.Sprintf("s%02d", i), Intervals: [][2]float64{{0, 1}},
			First: at(0), Last: at(0), Vehicles: []string{"v"}}
		fwd = append(fwd, r)
		rev = append([]store.SegmentCoverage{r}, rev...)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		batch := fwd
		if i%2 == 1 {
			batch = rev
		}
		wg.Go(func() { errs <- s.MergeCoverage(ctx, batch) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent MergeCoverage: %v", err)
		}
	}
	if got, _ := s.ListCoverage(ctx, "2025-03-17"); len(got) != segs {
		t.Fatalf("after concurrent merges: %d segments, want %d", len(got), segs)
	}
}
