package faults

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

const adminToken = "faults-admin-token-0123456789"

var buildOnce struct {
	sync.Once
	path string
	err  error
}

// binary builds cmd/lanewatch once per test process.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lanewatch-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "lanewatch")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, "../cmd/lanewatch").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// node is one lanewatch process.
type node struct {
	t        *testing.T
	dir      string
	cfg      string
	mqtt     string
	http     string
	extraEnv []string
	cmd      *exec.Cmd
	logs     *os.File
	exited   chan error
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// newNode writes a config for a lanewatch process with the given devices and rules.
func newNode(t *testing.T, influx *testenv.InfluxServer, devices, rules string, extraYAML string) *node {
	t.Helper()
	dir := t.TempDir()
	wd, _ := os.Getwd()
	n := &node{t: t, dir: dir, cfg: filepath.Join(dir, "lanewatch.yaml"), mqtt: testenv.FreeAddr(t), http: testenv.FreeAddr(t)}
	writeFile(t, filepath.Join(dir, "devices.yaml"), devices)
	os.MkdirAll(filepath.Join(dir, "rules"), 0o750)
	writeFile(t, filepath.Join(dir, "rules", "rules.yaml"), rules)
	writeFile(t, n.cfg, fmt.Sprintf(`data_dir: data
mqtt:
  addr: %s
  ws_addr: "off"
  bcrypt_cost: 4
http:
  addr: %s
influx:
  url: %s
  bucket: %s
  flush_interval: 200ms
devices_file: devices.yaml
categories_file: %s
rules_dir: rules
log:
  level: warn
%s`, n.mqtt, n.http, influx.URL, influx.Bucket, filepath.Join(wd, "..", "configs", "categories.yaml"), extraYAML))
	return n
}

func (n *node) start() {
	n.t.Helper()
	n.cmd = exec.Command(binary(n.t), "serve", "--config", n.cfg)
	n.cmd.Env = append(os.Environ(), append([]string{"LANEWATCH_ADMIN_TOKEN=" + adminToken}, n.extraEnv...)...)
	f, err := os.OpenFile(filepath.Join(n.dir, "lanewatch.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		n.t.Fatal(err)
	}
	n.logs = f
	n.cmd.Stdout, n.cmd.Stderr = f, f
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.exited = make(chan error, 1)
	go func() { n.exited <- n.cmd.Wait() }()
	n.t.Cleanup(func() { n.kill(syscall.SIGKILL) })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + n.http + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-n.exited:
			n.t.Fatalf("lanewatch exited at start: %v\n%s", err, n.log())
		case <-time.After(100 * time.Millisecond):
		}
	}
	n.t.Fatalf("lanewatch did not become healthy\n%s", n.log())
}

// kill sends sig and waits for the process to exit.
func (n *node) kill(sig syscall.Signal) {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Signal(sig)
	select {
	case <-n.exited:
	case <-time.After(40 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
	n.cmd = nil
	n.logs.Close()
}

func (n *node) log() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "lanewatch.log"))
	s := string(b)
	if len(s) > 4000 {
		s = s[len(s)-4000:]
	}
	return s
}

// putJSON sends body with PUT as the admin and returns the status code (0 when unreachable).
func (n *node) putJSON(path, body string) int {
	n.t.Helper()
	req, _ := http.NewRequest("PUT", "http://"+n.http+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (n *node) getJSON(path string, v any) int {
	n.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+n.http+path, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(body, v); err != nil {
			n.t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return resp.StatusCode
}

func connect(t *testing.T, addr, user, pass string) paho.Client {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(user).SetUsername(user).SetPassword(pass).
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second).
		SetCleanSession(true)
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", user, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

// waitFor waits for another process to reach a state (see testenv.WaitFor).
var waitFor = testenv.WaitFor

// influxTimes returns the set of timestamps (ns) of vehicle_telemetry points of a device.
func influxTimes(t *testing.T, s *testenv.InfluxServer, device string) map[int64]int {
	t.Helper()
	body := s.Query(t, fmt.Sprintf(`SELECT "lat" FROM "vehicle_telemetry" WHERE "device" = '%s'`, device))
	var r struct {
		Results []struct {
			Series []struct {
				Values [][]json.Number `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decode influx: %v: %.300s", err, body)
	}
	out := map[int64]int{}
	for _, res := range r.Results {
		for _, s := range res.Series {
			for _, v := range s.Values {
				ts, err := strconv.ParseInt(v[0].String(), 10, 64)
				if err != nil {
					t.Fatalf("time %q: %v", v[0], err)
				}
				out[ts]++
			}
		}
	}
	return out
}
