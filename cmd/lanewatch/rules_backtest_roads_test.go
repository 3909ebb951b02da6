package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch/app"
	"github.com/lanewatch/lanewatch/influx"
	"github.com/lanewatch/lanewatch/rules"
)

// TestBacktestHistoryRoads: `rules backtest` replays points with the road they were matched to
// live (the stored segment) and their vendor fields, so the shipped 9001 rule (road?.class ==
// "main") opens the case in backtest that it opened live. Before, every backtest showed 0 for it.
func TestBacktestHistoryRoads(t *testing.T) {
	cfg, err := app.LoadConfig("../../configs/lanewatch.yaml", os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	rf := ruleFlags{config: "../../configs/lanewatch.yaml", configSet: true}
	opts, err := loadOptions(rf, nil)
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := rules.LoadPaths([]string{cfg.Resolve(cfg.RulesDir)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	extra, err := rules.Parse("extra.yaml", []byte(`groups:
  - name: vendor
    on: telemetry
    rules:
      - name: pressure_high
        when: msg.extra.pressure_bar > 5 && road?.district == "xiqu"
        for: 10s
        cooldown: 1h
        case: {category: "9002", title: "{{ .device.id }} {{ .msg.extra.pressure_bar }} bar on {{ .road.name }}"}
`), opts)
	if err != nil {
		t.Fatal(err)
	}
	roads, zones, err := backtestRoads(cfg)
	if err != nil || roads == nil {
		t.Fatalf("roads: %v", err)
	}
	seg := ""
	for id, r := range roads.roads {
		if r.Class == "main" && r.District == "xiqu" && (seg == "" || id < seg) {
			seg = id
		}
	}
	if seg == "" {
		t.Fatal("no main road in xiqu in configs/roads.geojson")
	}
	// A sweeper with its brushes off at 8 km/h on that main road for 3 minutes (10:00 local,
	// inside the rule's 05:00-23:00), its vendor pressure at 6 bar.
	t0 := time.Date(2025, 3, 3, 2, 0, 0, 0, time.UTC)
	var points []influx.HistoryPoint
	for s := range 180 {
		points = append(points, influx.HistoryPoint{Measurement: influx.MeasurementTelemetry, Time: t0.Add(time.Duration(s) * time.Second),
			Tags: map[string]string{"device": "sw-001", "type": "sweeper", "district": "xiqu", "contractor": "lvcheng"},
			Fields: map[string]any{"lat": 22.51, "lon": 113.375, "speed_kmh": 8.0, "brush_on": false, "fuel_pct": 60.0,
				"pressure_bar": 6.0, "segment": seg}})
	}
	replay := func(yield func(influx.HistoryPoint) error) error {
		for _, p := range points {
			if err := yield(p); err != nil {
				return err
			}
		}
		return nil
	}
	candidate := append(append([]*rules.Rule(nil), shipped...), extra...)
	rows, err := backtestHistory(context.Background(), candidate, shipped, rules.BacktestOptions{Tick: 10 * time.Second, Zones: zones}, roads, replay)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]rules.BacktestRow{}
	for _, r := range rows {
		got[r.Rule] = r
	}
	if r := got["not_working_on_main_road"]; r.Candidate != 1 || r.Loaded != 1 {
		t.Errorf("9001 not_working_on_main_road: %+v, want 1 case in both sets", r)
	}
	if r := got["pressure_high"]; r.Candidate != 1 || r.Loaded != -1 {
		t.Errorf("pressure_high (msg.extra and road): %+v, want 1 case in the candidate", r)
	}

	// The same history the old way (environments without road matching): 0 cases.
	old, err := rules.Backtest(context.Background(), candidate, shipped, 10*time.Second, func(yield func(rules.Env) error) error {
		return replay(func(p influx.HistoryPoint) error {
			env, _ := historyEnv(p)
			return yield(env)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range old {
		if r.Rule == "not_working_on_main_road" && r.Candidate != 0 {
			t.Errorf("without roads: %+v", r)
		}
	}
}
