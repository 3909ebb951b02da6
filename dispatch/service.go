package dispatch

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// Store is the persistence dispatch needs.
type Store interface {
	CreateCase(ctx context.Context, c *lanewatch.Case) (*lanewatch.Case, bool, error)
	GetCase(ctx context.Context, id string) (*lanewatch.Case, error)
	ListCases(ctx context.Context, f store.CaseFilter) ([]*lanewatch.Case, string, error)
	CountCases(ctx context.Context) (map[lanewatch.CaseStatus]int, error)
}

// Options configure a Service.
type Options struct {
	Store      Store
	Catalog    *Catalog
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

// Service opens and reads cases.
type Service struct {
	o      Options
	logger *slog.Logger
	opened *prometheus.CounterVec
	occur  prometheus.Counter
}

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Catalog == nil {
		return nil, fmt.Errorf("dispatch: Store and Catalog are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	s := &Service{o: o, logger: o.Logger.With("component", "dispatch"),
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanewatch_cases_opened_total", Help: "Cases opened, by category and source."}, []string{"category", "source"}),
		occur: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lanewatch_case_occurrences_total", Help: "Rule firings added as occurrences to an open case."}),
	}
	counts := prometheus.NewDesc("lanewatch_cases", "Cases by status.", []string{"status"}, nil)
	coll := &caseCollector{desc: counts, s: s}
	for _, c := range []prometheus.Collector{s.opened, s.occur, coll} {
		if err := o.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("register dispatch metrics: %w", err)
		}
	}
	return s, nil
}

// Open validates and records a new case in status reported. A rule case whose (rule, key)
// already has an open case becomes an occurrence of it; the returned case is then the existing
// one and created is false.
func (s *Service) Open(ctx context.Context, c *lanewatch.Case, actor string) (*lanewatch.Case, bool, error) {
	if !s.o.Catalog.Has(c.Category) {
		return nil, false, lanewatch.Errorf(lanewatch.EInvalid, "category: unknown code %q", c.Category)
	}
	if c.Urgency == "" {
		c.Urgency = lanewatch.UrgencyNormal
	}
	if !lanewatch.ValidUrgency(c.Urgency) {
		return nil, false, lanewatch.Errorf(lanewatch.EInvalid, "urgency: %q is not one of urgent, high, normal, low", c.Urgency)
	}
	now := s.o.Now().UTC()
	c.Status = lanewatch.StatusReported
	c.CreatedAt, c.UpdatedAt = now, now
	if c.LastSeenAt.IsZero() {
		c.LastSeenAt = now
	}
	c.Occurrences = 1
	c.Timeline = []lanewatch.TimelineEntry{{Action: "report", Actor: actor, At: now, To: lanewatch.StatusReported, Note: c.Description}}
	existing, created, err := s.o.Store.CreateCase(ctx, c)
	if err != nil {
		return nil, false, fmt.Errorf("open case: %w", err)
	}
	if !created {
		s.occur.Inc()
		return existing, false, nil
	}
	s.opened.WithLabelValues(c.Category, c.Source).Inc()
	s.logger.Info("case opened", "case", c.ID, "category", c.Category, "source", c.Source, "rule", c.Rule, "key", c.Key)
	return c, true, nil
}

// Get returns a case with its timeline.
func (s *Service) Get(ctx context.Context, id string) (*lanewatch.Case, error) {
	return s.o.Store.GetCase(ctx, id)
}

// List returns a page of cases.
func (s *Service) List(ctx context.Context, f store.CaseFilter) ([]*lanewatch.Case, string, error) {
	return s.o.Store.ListCases(ctx, f)
}

// Catalog returns the category catalog.
func (s *Service) Catalog() *Catalog { return s.o.Catalog }

type caseCollector struct {
	desc *prometheus.Desc
	s    *Service
}

func (c *caseCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *caseCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.s.o.Store.CountCases(ctx)
	if err != nil {
		c.s.logger.Warn("count cases for metrics", "err", err)
		return
	}
	for _, st := range []lanewatch.CaseStatus{lanewatch.StatusReported, lanewatch.StatusRegistered, lanewatch.StatusRejected,
		lanewatch.StatusDispatched, lanewatch.StatusSigned, lanewatch.StatusInProgress, lanewatch.StatusResolved, lanewatch.StatusClosed} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
}
