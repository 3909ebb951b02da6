package dispatch

import (
	"slices"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
)

// TestMachineTable checks every (state, deferred or not, action, role) against DOMAIN.md
// section 1, written out independently of the machine's own table. A deferred case (缓办) takes
// resume only, and only a deferred case takes resume.
func TestMachineTable(t *testing.T) {
	type S = lanewatch.CaseStatus
	const (
		rep, reg, rej, dis, sig, inp, res, clo = lanewatch.StatusReported, lanewatch.StatusRegistered, lanewatch.StatusRejected,
			lanewatch.StatusDispatched, lanewatch.StatusSigned, lanewatch.StatusInProgress, lanewatch.StatusResolved, lanewatch.StatusClosed
	)
	states := []S{rep, reg, rej, dis, sig, inp, res, clo}
	ops := []string{"admin", "operator"}
	dept := []string{"assigned-department", "assigned-contractor"}
	domain := map[string]struct {
		from []S
		who  []string
		to   S
	}{
		"accept":   {[]S{rep}, ops, reg},
		"reject":   {[]S{rep}, ops, rej},
		"dispatch": {[]S{reg}, ops, dis},
		"sign":     {[]S{dis}, dept, sig},
		"start":    {[]S{sig}, dept, inp},
		"resolve":  {[]S{inp}, dept, res},
		"verify":   {[]S{res}, ops, clo},
		"close":    {[]S{rep, reg}, ops, clo},
		"return":   {[]S{dis, sig}, dept, reg},
		"rework":   {[]S{res}, ops, dis},
		"extend":   {[]S{sig, inp}, ops, ""},
		"rate":     {[]S{clo}, append([]string{"reporter"}, ops...), ""},
		"defer":    {[]S{dis, sig, inp}, ops, ""},
		"resume":   {[]S{dis, sig, inp}, ops, ""},
		"urge":     {[]S{dis, sig, inp}, ops, ""},
		"reassign": {[]S{dis, sig, inp}, ops, dis},
	}
	actors := map[string]Actor{
		"admin":               {Role: RoleAdmin},
		"operator":            {Role: RoleOperator, Name: "desk"},
		"assigned-department": {Role: RoleDepartment, ID: "d1"},
		"other-department":    {Role: RoleDepartment, ID: "d2"},
		"assigned-contractor": {Role: RoleContractor, ID: "c1"},
		"other-contractor":    {Role: RoleContractor, ID: "c2"},
		"viewer":              {Role: RoleViewer},
		"reporter":            {Role: RoleReporter},
	}
	if len(domain) != len(Actions()) {
		t.Fatalf("machine has %d actions, DOMAIN %d", len(Actions()), len(domain))
	}
	deferredAt := time.Date(2025, 3, 12, 3, 0, 0, 0, time.UTC)
	fits := func(action string, deferred bool) bool { return deferred == (action == "resume") }
	n := 0
	for _, deferred := range []bool{false, true} {
		for _, st := range states {
			for action, d := range domain {
				for name, a := range actors {
					// The contractor's cases are routed to itself (department = contractor id).
					c := &lanewatch.Case{ID: "1", Status: st, Department: "d1"}
					if a.Role == RoleContractor {
						c.Department, c.Contractor = "c1", "c1"
					}
					if deferred {
						c.DeferredAt = &deferredAt
					}
					tr, err := check(a, action, c)
					n++
					switch {
					case !slices.Contains(d.who, name):
						if lanewatch.ErrorCode(err) != lanewatch.EForbidden {
							t.Errorf("%s (deferred %v) %s by %s: err %v, want forbidden", st, deferred, action, name, err)
						}
					case !slices.Contains(d.from, st) || !fits(action, deferred):
						e, ok := err.(*lanewatch.Error)
						if !ok || e.Code != lanewatch.EConflict {
							t.Errorf("%s (deferred %v) %s by %s: err %v, want conflict", st, deferred, action, name, err)
							continue
						}
						var want []string
						for _, act := range actionOrder {
							if slices.Contains(domain[act].from, st) && slices.Contains(domain[act].who, name) && fits(act, deferred) {
								want = append(want, act)
							}
						}
						if !slices.Equal(e.Allowed, want) && !(len(want) == 0 && len(e.Allowed) == 0) {
							t.Errorf("%s (deferred %v) %s by %s: allowed %v, want %v", st, deferred, action, name, e.Allowed, want)
						}
					default:
						if err != nil {
							t.Errorf("%s (deferred %v) %s by %s: %v, want allowed", st, deferred, action, name, err)
						} else if tr.to != d.to {
							t.Errorf("%s %s: to %s, want %s", st, action, tr.to, d.to)
						}
					}
				}
			}
		}
	}
	if n != 2*8*16*8 {
		t.Fatalf("checked %d combinations", n)
	}
	if _, err := check(actors["admin"], "teleport", &lanewatch.Case{Status: rep}); lanewatch.ErrorCode(err) != lanewatch.EInvalid {
		t.Errorf("unknown action: %v", err)
	}
}
