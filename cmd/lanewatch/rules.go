package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/app"
	"github.com/lanewatch/lanewatch/dispatch"
	"github.com/lanewatch/lanewatch/influx"
	"github.com/lanewatch/lanewatch/rules"
)

// ruleFlags are the flags of rules check and rules test.
type ruleFlags struct {
	config     string
	categories string
}

// backtestFlags are the flags of rules backtest.
type backtestFlags struct {
	config, from, to, rules string
	tick                    time.Duration
}

// loadOptions are the rules' load options: the catalog of --categories, else of --config's
// categories_file (with its time_zone); without either, a categories.yaml next to the first
// rules directory (configs/rules -> configs/categories.yaml) is used when present.
func loadOptions(rf ruleFlags, args []string, stderr io.Writer) (rules.LoadOptions, []string, int) {
	var opts rules.LoadOptions
	catFile := rf.categories
	if rf.config != "" {
		cfg, err := app.LoadConfig(rf.config, os.Environ())
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return opts, nil, 1
		}
		if opts.Location, err = time.LoadLocation(cfg.TimeZone); err != nil {
			fmt.Fprintf(stderr, "%s: time_zone: %v\n", rf.config, err)
			return opts, nil, 1
		}
		if catFile == "" && cfg.CategoriesFile != "" {
			catFile = cfg.Resolve(cfg.CategoriesFile)
		}
	}
	if catFile == "" && len(args) > 0 {
		p := args[0]
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			p = filepath.Dir(p)
		}
		cand := filepath.Join(filepath.Dir(filepath.Clean(p)), "categories.yaml")
		if _, err := os.Stat(cand); err == nil {
			catFile = cand
		}
	}
	if catFile != "" {
		cat, err := dispatch.LoadCatalog(catFile)
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return opts, nil, 1
		}
		opts.Category = cat.Has
	}
	return opts, args, 0
}

func rulesCheck(rf ruleFlags, args []string, stdout, stderr io.Writer) int {
	opts, args, rc := loadOptions(rf, args, stderr)
	if rc != 0 {
		return rc
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, "lanewatch rules check: no files or directories given\n")
		return 2
	}
	rs, err := rules.LoadPaths(args, opts)
	if err != nil {
		for _, e := range unwrapJoined(err) {
			fmt.Fprintln(stderr, e)
		}
		return 1
	}
	fmt.Fprintf(stdout, "%d rules OK\n", len(rs))
	return 0
}

func rulesTest(rf ruleFlags, args []string, stdout, stderr io.Writer) int {
	opts, args, rc := loadOptions(rf, args, stderr)
	if rc != 0 {
		return rc
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, "lanewatch rules test: no test files given\n")
		return 2
	}
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
	h := influx.NewHistory(cfg.Influx.URL, cfg.Influx.Token, cfg.Influx.Org, cfg.Influx.Bucket)
	defer h.Close()
	ctx := context.Background()
	points := 0
	rows, err := rules.Backtest(ctx, candidate, loaded, *tick, func(yield func(rules.Env) error) error {
		return h.Replay(ctx, from, to, nil, func(p influx.HistoryPoint) error {
			env, ok := historyEnv(p)
			if !ok {
				return nil
			}
			points++
			return yield(env)
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

// historyEnv turns a stored point into the environment the rules saw when it arrived. Device
// fields that are not stored (plate, tags) are empty.
func historyEnv(p influx.HistoryPoint) (rules.Env, bool) {
	num := func(k string) float64 {
		switch v := p.Fields[k].(type) {
		case float64:
			return v
		case int64:
			return float64(v)
		}
		return 0
	}
	flag := func(k string) bool { b, _ := p.Fields[k].(bool); return b }
	str := func(k string) string { s, _ := p.Fields[k].(string); return s }
	env := rules.Env{Now: p.Time, Device: rules.DeviceEnv{ID: p.Tags["device"], District: p.Tags["district"], Contractor: p.Tags["contractor"]}}
	m := rules.Msg{TS: p.Time, Lat: num("lat"), Lon: num("lon")}
	switch p.Measurement {
	case influx.MeasurementTelemetry:
		env.Kind = string(lanewatch.KindTelemetry)
		env.Device.Type = p.Tags["type"]
		m.SpeedKmh, m.Heading, m.BrushOn, m.WaterOn = num("speed_kmh"), num("heading"), flag("brush_on"), flag("water_on")
		m.WaterLevelPct, m.FuelPct, m.OdometerKm = num("water_level_pct"), num("fuel_pct"), num("odometer_km")
	case influx.MeasurementCamera:
		env.Kind = string(lanewatch.KindCamera)
		env.Device.Type = string(lanewatch.DeviceCamera)
		m.Type, m.EventID, m.Confidence = p.Tags["type"], str("event_id"), num("confidence")
	case influx.MeasurementPlaqueScan:
		env.Kind = string(lanewatch.KindPlaque)
		env.Device.Type = string(lanewatch.DevicePlaque)
		m.Action, m.Category = p.Tags["action"], p.Tags["category"]
	default:
		return env, false
	}
	env.Msg = m
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
