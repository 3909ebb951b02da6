package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "lanewatch.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigExample(t *testing.T) {
	c, err := LoadConfig("../configs/lanewatch.yaml", nil)
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	if c.MQTT.Addr != "127.0.0.1:1883" || c.Store.Driver != "sqlite" || c.TimeZone != "Asia/Shanghai" {
		t.Fatalf("example config = %+v", c)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"unknown top key", "data_dir: x\nbogus: 1\n", ":2:1: unknown field \"bogus\""},
		{"unknown nested key", "mqtt:\n  addr: a\n  adr: b\n", ":3:3: unknown field \"adr\""},
		{"bad duration", "mqtt:\n  auth_failure_delay: soon\n", ":2:23: auth_failure_delay: invalid duration"},
		{"bad driver", "store:\n  driver: mysql\n", "store.driver: \"mysql\""},
		{"postgres without dsn", "store:\n  driver: postgres\n", "store.dsn: required"},
		{"bad role", "http:\n  tokens:\n    - {name: x, token: y, role: boss}\n", "role \"boss\""},
		{"bad zone", "time_zone: Mars/Olympus\n", "time_zone"},
		{"media host with a scheme", "dispatch:\n  open311:\n    media_hosts: [\"https://img.example.com\"]\n", "dispatch.open311.media_hosts[0]"},
		{"media host wildcard inside", "dispatch:\n  open311:\n    media_hosts: [\"img.*.com\"]\n", "is not a host name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(writeConfig(t, tt.body), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadConfigEnv(t *testing.T) {
	p := writeConfig(t, "mqtt:\n  addr: 127.0.0.1:1\n")
	c, err := LoadConfig(p, []string{
		"LANEWATCH_MQTT_ADDR=127.0.0.1:2", "LANEWATCH_INFLUX_URL=http://influx:8086",
		"LANEWATCH_PIPELINE_WORKERS=7", "LANEWATCH_MQTT_AUTH_FAILURE_DELAY=1s", "OTHER=1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.MQTT.Addr != "127.0.0.1:2" || c.Influx.URL != "http://influx:8086" || c.Pipeline.Workers != 7 || c.MQTT.AuthFailureDelay != 1e9 {
		t.Fatalf("env not applied: %+v", c)
	}
	if _, err := LoadConfig(p, []string{"LANEWATCH_PIPELINE_WORKERS=many"}); err == nil || !strings.Contains(err.Error(), "LANEWATCH_PIPELINE_WORKERS") {
		t.Fatalf("bad env value: %v", err)
	}
}
