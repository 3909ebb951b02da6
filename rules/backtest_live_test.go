package rules

import (
	"context"
	"sort"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
)

// lonRoads is a map matcher: points east of 113.375 are on the main road, others on a minor one.
type lonRoads struct{}

var (
	mainRoad  = &RoadEnv{ID: "seg-1", Name: "八一七路", Class: "main", District: "xiqu"}
	minorRoad = &RoadEnv{ID: "seg-2", Name: "小巷", Class: "minor", District: "xiqu"}
)

func (lonRoads) Match(_ string, t *lanewatch.Telemetry) *RoadEnv {
	if t.Lon > 113.375 {
		return mainRoad
	}
	return minorRoad
}

// marketZone is a zone tester: the market is north of 22.52.
type marketZone struct{}

func (marketZone) InZone(name string, lat, _ float64) bool { return name == "market" && lat > 22.52 }

var (
	_ RoadMatcher = lonRoads{}
	_ ZoneTester  = marketZone{}
)

const liveRules = `groups:
  - name: g
    on: telemetry
    rules:
      - name: brush_off_main
        when: msg.speed_kmh > 3 && !msg.brush_on && road?.class == "main"
        for: 30s
        keep_for: 10s
        cooldown: 1h
        case: {category: "9001", title: "{{ .device.id }} on {{ .road.name }}"}
      - name: pressure_high
        when: msg.extra.pressure_bar > 5
        cooldown: 1m
        case: {category: "9002"}
      - name: in_market
        when: inZone("market") && msg.speed_kmh > 3
        for: 20s
        case: {category: "9002"}
      - name: silent
        absent: 1m
        case: {category: "9004"}
`

// history is 10 minutes of two sweepers at 1 Hz (half a second after each second, so no input
// coincides with a timer tick): sw-001 on the main road with its brushes off, silent from
// 3:00 to 5:30, then in the market; sw-002 on a minor road with its brushes off and a vendor
// pressure that rises above 5 bar from 4:00.
func history() []*lanewatch.Message {
	start := time.Date(2000, 1, 1, 0, 0, 0, 500e6, time.UTC) // the synctest epoch + 0.5 s
	var out []*lanewatch.Message
	for s := range 600 {
		ts := start.Add(time.Duration(s) * time.Second)
		if s < 180 || s >= 330 {
			lat := 22.51
			if s >= 330 {
				lat = 22.53
			}
			out = append(out, &lanewatch.Message{Kind: lanewatch.KindTelemetry, DeviceID: "sw-001", Received: ts,
				Telemetry: []lanewatch.Telemetry{{TS: ts, Lat: lat, Lon: 113.3847225, SpeedKmh: 8}}})
		}
		p := 2.0
		if s >= 240 {
			p = 6
		}
		out = append(out, &lanewatch.Message{Kind: lanewatch.KindTelemetry, DeviceID: "sw-002", Received: ts,
			Telemetry: []lanewatch.Telemetry{{TS: ts, Lat: 22.51, Lon: 113.3652775, SpeedKmh: 8,
				Extra: []lanewatch.ExtraField{{Name: "pressure_bar", Num: p}}}}})
	}
	return out
}

var devices = map[string]*lanewatch.Device{
	"sw-001": {ID: "sw-001", Type: lanewatch.DeviceSweeper, District: "xiqu"},
	"sw-002": {ID: "sw-002", Type: lanewatch.DeviceSweeper, District: "xiqu"},
}

type caseCount struct {
	cases int
	keys  map[string]bool
}

func countFirings(fs []Firing) map[string]caseCount {
	out := map[string]caseCount{}
	for _, f := range fs {
		c := out[f.Rule]
		if c.keys == nil {
			c.keys = map[string]bool{}
		}
		c.cases++
		c.keys[f.Key] = true
		out[f.Rule] = c
	}
	return out
}

// TestBacktestMatchesLive feeds the same history to a live engine (Handle per message as the
// pipeline does, timers from Engine.Run on the engine clock, under synctest) and through
// BacktestMessages with the same road matcher and zones, and gets the same cases per rule.
// Before, a backtest had no road matching and no msg.extra: brush_off_main and pressure_high
// showed 0 cases while they opened cases live.
func TestBacktestMatchesLive(t *testing.T) {
	rs := mustRules(t, liveRules)
	var live []Firing
	synctest.Test(t, func(t *testing.T) {
		op := &fakeOpener{}
		e, err := NewEngine(EngineOptions{Opener: op, Roads: lonRoads{}, Zones: marketZone{}, Registerer: prometheus.NewPedanticRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		e.Swap(rs)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { _ = e.Run(ctx) })
		for _, m := range history() {
			if d := time.Until(m.Telemetry[0].TS); d > 0 {
				time.Sleep(d)
			}
			if err := e.Handle(ctx, m, devices[m.DeviceID]); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(20 * time.Second) // the last timers
		synctest.Wait()
		cancel()
		wg.Wait()
		op.mu.Lock()
		live = append(live, op.got...)
		op.mu.Unlock()
	})
	replay := func(yield func(*lanewatch.Message, *lanewatch.Device) error) error {
		for _, m := range history() {
			if err := yield(m, devices[m.DeviceID]); err != nil {
				return err
			}
		}
		return nil
	}
	rows, err := BacktestMessages(context.Background(), rs, rs, BacktestOptions{Tick: 10 * time.Second, Roads: lonRoads{}, Zones: marketZone{}}, replay)
	if err != nil {
		t.Fatal(err)
	}
	want := countFirings(live)
	for r, c := range want {
		t.Logf("live %s: %d cases, %d keys", r, c.cases, len(c.keys))
	}
	for _, name := range []string{"brush_off_main", "pressure_high", "in_market", "silent"} {
		if want[name].cases == 0 {
			t.Errorf("live: rule %s opened no case; the history should exercise it", name)
		}
	}
	for _, r := range rows {
		w := want[r.Rule]
		if r.Candidate != w.cases || r.CandidateKeys != len(w.keys) || r.Loaded != w.cases || r.LoadedKeys != len(w.keys) {
			t.Errorf("%s: backtest %d cases / %d keys (loaded %d / %d), live %d / %d", r.Rule, r.Candidate, r.CandidateKeys,
				r.Loaded, r.LoadedKeys, w.cases, len(w.keys))
		}
	}
	if len(rows) != 4 {
		t.Errorf("rows = %+v", rows)
	}

	// Without the matcher and zones (the backtest before this change), the road and zone rules
	// never hold.
	rows, err = BacktestMessages(context.Background(), rs, rs, BacktestOptions{Tick: 10 * time.Second}, replay)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Rule < rows[j].Rule })
	if rows[0].Rule != "brush_off_main" || rows[0].Candidate != 0 || rows[1].Rule != "in_market" || rows[1].Candidate != 0 {
		t.Errorf("without roads and zones: %+v", rows)
	}
}

// pointRoads is lonRoads that also matches points it has not seen (a dry run).
type pointRoads struct{ lonRoads }

func (pointRoads) MatchPoint(_ string, t *lanewatch.Telemetry) *RoadEnv {
	return lonRoads{}.Match("", t)
}

var _ PointMatcher = pointRoads{}

// TestEvaluateMatchesRoad: a dry run without a road in the body map-matches the point as the
// live pipeline does (before, road was nil and `road?.class == "main"` never held).
func TestEvaluateMatchesRoad(t *testing.T) {
	e, err := NewEngine(EngineOptions{Opener: &fakeOpener{}, Roads: pointRoads{}, Zones: marketZone{}, Registerer: prometheus.NewPedanticRegistry(),
		Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	e.Swap(mustRules(t, liveRules))
	res := e.Evaluate(EvalInput{Kind: lanewatch.KindTelemetry, Device: sw, Msg: Msg{TS: t0, Lat: 22.51, Lon: 113.3847225, SpeedKmh: 8,
		Extra: map[string]any{"pressure_bar": 7.0}}})
	held := map[string]bool{}
	for _, r := range res {
		held[r.Rule] = r.Held
		if r.Error != "" {
			t.Errorf("%s: %s", r.Rule, r.Error)
		}
		if r.Rule == "brush_off_main" && (r.Case == nil || r.Case.Title != "sw-001 on 八一七路") {
			t.Errorf("brush_off_main case = %+v", r.Case)
		}
	}
	if !held["brush_off_main"] || !held["pressure_high"] || held["in_market"] {
		t.Errorf("held = %v", held)
	}

	// A plain RoadMatcher (the app's) is asked with no device id: it matches the point on its
	// own instead of looking at the device's batch the pipeline is working on.
	asked := &recordingRoads{}
	e2, err := NewEngine(EngineOptions{Opener: &fakeOpener{}, Roads: asked, Registerer: prometheus.NewPedanticRegistry(),
		Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	e2.Swap(mustRules(t, liveRules))
	for _, r := range e2.Evaluate(EvalInput{Kind: lanewatch.KindTelemetry, Device: sw, Msg: Msg{TS: t0, Lat: 22.51, Lon: 113.3847225, SpeedKmh: 8}}) {
		if r.Rule == "brush_off_main" && !r.Held {
			t.Error("brush_off_main did not hold with the plain matcher")
		}
	}
	if len(asked.ids) != 1 || asked.ids[0] != "" {
		t.Errorf("Match asked with device ids %q, want one empty", asked.ids)
	}
}

// recordingRoads is lonRoads recording the device ids it is asked with.
type recordingRoads struct{ ids []string }

func (r *recordingRoads) Match(id string, t *lanewatch.Telemetry) *RoadEnv {
	r.ids = append(r.ids, id)
	return lonRoads{}.Match(id, t)
}
