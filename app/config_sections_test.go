package app

import (
	"strings"
	"testing"
	"time"
)

// TestConfigSections: the sections whose types live in their packages (inlined ones
// included) keep their keys, environment overrides, strictness and error prefixes.
func TestConfigSections(t *testing.T) {
	p := writeConfig(t, "dispatch:\n  routing_file: r.yaml\n  notify:\n    max_attempts: 3\n    interval: 5s\n  open311:\n    media_hosts: [\"*.example.com\"]\nnode:\n  id: n1\n")
	c, err := LoadConfig(p, []string{"LANEWATCH_DISPATCH_DISTRICTS_FILE=d.geojson", "LANEWATCH_DISPATCH_NOTIFY_LEASE=1m",
		"LANEWATCH_NODE_HEARTBEAT=2s", "LANEWATCH_HTTP_MAX_BODY_BYTES=99"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Dispatch.RoutingFile != "r.yaml" || c.Dispatch.DistrictsFile != "d.geojson" || c.Dispatch.Notify.MaxAttempts != 3 ||
		time.Duration(c.Dispatch.Notify.Interval) != 5*time.Second || time.Duration(c.Dispatch.Notify.Lease) != time.Minute ||
		c.Node.ID != "n1" || time.Duration(c.Node.Heartbeat) != 2*time.Second || c.HTTP.MaxBodyBytes != 99 {
		t.Fatalf("config = %+v", c)
	}
	if c.MQTT.WSAddr != "127.0.0.1:1884" || c.Influx.Bucket != "lanewatch/autogen" || c.HTTP.Addr != "127.0.0.1:8080" {
		t.Fatalf("defaults = %+v", c)
	}
	for _, tt := range []struct{ name, body, want string }{
		{"unknown inlined key", "dispatch:\n  routing_fil: x\n", ":2:3: unknown field \"routing_fil\""},
		{"unknown notify key", "dispatch:\n  notify:\n    intervall: 1s\n", ":3:5: unknown field \"intervall\""},
		{"mqtt tls", "mqtt:\n  tls_addr: 127.0.0.1:8883\n", "mqtt.tls_addr needs tls_cert and tls_key"},
		{"token without value", "http:\n  tokens:\n    - {name: x, role: viewer}\n", "http.tokens[0] (x): token or token_env required"},
		{"negative media timeout", "dispatch:\n  open311:\n    media_timeout: -1s\n", ":3:20: media_timeout: invalid duration"},
		{"node id with a space", "node:\n  id: a b\n", "node.id:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(writeConfig(t, tt.body), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
