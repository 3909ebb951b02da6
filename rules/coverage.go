package rules

import (
	"context"
	"time"

	"github.com/lanewatch/lanewatch"
)

// KindCoverage is the kind of `on: coverage` rule groups: a planned road segment's coverage
// at its plan deadline, reported by the coverage component (DOMAIN.md 9003 路段漏扫). It is not
// a device message kind; it exists only inside the rules engine.
const KindCoverage lanewatch.Kind = "coverage"

// validKind reports whether k may follow `on:` — a device message kind or coverage.
func validKind(k lanewatch.Kind) bool { return k.Valid() || k == KindCoverage }

// CoverageEvent is one planned segment's coverage at its plan deadline, as the coverage
// component reports it. Rules of `on: coverage` groups see it as msg.segment, msg.road_name,
// msg.road_class, msg.district, msg.contractor, msg.coverage, msg.threshold, msg.covered_m,
// msg.length_m, msg.deadline and msg.day (and road.* for the segment); msg.ts and now are the
// deadline.
type CoverageEvent struct {
	Segment    string   // segment id
	Name       string   // road name
	Class      string   // road class: main, secondary, branch, alley
	District   string   // district id
	Contractor string   // contractor id
	Zones      []string // zone names
	Day        string   // local date, YYYY-MM-DD
	Deadline   time.Time
	Coverage   float64 // covered length / length, 0..1
	Threshold  float64 // the coverage component's plan threshold
	CoveredM   float64
	LengthM    float64
	Lat, Lon   float64 // the segment's midpoint
}

// CoverageEnv returns the rule environment of a coverage event.
func CoverageEnv(ev CoverageEvent) Env {
	m := Msg{TS: ev.Deadline, Lat: ev.Lat, Lon: ev.Lon, Segment: ev.Segment, RoadName: ev.Name, RoadClass: ev.Class,
		District: ev.District, Contractor: ev.Contractor, Day: ev.Day, Deadline: ev.Deadline, Coverage: ev.Coverage,
		Threshold: ev.Threshold, CoveredM: ev.CoveredM, LengthM: ev.LengthM}
	env := coverageEnv(m, nil)
	if env.Road != nil {
		env.Road.Zones = ev.Zones
	}
	return env
}

// coverageEnv completes the environment of a coverage message: road is the segment (from the
// msg fields unless given), the "device" carries the segment's district and contractor (so a
// firing is routed to them), msg.deadline defaults to msg.ts, msg.day to its date, and now is
// msg.ts.
func coverageEnv(m Msg, road *RoadEnv) Env {
	if m.Deadline.IsZero() {
		m.Deadline = m.TS
	}
	if m.TS.IsZero() {
		m.TS = m.Deadline
	}
	if m.Day == "" && !m.Deadline.IsZero() {
		m.Day = m.Deadline.Format(time.DateOnly)
	}
	if road == nil {
		road = &RoadEnv{ID: m.Segment, Name: m.RoadName, Class: m.RoadClass, District: m.District, Contractor: m.Contractor}
	}
	return Env{Msg: m, Road: road, Device: DeviceEnv{District: m.District, Contractor: m.Contractor},
		Now: m.TS, Kind: string(KindCoverage)}
}

// HandleCoverage evaluates the `on: coverage` rules against one coverage event. A matching
// rule fires once for the event (coverage rules have no for, keep_for, clear or absent); the
// firing's district and contractor are the segment's, its location the segment's midpoint.
func (e *Engine) HandleCoverage(ctx context.Context, ev CoverageEvent) {
	e.HandleEnv(ctx, CoverageEnv(ev))
}

// defaultCoverageKey is the key of coverage rules that give none: one case per segment per day.
const defaultCoverageKey = `msg.segment + "@" + msg.day`
