package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/app"
	"github.com/lanewatch/lanewatch/calendar"
	"github.com/lanewatch/lanewatch/dispatch"
	"github.com/lanewatch/lanewatch/influx"
	"github.com/lanewatch/lanewatch/rules"
)

const rulesUsage = `usage:
  lanewatch rules check [--config FILE] [--categories FILE] DIR_OR_FILE...
  lanewatch rules test [--config FILE] [--categories FILE] FILE...
  lanewatch rules backtest --config FILE --from T --to T [--rules DIR] [--tick D]
`

func rulesCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, rulesUsage)
		return 2
	}
	switch args[0] {
	case "check":
		return rulesCheck(args[1:], stdout, stderr)
	case "test":
		return rulesTest(args[1:], stdout, stderr)
	case "backtest":
		return rulesBacktest(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "lanewatch rules: unknown subcommand %q\n%s", args[0], rulesUsage)
	return 2
}

// defaultConfig is the config `rules check` and `rules test` read the categories, time zone and
// working calendar from when --config is not given.
const defaultConfig = "configs/lanewatch.yaml"

// ruleFlags are the flags of rules check and rules test.
type ruleFlags struct {
	config     string
	configSet  bool
	categories string
}

func parseRuleFlags(name string, args []string, stderr io.Writer) (ruleFlags, []string, int) {
	set := flag.NewFlagSet("rules "+name, flag.ContinueOnError)
	set.SetOutput(stderr)
	var rf ruleFlags
	set.StringVar(&rf.config, "config", defaultConfig, "lanewatch config: categories_file, time_zone and the routing file's working calendar")
	set.StringVar(&rf.categories, "categories", "", "category catalog (overrides the config's categories_file)")
	if err := set.Parse(args); err != nil {
		return rf, nil, 2
	}
	set.Visit(func(f *flag.Flag) { rf.configSet = rf.configSet || f.Name == "config" })
	return rf, set.Args(), 0
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

func rulesCheck(args []string, stdout, stderr io.Writer) int {
	rf, args, rc := parseRuleFlags("check", args, stderr)
	if rc != 0 {
		return rc
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, "lanewatch rules check: no files or directories given\n")
		return 2
	}
	opts, err := loadOptions(rf, args)
	if err != nil {
		fmt.Fprintf(stderr, "lanewatch rules check: %v\n", err)
		return 1
	}
	rs, err := rules.LoadPaths(args, opts)
	if err != nil {
		errs := unwrapJoined(err)
		for _, e := range errs {
			fmt.Fprintln(stderr, e)
		}
		fmt.Fprintf(stderr, "%d errors\n", len(errs))
		return 1
	}
	fmt.Fprintf(stdout, "%d rules OK\n", len(rs))
	return 0
}

func rulesTest(args []string, stdout, stderr io.Writer) int {
	rf, args, rc := parseRuleFlags("test", args, stderr)
	if rc != 0 {
		return rc
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, "lanewatch rules test: no test files given\n")
		return 2
	}
	opts, err := loadOptions(rf, args)
	if err != nil {
		fmt.Fprintf(stderr, "lanewatch rules test: %v\n", err)
		return 1
	}
	failed := rules.RunTestFiles(context.Background(), stdout, args, opts)
	if failed > 0 {
		fmt.Fprintf(stdout, "%d rule tests FAILED\n", failed)
		return 1
	}
	fmt.Fprintln(stdout, "all rule tests passed")
	return 0
}

func rulesBacktest(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rules backtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "lanewatch config file (InfluxDB, categories, loaded rules_dir, devices)")
	fromS := fs.String("from", "", "start of the range, RFC 3339")
	toS := fs.String("to", "", "end of the range, RFC 3339")
	candDir := fs.String("rules", "", "candidate rules directory or file (default: the loaded rules_dir)")
	tick := fs.Duration("tick", 10*time.Second, "timer resolution of the replay")
	if err := fs.Parse(args); err != nil {
		return 2
	}
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
