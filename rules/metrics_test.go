package rules

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lanewatch/lanewatch"
)

// TestCountedOncePerEvaluation: every evaluation, match and firing is counted once, in the
// metric and in the API's stats alike: per point of a telemetry batch for `when` rules (none
// outside the schedule), per tick and watched key for absent rules (never per message), and
// not at all for a dry run.
func TestCountedOncePerEvaluation(t *testing.T) {
	const src = `groups:
  - name: g
    on: telemetry
    rules:
      - name: fast
        when: msg.speed_kmh > 20
        case: {category: "9002"}
      - name: fast_for
        when: msg.speed_kmh > 20
        for: 1s
        case: {category: "9002"}
      - name: night_only
        when: msg.speed_kmh > 20
        active: {hours: ["22:00-23:00"]}
        case: {category: "9002"}
      - name: silent
        absent: 1m
        case: {category: "9004"}
`
	reg := prometheus.NewPedanticRegistry()
	now := t0
	op := &fakeOpener{}
	e, err := NewEngine(EngineOptions{Opener: op, Registerer: reg, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	e.Swap(mustRules(t, src))
	ctx := context.Background()
	dev := &lanewatch.Device{ID: "sw-001", Type: lanewatch.DeviceSweeper}
	// One batch of three points (25, 10, 30 km/h), then one of two (30, 30).
	batch := func(at time.Duration, speeds ...float64) {
		var pts []lanewatch.Telemetry
		for i, v := range speeds {
			pts = append(pts, lanewatch.Telemetry{TS: t0.Add(at + time.Duration(i)*time.Second), SpeedKmh: v})
		}
		now = t0.Add(at)
		if err := e.Handle(ctx, &lanewatch.Message{Kind: lanewatch.KindTelemetry, DeviceID: dev.ID, Telemetry: pts}, dev); err != nil {
			t.Fatal(err)
		}
	}
	batch(0, 25, 10, 30)
	batch(10*time.Second, 30, 30)
	e.Evaluate(EvalInput{Kind: lanewatch.KindTelemetry, Device: sw, Msg: Msg{TS: t0, SpeedKmh: 50}})
	for _, at := range []time.Duration{30 * time.Second, 90 * time.Second, 100 * time.Second} {
		now = t0.Add(at)
		e.Tick(ctx, now)
	}
	want := map[string][3]uint64{ // evaluations, matches, firings
		"fast":       {5, 4, 4}, // fires at 0 s, ends at 1 s, fires at 2 s, occurrences at 10 s, 11 s
		"fast_for":   {5, 4, 1}, // pending at 0 s, interrupted, pending at 2 s, fires at 10 s
		"night_only": {0, 0, 0}, // outside its schedule: not evaluated
		// One key: checked at 30 s (seen 20 s ago) and 90 s (silent: fires); at 100 s it is
		// already firing and not checked again.
		"silent": {2, 1, 1},
	}
	for rule, w := range want {
		st := e.Stats(rule)
		got := [3]uint64{st.Evaluations, st.Matches, st.Firings}
		metric := [3]uint64{uint64(testutil.ToFloat64(e.evals.WithLabelValues(rule))), uint64(testutil.ToFloat64(e.matches.WithLabelValues(rule))),
			uint64(testutil.ToFloat64(e.firings.WithLabelValues(rule, "enforce")))}
		if got != w || metric != w {
			t.Errorf("%s: stats %v, metrics %v, want %v (evaluations, matches, firings)", rule, got, metric, w)
		}
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP lanewatch_rule_evaluations_total Rule evaluations.
# TYPE lanewatch_rule_evaluations_total counter
lanewatch_rule_evaluations_total{rule="fast"} 5
lanewatch_rule_evaluations_total{rule="fast_for"} 5
lanewatch_rule_evaluations_total{rule="night_only"} 0
lanewatch_rule_evaluations_total{rule="silent"} 2
`), "lanewatch_rule_evaluations_total"); err != nil {
		t.Error(err)
	}
}
