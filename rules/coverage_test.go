package rules

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
)

func loadShippedCoverageRules(t *testing.T) []*Rule {
	t.Helper()
	data, err := os.ReadFile("../configs/rules/coverage.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Parse("coverage.yaml", data, LoadOptions{})
	if err != nil {
		t.Fatalf("parse shipped coverage rules: %v", err)
	}
	return rs
}

// TestHandleCoverageShippedRule feeds coverage events through the shipped 9003 rule and checks
// the firing the app hands to the case opener.
func TestHandleCoverageShippedRule(t *testing.T) {
	loc := DefaultLocation()
	deadline := time.Date(2025, 3, 3, 9, 0, 0, 0, loc)
	now := deadline.Add(30 * time.Second)
	op := &fakeOpener{}
	e, err := NewEngine(EngineOptions{Opener: op, Registerer: prometheus.NewPedanticRegistry(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	e.Swap(loadShippedCoverageRules(t))
	ctx := context.Background()
	ev := CoverageEvent{Segment: "qiguan-03", Name: "岐关西路", Class: "main", District: "dongqu", Contractor: "lvcheng",
		Zones: []string{"central"}, Day: "2025-03-03", Deadline: deadline, Coverage: 0.634, Threshold: 0.8, CoveredM: 126.8,
		LengthM: 200, Lat: 22.518, Lon: 113.3769445}
	e.HandleCoverage(ctx, ev)
	met := ev
	met.Segment, met.Coverage = "qiguan-04", 0.85
	e.HandleCoverage(ctx, met)
	branch := ev
	branch.Segment, branch.Class = "alley-01", "branch"
	e.HandleCoverage(ctx, branch)

	if op.n() != 1 {
		t.Fatalf("firings = %d, want 1: %+v", op.n(), op.got)
	}
	f := op.got[0]
	want := Firing{Rule: "coverage_segment_not_cleaned", Group: "coverage", Key: "qiguan-03@2025-03-03", Category: "9003",
		Urgency: "normal", District: "dongqu", Contractor: "lvcheng", Location: lanewatch.Location{Lat: 22.518, Lon: 113.3769445}, At: deadline}
	got := f
	got.Title, got.Description = "", ""
	if !got.At.Equal(want.At) {
		t.Errorf("At = %s, want %s", got.At, want.At)
	}
	got.At = want.At
	if got != want {
		t.Errorf("firing =\n %+v\nwant\n %+v", got, want)
	}
	if wantTitle := "岐关西路（qiguan-03）09:00 前清扫覆盖率 63%，低于 80%"; f.Title != wantTitle {
		t.Errorf("title = %q, want %q", f.Title, wantTitle)
	}
	for _, part := range []string{"segment qiguan-03 (岐关西路, main, district dongqu", "contractor lvcheng", "covered 127 m of 200 m", "(63%)", "on 2025-03-03"} {
		if !strings.Contains(f.Description, part) {
			t.Errorf("description %q lacks %q", f.Description, part)
		}
	}
	// A coverage event keeps no episode open: no key is left behind.
	for _, st := range e.Status() {
		if len(st.ActiveKeys) != 0 {
			t.Errorf("rule %s keeps keys %+v after a coverage firing", st.Name, st.ActiveKeys)
		}
	}
	if s := e.Stats("coverage_segment_not_cleaned"); s.Evaluations != 3 || s.Matches != 1 || s.Firings != 1 {
		t.Errorf("stats = %+v, want 3 evaluations, 1 match, 1 firing", s)
	}
}

// TestCoverageRuleCooldownAndEvaluate: a cooldown on a segment key suppresses the next day's
// event; Evaluate dry-runs a coverage input without a device.
func TestCoverageRuleCooldownAndEvaluate(t *testing.T) {
	src := `groups:
  - name: cov
    on: coverage
    rules:
      - name: seg_weekly
        when: msg.coverage < threshold_placeholder
        key: msg.segment
        cooldown: 48h
        case: {category: "9003", title: "{{ .road.name }} {{ .key }}"}
`
	src = strings.Replace(src, "threshold_placeholder", "msg.threshold", 1)
	rs, err := Parse("cov.yaml", []byte(src), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	op := &fakeOpener{}
	e, _ := NewEngine(EngineOptions{Opener: op, Registerer: prometheus.NewPedanticRegistry()})
	e.Swap(rs)
	d0 := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	for day := range 3 {
		e.HandleCoverage(context.Background(), CoverageEvent{Segment: "s1", Name: "岐关西路", Class: "main", Deadline: d0.Add(time.Duration(day) * 24 * time.Hour),
			Coverage: 0.1, Threshold: 0.8})
	}
	if op.n() != 2 || !op.got[1].At.Equal(d0.Add(48*time.Hour)) || op.got[0].Title != "岐关西路 s1" {
		t.Fatalf("firings = %+v, want days 0 and 2 (48h cooldown) titled 岐关西路 s1", op.got)
	}
	res := e.Evaluate(EvalInput{Kind: KindCoverage, Msg: Msg{Segment: "s2", Coverage: 0.2, Threshold: 0.8, Deadline: d0}})
	if len(res) != 1 || !res[0].Held || !res[0].WouldFire || res[0].Key != "s2" || res[0].Case == nil || res[0].Case.Title != "s2" || !res[0].Case.At.Equal(d0) {
		t.Fatalf("evaluate = %+v (case %+v)", res, res[0].Case)
	}
}

// TestCoverageRuleParseErrors: timers do not apply to coverage rules; the error names them.
func TestCoverageRuleParseErrors(t *testing.T) {
	src := `groups:
  - name: cov
    on: coverage
    rules:
      - name: bad
        when: msg.coverage < 0.8
        for: 1m
        keep_for: 1m
        clear: msg.coverage > 0.9
        case: {category: "9003"}
`
	_, err := Parse("cov.yaml", []byte(src), LoadOptions{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`cov.yaml:7:9: rule "bad": for does not apply to coverage rules`,
		`cov.yaml:8:9: rule "bad": keep_for does not apply to coverage rules`,
		`cov.yaml:9:9: rule "bad": clear does not apply to coverage rules`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	_, err = Parse("x.yaml", []byte("groups:\n  - name: g\n    on: coverages\n    rules: []\n"), LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), `on: "coverages" is not one of telemetry, camera, plaque, status, coverage`) {
		t.Fatalf("bad kind error = %v", err)
	}
}
