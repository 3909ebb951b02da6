package rules

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestTemplateFailureStillOpensCase: a title template that fails when the rule fires (pct of a
// vendor field the message lacks) used to mark the key firing and open no case, ever. Now the
// case opens with the fallback title (category name and key), the error is counted per rule
// and logged once.
func TestTemplateFailureStillOpensCase(t *testing.T) {
	const src = `groups:
  - name: g
    on: telemetry
    rules:
      - name: pressure
        when: msg.speed_kmh > 3
        case:
          category: "9001"
          title: "{{ .device.id }} at {{ pct .msg.extra.ratio }}"
          description: "{{ .msg.extra.ratio.nope }}"
`
	rs, err := Parse("t.yaml", []byte(src), LoadOptions{Location: time.UTC,
		CategoryName: func(code string) string { return map[string]string{"9001": "作业车辆违规"}[code] }})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	reg := prometheus.NewPedanticRegistry()
	op := &fakeOpener{}
	e, err := NewEngine(EngineOptions{Opener: op, Registerer: reg, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	e.Swap(rs)
	for i := range 3 {
		ts := t0.Add(time.Duration(i) * time.Second)
		e.HandleEnv(context.Background(), Env{Msg: Msg{TS: ts, SpeedKmh: 10}, Device: DeviceEnv{ID: "sw-00" + string(rune('1'+i))}, Now: ts, Kind: "telemetry"})
	}
	if op.n() != 3 {
		t.Fatalf("cases opened = %d, want 3 (one per key)", op.n())
	}
	if got := op.got[0].Title; got != "作业车辆违规 sw-001" {
		t.Errorf("fallback title = %q", got)
	}
	if got := testutil.ToFloat64(e.tplErrs.WithLabelValues("pressure")); got != 3 {
		t.Errorf("lanewatch_rule_template_errors_total = %v, want 3", got)
	}
	if n := strings.Count(logs.String(), "case template failed"); n != 1 {
		t.Errorf("template failure logged %d times, want once per rule:\n%s", n, logs.String())
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP lanewatch_rule_template_errors_total Case titles or descriptions whose template failed at run time (the case opened with the fallback title).
# TYPE lanewatch_rule_template_errors_total counter
lanewatch_rule_template_errors_total{rule="pressure"} 3
`), "lanewatch_rule_template_errors_total"); err != nil {
		t.Error(err)
	}
}

// TestTemplateRendering: every environment field renders (.msg.heading was "<no value>"), a
// missing vendor field renders empty, and times render in the configured zone without Go's
// monotonic "m=+…" suffix (an absent rule's title with .now and .last_seen from time.Now()).
func TestTemplateRendering(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatalf("time zone Asia/Shanghai: %v (install tzdata)", err)
	}
	const src = `groups:
  - name: g
    on: telemetry
    rules:
      - name: heading
        when: msg.speed_kmh > 3
        case:
          category: "9001"
          title: "[{{ .msg.heading }}] [{{ .msg.extra.pressure_bar }}] [{{ .device.tags.shift }}] [{{ .road.name }}] [{{ .msg.ts }}]"
      - name: silent
        absent: 1m
        case:
          category: "9004"
          title: "{{ .device.id }} silent since {{ .last_seen }} ({{ .absent }}), at {{ .now }} {{ .now.Format \"15:04\" }}"
`
	rs, err := Parse("t.yaml", []byte(src), LoadOptions{Location: sh})
	if err != nil {
		t.Fatal(err)
	}
	op := &fakeOpener{}
	now := time.Now() // carries a monotonic reading, as the live clock does
	e, err := NewEngine(EngineOptions{Opener: op, Registerer: prometheus.NewPedanticRegistry(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	e.Swap(rs)
	e.HandleEnv(context.Background(), Env{Msg: Msg{TS: t0, SpeedKmh: 10, Heading: 90}, Device: sw, Now: t0, Kind: "telemetry"})
	now = now.Add(2 * time.Minute)
	e.Tick(context.Background(), now)
	if op.n() != 2 {
		t.Fatalf("cases = %d, want 2", op.n())
	}
	if got, want := op.got[0].Title, "[90] [] [] [] [2025-03-03 17:00:00]"; got != want {
		t.Errorf("title = %q, want %q", got, want)
	}
	abs := op.got[1].Title
	if strings.Contains(abs, "m=+") || strings.Contains(abs, "<no value>") || strings.Contains(abs, "CST") {
		t.Errorf("absent title = %q", abs)
	}
	want := "sw-001 silent since " + now.Add(-2*time.Minute).In(sh).Format(timeLayout) + " (1m0s), at " + now.In(sh).Format(timeLayout) + " " + now.In(sh).Format("15:04")
	if abs != want {
		t.Errorf("absent title = %q, want %q", abs, want)
	}
}
