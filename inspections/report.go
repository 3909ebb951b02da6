package inspections

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/lanewatch/lanewatch"
)

// Report is a campaign report (DOMAIN.md 9): the figures the bureau quotes.
type Report struct {
	Campaign string    `json:"campaign"`
	NameZH   string    `json:"name_zh"`
	NameEN   string    `json:"name_en"`
	Start    string    `json:"start"`
	End      string    `json:"end"`
	Cadence  string    `json:"cadence"`
	At       time.Time `json:"at"` // when the report was computed (case states as of then)
	// PlacesInScope, PlacesCovered and Coverage (covered / in scope, 全覆盖 at 1): a place is
	// covered by at least one visit in the campaign.
	PlacesInScope int      `json:"places_in_scope"`
	PlacesCovered int      `json:"places_covered"`
	Coverage      *float64 `json:"coverage"`
	Visits        int      `json:"visits"`
	PassVisits    int      `json:"pass_visits"`
	PersonVisits  int      `json:"person_visits"` // Σ participants of the visits
	Problems      int      `json:"problems"`
	// Rectified problems are those whose case is closed; RectificationRate = rectified / found.
	Rectified         int      `json:"rectified"`
	RectificationRate *float64 `json:"rectification_rate"`
	// OnTime problems are rectified ones whose case was last resolved by its handling deadline;
	// OnTimeRate = on time / rectified.
	OnTime     int        `json:"on_time"`
	OnTimeRate *float64   `json:"on_time_rate"`
	ByKind     []Row      `json:"by_kind"`
	ByDistrict []Row      `json:"by_district"`
	Rounds     []Round    `json:"rounds"`
	Groups     []Row      `json:"groups"`
	Places     []PlaceRow `json:"places"`
}

// Row is the figures of one place kind, district or group.
type Row struct {
	Key               string   `json:"key"`
	PlacesInScope     int      `json:"places_in_scope"`
	PlacesCovered     int      `json:"places_covered"`
	Coverage          *float64 `json:"coverage"`
	Visits            int      `json:"visits"`
	PersonVisits      int      `json:"person_visits"`
	Problems          int      `json:"problems"`
	Rectified         int      `json:"rectified"`
	RectificationRate *float64 `json:"rectification_rate"`
	OnTime            int      `json:"on_time"`
	OnTimeRate        *float64 `json:"on_time_rate"`
}

// Round is one round of the cadence: the places visited in it.
type Round struct {
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	PlacesCovered int       `json:"places_covered"`
	Coverage      *float64  `json:"coverage"`
	Visits        int       `json:"visits"`
}

// PlaceRow is one place in scope with its visits and problems.
type PlaceRow struct {
	Place
	Groups       []string   `json:"groups"`
	Visits       int        `json:"visits"`
	PersonVisits int        `json:"person_visits"`
	Problems     int        `json:"problems"`
	Rectified    int        `json:"rectified"`
	OnTime       int        `json:"on_time"`
	LastVisit    *time.Time `json:"last_visit"`
}

func ratio(n, d int) *float64 {
	if d == 0 {
		return nil
	}
	r := float64(n) / float64(d)
	return &r
}

// caseOutcome is what the report needs of a problem's case.
type caseOutcome struct{ rectified, onTime bool }

// outcome judges a case: rectified when closed; on time when its last resolve was at or before
// its handling deadline.
func outcome(c *lanewatch.Case) caseOutcome {
	if c == nil || c.Status != lanewatch.StatusClosed {
		return caseOutcome{}
	}
	var resolved time.Time
	for _, e := range c.Timeline {
		if e.Action == "resolve" {
			resolved = e.At
		}
	}
	on := !resolved.IsZero() && c.Deadlines.HandleBy != nil && !resolved.After(*c.Deadlines.HandleBy)
	return caseOutcome{rectified: true, onTime: on}
}

// Report computes the report of a campaign from its visits and their cases as they are now.
func (s *Service) Report(ctx context.Context, campaign string) (*Report, error) {
	c, ok := s.o.Campaigns.Get(campaign)
	if !ok {
		return nil, lanewatch.Errorf(lanewatch.ENotFound, "no campaign %q", campaign)
	}
	visits, err := s.Visits(ctx, campaign)
	if err != nil {
		return nil, err
	}
	outcomes := map[string]caseOutcome{}
	for _, v := range visits {
		for _, p := range v.Problems {
			if _, done := outcomes[p.CaseID]; done || p.CaseID == "" {
				continue
			}
			cs, err := s.o.Cases.Get(ctx, p.CaseID)
			if err != nil && lanewatch.ErrorCode(err) != lanewatch.ENotFound {
				return nil, err
			}
			outcomes[p.CaseID] = outcome(cs)
		}
	}
	return buildReport(c, s.o.Places, visits, outcomes, s.o.Now().UTC()), nil
}

// acc accumulates the figures of one row.
type acc struct {
	inScope, covered, visits, persons, problems, rectified, onTime int
}

func (a *acc) row(key string) Row {
	return Row{Key: key, PlacesInScope: a.inScope, PlacesCovered: a.covered, Coverage: ratio(a.covered, a.inScope),
		Visits: a.visits, PersonVisits: a.persons, Problems: a.problems, Rectified: a.rectified,
		RectificationRate: ratio(a.rectified, a.problems), OnTime: a.onTime, OnTimeRate: ratio(a.onTime, a.rectified)}
}

func buildReport(c *Campaign, places *Places, visits []*Visit, outcomes map[string]caseOutcome, now time.Time) *Report {
	rows := map[string]*PlaceRow{}
	r := &Report{Campaign: c.ID, NameZH: c.NameZH, NameEN: c.NameEN, Start: c.Start, End: c.End, Cadence: c.Cadence, At: now,
		ByKind: []Row{}, ByDistrict: []Row{}, Rounds: []Round{}, Groups: []Row{}, Places: []PlaceRow{}}
	for _, id := range c.Places {
		p, _ := places.Get(id)
		rows[id] = &PlaceRow{Place: p, Groups: slices.Clone(c.groupOf[id])}
		if rows[id].Groups == nil {
			rows[id].Groups = []string{}
		}
	}
	kinds, districts, groups := map[string]*acc{}, map[string]*acc{}, map[string]*acc{}
	get := func(m map[string]*acc, k string) *acc {
		if m[k] == nil {
			m[k] = &acc{}
		}
		return m[k]
	}
	for _, g := range c.Groups {
		get(groups, g.ID).inScope = len(g.Places)
	}
	for _, id := range c.Places {
		p := rows[id]
		get(kinds, p.Kind).inScope++
		get(districts, p.District).inScope++
	}
	groupCovered := map[string]map[string]bool{}
	for _, v := range visits {
		pr, inScope := rows[v.Place]
		if !inScope || v.At.Before(c.From) || !v.At.Before(c.To) {
			continue // the campaign's scope or period changed since
		}
		r.Visits++
		if v.Result == ResultPass {
			r.PassVisits++
		}
		n := len(v.Participants)
		r.PersonVisits += n
		pr.Visits++
		pr.PersonVisits += n
		if pr.LastVisit == nil || v.At.After(*pr.LastVisit) {
			at := v.At
			pr.LastVisit = &at
		}
		var rect, on int
		for _, p := range v.Problems {
			o := outcomes[p.CaseID]
			if o.rectified {
				rect++
			}
			if o.onTime {
				on++
			}
		}
		pr.Problems += len(v.Problems)
		pr.Rectified += rect
		pr.OnTime += on
		for _, a := range []*acc{get(kinds, pr.Kind), get(districts, pr.District), get(groups, v.Group)} {
			a.visits++
			a.persons += n
			a.problems += len(v.Problems)
			a.rectified += rect
			a.onTime += on
		}
		if groupCovered[v.Group] == nil {
			groupCovered[v.Group] = map[string]bool{}
		}
		groupCovered[v.Group][v.Place] = true
	}
	for _, id := range c.Places {
		p := rows[id]
		r.Places = append(r.Places, *p)
		r.Problems += p.Problems
		r.Rectified += p.Rectified
		r.OnTime += p.OnTime
		if p.Visits > 0 {
			r.PlacesCovered++
			get(kinds, p.Kind).covered++
			get(districts, p.District).covered++
		}
	}
	for g, ps := range groupCovered {
		get(groups, g).covered = len(ps)
	}
	r.PlacesInScope = len(c.Places)
	r.Coverage = ratio(r.PlacesCovered, r.PlacesInScope)
	r.RectificationRate = ratio(r.Rectified, r.Problems)
	r.OnTimeRate = ratio(r.OnTime, r.Rectified)
	for _, m := range []struct {
		in  map[string]*acc
		out *[]Row
	}{{kinds, &r.ByKind}, {districts, &r.ByDistrict}} {
		keys := make([]string, 0, len(m.in))
		for k := range m.in {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			*m.out = append(*m.out, m.in[k].row(k))
		}
	}
	for _, g := range c.Groups {
		r.Groups = append(r.Groups, get(groups, g.ID).row(g.ID))
	}
	for _, rd := range c.Rounds() {
		seen := map[string]bool{}
		round := Round{Start: rd[0].UTC(), End: rd[1].UTC()}
		for _, v := range visits {
			if _, ok := rows[v.Place]; ok && !v.At.Before(rd[0]) && v.At.Before(rd[1]) {
				round.Visits++
				seen[v.Place] = true
			}
		}
		round.PlacesCovered = len(seen)
		round.Coverage = ratio(len(seen), r.PlacesInScope)
		r.Rounds = append(r.Rounds, round)
	}
	return r
}
