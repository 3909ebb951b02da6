package rules

import (
	"strings"
	"testing"
	"time"
)

func TestCommandAction(t *testing.T) {
	const src = `groups:
  - name: g
    on: telemetry
    rules:
      - name: slow_down
        when: msg.speed_kmh > 20
        command:
          name: text
          params: {text: "超速，请减速", urgent: true, kmh: 15}
          ttl: 5m
      - name: both
        when: msg.speed_kmh > 40
        cooldown: 1h
        case: {category: "9002"}
        command: {name: locate}
`
	h := newHarness(t, src, nil)
	h.send(0, Msg{SpeedKmh: 25})
	h.send(time.Second, Msg{SpeedKmh: 45})
	if h.op.n() != 3 {
		t.Fatalf("firings = %+v", h.op.got)
	}
	f := h.op.got[0]
	if f.Rule != "slow_down" || f.Category != "" || f.Command == nil || f.Command.Name != "text" ||
		f.Command.TTL != 5*time.Minute || f.DeviceID != "sw-001" {
		t.Fatalf("command-only firing = %+v", f)
	}
	if got := string(f.Command.Params); got != `{"kmh":15,"text":"超速，请减速","urgent":true}` {
		t.Errorf("params = %s", got)
	}
	var both *Firing
	for i := range h.op.got {
		if h.op.got[i].Rule == "both" {
			both = &h.op.got[i]
		}
	}
	if both == nil || both.Category != "9002" || both.Command == nil || both.Command.Name != "locate" ||
		string(both.Command.Params) != "{}" || both.Command.TTL != 0 {
		t.Errorf("case and command firing = %+v", both)
	}
}

func TestCommandActionErrors(t *testing.T) {
	for _, tt := range []struct{ rule, want string }{
		{`command: {name: "a/b"}`, `t.yaml:6:19: rule "r": command name "a/b": want 1..64 letters`},
		{`command: {name: x, ttl: 8d}`, `t.yaml:6:28: rule "r": command ttl 192h0m0s is outside 1s..168h0m0s`},
		{`command: {name: x, ttl: 10 minutes}`, `t.yaml:6:33:`},
		{`command: {name: x, params: {a: {b: 1}}}`, `want a scalar, got a mapping`},
		{`command: {name: x, colour: red}`, `t.yaml:6:28: unknown field "colour"`},
		{`command: {}`, `t.yaml:6:9: rule "r": command name "": want`},
		{``, `case.category is required`},
	} {
		src := "groups:\n  - name: g\n    on: telemetry\n    rules:\n      - name: r\n        " + tt.rule + "\n        when: msg.speed_kmh > 1\n"
		_, err := Parse("t.yaml", []byte(src), LoadOptions{Location: time.UTC})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.rule, err, tt.want)
		}
	}
}
