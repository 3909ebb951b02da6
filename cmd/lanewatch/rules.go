package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/app"
	"github.com/lanewatch/lanewatch/calendar"
	"github.com/lanewatch/lanewatch/coverage"
	"github.com/lanewatch/lanewatch/dispatch"
	"github.com/lanewatch/lanewatch/influx"
	"github.com/lanewatch/lanewatch/rules"
	"github.com/spf13/pflag"
)

// defaultConfig is the config `rules check` and `rules test` read the categories, time zone and
// working calendar from when --config is not given.
const defaultConfig = "configs/lanewatch.yaml"

// ruleFlags are the flags of rules check and rules test.
type ruleFlags struct {
	config     string
	configSet  bool
	categories string
}

// addRuleFlags declares the flags of rules check and rules test on fs.
func addRuleFlags(fs *pflag.FlagSet, rf *ruleFlags) {
	fs.StringVar(&rf.config, "config", defaultConfig, "lanewatch config: categories_file, time_zone and the routing file's working calendar")
	fs.StringVar(&rf.categories, "categories", "", "category catalog (overrides the config's categories_file; default categories.yaml beside the rules directory when there is no config)")
}

// backtestFlags are the flags of rules backtest.
type backtestFlags struct {
	config, from, to, rules string
	tick                    time.Duration
}

// loadOptions are the rules' load options from the config (categories with their names, time
// zone, working calendar), --categories overriding the catalog. Without a config (the default
// one absent), a categories.yaml next to the first rules directory (configs/rules ->
// configs/categories.yaml) is used; with no catalog at all it is an error, since unknown
// category codes would pass.
func loadOptions(rf ruleFlags, paths []string) (rules.LoadOptions, error) {
	var opts rules.LoadOptions
	catFile := rf.categories
	cfg, err := app.LoadConfig(rf.config, os.Environ())
	switch {
	case err == nil:
		loc, err := time.LoadLocation(cfg.TimeZone)
		if err != nil {
			return opts, fmt.Errorf("%s: time_zone: %w", rf.config, err)
		}
		opts.Location = loc
		if catFile == "" && cfg.CategoriesFile != "" {
			catFile = cfg.Resolve(cfg.CategoriesFile)
		}
		if cfg.Dispatch.RoutingFile != "" {
			routing, err := dispatch.LoadRouting(cfg.Resolve(cfg.Dispatch.RoutingFile))
			if err != nil {
				return opts, err
			}
			if opts.Calendar, err = calendar.New(routing.Calendar); err != nil {
				return opts, fmt.Errorf("%s: %w", cfg.Resolve(cfg.Dispatch.RoutingFile), err)
			}
		}
	case rf.configSet || !errors.Is(err, fs.ErrNotExist):
		return opts, err
	}
	if catFile == "" && len(paths) > 0 {
		p := paths[0]
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			p = filepath.Dir(p)
		}
		if cand := filepath.Join(filepath.Dir(filepath.Clean(p)), "categories.yaml"); fileExists(cand) {
			catFile = cand
		}
	}
	if catFile == "" {
		return opts, fmt.Errorf("no category catalog: give --config FILE (its categories_file) or --categories FILE")
	}
	cat, err := dispatch.LoadCatalog(catFile)
	if err != nil {
		return opts, err
	}
	opts.Category = cat.Has
	opts.CategoryName = func(code string) string {
		c, _ := cat.Get(code)
		return c.NameZH
	}
	return opts, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// warnCalendar warns (not an error) when the working calendar's holiday schedule does not cover
// the next 30 days: `workdays` rules and deadlines would take public holidays for working days.
func warnCalendar(opts rules.LoadOptions, now func() time.Time, stderr io.Writer) {
	if opts.Calendar == nil {
		return
	}
	if err := opts.Calendar.CheckCovered(now(), 30*24*time.Hour); err != nil {
		fmt.Fprintf(stderr, "warning: %v\n", err)
	}
}

func rulesCheck(rf ruleFlags, args []string, stdout, stderr io.Writer, now func() time.Time) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "lanewatch rules check: no files or directories given\n")
		return 2
	}
	opts, err := loadOptions(rf, args)
	if err != nil {
		fmt.Fprintf(stderr, "lanewatch rules check: %v\n", err)
		return 1
	}
	warnCalendar(opts, now, stderr)
	rs, err := rules.LoadPaths(args, opts)
	if err != nil {
		errs := unwrapJoined(err)
		lines := make([]string, len(errs))
		for i, e := range errs {
			lines[i] = e.Error()
		}
		printErrors(stderr, lines)
		return 1
	}
	fmt.Fprintf(stdout, "%d rules OK\n", len(rs))
	return 0
}

func rulesTest(rf ruleFlags, args []string, stdout, stderr io.Writer, now func() time.Time) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "lanewatch rules test: no test files given\n")
		return 2
	}
	opts, err := loadOptions(rf, args)
	if err != nil {
		fmt.Fprintf(stderr, "lanewatch rules test: %v\n", err)
		return 1
	}
	warnCalendar(opts, now, stderr)
	failed := rules.RunTestFiles(context.Background(), stdout, args, opts)
	if failed > 0 {
		fmt.Fprintf(stdout, "%d rule tests FAILED\n", failed)
		return 1
	}
	fmt.Fprintln(stdout, "all rule tests passed")
	return 0
}

func rulesBacktest(f backtestFlags, stdout, stderr io.Writer) int {
	// The body below reads the flags through these names, as when it parsed them itself.
	cfgPath, fromS, toS, candDir, tick := &f.config, &f.from, &f.to, &f.rules, &f.tick
	if *cfgPath == "" || *fromS == "" || *toS == "" {
		fmt.Fprint(stderr, "lanewatch rules backtest: --config, --from and --to are required\n")
		return 2
	}
	from, err1 := time.Parse(time.RFC3339, *fromS)
	to, err2 := time.Parse(time.RFC3339, *toS)
	if err1 != nil || err2 != nil || !to.After(from) {
		fmt.Fprint(stderr, "lanewatch rules backtest: --from and --to must be RFC 3339 times with from < to\n")
		return 2
	}
	cfg, err := app.LoadConfig(*cfgPath, os.Environ())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	cat, err := dispatch.LoadCatalog(cfg.Resolve(cfg.CategoriesFile))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	opts := rules.LoadOptions{Category: cat.Has, Location: loc}
	var loaded []*rules.Rule
	if cfg.RulesDir != "" {
		if loaded, err = rules.LoadPaths([]string{cfg.Resolve(cfg.RulesDir)}, opts); err != nil {
			fmt.Fprintf(stderr, "loaded rules: %v\n", err)
			return 1
		}
	}
	candidate := loaded
	if *candDir != "" {
		if candidate, err = rules.LoadPaths([]string{*candDir}, opts); err != nil {
			for _, e := range unwrapJoined(err) {
				fmt.Fprintln(stderr, e)
			}
			return 1
		}
	}
	// The live environment: the road each point was matched to (stored with it) and the zones
	// of the configured network, so road and zone rules hold in replay as they did live.
	roads, zones, err := backtestRoads(cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	h := influx.NewHistory(cfg.Influx.URL, cfg.Influx.Token, cfg.Influx.Org, cfg.Influx.Bucket)
	defer h.Close()
	ctx := context.Background()
	points := 0
	rows, err := backtestHistory(ctx, candidate, loaded, rules.BacktestOptions{Tick: *tick, Zones: zones}, roads,
		func(yield func(influx.HistoryPoint) error) error {
			return h.Replay(ctx, from, to, nil, func(p influx.HistoryPoint) error {
				points++
				return yield(p)
			})
		})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "replayed %d points from %s to %s (no cases opened)\n", points, from.Format(time.RFC3339), to.Format(time.RFC3339))
	if err := rules.WriteBacktest(stdout, rows); err != nil {
		return 1
	}
	return 0
}

// backtestRoads loads the config's road network (nil, nil when coverage has no roads_file).
func backtestRoads(cfg *app.Config) (*historyRoads, rules.ZoneTester, error) {
	c := cfg.Coverage
	if c.RoadsFile == "" {
		return nil, nil, nil
	}
	f := coverage.Files{Roads: cfg.Resolve(c.RoadsFile), Districts: cfg.Resolve(c.DistrictsFile)}
	if c.ZonesFile != "" {
		f.Zones = cfg.Resolve(c.ZonesFile)
	}
	net, err := coverage.LoadFiles(f)
	if err != nil {
		return nil, nil, fmt.Errorf("road network: %w", err)
	}
	return newHistoryRoads(net), net, nil
}

// historyRoads is the backtest's rules.RoadMatcher: the live matcher's answer for a point is
// stored with it (the `segment` field of vehicle_telemetry), so replay gives each point the
// road it had live. backtestHistory records the segment of each device's point just before
// the engines see it (the replay is sequential).
type historyRoads struct {
	roads map[string]*rules.RoadEnv
	last  map[string]pointSegment // by device
}

type pointSegment struct {
	ts      time.Time
	segment string
}

func newHistoryRoads(net *coverage.Network) *historyRoads {
	h := &historyRoads{roads: map[string]*rules.RoadEnv{}, last: map[string]pointSegment{}}
	for i := range net.Segments {
		s := &net.Segments[i]
		// As app's road matcher builds it (app/coverage.go newRoadMatcher).
		h.roads[s.ID] = &rules.RoadEnv{ID: s.ID, Name: s.Name, Class: s.Class, District: s.District, Contractor: s.Contractor, Zones: s.Zones}
	}
	return h
}

// Match implements rules.RoadMatcher.
func (h *historyRoads) Match(deviceID string, t *lanewatch.Telemetry) *rules.RoadEnv {
	if p, ok := h.last[deviceID]; ok && p.ts.Equal(t.TS) {
		return h.roads[p.segment]
	}
	return nil
}

var _ rules.RoadMatcher = (*historyRoads)(nil)

// backtestHistory replays stored points through rules.BacktestMessages: each becomes the
// message the pipeline decoded (vendor fields into Extra) and, with roads, keeps the road it
// was matched to live.
func backtestHistory(ctx context.Context, candidate, loaded []*rules.Rule, o rules.BacktestOptions, roads *historyRoads,
	replay func(yield func(influx.HistoryPoint) error) error) ([]rules.BacktestRow, error) {
	if roads != nil {
		o.Roads = roads
	}
	return rules.BacktestMessages(ctx, candidate, loaded, o, func(yield func(*lanewatch.Message, *lanewatch.Device) error) error {
		return replay(func(p influx.HistoryPoint) error {
			msg, dev, seg, ok := historyMessage(p)
			if !ok {
				return nil
			}
			if roads != nil && len(msg.Telemetry) == 1 {
				roads.last[dev.ID] = pointSegment{ts: msg.Telemetry[0].TS, segment: seg}
			}
			return yield(msg, dev)
		})
	})
}

// telemetryFields are the stored vehicle_telemetry fields that are not vendor extras.
var telemetryFields = map[string]bool{"lat": true, "lon": true, "speed_kmh": true, "heading": true, "brush_on": true,
	"water_on": true, "water_level_pct": true, "fuel_pct": true, "odometer_km": true, "segment": true}

// historyMessage turns a stored point into the message the pipeline decoded when it arrived,
// the device as far as InfluxDB knows it (plate and tags are not stored), and the road segment
// the live map matcher gave a telemetry point ("" for none).
func historyMessage(p influx.HistoryPoint) (*lanewatch.Message, *lanewatch.Device, string, bool) {
	num := func(k string) (float64, bool) {
		switch v := p.Fields[k].(type) {
		case float64:
			return v, true
		case int64:
			return float64(v), true
		}
		return 0, false
	}
	val := func(k string) float64 { v, _ := num(k); return v }
	flag := func(k string) bool { b, _ := p.Fields[k].(bool); return b }
	str := func(k string) string { s, _ := p.Fields[k].(string); return s }
	dev := &lanewatch.Device{ID: p.Tags["device"], District: p.Tags["district"], Contractor: p.Tags["contractor"]}
	msg := &lanewatch.Message{DeviceID: dev.ID, Received: p.Time}
	switch p.Measurement {
	case influx.MeasurementTelemetry:
		msg.Kind = lanewatch.KindTelemetry
		dev.Type = lanewatch.DeviceType(p.Tags["type"])
		t := lanewatch.Telemetry{TS: p.Time, Lat: val("lat"), Lon: val("lon"), SpeedKmh: val("speed_kmh"), Heading: val("heading"),
			BrushOn: flag("brush_on"), WaterOn: flag("water_on"), WaterLevelPct: val("water_level_pct"), FuelPct: val("fuel_pct"),
			OdometerKm: val("odometer_km")}
		names := make([]string, 0, len(p.Fields))
		for k := range p.Fields {
			if !telemetryFields[k] {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			if b, ok := p.Fields[k].(bool); ok {
				t.Extra = append(t.Extra, lanewatch.ExtraField{Name: k, Bool: b, IsBool: true})
			} else if v, ok := num(k); ok {
				t.Extra = append(t.Extra, lanewatch.ExtraField{Name: k, Num: v})
			}
		}
		msg.Telemetry = []lanewatch.Telemetry{t}
		return msg, dev, str("segment"), true
	case influx.MeasurementCamera:
		msg.Kind = lanewatch.KindCamera
		dev.Type = lanewatch.DeviceCamera
		msg.Camera = &lanewatch.CameraEvent{TS: p.Time, Type: p.Tags["type"], EventID: str("event_id"), Confidence: val("confidence"),
			Lat: val("lat"), Lon: val("lon")}
		return msg, dev, "", true
	case influx.MeasurementPlaqueScan:
		msg.Kind = lanewatch.KindPlaque
		dev.Type = lanewatch.DevicePlaque
		msg.Scan = &lanewatch.PlaqueScan{TS: p.Time, Action: p.Tags["action"], Category: p.Tags["category"]}
		return msg, dev, "", true
	}
	return nil, nil, "", false
}

// historyEnv turns a stored point into the environment the rules saw when it arrived, without
// road matching (BacktestMessages with historyRoads adds it). Device fields that are not
// stored (plate, tags) are empty.
func historyEnv(p influx.HistoryPoint) (rules.Env, bool) {
	msg, dev, _, ok := historyMessage(p)
	if !ok {
		return rules.Env{}, false
	}
	env := rules.Env{Now: p.Time, Kind: string(msg.Kind), Device: rules.DeviceEnv{ID: dev.ID, Type: string(dev.Type),
		District: dev.District, Contractor: dev.Contractor}}
	switch {
	case len(msg.Telemetry) == 1:
		t := &msg.Telemetry[0]
		env.Msg = rules.Msg{TS: t.TS, Lat: t.Lat, Lon: t.Lon, SpeedKmh: t.SpeedKmh, Heading: t.Heading, BrushOn: t.BrushOn,
			WaterOn: t.WaterOn, WaterLevelPct: t.WaterLevelPct, FuelPct: t.FuelPct, OdometerKm: t.OdometerKm}
	case msg.Camera != nil:
		c := msg.Camera
		env.Msg = rules.Msg{TS: c.TS, Lat: c.Lat, Lon: c.Lon, Type: c.Type, EventID: c.EventID, Confidence: c.Confidence}
	case msg.Scan != nil:
		env.Msg = rules.Msg{TS: p.Time, Action: msg.Scan.Action, Category: msg.Scan.Category}
	}
	return env, true
}

func unwrapJoined(err error) []error {
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unwrapJoined(e)...)
		}
		return out
	}
	return []error{err}
}
