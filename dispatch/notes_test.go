package dispatch

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/lanewatch/lanewatch"
)

// Server notes are stored as a code and parameters and shown in the reader's language in the
// calendar's time zone (issue 15: "sign deadline 2026-12-01T19:25:20Z passed" in a Chinese UI).
func TestNotesRenderedPerReader(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sh("2025-03-12 09:00"))
	c, _, _ := f.svc.Open(ctx, &lanewatch.Case{Category: "0101", Source: lanewatch.SourceCitizen, Location: gudongPt,
		Reporter: &lanewatch.Reporter{Phone: "13600000009"}}, "r")
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActAccept}, operator)
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActDispatch}, operator)
	f.clk.Set(sh("2025-03-12 10:30"))
	if err := f.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	over := got.Timeline[len(got.Timeline)-1]
	if over.Action != "overdue" || over.Code != NoteOverdue || over.Params["deadline"] != "2025-03-12T02:00:00Z" || over.Params["step"] != "sign" {
		t.Fatalf("overdue entry %+v", over)
	}
	if over.Note != "签收期限2025-03-12 10:00已过" {
		t.Fatalf("zh note %q", over.Note)
	}
	f.svc.RenderNotes(got, "en-US,en;q=0.9")
	if n := got.Timeline[len(got.Timeline)-1].Note; n != "sign deadline 2025-03-12 10:00 passed" {
		t.Fatalf("en note %q", n)
	}
	if n := got.Timeline[2].Note; n != "dispatched to xiqu-office" {
		t.Fatalf("en dispatch note %q", n)
	}
	for in, want := range map[string]string{"": "zh", "en": "en", "EN-us": "en", "zh-CN,en;q=0.9": "zh", "fr, en": "zh", "english": "zh"} {
		if got := Lang(in); got != want {
			t.Errorf("Lang(%q) = %q, want %q", in, got, want)
		}
	}
	// The duplicate SMS names the case it joined (was "duplicate of case 14" inside the text).
	dup, _, _ := f.svc.Open(ctx, &lanewatch.Case{Category: "0101", Source: lanewatch.SourceCitizen, Location: gudongPt,
		Reporter: &lanewatch.Reporter{Phone: "13600000010"}}, "r")
	n, err := f.st.GetNotification(ctx, "duplicate:"+dup.ID+":closed:sms:13600000010")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]string
	json.Unmarshal(n.Payload, &v)
	if v["duplicate_of"] != c.ID || v["district_name"] != "西区街道" {
		t.Fatalf("duplicate notice vars %v", v)
	}
}
