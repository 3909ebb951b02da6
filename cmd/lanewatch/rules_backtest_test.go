package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/influx"
	"github.com/lanewatch/lanewatch/internal/testenv"
	"github.com/lanewatch/lanewatch/rules"
)

const loadedRules = `groups:
  - name: speed
    on: telemetry
    rules:
      - name: too_fast
        when: device.type == "sweeper" && msg.brush_on && msg.speed_kmh > 12
        for: 15s
        case: {category: "9002"}
`

// The candidate raises the speed limit and adds a rule the loaded set does not have.
const candidateRules = `groups:
  - name: speed
    on: telemetry
    rules:
      - name: too_fast
        when: device.type == "sweeper" && msg.brush_on && msg.speed_kmh > 15
        for: 15s
        case: {category: "9002"}
      - name: slow_sweeping
        when: device.type == "sweeper" && msg.brush_on && msg.speed_kmh < 10
        for: 30s
        case: {category: "9002"}
`

// TestBacktestAgainstInflux writes telemetry into a real influxd through the sink, replays it
// as `lanewatch rules backtest` does and checks per-rule counts and differences.
func TestBacktestAgainstInflux(t *testing.T) {
	srv := testenv.Influx(t)
	ctx := context.Background()
	sink, err := influx.New(ctx, influx.Options{URL: srv.URL, Token: srv.Token, Org: srv.Org, Bucket: srv.Bucket,
		SpoolDir: t.TempDir(), Registerer: prometheus.NewPedanticRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close(ctx)

	// 1 Hz for 150 s: sw-001 sweeps at 20 km/h for 60 s then at 8; sw-002 at 14 km/h for
	// 100 s then at 8; sw-003 always at 11 (matches nothing).
	t0 := time.Date(2025, 3, 3, 1, 0, 0, 0, time.UTC)
	speed := map[string]func(s int) float64{
		"sw-001": func(s int) float64 { return map[bool]float64{true: 20, false: 8}[s < 60] },
		"sw-002": func(s int) float64 { return map[bool]float64{true: 14, false: 8}[s < 100] },
		"sw-003": func(int) float64 { return 11 },
	}
	var buf []byte
	points := 0
	for s := range 150 {
		for _, id := range []string{"sw-001", "sw-002", "sw-003"} {
			tm := lanewatch.Telemetry{TS: t0.Add(time.Duration(s) * time.Second), Lat: 22.51, Lon: 113.375,
				SpeedKmh: speed[id](s), BrushOn: true, FuelPct: 60,
				Has: lanewatch.FieldSpeed | lanewatch.FieldBrush | lanewatch.FieldFuel}
			buf = influx.AppendTelemetry(buf, influx.DeviceTags{ID: id, Type: "sweeper", District: "xiqu", Contractor: "lvcheng"}, &tm, "")
			points++
		}
	}
	if err := sink.Write(ctx, buf, points); err != nil {
		t.Fatal(err)
	}
	if err := sink.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := srv.Count(t, influx.MeasurementTelemetry); n != points {
		t.Fatalf("influxd holds %d telemetry points, want %d", n, points)
	}

	parse := func(name, src string) []*rules.Rule {
		rs, err := rules.Parse(name, []byte(src), rules.LoadOptions{Location: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	loaded, candidate := parse("loaded.yaml", loadedRules), parse("candidate.yaml", candidateRules)
	h := influx.NewHistory(srv.URL, srv.Token, srv.Org, srv.Bucket)
	defer h.Close()
	replayed := 0
	rows, err := rules.Backtest(ctx, candidate, loaded, 10*time.Second, func(yield func(rules.Env) error) error {
		return h.Replay(ctx, t0.Add(-time.Minute), t0.Add(time.Hour), nil, func(p influx.HistoryPoint) error {
			env, ok := historyEnv(p)
			if !ok {
				t.Errorf("point %+v not replayed", p)
				return nil
			}
			replayed++
			return yield(env)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if replayed != points {
		t.Fatalf("replayed %d points, want %d", replayed, points)
	}
	want := []rules.BacktestRow{
		// sw-003 at 11 km/h is neither too fast nor slow.
		{Rule: "slow_sweeping", Candidate: 2, CandidateKeys: 2, Loaded: -1},          // sw-001 and sw-002 at 8 km/h
		{Rule: "too_fast", Candidate: 1, CandidateKeys: 1, Loaded: 2, LoadedKeys: 2}, // 14 km/h is too fast only for the loaded set
	}
	if len(rows) != len(want) {
		t.Fatalf("rows = %+v, want %+v", rows, want)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
	if rows[0].Diff() != 2 || rows[1].Diff() != -1 {
		t.Errorf("diffs = %+d %+d, want +2 -1", rows[0].Diff(), rows[1].Diff())
	}
	var out strings.Builder
	if err := rules.WriteBacktest(&out, rows); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"slow_sweeping  2", "too_fast       1"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("table lacks %q:\n%s", line, out.String())
		}
	}
	t.Log("\n" + out.String())
}
