package casereview

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// MaxSample bounds a review's sample.
const MaxSample = 500

// Store is the persistence of reviews (store.Store satisfies it).
type Store interface {
	PutReview(ctx context.Context, r store.Review) (bool, error)
	GetReview(ctx context.Context, id string) (store.Review, error)
	ListReviews(ctx context.Context) ([]store.Review, error)
	PutReviewScore(ctx context.Context, s store.ReviewScore) error
	ListReviewScores(ctx context.Context, reviewID string) ([]store.ReviewScore, error)
}

// Cases lists and reads cases (dispatch.Service satisfies it).
type Cases interface {
	List(ctx context.Context, f store.CaseFilter) ([]*lanewatch.Case, string, error)
	Get(ctx context.Context, id string) (*lanewatch.Case, error)
}

// Road is one road segment, for the road-class filter: a case is on the class of the nearest
// segment within RoadRadius metres of its location.
type Road struct {
	Class  string
	Coords [][2]float64 // [lon, lat]
}

// RoadRadius is how far from a segment a case may be to be on it.
const RoadRadius = 30.0

// Options configure a Service.
type Options struct {
	Store    Store
	Cases    Cases
	Config   Config
	Roads    []Road
	Location *time.Location // dates of filters; default UTC
	Now      func() time.Time
	Logger   *slog.Logger
}

// Service draws samples, records scores and computes results. It is safe for concurrent use.
type Service struct {
	o      Options
	logger *slog.Logger
}

// New builds a Service; the config gets its defaults and must be valid.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Cases == nil {
		return nil, errors.New("casereview: Store and Cases are required")
	}
	o.Config.SetDefaults()
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{o: o, logger: o.Logger.With("component", "casereview")}, nil
}

// Checklist returns the configured checklist.
func (s *Service) Checklist() []Item { return slices.Clone(s.o.Config.Checklist) }

// IndexWeight returns the configured weight of review scores in the 综合指数.
func (s *Service) IndexWeight() float64 { return s.o.Config.IndexWeight }

// Filter selects the closed cases a review samples from. Empty fields do not filter.
type Filter struct {
	From       string `json:"from"` // YYYY-MM-DD: cases created on or after this day
	To         string `json:"to"`   // YYYY-MM-DD: cases created on or before this day
	District   string `json:"district"`
	Department string `json:"department"`
	Category   string `json:"category"` // a code (0505) or a 大类 prefix (05)
	RoadClass  string `json:"road_class"`
	Source     string `json:"source"`
}

// CreateRequest asks for a review.
type CreateRequest struct {
	Name   string `json:"name"`
	Seed   *int64 `json:"seed"` // default: from the clock; stored, so the sample can be drawn again
	Size   int    `json:"size"` // default Config.DefaultSize
	Filter Filter `json:"filter"`
}

// Review is a stored review: its sample and the checklist it is scored against.
type Review struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Seed       int64     `json:"seed"`
	Size       int       `json:"size"`
	Filter     Filter    `json:"filter"`
	Population int       `json:"population"` // closed cases matching the filter when drawn
	CaseIDs    []string  `json:"case_ids"`
	Checklist  []Item    `json:"checklist"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
}

func invalid(format string, args ...any) error {
	return lanewatch.Errorf(lanewatch.EInvalid, format, args...)
}

// Create draws the sample and stores the review.
func (s *Service) Create(ctx context.Context, r CreateRequest, actor string) (*Review, error) {
	if r.Name == "" || len(r.Name) > 200 {
		return nil, invalid("name: required, at most 200 bytes")
	}
	if r.Size == 0 {
		r.Size = s.o.Config.DefaultSize
	}
	if r.Size < 1 || r.Size > MaxSample {
		return nil, invalid("size: %d is not in 1..%d", r.Size, MaxSample)
	}
	seed := s.o.Now().UnixNano()
	if r.Seed != nil {
		seed = *r.Seed
	}
	ids, population, err := s.Sample(ctx, r.Filter, seed, r.Size)
	if err != nil {
		return nil, err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	rv := &Review{ID: "rv-" + hex.EncodeToString(b[:]), Name: r.Name, Seed: seed, Size: r.Size, Filter: r.Filter,
		Population: population, CaseIDs: ids, Checklist: s.Checklist(), CreatedBy: actor, CreatedAt: s.o.Now().UTC()}
	body, err := json.Marshal(rv)
	if err != nil {
		return nil, fmt.Errorf("encode review: %w", err)
	}
	if _, err := s.o.Store.PutReview(ctx, store.Review{ID: rv.ID, CreatedAt: rv.CreatedAt, Body: body}); err != nil {
		return nil, err
	}
	s.logger.Info("review created", "review", rv.ID, "seed", seed, "population", population, "sample", len(ids))
	return rv, nil
}

// Sample returns the ids of a seeded random sample of at most size closed cases matching f,
// and how many matched. The same filter, seed and cases give the same sample: the matching
// cases are ordered by id before a seeded partial Fisher–Yates shuffle (PCG) takes size.
func (s *Service) Sample(ctx context.Context, f Filter, seed int64, size int) ([]string, int, error) {
	cf := store.CaseFilter{Status: []lanewatch.CaseStatus{lanewatch.StatusClosed}, District: f.District,
		Department: f.Department, Source: f.Source, Limit: store.MaxLimit}
	if f.From != "" {
		t, err := time.ParseInLocation(time.DateOnly, f.From, s.o.Location)
		if err != nil {
			return nil, 0, invalid("filter.from: %q is not a date YYYY-MM-DD", f.From)
		}
		cf.Since = t
	}
	if f.To != "" {
		t, err := time.ParseInLocation(time.DateOnly, f.To, s.o.Location)
		if err != nil {
			return nil, 0, invalid("filter.to: %q is not a date YYYY-MM-DD", f.To)
		}
		cf.Until = t.AddDate(0, 0, 1)
	}
	if !cf.Since.IsZero() && !cf.Until.IsZero() && !cf.Since.Before(cf.Until) {
		return nil, 0, invalid("filter.to: %s is before filter.from %s", f.To, f.From)
	}
	if f.Category != "" && (len(f.Category) != 2 && len(f.Category) != 4 || strings.Trim(f.Category, "0123456789") != "") {
		return nil, 0, invalid("filter.category: %q is not a code (4 digits) or 大类 (2 digits)", f.Category)
	}
	if f.RoadClass != "" && len(s.o.Roads) == 0 {
		return nil, 0, invalid("filter.road_class: no road network is loaded")
	}
	var pop []int64
	for {
		page, next, err := s.o.Cases.List(ctx, cf)
		if err != nil {
			return nil, 0, err
		}
		for _, c := range page {
			if f.Category != "" && !strings.HasPrefix(c.Category, f.Category) {
				continue
			}
			if f.RoadClass != "" && s.roadClass(c.Location) != f.RoadClass {
				continue
			}
			id, err := strconv.ParseInt(c.ID, 10, 64)
			if err != nil {
				return nil, 0, fmt.Errorf("sample: case id %q is not numeric", c.ID)
			}
			pop = append(pop, id)
		}
		if next == "" {
			break
		}
		cf.Cursor = next
	}
	slices.Sort(pop)
	pop = slices.Compact(pop)
	rng := mrand.New(mrand.NewPCG(uint64(seed), 0x9E3779B97F4A7C15))
	k := min(size, len(pop))
	for i := range k {
		j := i + rng.IntN(len(pop)-i)
		pop[i], pop[j] = pop[j], pop[i]
	}
	out := make([]string, k)
	for i := range k {
		out[i] = strconv.FormatInt(pop[i], 10)
	}
	return out, len(pop), nil
}

// roadClass is the class of the nearest road within RoadRadius of l, or "".
func (s *Service) roadClass(l lanewatch.Location) string {
	best, class := RoadRadius, ""
	kx := 111320 * math.Cos(l.Lat*math.Pi/180)
	const ky = 110540.0
	for _, r := range s.o.Roads {
		for i := 1; i < len(r.Coords); i++ {
			ax, ay := (r.Coords[i-1][0]-l.Lon)*kx, (r.Coords[i-1][1]-l.Lat)*ky
			bx, by := (r.Coords[i][0]-l.Lon)*kx, (r.Coords[i][1]-l.Lat)*ky
			dx, dy := bx-ax, by-ay
			t := 0.0
			if d2 := dx*dx + dy*dy; d2 > 0 {
				t = math.Max(0, math.Min(1, -(ax*dx+ay*dy)/d2))
			}
			if d := math.Hypot(ax+t*dx, ay+t*dy); d <= best {
				best, class = d, r.Class
			}
		}
	}
	return class
}

// Get returns a review.
func (s *Service) Get(ctx context.Context, id string) (*Review, error) {
	sr, err := s.o.Store.GetReview(ctx, id)
	if err != nil {
		return nil, err
	}
	var rv Review
	if err := json.Unmarshal(sr.Body, &rv); err != nil {
		return nil, fmt.Errorf("decode review %q: %w", id, err)
	}
	return &rv, nil
}

// List returns every review, newest first.
func (s *Service) List(ctx context.Context) ([]*Review, error) {
	srs, err := s.o.Store.ListReviews(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*Review, 0, len(srs))
	for _, sr := range srs {
		var rv Review
		if err := json.Unmarshal(sr.Body, &rv); err != nil {
			return nil, fmt.Errorf("decode review %q: %w", sr.ID, err)
		}
		out = append(out, &rv)
	}
	return out, nil
}

// CaseFiles returns the review's cases with their timelines, attachments and ratings, in
// sample order.
func (s *Service) CaseFiles(ctx context.Context, id string) ([]*lanewatch.Case, error) {
	rv, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]*lanewatch.Case, 0, len(rv.CaseIDs))
	for _, cid := range rv.CaseIDs {
		c, err := s.o.Cases.Get(ctx, cid)
		if err != nil {
			return nil, fmt.Errorf("case file %s: %w", cid, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// InReview reports whether the case is in the review's sample.
func (s *Service) InReview(ctx context.Context, reviewID, caseID string) (bool, error) {
	rv, err := s.Get(ctx, reviewID)
	if err != nil {
		return false, err
	}
	return slices.Contains(rv.CaseIDs, caseID), nil
}
