package app

import (
	"context"
	"fmt"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/api"
	"github.com/lanewatch/lanewatch/coverage"
	"github.com/lanewatch/lanewatch/gateway"
	"github.com/lanewatch/lanewatch/rules"
)

// setupCoverage loads the road network and the recent coverage (nothing when
// coverage.roads_file is empty).
func (a *App) setupCoverage(ctx context.Context, loc *time.Location) error {
	c := a.cfg.Coverage
	if c.RoadsFile == "" {
		return nil
	}
	net, err := coverage.LoadFiles(coverage.Files{Roads: a.cfg.Resolve(c.RoadsFile), Districts: a.cfg.Resolve(c.DistrictsFile),
		Zones: resolveOptional(a.cfg, c.ZonesFile)})
	if err != nil {
		return err
	}
	t, err := coverage.New(coverage.Options{Network: net, Config: c, Store: a.store, Points: a.sink, Location: loc,
		Registerer: a.reg, Logger: a.logger, Now: a.now})
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

// flusher is what the pipeline flushes before each journal commit: coverage into the store,
// then the InfluxDB sink.
func (a *App) flusher() gateway.Flusher {
	if a.coverage == nil {
		return a.sink
	}
	return flushers{a.coverage, a.sink}
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
func (h *ingest) observe(dev *lanewatch.Device, pts []lanewatch.Telemetry) []string {
	if h.coverage == nil {
		return nil
	}
	return h.coverage.Observe(dev.ID, string(dev.Type), pts, make([]string, 0, len(pts)))
}

func segmentAt(ids []string, i int) string {
	if i < len(ids) {
		return ids[i]
	}
	return ""
}

// runCoverage reports coverage periodically and opens 9003 cases for planned main segments
// still under-covered at their deadline.
//
// The 9003 firing goes through the same path as rule firings (rules.Firing → caseOpener, one
// open case per rule+key). Until the rules package accepts a coverage event kind, the rule is
// built in: name coverage_segment_not_cleaned, key "segment@day".
func (a *App) runCoverage(ctx context.Context) {
	if a.coverage == nil {
		return
	}
	opener := &caseOpener{cases: a.cases, sink: a.sink, logger: a.logger}
	a.coverage.Run(ctx, func(ctx context.Context, sf []coverage.Shortfall) {
		for _, s := range sf {
			f := rules.Firing{Rule: "coverage_segment_not_cleaned", Group: "coverage", Key: s.DedupeKey, Category: "9003",
				Urgency: "normal", District: s.Segment.District, Contractor: s.Segment.Contractor,
				Location: lanewatch.Location{Lat: s.Lat, Lon: s.Lon}, At: s.Deadline,
				Title: fmt.Sprintf("%s（%s）%s 前清扫覆盖率 %.0f%%，低于 %.0f%%", s.Segment.Name, s.Segment.ID,
					s.Segment.PlanDeadline, s.Ratio*100, s.Threshold*100),
				Description: fmt.Sprintf("segment %s (%s, %s) covered %.0f m of %.0f m (%.0f%%) by its plan deadline %s on %s; threshold %.0f%%",
					s.Segment.ID, s.Segment.Name, s.Segment.Class, s.CoveredM, s.Segment.LengthM, s.Ratio*100,
					s.Segment.PlanDeadline, s.Day, s.Threshold*100)}
			if err := opener.OpenRuleCase(ctx, f); err != nil {
				a.logger.Warn("open coverage case", "segment", s.Segment.ID, "err", err)
			}
		}
	})
}
