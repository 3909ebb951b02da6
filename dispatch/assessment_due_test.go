package dispatch

import (
	"context"
	"math"
	"testing"

	"github.com/lanewatch/lanewatch"
)

// TestAssessDueRule builds a month by hand, as of 2025-03-20 12:00 (a Thursday), with cases
// due, pending, deferred (缓办), reworked, urged, reassigned and rated, and checks every count,
// rate and the index against values worked out on paper (DOMAIN.md 5 "Due"). Working hours are
// the default 08:30-12:00, 14:30-18:00; limits.verify is one working day (7h).
func TestAssessDueRule(t *testing.T) {
	now := sh("2025-03-20 12:00")
	f := newFixture(t, now)
	mk := func(id, district string, st lanewatch.CaseStatus, sign, handle string, tl ...lanewatch.TimelineEntry) *lanewatch.Case {
		c := &lanewatch.Case{ID: id, District: district, Status: st, Timeline: tl}
		if sign != "" {
			c.Deadlines.SignBy = tp(sign)
		}
		if handle != "" {
			c.Deadlines.HandleBy = tp(handle)
		}
		return c
	}
	// A: on time throughout; signed→resolved 2h40m; close by 03-11 16:00; rated 5.
	a := mk("A", "xiqu", lanewatch.StatusClosed, "2025-03-10 10:00", "2025-03-10 16:00",
		entry("dispatch", "2025-03-10 09:00"), entry("sign", "2025-03-10 09:50"), entry("start", "2025-03-10 10:00"),
		entry("resolve", "2025-03-10 15:00"), entry("verify", "2025-03-10 17:00"))
	a.Rating = &lanewatch.Rating{Score: 5}
	// B: signed late, extended, reworked once, resolved late (16:40→17:30 = 50m), closed on time
	// (close by 03-13 17:00); rated 3.
	b := mk("B", "xiqu", lanewatch.StatusClosed, "2025-03-12 10:00", "2025-03-12 17:00",
		entry("dispatch", "2025-03-12 09:00"), entry("sign", "2025-03-12 10:30"), entry("extend", "2025-03-12 11:00"),
		entry("resolve", "2025-03-12 16:00"), entry("rework", "2025-03-12 16:30"), entry("sign", "2025-03-12 16:40"),
		entry("resolve", "2025-03-12 17:30"), entry("verify", "2025-03-13 09:00"))
	b.Rating = &lanewatch.Rating{Score: 3}
	// C: never signed, sign deadline passed: due and missed; urged once.
	c := mk("C", "xiqu", lanewatch.StatusDispatched, "2025-03-14 10:00", "",
		entry("dispatch", "2025-03-14 09:00"), entry("urge", "2025-03-14 11:00"))
	// D: dispatched this morning, sign deadline this afternoon: pending, in no rate.
	d := mk("D", "xiqu", lanewatch.StatusDispatched, "2025-03-20 14:45", "", entry("dispatch", "2025-03-20 11:30"))
	// E: signed on time, not handled by its deadline (due, missed), then deferred: out of 应结案.
	e := mk("E", "xiqu", lanewatch.StatusSigned, "2025-03-05 10:00", "2025-03-05 16:00",
		entry("dispatch", "2025-03-05 09:00"), entry("sign", "2025-03-05 09:30"), entry("defer", "2025-03-05 17:00"))
	// F: signed on time this morning; handling deadline this afternoon: handle and close pending.
	fc := mk("F", "xiqu", lanewatch.StatusSigned, "2025-03-20 09:30", "2025-03-20 16:00",
		entry("dispatch", "2025-03-20 08:40"), entry("sign", "2025-03-20 09:00"))
	// G: signed by the first department, reassigned (the sign starts again), signed 14:40 by the
	// new one, resolved 16:30 (1h50m), closed on time (by 03-18 17:00); rated 4.
	g := mk("G", "xiqu", lanewatch.StatusClosed, "2025-03-17 15:00", "2025-03-17 17:00",
		entry("dispatch", "2025-03-17 09:00"), entry("sign", "2025-03-17 09:30"), entry("reassign", "2025-03-17 11:00"),
		entry("sign", "2025-03-17 14:40"), entry("start", "2025-03-17 15:00"), entry("resolve", "2025-03-17 16:30"),
		entry("verify", "2025-03-18 10:00"))
	g.Rating = &lanewatch.Rating{Score: 4}
	// H (dongqu): two cases, both due later today: the district has no data yet, not 0.
	h1 := mk("H1", "dongqu", lanewatch.StatusDispatched, "2025-03-20 15:00", "", entry("dispatch", "2025-03-20 11:50"))
	h2 := mk("H2", "dongqu", lanewatch.StatusSigned, "2025-03-20 11:00", "2025-03-20 17:00",
		entry("dispatch", "2025-03-20 10:00"), entry("sign", "2025-03-20 10:30"))
	h2.District = "shiqi"

	start := sh("2025-03-01 00:00")
	got := f.svc.assess("2025-03", start, start.AddDate(0, 1, 0), now, []*lanewatch.Case{a, b, c, d, e, fc, g, h1, h2})
	by := map[string]DistrictScore{}
	for _, ds := range got.Districts {
		by[ds.District] = ds
	}
	gd := by["xiqu"]
	wantCounts := Counts{ShouldSign: 6, SignedOnTime: 4, ShouldHandle: 4, HandledOnTime: 2, Handled: 3,
		ShouldClose: 3, ClosedOnTime: 3, Closed: 3, Reworks: 1, Extended: 1, Ratings: 3, Satisfied: 2, ScoreSum: 12,
		PendingSign: 1, PendingHandle: 1, PendingClose: 1, Deferred: 1, Urges: 1, Reassigned: 1}
	gotCounts := gd.Counts
	gotCounts.HandleDuration = 0
	if gotCounts != wantCounts {
		t.Errorf("xiqu counts\n got %+v\nwant %+v", gotCounts, wantCounts)
	}
	if gd.Cases != 6 || gd.Pending != 2 {
		t.Errorf("xiqu cases %d pending %d, want 6 and 2", gd.Cases, gd.Pending)
	}
	near := func(name string, got *float64, want float64) {
		t.Helper()
		if got == nil {
			t.Errorf("%s = null, want %v", name, want)
		} else if math.Abs(*got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, *got, want)
		}
	}
	r := gd.Rates
	near("sign_on_time", r.SignOnTime, 4.0/6)
	near("handle_on_time", r.HandleOnTime, 2.0/4)
	near("handled", r.Handled, 3.0/4)
	near("close_on_time", r.CloseOnTime, 3.0/3)
	near("rework", r.Rework, 1.0/3)
	near("extension", r.Extension, 1.0/4)
	near("satisfaction", r.Satisfaction, 2.0/3)
	near("mean_score", gd.MeanScore, 4)
	near("mean_handle_hours", gd.MeanHandleHours, (160.0+50+110)/60/3)
	near("index", gd.Index, 25*4.0/6+35*0.5+15*(1-1.0/3)+25*2.0/3)

	// Only pending cases: no data (null rates and index), not 0%.
	for _, name := range []string{"dongqu"} {
		ds := by[name]
		if ds.Index != nil || ds.Rates.SignOnTime != nil || ds.Rates.HandleOnTime != nil || ds.Cases != 0 {
			t.Errorf("%s with cases not yet due: index %v sign %v cases %d, want no data", name, ds.Index, ds.Rates.SignOnTime, ds.Cases)
		}
	}
	if by["dongqu"].Pending != 1 || by["dongqu"].Counts.PendingSign != 1 {
		t.Errorf("dongqu pending %+v", by["dongqu"])
	}
	// shiqi's H2 was signed on time before its deadline: done steps are due at once.
	if n := by["shiqi"]; n.Counts.ShouldSign != 1 || n.Counts.SignedOnTime != 1 || n.Counts.PendingHandle != 1 {
		t.Errorf("shiqi counts %+v", n.Counts)
	}
}

// TestDeferNeedsReason: 缓办 is an operator action with a reason, recorded on the timeline, and
// keeps the status.
func TestDeferNeedsReason(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sh("2025-03-12 09:00"))
	c, _, err := f.svc.Open(ctx, &lanewatch.Case{Category: "0101", Source: lanewatch.SourceCitizen, Location: gudongPt}, "r")
	if err != nil {
		t.Fatal(err)
	}
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActAccept}, operator)
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActDispatch}, operator)
	_, err = f.svc.Act(ctx, c.ID, ActionRequest{Action: ActDefer}, operator)
	wantCode(t, err, lanewatch.EInvalid)
	_, err = f.svc.Act(ctx, c.ID, ActionRequest{Action: ActDefer, Reason: "施工"}, xiqu)
	wantCode(t, err, lanewatch.EForbidden)
	got := mustAct(t, f.svc, c.ID, ActionRequest{Action: ActDefer, Reason: "道路施工，待竣工后处理"}, operator)
	last := got.Timeline[len(got.Timeline)-1]
	if got.Status != lanewatch.StatusDispatched || last.Action != ActDefer || last.Note != "道路施工，待竣工后处理" {
		t.Fatalf("after defer: %s, last %+v", got.Status, last)
	}
}
