package dispatch

import (
	"slices"
	"time"

	"github.com/lanewatch/lanewatch"
)

// Actions of the case lifecycle (DOMAIN.md section 1).
const (
	ActAccept   = "accept"
	ActReject   = "reject"
	ActDispatch = "dispatch"
	ActSign     = "sign"
	ActStart    = "start"
	ActResolve  = "resolve"
	ActVerify   = "verify"
	ActClose    = "close"
	ActReturn   = "return"
	ActRework   = "rework"
	ActExtend   = "extend"
	ActRate     = "rate"
	// ActDefer is 缓办: the operator approves suspending a case that cannot be handled now
	// (reason required, status kept, Case.DeferredAt set). Its clock stops: no reminder, no
	// overdue, no other action until it is resumed; the assessment leaves it out of the 应结案
	// rates.
	ActDefer = "defer"
	// ActResume ends a 缓办: deadlines still ahead when the case was deferred are moved on by
	// the deferred span (working time, natural time for urgent limits).
	ActResume = "resume"
	// ActUrge is 催办: the operator reminds the assigned department of a case (note recorded,
	// department notified, status kept).
	ActUrge = "urge"
	// ActReassign is 改派: the operator sends a case to another department; the sign limit
	// restarts from the reassignment.
	ActReassign = "reassign"
)

// Roles of actors.
const (
	RoleAdmin      = "admin"
	RoleOperator   = "operator" // also the inspector (核查员)
	RoleDepartment = "department"
	RoleContractor = "contractor"
	RoleViewer     = "viewer"
	RoleReporter   = "reporter" // the citizen who reported (Open311 or plaque app)
	RoleSystem     = "system"
)

// Actor is who performs an action.
type Actor struct {
	Role string
	ID   string // department or contractor id
	Name string
}

// String is how the actor is recorded in timelines.
func (a Actor) String() string {
	switch {
	case a.Role == RoleSystem:
		return "system"
	case a.ID != "":
		return a.Role + ":" + a.ID
	case a.Name != "":
		return a.Role + ":" + a.Name
	}
	return a.Role
}

// who may perform an action.
type who int

const (
	byOperator who = 1 << iota // operator, admin (and system for auto steps)
	byAssigned                 // the assigned department (or contractor acting as one)
	byReporter                 // the reporter
)

type transition struct {
	from []lanewatch.CaseStatus
	to   lanewatch.CaseStatus // "" keeps the status
	who  who
}

var (
	openHandling = []lanewatch.CaseStatus{lanewatch.StatusSigned, lanewatch.StatusInProgress}
	// inHands are the states in which a department holds a case.
	inHands = []lanewatch.CaseStatus{lanewatch.StatusDispatched, lanewatch.StatusSigned, lanewatch.StatusInProgress}
	machine = map[string]transition{
		ActAccept:   {[]lanewatch.CaseStatus{lanewatch.StatusReported}, lanewatch.StatusRegistered, byOperator},
		ActReject:   {[]lanewatch.CaseStatus{lanewatch.StatusReported}, lanewatch.StatusRejected, byOperator},
		ActDispatch: {[]lanewatch.CaseStatus{lanewatch.StatusRegistered}, lanewatch.StatusDispatched, byOperator},
		ActSign:     {[]lanewatch.CaseStatus{lanewatch.StatusDispatched}, lanewatch.StatusSigned, byAssigned},
		ActStart:    {[]lanewatch.CaseStatus{lanewatch.StatusSigned}, lanewatch.StatusInProgress, byAssigned},
		ActResolve:  {[]lanewatch.CaseStatus{lanewatch.StatusInProgress}, lanewatch.StatusResolved, byAssigned},
		ActVerify:   {[]lanewatch.CaseStatus{lanewatch.StatusResolved}, lanewatch.StatusClosed, byOperator},
		ActClose:    {[]lanewatch.CaseStatus{lanewatch.StatusReported, lanewatch.StatusRegistered}, lanewatch.StatusClosed, byOperator},
		ActReturn:   {[]lanewatch.CaseStatus{lanewatch.StatusDispatched, lanewatch.StatusSigned}, lanewatch.StatusRegistered, byAssigned},
		ActRework:   {[]lanewatch.CaseStatus{lanewatch.StatusResolved}, lanewatch.StatusDispatched, byOperator},
		ActExtend:   {openHandling, "", byOperator},
		ActRate:     {[]lanewatch.CaseStatus{lanewatch.StatusClosed}, "", byOperator | byReporter},
		ActDefer:    {inHands, "", byOperator},
		ActResume:   {inHands, "", byOperator},
		ActUrge:     {inHands, "", byOperator},
		ActReassign: {inHands, lanewatch.StatusDispatched, byOperator},
	}
	actionOrder = []string{ActAccept, ActReject, ActDispatch, ActSign, ActStart, ActResolve, ActVerify,
		ActClose, ActReturn, ActRework, ActExtend, ActRate, ActDefer, ActResume, ActUrge, ActReassign}
)

// Actions returns every action name in lifecycle order.
func Actions() []string { return slices.Clone(actionOrder) }

// mayAct reports whether a may perform an action needing w on c (regardless of status).
func mayAct(a Actor, w who, c *lanewatch.Case) bool {
	switch a.Role {
	case RoleAdmin, RoleOperator, RoleSystem:
		return w&byOperator != 0
	case RoleDepartment:
		return w&byAssigned != 0 && a.ID != "" && a.ID == c.Department
	case RoleContractor:
		// A contractor acts as the assigned department on cases routed to itself.
		return w&byAssigned != 0 && a.ID != "" && a.ID == c.Department && a.ID == c.Contractor
	case RoleReporter:
		return w&byReporter != 0
	}
	return false
}

// Allowed returns the actions a may take on c in its current status, in lifecycle order.
func Allowed(a Actor, c *lanewatch.Case) []string {
	out := []string{}
	for _, name := range actionOrder {
		t := machine[name]
		if slices.Contains(t.from, c.Status) && mayAct(a, t.who, c) && deferralAllows(name, c) {
			out = append(out, name)
		}
	}
	return out
}

// check returns the transition for action, or the error: EInvalid for an unknown action,
// EForbidden when a may never take it on c, EConflict (with Allowed) when c's status does not
// allow it.
func check(a Actor, action string, c *lanewatch.Case) (transition, error) {
	t, ok := machine[action]
	if !ok {
		return t, lanewatch.Errorf(lanewatch.EInvalid, "action: %q is not one of accept, reject, dispatch, sign, start, resolve, verify, close, return, rework, extend, rate, defer, resume, urge, reassign", action)
	}
	if !mayAct(a, t.who, c) {
		return t, lanewatch.Errorf(lanewatch.EForbidden, "%s may not %s case %s", a, action, c.ID)
	}
	if !slices.Contains(t.from, c.Status) {
		e := lanewatch.Errorf(lanewatch.EConflict, "case %s is %s: %s is not allowed", c.ID, c.Status, action)
		e.Allowed = Allowed(a, c)
		return t, e
	}
	if !deferralAllows(action, c) {
		var e *lanewatch.Error
		if c.DeferredAt != nil {
			e = lanewatch.Errorf(lanewatch.EConflict, "case %s is deferred (缓办) since %s: %s is not allowed until it is resumed",
				c.ID, c.DeferredAt.UTC().Format(time.RFC3339), action)
		} else {
			e = lanewatch.Errorf(lanewatch.EConflict, "case %s is not deferred: nothing to resume", c.ID)
		}
		e.Allowed = Allowed(a, c)
		return t, e
	}
	return t, nil
}

// deferralAllows reports whether action fits c's deferral: a deferred case takes resume only,
// a case not deferred anything but resume.
func deferralAllows(action string, c *lanewatch.Case) bool {
	return (c.DeferredAt != nil) == (action == ActResume)
}
