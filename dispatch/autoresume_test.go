package dispatch

import (
	"context"
	"testing"

	"github.com/lanewatch/lanewatch"
)

// TestResumeAutoAfterCrash: a node that dies between the automatic steps leaves a case in
// reported or registered. The next firing for it, or the next tick, finishes the steps; a case a
// person has touched is left alone.
func TestResumeAutoAfterCrash(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sh("2025-03-12 09:00"))
	// What a crash right after CreateCase leaves: reported, only the system's report entry.
	stuck := func(key string) *lanewatch.Case {
		now := f.clk.Now()
		c := &lanewatch.Case{Category: "9002", Source: lanewatch.SourceRule, Rule: "speeding", Key: key, Urgency: "normal",
			Contractor: "hy-sanitation", Location: gudongPt, Status: lanewatch.StatusReported, CreatedAt: now, UpdatedAt: now,
			LastSeenAt: now, Occurrences: 1,
			Timeline: []lanewatch.TimelineEntry{{Action: "report", Actor: "system", At: now, To: lanewatch.StatusReported}}}
		if _, _, err := f.st.CreateCase(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}

	a := stuck("sw-001")
	// The replayed firing (an occurrence) resumes it.
	got, created, err := f.svc.Open(ctx, &lanewatch.Case{Category: "9002", Source: lanewatch.SourceRule, Rule: "speeding",
		Key: "sw-001", Contractor: "hy-sanitation", Location: gudongPt}, "system")
	if err != nil || created {
		t.Fatalf("occurrence: created=%v err=%v", created, err)
	}
	if full, _ := f.svc.Get(ctx, a.ID); full.Status != lanewatch.StatusDispatched || full.Department != "hy-sanitation" {
		t.Fatalf("after the occurrence: %s to %q (returned %s)", full.Status, full.Department, got.Status)
	}

	// Without another firing, the tick resumes it.
	b := stuck("sw-002")
	if err := f.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if full, _ := f.svc.Get(ctx, b.ID); full.Status != lanewatch.StatusDispatched {
		t.Fatalf("after the tick: %s", full.Status)
	}

	// A case an operator accepted by hand and a department returned stays registered.
	c := stuck("sw-003")
	if err := f.svc.Tick(ctx); err != nil { // dispatched by the tick...
		t.Fatal(err)
	}
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActReturn, Note: "not ours"}, Actor{Role: RoleContractor, ID: "hy-sanitation"})
	if err := f.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if full, _ := f.svc.Get(ctx, c.ID); full.Status != lanewatch.StatusRegistered {
		t.Fatalf("returned case moved on by itself: %s", full.Status)
	}
}
