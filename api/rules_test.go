package api

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/rules"
)

type nopOpener struct{}

func (nopOpener) OpenRuleCase(context.Context, rules.Firing) error { return nil }

const apiRuleFile = `groups:
  - name: speed
    on: telemetry
    rules:
      - name: too_fast
        when: device.type == "sweeper" && msg.speed_kmh > LIMIT
        for: 15s
        case: {category: "9002", title: "{{ .device.id }} at {{ .msg.speed_kmh }} km/h"}
`

func ruleFile(limit string) string { return strings.Replace(apiRuleFile, "LIMIT", limit, 1) }

// newRulesServer serves /api/v1/rules over a real rules.Manager on a temporary rules directory.
func newRulesServer(t *testing.T) (*Server, *rules.Manager, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "speed.yaml")
	if err := os.WriteFile(path, []byte(ruleFile("12")), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	e, err := rules.NewEngine(rules.EngineOptions{Opener: nopOpener{}, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	m, err := rules.NewManager(rules.ManagerOptions{Engine: e, Paths: []string{dir}, Registerer: reg,
		Load: rules.LoadOptions{Location: time.UTC}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Reload(context.Background(), "startup"); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{
		Tokens: []Token{{Name: "alice", Token: "admin-tok", Role: "admin"}, {Name: "olga", Token: "op-tok", Role: "operator"},
			{Name: "v", Token: "viewer-tok", Role: "viewer"}},
		Cases: &fakeCases{}, DeadLetters: fakeDead{}, Rules: m, MaxBodyBytes: 1 << 16,
		Devices: &fakeDevices{m: map[string]*lanewatch.Device{"sw-001": {ID: "sw-001", Type: lanewatch.DeviceSweeper, District: "xiqu"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, m, path
}

func TestRulesAPI(t *testing.T) {
	s, _, path := newRulesServer(t)

	status, body := do(t, s, "GET", "/api/v1/rules", "viewer-tok", "")
	if status != 200 {
		t.Fatalf("GET /rules = %d %v", status, body)
	}
	items := body["items"].([]any)
	if len(items) != 1 || body["next_cursor"] != "" || body["last_reload_error"] != nil {
		t.Fatalf("GET /rules = %v", body)
	}
	r0 := items[0].(map[string]any)
	if r0["name"] != "too_fast" || r0["on"] != "telemetry" || r0["mode"] != "enforce" || r0["category"] != "9002" {
		t.Fatalf("rule = %v", r0)
	}
	if v := body["version"].(map[string]any); v["id"] != "00000001" || v["actor"] != "startup" {
		t.Fatalf("version = %v", v)
	}

	// Reload: admin and operator may, a viewer may not.
	for _, tt := range []struct {
		token  string
		status int
		code   string
	}{{"admin-tok", 200, ""}, {"op-tok", 200, ""}, {"viewer-tok", 403, "forbidden"}, {"", 401, "unauthorized"}} {
		status, body := do(t, s, "POST", "/api/v1/rules/reload", tt.token, "")
		if status != tt.status || errCode(body) != tt.code {
			t.Fatalf("reload as %q = %d %v, want %d %q", tt.token, status, body, tt.status, tt.code)
		}
		if status == 200 && body["changed"] != false {
			t.Fatalf("reload of unchanged files = %v, want changed false", body)
		}
	}

	// Evaluate one telemetry input.
	status, body = do(t, s, "POST", "/api/v1/rules/evaluate", "op-tok",
		`{"kind":"telemetry","device_id":"sw-001","msg":{"ts":"2025-03-03T09:00:00Z","speed_kmh":20,"brush_on":true}}`)
	if status != 200 {
		t.Fatalf("evaluate = %d %v", status, body)
	}
	res := body["items"].([]any)[0].(map[string]any)
	if res["rule"] != "too_fast" || res["held"] != true || res["key"] != "sw-001" || res["would_fire"] != false ||
		!strings.Contains(res["note"].(string), "pending") {
		t.Fatalf("evaluate result = %v", res)
	}
	if c := res["case"].(map[string]any); c["title"] != "sw-001 at 20 km/h" || c["category"] != "9002" {
		t.Fatalf("would-be case = %v", c)
	}
	status, body = do(t, s, "POST", "/api/v1/rules/evaluate", "viewer-tok", `{"device_id":"sw-001"}`)
	if status != 403 {
		t.Fatalf("evaluate as viewer = %d %v", status, body)
	}
	for _, tt := range []struct{ name, body, field string }{
		{"unknown field", `{"kind":"telemetry","device_id":"sw-001","mesage":{}}`, "mesage"},
		{"bad kind", `{"kind":"radar","device_id":"sw-001"}`, "kind"},
		{"bad msg.ts", `{"device_id":"sw-001","msg":{"ts":"yesterday"}}`, "msg.ts"},
		{"bad extra", `{"device_id":"sw-001","msg":{"pressure":"high"}}`, "msg.pressure"},
		{"no device", `{"msg":{}}`, "device"},
		{"not json", `{"kind":`, "request body"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, s, "POST", "/api/v1/rules/evaluate", "admin-tok", tt.body)
			msg, _ := body["error"].(map[string]any)["message"].(string)
			if status != 400 || errCode(body) != "invalid" || !strings.Contains(msg, tt.field) {
				t.Fatalf("evaluate %s = %d %v, want 400 naming %q", tt.body, status, body, tt.field)
			}
		})
	}
	// A coverage event has no device.
	status, body = do(t, s, "POST", "/api/v1/rules/evaluate", "admin-tok", `{"kind":"coverage","msg":{"segment":"s1","coverage":0.2}}`)
	if status != 200 || len(body["items"].([]any)) != 0 {
		t.Fatalf("evaluate coverage = %d %v", status, body)
	}

	// A changed file: a new version, its history and diff.
	if err := os.WriteFile(path, []byte(ruleFile("15")), 0o600); err != nil {
		t.Fatal(err)
	}
	status, body = do(t, s, "POST", "/api/v1/rules/reload", "admin-tok", "")
	if status != 200 || body["changed"] != true {
		t.Fatalf("reload of a changed file = %d %v", status, body)
	}
	if v := body["version"].(map[string]any); v["id"] != "00000002" || v["actor"] != "alice" {
		t.Fatalf("new version = %v", v)
	}
	status, body = do(t, s, "GET", "/api/v1/rules/versions", "viewer-tok", "")
	vs := body["items"].([]any)
	if status != 200 || len(vs) != 2 || vs[0].(map[string]any)["id"] != "00000002" || vs[1].(map[string]any)["id"] != "00000001" {
		t.Fatalf("versions = %d %v", status, body)
	}
	status, body = do(t, s, "GET", "/api/v1/rules/versions/00000002", "viewer-tok", "")
	if files := body["files"].(map[string]any); status != 200 || !strings.Contains(files[path].(string), "> 15") {
		t.Fatalf("version 2 = %d %v", status, body)
	}
	status, body = do(t, s, "GET", "/api/v1/rules/versions/00000002/diff", "viewer-tok", "")
	d, _ := body["diff"].(string)
	if status != 200 || !strings.Contains(d, `-        when: device.type == "sweeper" && msg.speed_kmh > 12`) ||
		!strings.Contains(d, `+        when: device.type == "sweeper" && msg.speed_kmh > 15`) || !strings.Contains(d, "--- a/speed.yaml") {
		t.Fatalf("diff = %d %q", status, d)
	}
	status, body = do(t, s, "GET", "/api/v1/rules/versions/00000009/diff", "viewer-tok", "")
	if status != 404 || errCode(body) != "not_found" {
		t.Fatalf("diff of a missing version = %d %v", status, body)
	}
}

// TestRulesAPIInvalidFileKeepsOldSet: a reload of an invalid file is rejected (422), the old
// set keeps running and GET /api/v1/rules reports the error.
func TestRulesAPIInvalidFileKeepsOldSet(t *testing.T) {
	s, _, path := newRulesServer(t)
	if err := os.WriteFile(path, []byte(strings.Replace(ruleFile("12"), "for: 15s", "for: 15 parsecs", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	status, body := do(t, s, "POST", "/api/v1/rules/reload", "admin-tok", "")
	if status != 422 || errCode(body) != "unprocessable" {
		t.Fatalf("invalid reload = %d %v", status, body)
	}
	if msg := body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "speed.yaml:7:") {
		t.Fatalf("error %q does not name file:line", msg)
	}
	_, body = do(t, s, "GET", "/api/v1/rules", "viewer-tok", "")
	if items := body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["name"] != "too_fast" {
		t.Fatalf("running set = %v", body["items"])
	}
	if v := body["version"].(map[string]any); v["id"] != "00000001" {
		t.Fatalf("version = %v, want 00000001 kept", v)
	}
	le, _ := body["last_reload_error"].(map[string]any)
	if msg, _ := le["message"].(string); !strings.Contains(msg, "speed.yaml:7:") || le["at"] == nil {
		t.Fatalf("last_reload_error = %v", body["last_reload_error"])
	}
}
