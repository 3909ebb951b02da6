package dispatch

import (
	"math"
	"testing"

	"github.com/lanewatch/lanewatch"
)

// TestAssessDeferral: a case still deferred (缓办) is judged as of its deferral (its clock is
// stopped): a step still ahead then is pending, not missed, however long ago its stored
// deadline was; it is out of 应结案 (counts.deferred). A resumed case is judged by its shifted
// deadlines like any other, 应结案 included, and its handling time leaves out the deferred span.
// As of 2025-03-20 12:00; working hours 08:30-12:00, 14:30-18:00; limits.verify 7h.
func TestAssessDeferral(t *testing.T) {
	now := sh("2025-03-20 12:00")
	f := newFixture(t, now)
	mk := func(id, sign, handle string, tl ...lanewatch.TimelineEntry) *lanewatch.Case {
		return &lanewatch.Case{ID: id, District: "xiqu", Status: lanewatch.StatusSigned, Timeline: tl,
			Deadlines: lanewatch.Deadlines{SignBy: tp(sign), HandleBy: tp(handle)}}
	}
	// P: signed on time, deferred at 11:00 with its handling deadline (16:00) still ahead, never
	// resumed: handling pending, closing deferred.
	p := mk("P", "2025-03-10 10:00", "2025-03-10 16:00",
		entry("dispatch", "2025-03-10 09:00"), entry("sign", "2025-03-10 09:30"), entry("defer", "2025-03-10 11:00"))
	// Q: deferred 03-11 10:00 to 03-12 10:00 (7 working hours), handle_by shifted to 03-12 15:00,
	// resolved 14:45 (on time), closed 16:00 (close by 03-13 15:00), rated 5. Handling time
	// 09:30→14:45 next day is 9h45m of working time, 7h of it deferred: 2h45m.
	q := mk("Q", "2025-03-11 10:00", "2025-03-12 15:00",
		entry("dispatch", "2025-03-11 09:00"), entry("sign", "2025-03-11 09:30"), entry("defer", "2025-03-11 10:00"),
		entry("resume", "2025-03-12 10:00"), entry("start", "2025-03-12 10:10"), entry("resolve", "2025-03-12 14:45"),
		entry("verify", "2025-03-12 16:00"))
	q.Status, q.Rating = lanewatch.StatusClosed, &lanewatch.Rating{Score: 5}
	// R: deferred and resumed, then neither resolved by its shifted deadline (03-13 11:00) nor
	// closed by 03-14 11:00: missed in 应处置 and 应结案 (no longer deferred).
	r := mk("R", "2025-03-13 09:30", "2025-03-13 11:00",
		entry("dispatch", "2025-03-13 08:40"), entry("sign", "2025-03-13 09:00"), entry("defer", "2025-03-13 09:10"),
		entry("resume", "2025-03-13 09:20"))

	start := sh("2025-03-01 00:00")
	got := f.svc.assess("2025-03", start, start.AddDate(0, 1, 0), now, []*lanewatch.Case{p, q, r})
	var gd DistrictScore
	for _, ds := range got.Districts {
		if ds.District == "xiqu" {
			gd = ds
		}
	}
	want := Counts{ShouldSign: 3, SignedOnTime: 3, ShouldHandle: 2, HandledOnTime: 1, Handled: 1,
		ShouldClose: 2, ClosedOnTime: 1, Closed: 1, Ratings: 1, Satisfied: 1, ScoreSum: 5,
		PendingHandle: 1, Deferred: 1}
	c := gd.Counts
	c.HandleDuration = 0
	if c != want {
		t.Errorf("counts\n got %+v\nwant %+v", c, want)
	}
	if gd.Cases != 3 || gd.Pending != 1 {
		t.Errorf("cases %d pending %d, want 3 and 1", gd.Cases, gd.Pending)
	}
	near := func(name string, got *float64, want float64) {
		t.Helper()
		if got == nil {
			t.Errorf("%s = null, want %v", name, want)
		} else if math.Abs(*got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, *got, want)
		}
	}
	near("mean_handle_hours", gd.MeanHandleHours, 2.75)
	near("handle_on_time", gd.Rates.HandleOnTime, 0.5)
	near("close_on_time", gd.Rates.CloseOnTime, 0.5)
	near("index", gd.Index, 25*1+35*0.5+15*1+25*1)
}
