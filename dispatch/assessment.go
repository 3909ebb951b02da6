package dispatch

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// Assessment is the monthly scoreboard (DOMAIN.md section 5).
type Assessment struct {
	Month     string          `json:"month"`
	Weights   Weights         `json:"weights"`
	Districts []DistrictScore `json:"districts"`
}

// DistrictScore is one district's month. Rates are in 0..1 and nil when there is nothing to
// measure; Index is 0..100, nil for a district without cases.
type DistrictScore struct {
	District string `json:"district"`
	// DistrictName is the district's name_zh from the districts file ("" if not listed).
	DistrictName    string   `json:"district_name"`
	Index           *float64 `json:"index"`
	Rates           Rates    `json:"rates"`
	MeanScore       *float64 `json:"mean_score"`
	MeanHandleHours *float64 `json:"mean_handle_hours"`
	// Cases is the number of cases with at least one step due in the month (DOMAIN.md 5 "Due").
	Cases int `json:"cases"`
	// Pending is the number of cases with a step whose deadline falls in the month but is
	// still ahead and not done: counted in no rate, shown apart.
	Pending int    `json:"pending"`
	Counts  Counts `json:"counts"`
	// Parts are the values (0..1) of the extra index parts (SetIndexParts) for the district.
	Parts map[string]float64 `json:"parts,omitempty"`
}

// Rates of a district.
type Rates struct {
	SignOnTime   *float64 `json:"sign_on_time"`
	HandleOnTime *float64 `json:"handle_on_time"`
	Handled      *float64 `json:"handled"`
	CloseOnTime  *float64 `json:"close_on_time"`
	Rework       *float64 `json:"rework"`
	Extension    *float64 `json:"extension"`
	Satisfaction *float64 `json:"satisfaction"`
}

// Counts are the numerators and denominators behind the rates.
type Counts struct {
	ShouldSign    int `json:"should_sign"`
	SignedOnTime  int `json:"signed_on_time"`
	ShouldHandle  int `json:"should_handle"`
	HandledOnTime int `json:"handled_on_time"`
	Handled       int `json:"handled"`
	ShouldClose   int `json:"should_close"`
	ClosedOnTime  int `json:"closed_on_time"`
	Closed        int `json:"closed"`
	Reworks       int `json:"reworks"`
	Extended      int `json:"extended"`
	Ratings       int `json:"ratings"`
	Satisfied     int `json:"satisfied"`
	ScoreSum      int `json:"score_sum"`
	// PendingSign, PendingHandle and PendingClose count steps not yet due (deadline ahead,
	// not done); they are in no denominator.
	PendingSign   int `json:"pending_sign"`
	PendingHandle int `json:"pending_handle"`
	PendingClose  int `json:"pending_close"`
	// Deferred counts cases suspended by an approved 缓办 (action defer) and not resumed, left
	// out of the 应结案 denominators; their other steps are judged as of the deferral.
	Deferred int `json:"deferred"`
	// Urges are 催办 actions and Reassigned cases sent to another department (改派), over the
	// cases with a step due or pending in the month.
	Urges          int           `json:"urges"`
	Reassigned     int           `json:"reassigned"`
	HandleDuration time.Duration `json:"-"`
}

// caseFacts are the times an assessment needs from a case's timeline.
type caseFacts struct {
	signedAt, resolvedAt, closedAt *time.Time
	reworks, extends, urges        int
	reassigned                     bool
	// deferredAt is when the case's current 缓办 began (nil: not deferred); spans are the
	// ended ones, [defer, resume).
	deferredAt *time.Time
	spans      [][2]time.Time
}

// stopped returns the working time in [a, b) during which f's case was deferred.
func (f *caseFacts) stopped(cal *Calendar, a, b time.Time) time.Duration {
	var sum time.Duration
	for _, sp := range f.spans {
		sum += cal.Between(maxTime(a, sp[0]), minTime(b, sp[1]))
	}
	return sum
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func factsOf(c *lanewatch.Case) caseFacts {
	var f caseFacts
	for i := range c.Timeline {
		e := &c.Timeline[i]
		at := e.At
		switch e.Action {
		case ActDispatch, ActReturn:
			f.signedAt, f.resolvedAt = nil, nil
		case ActRework:
			f.reworks++
			f.signedAt, f.resolvedAt = nil, nil
		case ActSign:
			f.signedAt = &at
		case ActResolve:
			f.resolvedAt = &at
		case ActVerify:
			f.closedAt = &at
		case ActExtend:
			f.extends++
		case ActDefer:
			f.deferredAt = &at
		case ActResume:
			if f.deferredAt != nil {
				f.spans = append(f.spans, [2]time.Time{*f.deferredAt, at})
			}
			f.deferredAt = nil
		case ActUrge:
			f.urges++
		case ActReassign:
			f.reassigned = true
			f.signedAt, f.resolvedAt = nil, nil
		}
	}
	return f
}

// Assess computes the assessment of month ("YYYY-MM", in the calendar's time zone) over
// cases whose deadlines fall in the month: sign_by (应签收), handle_by (应处置) and the close
// deadline handle_by + limits.verify (应结案). Reworks count against cases closed; extensions
// against cases that should have been handled; ratings of cases that should have been closed.
// Cases created more than 92 days before the month are not considered.
func (s *Service) Assess(ctx context.Context, month string) (*Assessment, error) {
	start, err := time.ParseInLocation("2006-01", month, s.cal.Location())
	if err != nil {
		return nil, lanewatch.Errorf(lanewatch.EInvalid, "month: %q is not YYYY-MM", month)
	}
	end := start.AddDate(0, 1, 0)
	var cases []*lanewatch.Case
	// Timelines and ratings come with each page (two queries per 1,000 cases).
	f := store.CaseFilter{Since: start.AddDate(0, 0, -92), Until: end, Limit: store.MaxLimit, WithHistory: true}
	for {
		page, next, err := s.o.Store.ListCases(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("assess: %w", err)
		}
		for _, c := range page {
			if !inMonth(c.Deadlines.SignBy, start, end) && !inMonth(c.Deadlines.HandleBy, start, end) &&
				!inMonth(s.closeBy(c), start, end) {
				continue
			}
			cases = append(cases, c)
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	return s.withParts(ctx, s.assess(month, start, end, s.o.Now(), cases), start, end)
}

func (s *Service) closeBy(c *lanewatch.Case) *time.Time {
	if c.Deadlines.HandleBy == nil {
		return nil
	}
	t := s.cal.Add(*c.Deadlines.HandleBy, time.Duration(s.o.Routing.Limits.Verify))
	return &t
}

func inMonth(t *time.Time, start, end time.Time) bool {
	return t != nil && !t.Before(start) && t.Before(end)
}

func within(at, deadline *time.Time) bool {
	return at != nil && deadline != nil && !at.After(*deadline)
}

// due reports whether a step with deadline d enters its rate's denominators at now: when the
// step was done or its deadline has passed, whichever comes first (DOMAIN.md 5 "Due").
func due(done bool, d *time.Time, now time.Time) bool { return done || !now.Before(*d) }

// assess computes the scores of cases (already with timelines) for the month [start, end) as
// known at now: steps not yet due are pending and counted apart.
func (s *Service) assess(month string, start, end, now time.Time, cases []*lanewatch.Case) *Assessment {
	counts := map[string]*Counts{}
	members := map[string]int{}
	get := func(d string) *Counts {
		if counts[d] == nil {
			counts[d] = &Counts{}
		}
		return counts[d]
	}
	pending := map[string]int{}
	for _, c := range cases {
		f := factsOf(c)
		n := get(c.District)
		counted, waiting := false, false
		// A deferred case's clock stopped at the deferral: a step due then stays due, one
		// still ahead then is still ahead (pending).
		asOf := now
		if f.deferredAt != nil && f.deferredAt.Before(now) {
			asOf = *f.deferredAt
		}
		if inMonth(c.Deadlines.SignBy, start, end) {
			if due(f.signedAt != nil, c.Deadlines.SignBy, asOf) {
				counted = true
				n.ShouldSign++
				if within(f.signedAt, c.Deadlines.SignBy) {
					n.SignedOnTime++
				}
			} else {
				waiting = true
				n.PendingSign++
			}
		}
		if inMonth(c.Deadlines.HandleBy, start, end) {
			if due(f.resolvedAt != nil, c.Deadlines.HandleBy, asOf) {
				counted = true
				n.ShouldHandle++
				if f.resolvedAt != nil {
					n.Handled++
					if f.signedAt != nil {
						n.HandleDuration += s.cal.Between(*f.signedAt, *f.resolvedAt) - f.stopped(s.cal, *f.signedAt, *f.resolvedAt)
					}
				}
				if within(f.resolvedAt, c.Deadlines.HandleBy) {
					n.HandledOnTime++
				}
				if f.extends > 0 {
					n.Extended++
				}
			} else {
				waiting = true
				n.PendingHandle++
			}
		}
		if cb := s.closeBy(c); inMonth(cb, start, end) {
			switch {
			case f.deferredAt != nil && f.closedAt == nil:
				n.Deferred++
			case due(f.closedAt != nil, cb, now):
				counted = true
				n.ShouldClose++
				if f.closedAt != nil {
					n.Closed++
					n.Reworks += f.reworks
				}
				if within(f.closedAt, cb) {
					n.ClosedOnTime++
				}
				if c.Rating != nil {
					n.Ratings++
					n.ScoreSum += c.Rating.Score
					if c.Rating.Score >= 4 {
						n.Satisfied++
					}
				}
			default:
				waiting = true
				n.PendingClose++
			}
		}
		if counted {
			members[c.District]++
		}
		if counted || waiting {
			n.Urges += f.urges
			if f.reassigned {
				n.Reassigned++
			}
		}
		if waiting {
			pending[c.District]++
		}
	}
	names := s.o.Districts.IDs()
	for d := range counts {
		if !slices.Contains(names, d) && (members[d] > 0 || pending[d] > 0) {
			names = append(names, d)
		}
	}
	slices.Sort(names)
	out := &Assessment{Month: month, Weights: s.o.Routing.Weights, Districts: []DistrictScore{}}
	for _, d := range names {
		n := get(d)
		ds := DistrictScore{District: d, DistrictName: s.o.Districts.Name(d, "zh"), Cases: members[d], Pending: pending[d], Counts: *n}
		ds.Rates = Rates{
			SignOnTime:   ratio(n.SignedOnTime, n.ShouldSign),
			HandleOnTime: ratio(n.HandledOnTime, n.ShouldHandle),
			Handled:      ratio(n.Handled, n.ShouldHandle),
			CloseOnTime:  ratio(n.ClosedOnTime, n.ShouldClose),
			Rework:       ratio(n.Reworks, n.Closed),
			Extension:    ratio(n.Extended, n.ShouldHandle),
			Satisfaction: ratio(n.Satisfied, n.Ratings),
		}
		if n.Ratings > 0 {
			v := float64(n.ScoreSum) / float64(n.Ratings)
			ds.MeanScore = &v
		}
		if n.Handled > 0 {
			v := n.HandleDuration.Hours() / float64(n.Handled)
			ds.MeanHandleHours = &v
		}
		if ds.Cases > 0 {
			ds.Index = index(s.o.Routing.Weights, ds.Rates)
		}
		out.Districts = append(out.Districts, ds)
	}
	return out
}

func ratio(num, den int) *float64 {
	if den == 0 {
		return nil
	}
	v := float64(num) / float64(den)
	return &v
}

// index is the weighted sum on 0..100 of the measurable parts; parts with nothing to measure
// are left out and the remaining weights rescaled. Nil when nothing is measurable.
func index(w Weights, r Rates) *float64 {
	var sum, wsum float64
	add := func(weight float64, v *float64, invert bool) {
		if v == nil || weight == 0 {
			return
		}
		x := *v
		if invert {
			x = 1 - x
		}
		sum += weight * x
		wsum += weight
	}
	add(w.SignOnTime, r.SignOnTime, false)
	add(w.HandleOnTime, r.HandleOnTime, false)
	add(w.NoRework, r.Rework, true)
	add(w.Satisfaction, r.Satisfaction, false)
	if wsum == 0 {
		return nil
	}
	v := 100 * sum / wsum
	return &v
}
