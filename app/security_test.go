package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/crypto/bcrypt"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

// Secrets of the security test: none of them may appear in the log.
const (
	secAdminToken   = "sec-admin-token-7Qx2Vb9LmK"
	secViewerToken  = "sec-viewer-token-Hh3Jk8PzW1"
	secEnvToken     = "sec-env-token-Rt5Yu7Io0Pq"
	secBadToken     = "sec-bad-token-Zx9Cv8Bn7M"
	secDevicePass   = "sec-device-pass-Aa1Ss2Dd3F"
	secRotatedPass  = "sec-rotated-pass-Gg4Hh5Jj6K"
	secUpdatedPass  = "sec-updated-pass-Ll7Mm8Nn9O"
	secWrongPass    = "sec-wrong-pass-Qq1Ww2Ee3R"
	secInvalidPass  = "sec-invalid-dev-pass-Tt4Yy5U"
	secSubPass      = "sec-subscriber-pass-Ii6Oo7P"
	secWrongSubPass = "sec-wrong-sub-pass-Pp8Aa9Ss"
)

// lockedBuffer is a goroutine-safe log sink.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startSecurityApp is startAppWith with a debug-level logger writing into buf, an API token
// from the config, one from token_env and LANEWATCH_ADMIN_TOKEN, and a read-only MQTT
// subscriber "dash" allowed vehicles/+/telemetry.
func startSecurityApp(t *testing.T, influx *testenv.InfluxServer, buf io.Writer) *harness {
	t.Helper()
	wd, _ := os.Getwd()
	hash, err := bcrypt.GenerateFromPassword([]byte(secSubPass), 4)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{
		path:           filepath.Join(wd, "testdata", "lanewatch.yaml"),
		DataDir:        t.TempDir(),
		DevicesFile:    "devices.yaml",
		CategoriesFile: filepath.Join(wd, "..", "configs", "categories.yaml"),
		RulesDir:       "rules",
	}
	cfg.MQTT.Addr = testenv.FreeAddr(t)
	cfg.MQTT.WSAddr = "off"
	cfg.MQTT.BcryptCost = 4
	cfg.MQTT.AuthFailureDelay = 1
	cfg.MQTT.Subscribers = []SubscriberConfig{{Username: "dash", PasswordHash: string(hash), Allow: []string{"vehicles/+/telemetry"}}}
	cfg.HTTP.Addr = testenv.FreeAddr(t)
	cfg.HTTP.Tokens = []TokenConfig{{Name: "viewer", Token: secViewerToken, Role: "viewer"},
		{Name: "ops", TokenEnv: "SEC_OPS_TOKEN", Role: "operator"}}
	cfg.Influx.URL = influx.URL
	cfg.Influx.Bucket = influx.Bucket
	cfg.Influx.FlushInterval = 1e8
	cfg.defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, Options{Logger: logger, Env: []string{
		"LANEWATCH_ADMIN_TOKEN=" + secAdminToken, "SEC_OPS_TOKEN=" + secEnvToken}})
	if err != nil {
		cancel()
		t.Fatalf("new app: %v", err)
	}
	return launch(t, ctx, cancel, a, cfg, influx, "http")
}

// call makes an API request with a bearer token and returns the status and body.
func (h *harness) call(method, path, token, body string) (int, string, http.Header) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.http+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// mqttClient connects with MQTT 3.1.1 and no reconnects; it returns the connect error.
func (h *harness) mqttClient(user, pass string, onMsg paho.MessageHandler) (paho.Client, error) {
	opts := paho.NewClientOptions().AddBroker("tcp://" + h.cfg.MQTT.Addr).
		SetClientID(user + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)).SetUsername(user).SetPassword(pass).
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second).
		SetDefaultPublishHandler(onMsg)
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("connect timeout")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	h.t.Cleanup(func() { c.Disconnect(50) })
	return c, nil
}

// tryPublish publishes at QoS 1 on a fresh connection and reports whether the broker
// acknowledged it. With MQTT 3.1.1 an ACL refusal of a QoS 1 publish closes the connection.
func (h *harness) tryPublish(user, pass, topic, payload string) bool {
	h.t.Helper()
	c, err := h.mqttClient(user, pass, nil)
	if err != nil {
		h.t.Fatalf("connect %s: %v", user, err)
	}
	defer c.Disconnect(50)
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(10 * time.Second) {
		h.t.Fatalf("publish %s as %s: neither acknowledged nor refused in 10s", topic, user)
	}
	if tok.Error() != nil {
		return false
	}
	// Acknowledged: the connection must still be up.
	return c.IsConnectionOpen()
}

// trySubscribe subscribes on a fresh connection and reports whether the SUBACK granted it.
func (h *harness) trySubscribe(user, pass, filter string) bool {
	h.t.Helper()
	c, err := h.mqttClient(user, pass, nil)
	if err != nil {
		h.t.Fatalf("connect %s: %v", user, err)
	}
	defer c.Disconnect(50)
	tok := c.Subscribe(filter, 1, nil)
	if !tok.WaitTimeout(10 * time.Second) {
		h.t.Fatalf("subscribe %s as %s: no SUBACK in 10s", filter, user)
	}
	if tok.Error() != nil {
		return false
	}
	code, ok := tok.(*paho.SubscribeToken).Result()[filter]
	return ok && code < 0x80
}

// TestSecurity runs one lanewatch in-process and checks, over real MQTT and HTTP: the ACL
// matrix of every device kind and of a read-only subscriber (refusals counted in
// lanewatch_mqtt_acl_denied_total), that no secret (tokens, device and subscriber passwords,
// right or wrong) ever reaches the log or an answer, and the console's safe headers.
func TestSecurity(t *testing.T) {
	influx := testenv.Influx(t)
	logs := &lockedBuffer{}
	h := startSecurityApp(t, influx, logs)

	// A plaque device created, updated and rotated through the API, with secrets in bodies.
	if code, body, _ := h.call("POST", "/api/v1/devices", secAdminToken,
		`{"id":"pl-001","type":"plaque","district":"xiqu","password":"`+secDevicePass+`"}`); code != 201 || strings.Contains(body, "pass") {
		t.Fatalf("create device: %d %s", code, body)
	}
	if code, body, _ := h.call("PUT", "/api/v1/devices/pl-001", secAdminToken,
		`{"type":"plaque","district":"dongqu","password":"`+secUpdatedPass+`"}`); code != 200 {
		t.Fatalf("update device: %d %s", code, body)
	}
	if code, body, _ := h.call("POST", "/api/v1/devices/pl-001/credentials", secAdminToken,
		`{"password":"`+secRotatedPass+`"}`); code != 200 {
		t.Fatalf("rotate: %d %s", code, body)
	}
	// Refused creations do not echo the password either.
	for _, b := range []string{
		`{"id":"x-1","type":"tank","password":"` + secInvalidPass + `"}`,
		`{"id":"x-2","type":"sweeper","password":"short"}`,
		`{"id":"x-3","type":"sweeper","pasword":"` + secInvalidPass + `"}`,
	} {
		code, body, _ := h.call("POST", "/api/v1/devices", secAdminToken, b)
		if code != 400 || strings.Contains(body, secInvalidPass) || strings.Contains(body, "short") {
			t.Errorf("bad create %s: %d %s", b, code, body)
		}
	}
	// Every token works for its role; an unknown one is refused.
	for _, tc := range []struct {
		tok  string
		want int
	}{{secAdminToken, 200}, {secViewerToken, 200}, {secEnvToken, 200}, {secBadToken, 401}, {"", 401}} {
		code, body, _ := h.call("GET", "/api/v1/devices/pl-001", tc.tok, "")
		if code != tc.want || strings.Contains(body, "$2") {
			t.Errorf("GET device with token %q: %d %s", tc.tok, code, body)
		}
	}
	if code, _, _ := h.call("POST", "/api/v1/devices/pl-001/credentials", secViewerToken, `{"password":"`+secInvalidPass+`"}`); code != 403 {
		t.Errorf("viewer rotating credentials: %d", code)
	}

	// Credentials over MQTT: the old password stopped working at the update, the rotated one works.
	for _, tc := range []struct {
		user, pass string
		ok         bool
	}{
		{"pl-001", secDevicePass, false}, {"pl-001", secUpdatedPass, false}, {"pl-001", secRotatedPass, true},
		{"pl-001", secWrongPass, false}, {"sw-001", secWrongPass, false}, {"nobody", secWrongPass, false},
		{"dash", secWrongSubPass, false}, {"dash", secSubPass, true},
	} {
		c, err := h.mqttClient(tc.user, tc.pass, nil)
		if (err == nil) != tc.ok {
			t.Errorf("connect %s: err %v, want ok=%v", tc.user, err, tc.ok)
		}
		if c != nil {
			c.Disconnect(50)
		}
	}

	t.Run("device ACL matrix", func(t *testing.T) {
		type dev struct{ id, pass, kind, other, foreign string }
		devs := []dev{
			{"sw-001", "sweeper-one-pass", "vehicles", "sw-002", "cameras"},
			{"cam-001", "camera-one-pass", "cameras", "sw-001", "plaques"},
			{"pl-001", secRotatedPass, "plaques", "cam-001", "vehicles"},
		}
		tel := telemetry(time.Now().Add(-time.Minute), 22.51, 113.375, 8, true)
		for _, d := range devs {
			pubs := []struct {
				topic string
				ok    bool
			}{
				{d.kind + "/" + d.id + "/" + map[string]string{"vehicles": "telemetry", "cameras": "events", "plaques": "scans"}[d.kind], true},
				{"devices/" + d.id + "/status", true},
				{d.kind + "/" + d.other + "/telemetry", false},
				{d.foreign + "/" + d.id + "/events", false},
				{"devices/" + d.other + "/status", false},
				{"devices/" + d.id + "/commands/route", false},
				{"other/" + d.id + "/x", false},
			}
			for _, p := range pubs {
				before := metricValue(t, h, "lanewatch_mqtt_acl_denied_total", map[string]string{"op": "publish"})
				got := h.tryPublish(d.id, d.pass, p.topic, tel)
				after := metricValue(t, h, "lanewatch_mqtt_acl_denied_total", map[string]string{"op": "publish"})
				if got != p.ok {
					t.Errorf("%s publish %s: acknowledged=%v, want %v", d.id, p.topic, got, p.ok)
				}
				if want := map[bool]float64{true: 0, false: 1}[p.ok]; after-before != want {
					t.Errorf("%s publish %s: denied counter +%v, want +%v", d.id, p.topic, after-before, want)
				}
			}
			subs := []struct {
				filter string
				ok     bool
			}{
				{"devices/" + d.id + "/commands/#", true},
				{"devices/" + d.id + "/commands/route", true},
				{"devices/" + d.other + "/commands/#", false},
				{"devices/+/commands/#", false},
				{d.kind + "/" + d.id + "/#", false},
				{"#", false},
			}
			for _, s := range subs {
				before := metricValue(t, h, "lanewatch_mqtt_acl_denied_total", map[string]string{"op": "subscribe"})
				got := h.trySubscribe(d.id, d.pass, s.filter)
				after := metricValue(t, h, "lanewatch_mqtt_acl_denied_total", map[string]string{"op": "subscribe"})
				if got != s.ok {
					t.Errorf("%s subscribe %s: granted=%v, want %v", d.id, s.filter, got, s.ok)
				}
				if want := map[bool]float64{true: 0, false: 1}[s.ok]; after-before != want {
					t.Errorf("%s subscribe %s: denied counter +%v, want +%v", d.id, s.filter, after-before, want)
				}
			}
		}
	})

	t.Run("read-only subscriber", func(t *testing.T) {
		for _, s := range []struct {
			filter string
			ok     bool
		}{
			{"vehicles/+/telemetry", true}, {"vehicles/sw-001/telemetry", true},
			{"vehicles/#", false}, {"cameras/+/events", false}, {"devices/sw-001/commands/#", false}, {"#", false},
		} {
			if got := h.trySubscribe("dash", secSubPass, s.filter); got != s.ok {
				t.Errorf("dash subscribe %s: granted=%v, want %v", s.filter, got, s.ok)
			}
		}
		got := make(chan paho.Message, 10)
		c, err := h.mqttClient("dash", secSubPass, func(_ paho.Client, m paho.Message) { got <- m })
		if err != nil {
			t.Fatal(err)
		}
		if tok := c.Subscribe("vehicles/+/telemetry", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
		dev, err := h.mqttClient("sw-002", "sweeper-two-pass", nil)
		if err != nil {
			t.Fatal(err)
		}
		payload := telemetry(time.Now().Add(-30*time.Second), 22.5, 113.3652775, 5, false)
		publish(t, dev, "vehicles/sw-002/telemetry", 1, payload)
		select {
		case m := <-got:
			if m.Topic() != "vehicles/sw-002/telemetry" || string(m.Payload()) != payload {
				t.Fatalf("subscriber got %s %s", m.Topic(), m.Payload())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("subscriber did not receive the device's message in 10s")
		}
		before := metricValue(t, h, "lanewatch_mqtt_acl_denied_total", map[string]string{"op": "publish"})
		for _, topic := range []string{"vehicles/sw-002/telemetry", "vehicles/dash/telemetry"} {
			if h.tryPublish("dash", secSubPass, topic, payload) {
				t.Errorf("subscriber published to %s", topic)
			}
		}
		if d := metricValue(t, h, "lanewatch_mqtt_acl_denied_total", map[string]string{"op": "publish"}) - before; d != 2 {
			t.Errorf("denied publishes counted +%v, want +2", d)
		}
		select {
		case m := <-got:
			t.Fatalf("refused publish was delivered: %s %s", m.Topic(), m.Payload())
		case <-time.After(300 * time.Millisecond):
		}
	})

	t.Run("console headers", func(t *testing.T) {
		for _, p := range []string{"/", "/console/app.css", "/console/js/api.js"} {
			code, _, hdr := h.call("GET", p, "", "")
			if code != 200 || !strings.Contains(hdr.Get("Content-Security-Policy"), "script-src 'self'") ||
				strings.Contains(hdr.Get("Content-Security-Policy"), "unsafe-inline") ||
				hdr.Get("X-Content-Type-Options") != "nosniff" || hdr.Get("X-Frame-Options") != "DENY" {
				t.Errorf("GET %s: %d %v", p, code, hdr)
			}
		}
	})

	t.Run("secrets never logged", func(t *testing.T) {
		h.stop() // shutdown logs too
		out := logs.String()
		if !strings.Contains(out, "acl denied") || !strings.Contains(out, "pl-001") {
			t.Fatalf("the log buffer did not capture the app's log (%d bytes)", len(out))
		}
		for _, s := range []string{secAdminToken, secViewerToken, secEnvToken, secBadToken, secDevicePass, secRotatedPass,
			secUpdatedPass, secWrongPass, secInvalidPass, secSubPass, secWrongSubPass, "sweeper-one-pass", "camera-one-pass"} {
			if strings.Contains(out, s) {
				t.Errorf("secret %q appears in the log", s)
			}
		}
		for _, s := range []string{"$2a$", "$2b$", "$2y$"} {
			if strings.Contains(out, s) {
				t.Errorf("a bcrypt hash (%s) appears in the log", s)
			}
		}
	})
}
