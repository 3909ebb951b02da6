package dispatch

import (
	"context"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// shippedService is a Service over the shipped configs/ (categories, routing, districts).
func shippedService(t *testing.T, f *fixture) *Service {
	t.Helper()
	return f.serviceFrom(t, f.st, "../configs")
}

// The shipped auto entry (05, camera, min_confidence 0.9, dispatch) fires for camera cases
// opened by rules on incidents, filtering by source finds them, and a camera incident next to a
// citizen report of the same category is its duplicate (issue 15).
func TestCameraCasesAcrossSources(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sh("2026-12-01 09:00"))
	s := shippedService(t, f)
	pt := lanewatch.Location{Lat: 22.52, Lon: 113.3798612} // dongqu
	park, _, err := s.Open(ctx, &lanewatch.Case{Category: "0505", Source: lanewatch.SourceCamera, Confidence: 0.95,
		Rule: "illegal_parking", Key: "cam-7/illegal_parking", DeviceID: "cam-7", Location: pt}, "system")
	if err != nil {
		t.Fatal(err)
	}
	if park.Status != lanewatch.StatusDispatched || park.Department != "dongqu-office" || park.Confidence != 0.95 {
		t.Fatalf("camera 0505 at 0.95: %s to %q conf %v, want dispatched to dongqu-office", park.Status, park.Department, park.Confidence)
	}
	low, _, _ := s.Open(ctx, &lanewatch.Case{Category: "0505", Source: lanewatch.SourceCamera, Confidence: 0.85,
		Rule: "illegal_parking", Key: "cam-8/illegal_parking", Location: lanewatch.Location{Lat: 22.522, Lon: 113.363333}}, "system")
	if low.Status != lanewatch.StatusReported {
		t.Fatalf("camera 0505 at 0.85 is %s, want reported", low.Status)
	}
	got, _, err := s.List(ctx, store.CaseFilter{Source: lanewatch.SourceCamera})
	if err != nil || len(got) != 2 {
		t.Fatalf("source=camera lists %d cases (%v), want 2", len(got), err)
	}

	// Citizen first, then camera at the same spot: one open case and a duplicate.
	spot := lanewatch.Location{Lat: 22.52, Lon: 113.3652775}
	cit, _, err := s.Open(ctx, &lanewatch.Case{Category: "0507", Source: lanewatch.SourceCitizen, Location: spot,
		Reporter: &lanewatch.Reporter{Phone: "13600000001"}}, "reporter:app")
	if err != nil {
		t.Fatal(err)
	}
	near := lanewatch.Location{Lat: spot.Lat + 0.0002, Lon: spot.Lon}
	cam := &lanewatch.Case{Category: "0507", Source: lanewatch.SourceCamera, Confidence: 0.7, Rule: "clutter", Key: "cam-9/clutter", Location: near}
	dup, created, err := s.Open(ctx, cam, "system")
	if err != nil || !created {
		t.Fatalf("camera clutter: created %v err %v", created, err)
	}
	if dup.DuplicateOf != cit.ID || dup.Status != lanewatch.StatusClosed {
		t.Fatalf("camera clutter next to citizen case %s: %s duplicate_of %q", cit.ID, dup.Status, dup.DuplicateOf)
	}
	// The same incident firing again is that duplicate again, not a third case.
	f.clk.Add(time.Minute)
	again, created, err := s.Open(ctx, &lanewatch.Case{Category: "0507", Source: lanewatch.SourceCamera, Confidence: 0.7,
		Rule: "clutter", Key: "cam-9/clutter", Location: near}, "system")
	if err != nil || created || again.ID != dup.ID {
		t.Fatalf("refiring: created %v id %s (want %s) err %v", created, again.ID, dup.ID, err)
	}
	open, _, _ := s.List(ctx, store.CaseFilter{Category: "0507", Status: openStatuses})
	if len(open) != 1 {
		t.Fatalf("%d open 0507 cases, want 1", len(open))
	}

	// Camera first, then a citizen: the citizen report is the duplicate.
	spot2 := lanewatch.Location{Lat: 22.525, Lon: 113.3701388}
	cam2, _, _ := s.Open(ctx, &lanewatch.Case{Category: "0101", Source: lanewatch.SourceCamera, Confidence: 0.9, Rule: "garbage", Key: "cam-3/g", Location: spot2}, "system")
	cit2, _, _ := s.Open(ctx, &lanewatch.Case{Category: "0101", Source: lanewatch.SourceCitizen, Location: spot2}, "reporter:app")
	if cit2.DuplicateOf != cam2.ID {
		t.Fatalf("citizen after camera: duplicate_of %q, want %s", cit2.DuplicateOf, cam2.ID)
	}
	// Rule (vehicle) cases are not duplicates of anything.
	r, _, _ := s.Open(ctx, &lanewatch.Case{Category: "0101", Source: lanewatch.SourceRule, Rule: "x", Key: "k", Location: spot2}, "system")
	if r.DuplicateOf != "" {
		t.Fatalf("rule case linked as duplicate of %s", r.DuplicateOf)
	}
}

// A plaque case belongs to the plaque's district even when its point lies in another
// district's polygon (shipped pl-004: district nanqu, point inside xiqu).
func TestPlaqueCaseKeepsPlaqueDistrict(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sh("2026-12-01 09:00"))
	s := shippedService(t, f)
	pt := lanewatch.Location{Lat: 22.5221, Lon: 113.3634302}
	if got := s.Districts().Locate(pt); got != "xiqu" {
		t.Fatalf("fixture: point in %q", got)
	}
	c, _, err := s.Open(ctx, &lanewatch.Case{Category: "9101", Source: lanewatch.SourcePlaque, DeviceID: "pl-004",
		District: "nanqu", Department: "nanqu-office", Location: pt}, "plaque:pl-004")
	if err != nil {
		t.Fatal(err)
	}
	if c.District != "nanqu" || c.Department != "nanqu-office" {
		t.Fatalf("plaque case: district %q department %q, want nanqu, nanqu-office", c.District, c.Department)
	}
	// A citizen case at the same point is located by its point.
	cit, _, _ := s.Open(ctx, &lanewatch.Case{Category: "0102", Source: lanewatch.SourceCitizen, District: "nanqu", Location: pt}, "r")
	if cit.District != "xiqu" {
		t.Fatalf("citizen case district %q, want xiqu", cit.District)
	}
}
