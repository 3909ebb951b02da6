package app

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

// TestCommandsEndToEnd: a command queued through the API and one sent by a rule reach a paho
// device subscribed to its command topic; its answers show in the API.
func TestCommandsEndToEnd(t *testing.T) {
	influx := testenv.Influx(t)
	rulesDir := t.TempDir()
	rule := `groups:
  - name: commands
    on: telemetry
    rules:
      - name: overspeed_text
        when: msg.speed_kmh > 25
        command: {name: text, params: {text: "作业超速，请减速"}, ttl: 5m}
`
	if err := os.WriteFile(filepath.Join(rulesDir, "commands.yaml"), []byte(rule), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startAppWith(t, influx, t.TempDir(), func(c *Config) { c.RulesDir = rulesDir }, "http")

	sw, err := h.connect("sw-001", "sweeper-one-pass")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan paho.Message, 8)
	if tok := sw.Subscribe("devices/sw-001/commands/#", 1, func(_ paho.Client, m paho.Message) { got <- m }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	next := func() (string, map[string]any) {
		t.Helper()
		select {
		case m := <-got:
			var v map[string]any
			if err := json.Unmarshal(m.Payload(), &v); err != nil {
				t.Fatalf("command payload %s: %v", m.Payload(), err)
			}
			return m.Topic(), v
		case <-time.After(15 * time.Second):
			t.Fatal("no command received")
		}
		return "", nil
	}

	code, body := h.post(t, "/api/v1/devices/sw-001/commands", `{"name": "set_route", "params": {"route": "R-7"}, "ttl": "10m"}`)
	if code != http.StatusCreated {
		t.Fatalf("POST = %d %s", code, body)
	}
	var queued struct{ ID, Status string }
	_ = json.Unmarshal([]byte(body), &queued)
	topic, cmd := next()
	if topic != "devices/sw-001/commands/set_route" || cmd["id"] != queued.ID || cmd["params"].(map[string]any)["route"] != "R-7" {
		t.Fatalf("received %s %v, want command %s", topic, cmd, queued.ID)
	}
	publish(t, sw, "devices/sw-001/responses/"+queued.ID, 1, `{"ok": true, "result": {"route": "R-7"}}`)
	waitFor(t, 10*time.Second, "command acknowledged", func() bool {
		var list struct {
			Items []struct{ ID, Status string }
		}
		h.getJSON("/api/v1/devices/sw-001/commands", &list)
		return len(list.Items) == 1 && list.Items[0].Status == "acknowledged"
	})

	// The rule's command.
	publish(t, sw, "vehicles/sw-001/telemetry", 1, telemetry(time.Now().Add(-time.Second).Truncate(time.Millisecond), 22.5151, 113.3750972, 30, true))
	topic, cmd = next()
	if topic != "devices/sw-001/commands/text" || cmd["params"].(map[string]any)["text"] != "作业超速，请减速" {
		t.Fatalf("rule command = %s %v", topic, cmd)
	}
	var list struct {
		Items []struct {
			ID, Status, Actor string
		}
	}
	h.getJSON("/api/v1/devices/sw-001/commands", &list)
	if len(list.Items) != 2 || list.Items[0].Actor != "rule:overspeed_text" || list.Items[0].ID != cmd["id"] {
		t.Errorf("commands = %+v", list.Items)
	}
	if v := metricValue(t, h, "lanewatch_commands_total", map[string]string{"status": "acknowledged"}); v != 1 {
		t.Errorf("acknowledged metric = %v", v)
	}
}

func (h *harness) post(t *testing.T, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", h.http+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
