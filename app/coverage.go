package app

import (
	"context"
	"sync"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/api"
	"github.com/lanewatch/lanewatch/coverage"
	"github.com/lanewatch/lanewatch/gateway"
	"github.com/lanewatch/lanewatch/rules"
)

// setupCoverage builds the coverage tracker on net and loads the recent coverage (nothing
// when net is nil).
func (a *App) setupCoverage(ctx context.Context, loc *time.Location, net *coverage.Network) error {
	if net == nil {
		return nil
	}
	c := a.cfg.Coverage
	// The InfluxDB reader of the stretches between points observed on different nodes (or
	// before and after a restart).
	hist := a.cfg.Influx.NewHistory()
	a.closers = append(a.closers, func() error { hist.Close(); return nil })
	t, err := coverage.New(coverage.Options{Network: net, Config: c, Store: a.store, Points: a.sink, Location: loc,
		Neighbours: hist, Registerer: a.reg, Logger: a.logger, Now: a.now, JudgeFrom: a.now()})
	if err != nil {
		return err
	}
	if err := t.Load(ctx); err != nil {
		return err
	}
	a.coverage = t
	a.logger.Info("road network loaded", "segments", len(net.Segments), "districts", len(net.Districts), "zones", len(net.Zones))
	return nil
}

func resolveOptional(cfg *Config, p string) string {
	if p == "" {
		return ""
	}
	return cfg.Resolve(p)
}

// roadMatcher is the rules.RoadMatcher over the coverage tracker: it returns the segment the
// ingest step already matched, so matching happens once per point.
type roadMatcher struct {
	t     *coverage.Tracker
	roads map[*coverage.Segment]*rules.RoadEnv
}

func newRoadMatcher(t *coverage.Tracker) *roadMatcher {
	m := &roadMatcher{t: t, roads: map[*coverage.Segment]*rules.RoadEnv{}}
	net := t.Network()
	for i := range net.Segments {
		s := &net.Segments[i]
		m.roads[s] = &rules.RoadEnv{ID: s.ID, Name: s.Name, Class: s.Class, District: s.District, Contractor: s.Contractor, Zones: s.Zones}
	}
	return m
}

func (m *roadMatcher) Match(deviceID string, t *lanewatch.Telemetry) *rules.RoadEnv {
	if s := m.t.Matched(deviceID, t); s != nil {
		return m.roads[s]
	}
	return nil
}

// ruleRoads returns the road matcher and zone tester for the rules engine (nil, nil without a
// network).
func (a *App) ruleRoads() (rules.RoadMatcher, rules.ZoneTester) {
	if a.coverage == nil {
		return nil, nil
	}
	return newRoadMatcher(a.coverage), a.coverage.Network()
}

// coverageAPI returns the API's coverage service, nil without a network.
func (a *App) coverageAPI() api.Coverage {
	if a.coverage == nil {
		return nil
	}
	return a.coverage
}

// flusher is what the pipeline flushes before each journal commit: rule state and coverage
// into the store, then the InfluxDB sink.
func (a *App) flusher() gateway.Flusher {
	fs := flushers{ruleFlusher{a.engine}}
	if a.coverage != nil {
		fs = append(fs, a.coverage)
	}
	return append(fs, a.sink)
}

type flushers []gateway.Flusher

func (fs flushers) Flush(ctx context.Context) error {
	for _, f := range fs {
		if err := f.Flush(ctx); err != nil {
			return err
		}
	}
	return nil
}

// observe is the ingest pipeline's coverage step: it matches the points of a telemetry message
// and credits coverage, returning the segment id of each point for the InfluxDB points.
func (h *ingest) observe(dev *lanewatch.Device, seq uint64, pts []lanewatch.Telemetry) []string {
	if h.coverage == nil {
		return nil
	}
	return h.coverage.ObserveSeq(dev.ID, string(dev.Type), seq, pts, make([]string, 0, len(pts)))
}

func segmentAt(ids []string, i int) string {
	if i < len(ids) {
		return ids[i]
	}
	return ""
}

// runCoverage reports coverage periodically and feeds the shortfalls (planned main segments
// still below coverage.plan_threshold at their deadline) to the rules engine's `on: coverage`
// rules (configs/rules/coverage.yaml opens the 9003 case). Without a coverage rule loaded, a
// shortfall opens nothing.
func (a *App) runCoverage(ctx context.Context) error {
	if a.coverage == nil {
		return nil
	}
	// Every node credits the stretches of its vehicles that went on elsewhere.
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { a.coverage.RunHandoffs(ctx, max(time.Duration(a.cfg.Coverage.HandoffIdle)/5, time.Second)) })
	// Reports and shortfalls run on one node of a cluster, over the merged coverage (cluster.Node.WhileLeader).
	a.cluster.WhileLeader(ctx, "coverage", func(ctx context.Context) {
		a.cluster.RefreshOnce(ctx, a.coverage)
		a.coverage.Run(ctx, func(ctx context.Context, sf []coverage.Shortfall) {
			for _, s := range sf {
				a.engine.HandleCoverage(ctx, coverageEvent(s))
			}
		})
	})
	return nil
}

// coverageEvent is the rules engine's view of a coverage shortfall.
func coverageEvent(s coverage.Shortfall) rules.CoverageEvent {
	seg := s.Segment
	return rules.CoverageEvent{Segment: seg.ID, Name: seg.Name, Class: seg.Class, District: seg.District,
		Contractor: seg.Contractor, Zones: seg.Zones, Day: s.Day, Deadline: s.Deadline, Coverage: s.Ratio,
		Threshold: s.Threshold, CoveredM: s.CoveredM, LengthM: seg.LengthM, Lat: s.Lat, Lon: s.Lon}
}
