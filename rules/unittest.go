package rules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// TestFile is a rule unit-test file (SPEC 5.4), in the manner of `promtool test rules`.
type TestFile struct {
	// RuleFiles are rule files or directories, relative to the test file.
	RuleFiles []string `yaml:"rule_files"`
	// TimeZone for schedules; default the loader's (Asia/Shanghai).
	TimeZone string       `yaml:"time_zone"`
	Devices  []DeviceEnv  `yaml:"devices"`
	Tests    []TestCase   `yaml:"tests"`
	Inputs   []TestInput  `yaml:"inputs"`         // shorthand for a single test
	Expected []TestFiring `yaml:"expected_cases"` // shorthand for a single test
}

// TestCase is one scenario on a fake clock.
type TestCase struct {
	Name string `yaml:"name"`
	// Start is the clock at `at: 0s`; default 2025-03-03T09:00:00 (a Monday) in the time zone.
	Start string `yaml:"start"`
	// Tick is how often the engine's timers run; default 10s.
	Tick yamlx.Duration `yaml:"tick"`
	// EvalUntil is how long the clock runs (default: 1m after the last input), so absent and
	// keep_for timers fire without input.
	EvalUntil      yamlx.Duration `yaml:"eval_until"`
	Inputs         []TestInput    `yaml:"inputs"`
	ExpectedCases  []TestFiring   `yaml:"expected_cases"`
	ExpectedShadow []TestFiring   `yaml:"expected_shadow"`
}

// TestInput is one message at an offset from the start, optionally repeated.
type TestInput struct {
	At     yamlx.Duration `yaml:"at"`
	Device string         `yaml:"device"`
	Kind   string         `yaml:"kind"` // default telemetry; coverage inputs have no device
	Msg    map[string]any `yaml:"msg"`
	Road   *RoadEnv       `yaml:"road"`
	// Repeat sends the message this many times in all, Every apart.
	Repeat int            `yaml:"repeat"`
	Every  yamlx.Duration `yaml:"every"`
}

// TestFiring is an expected (or actual) case: rule, key and offset from the start.
type TestFiring struct {
	Rule string         `yaml:"rule"`
	Key  string         `yaml:"key"`
	At   yamlx.Duration `yaml:"at"`
}

func (f TestFiring) String() string {
	return fmt.Sprintf("rule=%s key=%s at=%s", f.Rule, f.Key, time.Duration(f.At))
}

// RunTestFiles runs rule unit-test files, writing results to w. It returns the number of
// failed tests; errors reading or loading a file count as failures and are written too.
func RunTestFiles(ctx context.Context, w io.Writer, files []string, o LoadOptions) int {
	failed := 0
	for _, f := range files {
		n, err := runTestFile(ctx, w, f, o)
		if err != nil {
			fmt.Fprintf(w, "FAIL %s: %v\n", f, err)
			failed++
		}
		failed += n
	}
	return failed
}

// ParseTestFile decodes a rule unit-test file strictly, returning every decoding error (each
// file:line:column) at once.
func ParseTestFile(path string, data []byte) (*TestFile, error) {
	if len(data) > yamlx.MaxFileBytes {
		return nil, &yamlx.Error{File: path, Msg: fmt.Sprintf("file is %d bytes, more than the limit of %d", len(data), yamlx.MaxFileBytes)}
	}
	var tf TestFile
	if errs := yamlx.DecodeAll(path, data, &tf); len(errs) > 0 {
		return nil, errors.Join(sortErrors(errs)...)
	}
	return &tf, nil
}

func runTestFile(ctx context.Context, w io.Writer, path string, o LoadOptions) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read rule test file: %w", err)
	}
	tf, err := ParseTestFile(path, data)
	if err != nil {
		return 0, err
	}
	if tf.TimeZone != "" {
		loc, err := time.LoadLocation(tf.TimeZone)
		if err != nil {
			return 0, fmt.Errorf("time_zone: %w", err)
		}
		o.Location = loc
	}
	if o.Location == nil {
		o.Location = DefaultLocation()
	}
	if len(tf.RuleFiles) == 0 {
		return 0, fmt.Errorf("rule_files: at least one rule file is required")
	}
	var paths []string
	for _, rf := range tf.RuleFiles {
		if !filepath.IsAbs(rf) {
			rf = filepath.Join(filepath.Dir(path), rf)
		}
		paths = append(paths, rf)
	}
	rules, err := LoadPaths(paths, o)
	if err != nil {
		return 0, err
	}
	devs := map[string]DeviceEnv{}
	for _, d := range tf.Devices {
		devs[d.ID] = d
	}
	tests := tf.Tests
	if len(tf.Inputs) > 0 || len(tf.Expected) > 0 {
		tests = append([]TestCase{{Name: "default", Inputs: tf.Inputs, ExpectedCases: tf.Expected}}, tests...)
	}
	if len(tests) == 0 {
		return 0, fmt.Errorf("no tests")
	}
	failed := 0
	for i, tc := range tests {
		name := tc.Name
		if name == "" {
			name = fmt.Sprintf("tests[%d]", i)
		}
		cases, shadow, err := RunTestCase(ctx, rules, devs, tc, o.Location)
		if err != nil {
			fmt.Fprintf(w, "FAIL %s: %s: %v\n", path, name, err)
			failed++
			continue
		}
		d1 := diffFirings(tc.ExpectedCases, cases)
		d2 := diffFirings(tc.ExpectedShadow, shadow)
		if d1 == "" && d2 == "" {
			fmt.Fprintf(w, "ok   %s: %s (%d cases)\n", path, name, len(cases))
			continue
		}
		failed++
		fmt.Fprintf(w, "FAIL %s: %s\n", path, name)
		if d1 != "" {
			fmt.Fprintf(w, "  cases (- expected, + got):\n%s", d1)
		}
		if d2 != "" {
			fmt.Fprintf(w, "  shadow cases (- expected, + got):\n%s", d2)
		}
	}
	return failed, nil
}

// recorder is the Opener of a test or backtest: it records firings instead of opening cases.
type recorder struct{ got []Firing }

func (r *recorder) OpenRuleCase(_ context.Context, f Firing) error {
	r.got = append(r.got, f)
	return nil
}

// RunTestCase plays one test case through a fresh engine on a fake clock and returns the
// cases opened and the would-be cases of shadow rules, as offsets from the start.
func RunTestCase(ctx context.Context, rules []*Rule, devs map[string]DeviceEnv, tc TestCase, loc *time.Location) (cases, shadow []TestFiring, err error) {
	start := time.Date(2025, 3, 3, 9, 0, 0, 0, loc)
	if tc.Start != "" {
		if start, err = time.Parse(time.RFC3339, tc.Start); err != nil {
			return nil, nil, fmt.Errorf("start: %q is not RFC 3339", tc.Start)
		}
	}
	tick := time.Duration(tc.Tick)
	if tick <= 0 {
		tick = 10 * time.Second
	}
	type ev struct {
		at  time.Duration
		env Env
	}
	var evs []ev
	var last time.Duration
	for i, in := range tc.Inputs {
		kind := lanewatch.Kind(in.Kind)
		if in.Kind == "" {
			kind = lanewatch.KindTelemetry
		}
		if !validKind(kind) {
			return nil, nil, fmt.Errorf("inputs[%d]: kind %q is not one of telemetry, camera, plaque, status, coverage", i, in.Kind)
		}
		dev, ok := devs[in.Device]
		switch {
		case kind == KindCoverage && in.Device != "":
			return nil, nil, fmt.Errorf("inputs[%d]: coverage inputs have no device (the segment's district and contractor come from msg)", i)
		case kind != KindCoverage && !ok:
			return nil, nil, fmt.Errorf("inputs[%d]: device %q is not in devices", i, in.Device)
		}
		raw, err := json.Marshal(in.Msg)
		if err != nil {
			return nil, nil, fmt.Errorf("inputs[%d].msg: %w", i, err)
		}
		if in.Msg == nil {
			raw = []byte("{}")
		}
		msg, err := DecodeMsg(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("inputs[%d]: %w", i, err)
		}
		n := max(in.Repeat, 1)
		if n > 1 && in.Every <= 0 {
			return nil, nil, fmt.Errorf("inputs[%d]: repeat needs every", i)
		}
		for k := range n {
			at := time.Duration(in.At) + time.Duration(k)*time.Duration(in.Every)
			m := msg
			m.TS = start.Add(at)
			env := Env{Msg: m, Device: dev, Road: in.Road, Now: m.TS, Kind: string(kind)}
			if kind == KindCoverage {
				env = coverageEnv(m, in.Road)
			}
			evs = append(evs, ev{at: at, env: env})
			last = max(last, at)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at < evs[j].at })
	until := time.Duration(tc.EvalUntil)
	if until == 0 {
		until = last + time.Minute
	}
	now := start
	rec := &recorder{}
	e, err := NewEngine(EngineOptions{Opener: rec, Now: func() time.Time { return now }})
	if err != nil {
		return nil, nil, err
	}
	e.Swap(rules)
	nextTick := tick
	for _, x := range evs {
		for nextTick <= x.at {
			now = start.Add(nextTick)
			e.Tick(ctx, now)
			nextTick += tick
		}
		now = start.Add(x.at)
		e.HandleEnv(ctx, x.env)
	}
	for ; nextTick <= until; nextTick += tick {
		now = start.Add(nextTick)
		e.Tick(ctx, now)
	}
	for _, f := range rec.got {
		cases = append(cases, TestFiring{Rule: f.Rule, Key: f.Key, At: yamlx.Duration(f.At.Sub(start))})
	}
	for _, f := range e.Shadow() {
		shadow = append(shadow, TestFiring{Rule: f.Rule, Key: f.Key, At: yamlx.Duration(f.At.Sub(start))})
	}
	return cases, shadow, nil
}

// diffFirings returns "" when want and got hold the same firings (in any order), else the
// lines of both, sorted, marked - (missing) and + (unexpected).
func diffFirings(want, got []TestFiring) string {
	key := func(f TestFiring) string { return fmt.Sprintf("%020d %s %s", f.At, f.Rule, f.Key) }
	w := map[string]int{}
	for _, f := range want {
		w[key(f)]++
	}
	g := map[string]int{}
	for _, f := range got {
		g[key(f)]++
	}
	all := slices.Concat(want, got)
	sort.SliceStable(all, func(i, j int) bool { return key(all[i]) < key(all[j]) })
	var b strings.Builder
	seen := map[string]bool{}
	differ := false
	for _, f := range all {
		k := key(f)
		if seen[k] {
			continue
		}
		seen[k] = true
		switch {
		case w[k] == g[k]:
			for range w[k] {
				fmt.Fprintf(&b, "      %s\n", f)
			}
		default:
			differ = true
			for range min(w[k], g[k]) {
				fmt.Fprintf(&b, "      %s\n", f)
			}
			for range w[k] - min(w[k], g[k]) {
				fmt.Fprintf(&b, "    - %s\n", f)
			}
			for range g[k] - min(w[k], g[k]) {
				fmt.Fprintf(&b, "    + %s\n", f)
			}
		}
	}
	if !differ {
		return ""
	}
	return b.String()
}
