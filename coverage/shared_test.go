package coverage

import (
	"context"
	"math"
	"testing"
	"time"
)

// TestRefreshSharesCoverage: two trackers (two nodes) on one store each see half of a planned
// segment; after flushing and refreshing both see all of it, and neither emits a shortfall;
// a shortfall emitted by one is known to the other after a refresh.
func TestRefreshSharesCoverage(t *testing.T) {
	ctx := context.Background()
	planned := road("m", [2]float64{10, 0}, [2]float64{410, 0})
	planned.deadline = "09:00"
	other := road("o", [2]float64{10, 100}, [2]float64{410, 100})
	other.deadline = "09:00"
	n := mustNetwork(t, planned, other)
	st := newMemStore()
	clock := &fakeClock{t: day0}
	a, b := newTracker(t, n, st, clock), newTracker(t, n, st, clock)
	observeSettled(a, "sw-1", drive([][2]float64{{10, 0}, {210, 0}}, 2.5, 0, day0, nil))
	observeSettled(b, "sw-2", drive([][2]float64{{210, 0}, {410, 0}}, 2.5, 0, day0.Add(time.Hour), nil))
	for _, tr := range []*Tracker{a, b} {
		if err := tr.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, tr := range []*Tracker{a, b} {
		if err := tr.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		days, err := tr.Day(ctx, "2025-06-02")
		if err != nil {
			t.Fatal(err)
		}
		m := days[0]
		if m.Segment.ID != "m" || math.Abs(m.Ratio-1) > 0.02 || len(m.Vehicles) != 2 {
			t.Errorf("segment m after refresh: ratio %.3f vehicles %v, want ~1 and two vehicles", m.Ratio, m.Vehicles)
		}
	}
	// Refreshed coverage is not dirty: flushing again writes nothing new.
	before := st.recs[[2]string{"2025-06-02", "m"}]
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if after := st.recs[[2]string{"2025-06-02", "m"}]; len(after.Intervals) != len(before.Intervals) {
		t.Errorf("flush after refresh changed the store: %v -> %v", before.Intervals, after.Intervals)
	}
	sf, err := a.DueShortfalls(ctx, day0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(sf) != 1 || sf[0].Segment.ID != "o" {
		t.Fatalf("shortfalls on a = %+v, want only o", sf)
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if sf, _ := b.DueShortfalls(ctx, day0.Add(3*time.Hour)); len(sf) != 0 {
		t.Errorf("b emitted again after a did: %+v", sf)
	}
}
