package dispatch

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/lanewatch/lanewatch"
)

// TestUrgeAndReassign: 催办 records the note, keeps the status and tells the department each
// time; 改派 moves the case to another department with a new sign deadline counted from the
// reassignment, lifts the overdue state and tells both departments.
func TestUrgeAndReassign(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sh("2025-03-12 09:00")) // Wednesday
	c, _, err := f.svc.Open(ctx, &lanewatch.Case{Category: "0101", Source: lanewatch.SourceCitizen, Location: gudongPt}, "r")
	if err != nil {
		t.Fatal(err)
	}
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActAccept}, operator)
	c = mustAct(t, f.svc, c.ID, ActionRequest{Action: ActDispatch}, operator)
	if c.Department != "xiqu-office" {
		t.Fatalf("dispatched to %s", c.Department)
	}
	f.clk.Set(sh("2025-03-12 10:30")) // sign deadline 10:00 passed
	if err := f.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Act(ctx, c.ID, ActionRequest{Action: ActUrge, Note: "请尽快签收"}, xiqu)
	wantCode(t, err, lanewatch.EForbidden)
	u := mustAct(t, f.svc, c.ID, ActionRequest{Action: ActUrge, Note: "请尽快签收"}, operator)
	if u.Status != lanewatch.StatusDispatched || u.Timeline[len(u.Timeline)-1].Action != ActUrge || u.Timeline[len(u.Timeline)-1].Note != "请尽快签收" {
		t.Fatalf("after urge: %s %+v", u.Status, u.Timeline[len(u.Timeline)-1])
	}
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActUrge, Note: "第二次催办"}, operator)
	urges := 0
	for _, key := range []string{"urge:" + c.ID + ":5:sms:13800000001", "urge:" + c.ID + ":6:sms:13800000001"} {
		n, err := f.st.GetNotification(ctx, key)
		if err != nil {
			t.Fatalf("urge notice %s: %v", key, err)
		}
		var v map[string]string
		json.Unmarshal(n.Payload, &v)
		if v["event"] == "urge" {
			urges++
		}
	}
	if urges != 2 {
		t.Fatalf("%d urge notices, want 2", urges)
	}

	_, err = f.svc.Act(ctx, c.ID, ActionRequest{Action: ActReassign}, operator)
	wantCode(t, err, lanewatch.EInvalid)
	_, err = f.svc.Act(ctx, c.ID, ActionRequest{Action: ActReassign, Department: "nowhere"}, operator)
	wantCode(t, err, lanewatch.EInvalid)
	_, err = f.svc.Act(ctx, c.ID, ActionRequest{Action: ActReassign, Department: "xiqu-office"}, operator)
	wantCode(t, err, lanewatch.EInvalid)
	f.clk.Set(sh("2025-03-12 11:30"))
	r := mustAct(t, f.svc, c.ID, ActionRequest{Action: ActReassign, Department: "dongqu-office", Note: "属岐关西路辖区"}, operator)
	// One working hour from 11:30: 12:00, then 14:30-15:00.
	if r.Department != "dongqu-office" || r.Status != lanewatch.StatusDispatched || r.Overdue ||
		r.Deadlines.SignBy == nil || !r.Deadlines.SignBy.Equal(sh("2025-03-12 15:00")) {
		t.Fatalf("after reassign: %s to %s overdue %v sign_by %v", r.Status, r.Department, r.Overdue, r.Deadlines.SignBy)
	}
	if _, err := f.st.GetNotification(ctx, "dispatched:"+c.ID+":dongqu-office:"+fmtInt(sh("2025-03-12 15:00").Unix())+":sms:13800000002"); err != nil {
		t.Fatalf("new department not told: %v", err)
	}
	if _, err := f.st.GetNotification(ctx, "reassigned:"+c.ID+":7:sms:13800000001"); err != nil {
		t.Fatalf("old department not told: %v", err)
	}
	// The old department may no longer act; the new one signs.
	_, err = f.svc.Act(ctx, c.ID, ActionRequest{Action: ActSign}, xiqu)
	wantCode(t, err, lanewatch.EForbidden)
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActSign}, Actor{Role: RoleDepartment, ID: "dongqu-office"})
}
