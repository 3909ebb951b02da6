package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// testDeferral: SetDeferral begins and ends a 缓办 with the case's other fields and a timeline
// entry, only from the opposite state; UpdateCase keeps deferred_at and refuses a copy whose
// deferral state is stale (a ticker that read the case before it was deferred must not mark it
// overdue, nor write back the old deadlines after it was resumed).
func testDeferral(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := create(t, s, fullCase())
	if got := get(t, s, c.ID); got.DeferredAt != nil {
		t.Fatalf("new case deferred at %v", got.DeferredAt)
	}
	stale := *c // as a ticker read it before the deferral
	stale.Timeline = nil

	// Begin: deferred_at, overdue cleared, timeline entry, all at once.
	def := stale
	def.DeferredAt, def.Overdue, def.UpdatedAt = ptr(at(time.Hour)), false, at(time.Hour)
	begin := lanewatch.TimelineEntry{Action: "defer", Actor: "operator:desk", At: at(time.Hour),
		From: c.Status, To: c.Status, Note: "道路施工"}
	must(t, s.SetDeferral(ctx, &def, c.Status, begin))
	want := stored(c)
	want.DeferredAt, want.Overdue, want.UpdatedAt = ptr(at(time.Hour)), false, at(time.Hour)
	want.Timeline = append(slices.Clone(c.Timeline), begin)
	sameCase(t, get(t, s, c.ID), want)

	// Not twice; not with a stale copy; not from another status.
	again := def
	again.DeferredAt = ptr(at(2 * time.Hour))
	wantCode(t, s.SetDeferral(ctx, &again, c.Status, begin), lanewatch.EConflict)
	over := stale
	over.Overdue, over.UpdatedAt = true, at(90*time.Minute)
	wantCode(t, s.UpdateCase(ctx, &over, c.Status, lanewatch.TimelineEntry{Action: "overdue", At: at(90 * time.Minute)}), lanewatch.EConflict)
	wantCode(t, s.SetDeferral(ctx, &def, lanewatch.StatusSigned, begin), lanewatch.EConflict)
	sameCase(t, get(t, s, c.ID), want)

	// An up-to-date copy updates the other fields and leaves deferred_at as it is.
	upd := def
	upd.Title, upd.DeferredAt, upd.UpdatedAt = "缓办中", ptr(at(5*time.Hour)), at(2*time.Hour)
	must(t, s.UpdateCase(ctx, &upd, c.Status))
	want.Title, want.UpdatedAt = "缓办中", at(2*time.Hour)
	sameCase(t, get(t, s, c.ID), want)

	// Listed with its deferral.
	list, _, err := s.ListCases(ctx, store.CaseFilter{Category: c.Category, WithHistory: true})
	must(t, err)
	if len(list) != 1 || list[0].DeferredAt == nil || !list[0].DeferredAt.Equal(at(time.Hour)) {
		t.Fatalf("listed %+v", list)
	}

	// End: deferred_at cleared with shifted deadlines and the resume entry.
	res := upd
	res.DeferredAt, res.UpdatedAt = nil, at(3*time.Hour)
	res.Deadlines.HandleBy = ptr(at(28 * time.Hour))
	end := lanewatch.TimelineEntry{Action: "resume", Actor: "operator:desk", At: at(3 * time.Hour),
		From: c.Status, To: c.Status, Code: "resumed", Params: map[string]string{"since": at(time.Hour).Format(time.RFC3339)}}
	must(t, s.SetDeferral(ctx, &res, c.Status, end))
	want.DeferredAt, want.UpdatedAt, want.Deadlines.HandleBy = nil, at(3*time.Hour), ptr(at(28*time.Hour))
	want.Timeline = append(want.Timeline, end)
	sameCase(t, get(t, s, c.ID), want)
	wantCode(t, s.SetDeferral(ctx, &res, c.Status, end), lanewatch.EConflict)
	// A copy from during the deferral is stale now.
	wantCode(t, s.UpdateCase(ctx, &upd, c.Status), lanewatch.EConflict)
	sameCase(t, get(t, s, c.ID), want)

	// A case may be created deferred (an import), and round-trips.
	d := fullCase()
	d.DeferredAt = ptr(at(4 * time.Hour))
	d = create(t, s, d)
	sameCase(t, get(t, s, d.ID), stored(d))
}
