package dispatch

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// notice reports whether the outbox holds the notification with key.
func notice(t *testing.T, f *fixture, key string) bool {
	t.Helper()
	_, err := f.st.GetNotification(context.Background(), key)
	switch lanewatch.ErrorCode(err) {
	case "":
		return true
	case lanewatch.ENotFound:
		return false
	}
	t.Fatalf("get notification %s: %v", key, err)
	return false
}

// tickAt runs the deadline ticker once at at.
func tickAt(t *testing.T, f *fixture, at time.Time) {
	t.Helper()
	f.clk.Set(at)
	if err := f.svc.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func timelineHas(c *lanewatch.Case, action string) bool {
	for _, e := range c.Timeline {
		if e.Action == action {
			return true
		}
	}
	return false
}

// TestDeferStopsTheClock: a case deferred (缓办) before its handling deadline is not reminded,
// not marked overdue and not escalated however long the deferral lasts, shows overdue false and
// takes no action but resume; resume shifts the deadline by the deferred working time and the
// case then is reminded and goes overdue at the shifted deadline, to the minute. Working hours
// are 08:30-12:00 and 14:30-18:00 (Asia/Shanghai); 0101 has a 4 working-hour limit.
func TestDeferStopsTheClock(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sh("2025-03-12 09:00")) // Wednesday
	c, _, err := f.svc.Open(ctx, &lanewatch.Case{Category: "0101", Source: lanewatch.SourceCitizen, Location: gudongPt}, "r")
	if err != nil {
		t.Fatal(err)
	}
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActAccept}, operator)
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActDispatch}, operator)
	f.clk.Set(sh("2025-03-12 09:10"))
	c = mustAct(t, f.svc, c.ID, ActionRequest{Action: ActSign}, xiqu)
	// 09:10-12:00 is 2h50m, then 14:30-15:40.
	oldDue := sh("2025-03-12 15:40")
	if !c.Deadlines.HandleBy.Equal(oldDue) {
		t.Fatalf("handle_by %v, want %v", c.Deadlines.HandleBy, oldDue)
	}
	key := func(event, dep, phone string, d time.Time) string {
		return event + ":" + c.ID + ":" + dep + ":" + fmtInt(d.Unix()) + ":sms:" + phone
	}

	f.clk.Set(sh("2025-03-12 11:00")) // 2h10m of working time left
	_, err = f.svc.Act(ctx, c.ID, ActionRequest{Action: ActResume}, operator)
	if e := wantCode(t, err, lanewatch.EConflict); !strings.Contains(e.Message, "not deferred") {
		t.Errorf("resume of a case not deferred: %v", e)
	}
	d := mustAct(t, f.svc, c.ID, ActionRequest{Action: ActDefer, Reason: "道路施工，待竣工后处理"}, operator)
	if d.DeferredAt == nil || !d.DeferredAt.Equal(sh("2025-03-12 11:00")) || d.Status != lanewatch.StatusSigned {
		t.Fatalf("after defer: %s deferred_at %v", d.Status, d.DeferredAt)
	}
	if !notice(t, f, "deferred:"+c.ID+":5:sms:13800000001") {
		t.Error("department not told of the deferral")
	}

	// While deferred: past the reminder point, past the deadline, the next day.
	for _, at := range []string{"2025-03-12 14:55", "2025-03-12 15:40", "2025-03-12 17:00", "2025-03-13 09:30"} {
		tickAt(t, f, sh(at))
		got, err := f.svc.Get(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Overdue || timelineHas(got, "overdue") || got.DeferredAt == nil {
			t.Fatalf("%s: deferred case overdue %v, deferred_at %v, timeline %+v", at, got.Overdue, got.DeferredAt, got.Timeline)
		}
		for _, k := range []string{key("remind", "xiqu-office", "13800000001", oldDue),
			key("overdue", "xiqu-office", "13800000001", oldDue), key("escalate", "bureau", "13900000000", oldDue)} {
			if notice(t, f, k) {
				t.Fatalf("%s: deferred case notified %s", at, k)
			}
		}
	}
	yes := true
	if over, _, err := f.svc.List(ctx, store.CaseFilter{Overdue: &yes}); err != nil || len(over) != 0 {
		t.Fatalf("overdue cases while deferred: %d %v", len(over), err)
	}
	// Nothing but resume, and resume by operators only.
	for _, r := range []struct {
		a    Actor
		act  string
		code string
	}{{xiqu, ActStart, lanewatch.EConflict}, {xiqu, ActReturn, lanewatch.EConflict}, {operator, ActUrge, lanewatch.EConflict},
		{operator, ActDefer, lanewatch.EConflict}, {operator, ActReassign, lanewatch.EConflict},
		{xiqu, ActResume, lanewatch.EForbidden}, {Actor{Role: RoleViewer}, ActResume, lanewatch.EForbidden}} {
		_, err := f.svc.Act(ctx, c.ID, ActionRequest{Action: r.act, Reason: "x", Department: "dongqu-office"}, r.a)
		e := wantCode(t, err, r.code)
		if r.code == lanewatch.EConflict && r.a == operator && (len(e.Allowed) != 1 || e.Allowed[0] != ActResume) {
			t.Errorf("%s while deferred: allowed %v, want [resume]", r.act, e.Allowed)
		}
	}

	// Resume on Thursday 10:00: deferred 11:00-12:00, 14:30-18:00, 08:30-10:00 = 6 working hours;
	// the 2h10m left run 10:00-12:00 and 14:30-14:40.
	f.clk.Set(sh("2025-03-13 10:00"))
	r := mustAct(t, f.svc, c.ID, ActionRequest{Action: ActResume, Note: "施工已结束"}, operator)
	newDue := sh("2025-03-13 14:40")
	if r.DeferredAt != nil || r.Overdue || r.Deadlines.HandleBy == nil || !r.Deadlines.HandleBy.Equal(newDue) || r.Status != lanewatch.StatusSigned {
		t.Fatalf("after resume: %s deferred_at %v overdue %v handle_by %v", r.Status, r.DeferredAt, r.Overdue, r.Deadlines.HandleBy)
	}
	last := r.Timeline[len(r.Timeline)-1]
	if last.Action != ActResume || last.Code != NoteResumed || last.Params["since"] != "2025-03-12T03:00:00Z" ||
		last.Params["step"] != "handle" || last.Params["deadline"] != "2025-03-13T06:40:00Z" || last.Params["text"] != "施工已结束" {
		t.Fatalf("resume entry %+v", last)
	}
	if want := "缓办结束（2025-03-12 11:00起），恢复办理；处置期限2025-03-13 14:40\n施工已结束"; last.Note != want {
		t.Errorf("zh note %q, want %q", last.Note, want)
	}
	en := *r
	en.Timeline = append([]lanewatch.TimelineEntry(nil), r.Timeline...)
	f.svc.RenderNotes(&en, "en-GB,en;q=0.9")
	if want := "resumed after deferral since 2025-03-12 11:00; handling deadline 2025-03-13 14:40\n施工已结束"; en.Timeline[len(en.Timeline)-1].Note != want {
		t.Errorf("en note %q, want %q", en.Timeline[len(en.Timeline)-1].Note, want)
	}
	n, err := f.st.GetNotification(ctx, "resumed:"+c.ID+":6:sms:13800000001")
	if err != nil {
		t.Fatalf("department not told of the resume: %v", err)
	}
	var v map[string]string
	if err := json.Unmarshal(n.Payload, &v); err != nil || v["deadline"] != "2025-03-13 14:40" || v["note"] != "施工已结束" {
		t.Errorf("resume notice vars %v (%v)", v, err)
	}

	// The clock runs again against the shifted deadline: reminded once 48 min (20% of 4h) of
	// working time are left (11:22), overdue at 14:40, not a minute before.
	tickAt(t, f, sh("2025-03-13 11:21"))
	if notice(t, f, key("remind", "xiqu-office", "13800000001", newDue)) {
		t.Fatal("reminded before 80% of the limit was used")
	}
	tickAt(t, f, sh("2025-03-13 11:22"))
	if !notice(t, f, key("remind", "xiqu-office", "13800000001", newDue)) {
		t.Fatal("not reminded at 80% of the limit")
	}
	tickAt(t, f, sh("2025-03-13 14:39"))
	if got, _ := f.svc.Get(ctx, c.ID); got.Overdue || notice(t, f, key("overdue", "xiqu-office", "13800000001", newDue)) {
		t.Fatal("overdue before the shifted deadline")
	}
	tickAt(t, f, sh("2025-03-13 14:40"))
	got, err := f.svc.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Overdue || !timelineHas(got, "overdue") {
		t.Fatalf("not overdue at the shifted deadline: %v", got.Overdue)
	}
	if !notice(t, f, key("overdue", "xiqu-office", "13800000001", newDue)) || !notice(t, f, key("escalate", "bureau", "13900000000", newDue)) {
		t.Fatal("overdue not notified and escalated at the shifted deadline")
	}
	if notice(t, f, key("overdue", "xiqu-office", "13800000001", oldDue)) {
		t.Fatal("the old deadline was notified")
	}
}

// TestDeferAfterDeadline: deferring an overdue case lifts the overdue state while deferred; a
// deadline already passed when the case was deferred is not moved on (that clock had run out),
// so the case is overdue again as soon as it is resumed. An urgent case's natural-time sign
// limit is shifted in natural time.
func TestDeferAfterDeadline(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sh("2025-03-12 09:00"))
	open := func(category, urgency string) *lanewatch.Case {
		c, _, err := f.svc.Open(ctx, &lanewatch.Case{Category: category, Urgency: urgency, Source: lanewatch.SourceCitizen, Location: gudongPt}, "r")
		if err != nil {
			t.Fatal(err)
		}
		mustAct(t, f.svc, c.ID, ActionRequest{Action: ActAccept}, operator)
		return mustAct(t, f.svc, c.ID, ActionRequest{Action: ActDispatch}, operator)
	}
	late := open("0101", lanewatch.UrgencyNormal)   // sign_by 10:00
	urgent := open("0102", lanewatch.UrgencyUrgent) // another category: not a duplicate
	if !late.Deadlines.SignBy.Equal(sh("2025-03-12 10:00")) || !urgent.Deadlines.SignBy.Equal(sh("2025-03-12 09:30")) {
		t.Fatalf("sign_by %v and %v", late.Deadlines.SignBy, urgent.Deadlines.SignBy)
	}
	f.clk.Set(sh("2025-03-12 09:10")) // urgent: 20 natural minutes left
	mustAct(t, f.svc, urgent.ID, ActionRequest{Action: ActDefer, Reason: "等待交警配合"}, operator)
	tickAt(t, f, sh("2025-03-12 10:30"))
	if got, _ := f.svc.Get(ctx, late.ID); !got.Overdue {
		t.Fatal("not overdue past its sign deadline")
	}
	d := mustAct(t, f.svc, late.ID, ActionRequest{Action: ActDefer, Reason: "待核实地址"}, operator)
	if d.Overdue {
		t.Fatal("deferred case still shows overdue")
	}
	tickAt(t, f, sh("2025-03-12 20:00"))
	if got, _ := f.svc.Get(ctx, late.ID); got.Overdue {
		t.Fatal("deferred case marked overdue by the ticker")
	}
	r := mustAct(t, f.svc, late.ID, ActionRequest{Action: ActResume}, operator)
	if !r.Deadlines.SignBy.Equal(sh("2025-03-12 10:00")) || !r.Overdue {
		t.Fatalf("resumed: sign_by %v overdue %v, want 10:00 and overdue", r.Deadlines.SignBy, r.Overdue)
	}
	u := mustAct(t, f.svc, urgent.ID, ActionRequest{Action: ActResume}, operator)
	if !u.Deadlines.SignBy.Equal(sh("2025-03-12 20:20")) || u.Overdue {
		t.Fatalf("urgent resumed at 20:00: sign_by %v overdue %v, want 20:20", u.Deadlines.SignBy, u.Overdue)
	}
}
