package dispatch

import (
	"context"
	"strings"
	"testing"

	"github.com/lanewatch/lanewatch"
)

// Vehicle rule cases routed "@contractor" go to a contractor of the shipped routing file: it is
// told of the dispatch, and past the sign deadline it is told again and its supervisor is
// escalated to (issue 15: contractors had no contacts and no supervisor).
func TestContractorsAreParties(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sh("2026-12-01 09:00")) // Tuesday
	s := shippedService(t, f)
	c, _, err := s.Open(ctx, &lanewatch.Case{Category: "9002", Source: lanewatch.SourceRule, Rule: "speeding", Key: "sw-001",
		DeviceID: "sw-001", Contractor: "lvcheng", Location: lanewatch.Location{Lat: 22.52, Lon: 113.3652775}}, "system")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != lanewatch.StatusDispatched || c.Department != "lvcheng" {
		t.Fatalf("9002 of lvcheng: %s to %q", c.Status, c.Department)
	}
	sign := fmtInt(c.Deadlines.SignBy.Unix())
	if _, err := f.st.GetNotification(ctx, "dispatched:"+c.ID+":lvcheng:"+sign+":sms:13700000001"); err != nil {
		t.Fatalf("contractor not told of the dispatch: %v", err)
	}
	f.clk.Set(sh("2026-12-01 10:30"))
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.GetNotification(ctx, "overdue:"+c.ID+":lvcheng:"+sign+":sms:13700000001"); err != nil {
		t.Fatalf("contractor not told of the overdue case: %v", err)
	}
	if _, err := f.st.GetNotification(ctx, "escalate:"+c.ID+":bureau:"+sign+":sms:13900000000"); err != nil {
		t.Fatalf("contractor's supervisor not escalated to: %v", err)
	}
	// The contractor acts on its own case.
	mustAct(t, s, c.ID, ActionRequest{Action: ActSign}, Actor{Role: RoleContractor, ID: "lvcheng"})

	// A contractor the file does not list: the next best route (the district's office).
	u, _, err := s.Open(ctx, &lanewatch.Case{Category: "9002", Source: lanewatch.SourceRule, Rule: "speeding", Key: "sw-x",
		Contractor: "unknown-co", Location: lanewatch.Location{Lat: 22.52, Lon: 113.3652775}}, "system")
	if err != nil || u.Department != "xiqu-office" {
		t.Fatalf("unlisted contractor: routed to %q (%v), want xiqu-office", u.Department, err)
	}
}

func TestContractorValidation(t *testing.T) {
	base := "departments: [{id: bureau}]\n"
	for name, tc := range map[string]struct{ yaml, want string }{
		"no id":          {base + "contractors: [{name: x}]\n", "contractors[0]: id is required"},
		"twice":          {base + "contractors: [{id: a}, {id: a}]\n", `contractors[1]: id "a" defined twice`},
		"also dept":      {base + "contractors: [{id: bureau}]\n", `contractors[0]: id "bureau" is also a department`},
		"bad supervisor": {base + "contractors: [{id: a, supervisor: nobody}]\n", `supervisor "nobody" is not a department`},
		"unknown key":    {base + "contractors: [{id: a, phone: 1}]\n", "phone"},
	} {
		_, err := ParseRouting("routing.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to contain %q", name, err, tc.want)
		}
	}
	if _, err := ParseRouting("routing.yaml", []byte(base+"contractors: [{id: a, name: 甲, supervisor: bureau, contacts: {sms: ['1']}}]\n")); err != nil {
		t.Fatal(err)
	}
}
