package app

import (
	"os"
	"strings"
	"testing"
)

// FuzzParseConfig feeds arbitrary YAML and environment to the config loader: it must return a
// config that validates or errors, one a line, each naming the file or the variable, never
// panic or hang.
func FuzzParseConfig(f *testing.F) {
	example, err := os.ReadFile("../configs/lanewatch.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example, "")
	f.Add([]byte("mqtt:\n  addr: 127.0.0.1:1\n"), "LANEWATCH_PIPELINE_WORKERS=x")
	f.Add([]byte("store:\n  driver: postgres\n"), "LANEWATCH_STORE_DSN=postgres://x")
	f.Add([]byte("http:\n  tokens:\n    - {name: a, token_env: T, role: department:}\n"), "")
	f.Add([]byte("mqtt:\n  auth_failure_delay: 1x\n"), "LANEWATCH_MQTT_MAX_INFLIGHT=70000")
	f.Add([]byte("data_dir: [1, 2]\n"), "LANEWATCH_PIPELINE_DISABLED=maybe")
	f.Add([]byte("a: &a [*a]\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, env string) {
		c, err := ParseConfig("fuzz.yaml", data, strings.Split(env, "\n"))
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("empty error message")
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml") && !strings.HasPrefix(line, "environment LANEWATCH_") {
					t.Fatalf("error line names neither the file nor the variable: %q", line)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config does not validate: %v", err)
		}
		if c.HTTP.MaxBodyBytes == 0 || c.MQTT.Addr == "" {
			t.Fatalf("defaults not applied: %+v", c)
		}
	})
}

func TestParseConfigMatchesLoadConfig(t *testing.T) {
	data, err := os.ReadFile("../configs/lanewatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"LANEWATCH_MQTT_ADDR=127.0.0.1:2"}
	a, err := ParseConfig("../configs/lanewatch.yaml", data, env)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadConfig("../configs/lanewatch.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	if a.MQTT.Addr != "127.0.0.1:2" || a.MQTT.Addr != b.MQTT.Addr || a.HTTP.Addr != b.HTTP.Addr || a.Dir() != b.Dir() ||
		a.Resolve(a.DevicesFile) != b.Resolve(b.DevicesFile) {
		t.Fatalf("ParseConfig = %+v, LoadConfig = %+v", a, b)
	}
	if _, err := ParseConfig("x.yaml", []byte("bogus: 1\n"), nil); err == nil || !strings.Contains(err.Error(), `x.yaml:1:1: unknown field "bogus"`) {
		t.Fatalf("error = %v", err)
	}
}
