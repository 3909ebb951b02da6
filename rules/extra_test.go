package rules

import (
	"context"
	"testing"
	"time"
)

// TestExtraAbsentSafe: a rule on a vendor field raised an error on every message without it
// (msg.extra.x > 50: invalid operation <nil> > int). Missing fields now compare false and are
// false in boolean positions; == nil tests for absence and ?? gives a default.
func TestExtraAbsentSafe(t *testing.T) {
	tests := []struct {
		name, when string
		extra      map[string]any
		want       bool
	}{
		{"greater, missing", "msg.extra.pressure_bar > 50", nil, false},
		{"less, missing", "msg.extra.pressure_bar < 50", map[string]any{"other": 1.0}, false},
		{"greater, present", "msg.extra.pressure_bar > 50", map[string]any{"pressure_bar": 60.0}, true},
		{"literal left", "50 <= msg.extra.pressure_bar", map[string]any{"pressure_bar": 50.0}, true},
		{"index syntax", `msg.extra["pressure_bar"] >= 50`, map[string]any{"pressure_bar": 49.0}, false},
		{"optional chain", "msg?.extra?.pressure_bar > 50", nil, false},
		{"not, missing", "!msg.extra.pump_on", nil, true},
		{"not, present", "not msg.extra.pump_on", map[string]any{"pump_on": true}, false},
		{"and, missing", "msg.extra.pump_on && msg.speed_kmh > 3", nil, false},
		{"or, missing", "msg.extra.pump_on || msg.speed_kmh > 3", nil, true},
		{"absence", "msg.extra.pressure_bar == nil", nil, true},
		{"default", "(msg.extra.pressure_bar ?? 0) * 2 > 50", map[string]any{"pressure_bar": 30.0}, true},
		{"default, missing", "(msg.extra.pressure_bar ?? 0) * 2 > 50", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "groups:\n  - name: g\n    on: telemetry\n    rules:\n      - name: r\n        when: '" + tc.when + "'\n        case: {category: \"9001\"}\n"
			h := newHarness(t, src, nil)
			h.e.HandleEnv(context.Background(), Env{Msg: Msg{TS: t0, SpeedKmh: 10, Extra: tc.extra}, Device: sw, Now: t0, Kind: "telemetry"})
			st := h.e.Stats("r")
			if st.Errors != 0 {
				t.Fatalf("errors = %d (%s)", st.Errors, st.LastError)
			}
			if got := h.op.n() == 1; got != tc.want {
				t.Errorf("fired = %v, want %v", got, tc.want)
			}
		})
	}
	// A vendor field that is not a number still compares with an error (a real mistake).
	h := newHarness(t, "groups:\n  - name: g\n    on: telemetry\n    rules:\n      - name: r\n        when: msg.extra.mode > 50\n        case: {category: \"9001\"}\n", nil)
	h.e.HandleEnv(context.Background(), Env{Msg: Msg{TS: t0, Extra: map[string]any{"mode": true}}, Device: sw, Now: t0.Add(time.Second), Kind: "telemetry"})
	if h.e.Stats("r").Errors != 1 {
		t.Errorf("bool > 50: errors = %d, want 1", h.e.Stats("r").Errors)
	}
}
