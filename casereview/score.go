package casereview

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// Item results.
const (
	Pass = "pass"
	Fail = "fail"
	NA   = "na" // not applicable (no enforcement, say): left out of the score
)

// ItemResult is a reviewer's judgement of one checklist item.
type ItemResult struct {
	ID     string `json:"id"`
	Result string `json:"result"`
	Note   string `json:"note"`
}

// Score is one reviewer's score of one case file: 100 × the weight of the items passed / the
// weight of the items passed or failed.
type Score struct {
	ReviewID string       `json:"review_id"`
	CaseID   string       `json:"case_id"`
	Reviewer string       `json:"reviewer"`
	Items    []ItemResult `json:"items"`
	Score    float64      `json:"score"`
	At       time.Time    `json:"at"`
}

// SetScore records (or replaces) reviewer's score of a case of the review. Every item of the
// review's checklist is judged exactly once; at least one is not na; a fail needs a note.
func (s *Service) SetScore(ctx context.Context, reviewID, caseID, reviewer string, items []ItemResult) (*Score, error) {
	rv, err := s.Get(ctx, reviewID)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(rv.CaseIDs, caseID) {
		return nil, lanewatch.Errorf(lanewatch.ENotFound, "case %s is not in review %s", caseID, reviewID)
	}
	if reviewer == "" {
		return nil, invalid("reviewer: the token has no name")
	}
	byID := map[string]ItemResult{}
	for i, it := range items {
		switch {
		case !slices.ContainsFunc(rv.Checklist, func(c Item) bool { return c.ID == it.ID }):
			return nil, invalid("items[%d].id: %q is not a checklist item", i, it.ID)
		case byID[it.ID].ID != "":
			return nil, invalid("items[%d].id: %q is judged twice", i, it.ID)
		case it.Result != Pass && it.Result != Fail && it.Result != NA:
			return nil, invalid("items[%d].result: %q is not one of pass, fail, na", i, it.Result)
		case it.Result == Fail && it.Note == "":
			return nil, invalid("items[%d].note: a fail says what is wrong", i)
		case len(it.Note) > 1000:
			return nil, invalid("items[%d].note: more than 1000 bytes", i)
		}
		byID[it.ID] = it
	}
	var passed, judged float64
	ordered := make([]ItemResult, 0, len(rv.Checklist))
	for _, c := range rv.Checklist {
		it, ok := byID[c.ID]
		if !ok {
			return nil, invalid("items: %q is not judged (every checklist item is: pass, fail or na)", c.ID)
		}
		ordered = append(ordered, it)
		if it.Result != NA {
			judged += c.Weight
		}
		if it.Result == Pass {
			passed += c.Weight
		}
	}
	if judged == 0 {
		return nil, invalid("items: every item is na; nothing to score")
	}
	sc := &Score{ReviewID: reviewID, CaseID: caseID, Reviewer: reviewer, Items: ordered, Score: 100 * passed / judged, At: s.o.Now().UTC()}
	body, err := json.Marshal(sc)
	if err != nil {
		return nil, fmt.Errorf("encode score: %w", err)
	}
	if err := s.o.Store.PutReviewScore(ctx, store.ReviewScore{ReviewID: reviewID, CaseID: caseID, Reviewer: reviewer, At: sc.At, Body: body}); err != nil {
		return nil, err
	}
	return sc, nil
}

func (s *Service) scores(ctx context.Context, reviewID string) ([]Score, error) {
	srs, err := s.o.Store.ListReviewScores(ctx, reviewID)
	if err != nil {
		return nil, err
	}
	out := make([]Score, 0, len(srs))
	for _, sr := range srs {
		var sc Score
		if err := json.Unmarshal(sr.Body, &sc); err != nil {
			return nil, fmt.Errorf("decode score %s/%s: %w", reviewID, sr.CaseID, err)
		}
		out = append(out, sc)
	}
	return out, nil
}

// Results of a review.
type Results struct {
	Review       *Review      `json:"review"`
	Mean         *float64     `json:"mean"` // of the scored cases' means
	Scored       int          `json:"scored"`
	Cases        []CaseResult `json:"cases"`
	ByDepartment []Group      `json:"by_department"`
	ByDistrict   []Group      `json:"by_district"`
	Items        []ItemCount  `json:"items"`
}

// CaseResult is one sampled case with its reviewers' scores.
type CaseResult struct {
	CaseID     string   `json:"case_id"`
	Category   string   `json:"category"`
	District   string   `json:"district"`
	Department string   `json:"department"`
	Title      string   `json:"title"`
	Scores     []Score  `json:"scores"`
	Mean       *float64 `json:"mean"` // of its reviewers' scores; null until scored
}

// Group is the results of the cases of one department or district.
type Group struct {
	Key    string   `json:"key"`
	Cases  int      `json:"cases"`
	Scored int      `json:"scored"`
	Mean   *float64 `json:"mean"`
	Fails  int      `json:"fails"` // items judged fail, over its cases' scores
}

// ItemCount is how one checklist item was judged over all scores.
type ItemCount struct {
	ID   string `json:"id"`
	Pass int    `json:"pass"`
	Fail int    `json:"fail"`
	NA   int    `json:"na"`
}

func mean(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	m := sum / float64(len(xs))
	return &m
}

// Results computes a review's results: each case's mean over its reviewers, and per
// department and district the mean of their scored cases' means.
func (s *Service) Results(ctx context.Context, reviewID string) (*Results, error) {
	rv, err := s.Get(ctx, reviewID)
	if err != nil {
		return nil, err
	}
	scores, err := s.scores(ctx, reviewID)
	if err != nil {
		return nil, err
	}
	byCase := map[string][]Score{}
	for _, sc := range scores {
		byCase[sc.CaseID] = append(byCase[sc.CaseID], sc)
	}
	out := &Results{Review: rv, Cases: []CaseResult{}, ByDepartment: []Group{}, ByDistrict: []Group{}, Items: []ItemCount{}}
	items := map[string]*ItemCount{}
	for _, it := range rv.Checklist {
		items[it.ID] = &ItemCount{ID: it.ID}
	}
	type acc struct {
		cases, fails int
		means        []float64
	}
	deps, dists := map[string]*acc{}, map[string]*acc{}
	var means []float64
	for _, id := range rv.CaseIDs {
		c, err := s.o.Cases.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("results: case %s: %w", id, err)
		}
		cr := CaseResult{CaseID: id, Category: c.Category, District: c.District, Department: c.Department, Title: c.Title, Scores: byCase[id]}
		if cr.Scores == nil {
			cr.Scores = []Score{}
		}
		var xs []float64
		fails := 0
		for _, sc := range cr.Scores {
			xs = append(xs, sc.Score)
			for _, r := range sc.Items {
				ic := items[r.ID]
				if ic == nil {
					continue
				}
				switch r.Result {
				case Pass:
					ic.Pass++
				case Fail:
					ic.Fail++
					fails++
				case NA:
					ic.NA++
				}
			}
		}
		cr.Mean = mean(xs)
		for _, g := range []struct {
			m   map[string]*acc
			key string
		}{{deps, c.Department}, {dists, c.District}} {
			a := g.m[g.key]
			if a == nil {
				a = &acc{}
				g.m[g.key] = a
			}
			a.cases++
			a.fails += fails
			if cr.Mean != nil {
				a.means = append(a.means, *cr.Mean)
			}
		}
		if cr.Mean != nil {
			means = append(means, *cr.Mean)
		}
		out.Cases = append(out.Cases, cr)
	}
	out.Mean, out.Scored = mean(means), len(means)
	for _, g := range []struct {
		m   map[string]*acc
		out *[]Group
	}{{deps, &out.ByDepartment}, {dists, &out.ByDistrict}} {
		keys := make([]string, 0, len(g.m))
		for k := range g.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			a := g.m[k]
			*g.out = append(*g.out, Group{Key: k, Cases: a.cases, Scored: len(a.means), Mean: mean(a.means), Fails: a.fails})
		}
	}
	for _, it := range rv.Checklist {
		out.Items = append(out.Items, *items[it.ID])
	}
	return out, nil
}

// DistrictScores returns, per district, the mean review score on 0..1 of the cases scored in
// [start, end) (a case scored by several reviewers counts once, with their mean), over every
// review: what the 综合指数 weighs with IndexWeight.
func (s *Service) DistrictScores(ctx context.Context, start, end time.Time) (map[string]float64, error) {
	reviews, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	perCase := map[string][]float64{}
	for _, rv := range reviews {
		scores, err := s.scores(ctx, rv.ID)
		if err != nil {
			return nil, err
		}
		for _, sc := range scores {
			if !sc.At.Before(start) && sc.At.Before(end) {
				perCase[sc.CaseID] = append(perCase[sc.CaseID], sc.Score)
			}
		}
	}
	perDistrict := map[string][]float64{}
	for id, xs := range perCase {
		c, err := s.o.Cases.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("district scores: case %s: %w", id, err)
		}
		perDistrict[c.District] = append(perDistrict[c.District], *mean(xs)/100)
	}
	out := make(map[string]float64, len(perDistrict))
	for d, xs := range perDistrict {
		out[d] = *mean(xs)
	}
	return out, nil
}
