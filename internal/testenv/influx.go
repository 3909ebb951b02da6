package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// InfluxServer is a real InfluxDB 1.8 server started for one test with InfluxDB's default
// configuration where it matters (Flux disabled, as on a stock server), normally with the
// database `lanewatch` created (InfluxOptions). It serves the v2 write API and InfluxQL over
// /query; Flux only with InfluxOptions.Flux.
type InfluxServer struct {
	// URL is the HTTP base URL, e.g. http://127.0.0.1:41234.
	URL string
	// Bucket is "lanewatch/autogen" (database/retention policy).
	Bucket string
	// Org is empty (1.8 ignores it).
	Org string
	// Token is empty (auth is disabled).
	Token string
	// Database is "lanewatch".
	Database string

	t       testing.TB
	bin     string
	dir     string
	config  string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{} // closed when the running process exits
}

const influxDatabase = "lanewatch"

// InfluxOptions changes how InfluxWith starts the server; the zero value is what Influx does.
type InfluxOptions struct {
	// Flux enables Flux queries (flux-enabled = true); InfluxDB 1.8's default is off.
	Flux bool
	// NoDatabase leaves the database `lanewatch` uncreated, like a fresh server.
	NoDatabase bool
}

// Influx starts influxd for the test and stops it in t.Cleanup. The binary is
// $LANEWATCH_INFLUXD, else <repo root>/.tools/bin/influxd, else influxd on PATH; without one
// the test fails (install it with scripts/ensure-tools.sh).
func Influx(t testing.TB) *InfluxServer {
	t.Helper()
	return InfluxWith(t, InfluxOptions{})
}

// InfluxWith is Influx with options.
func InfluxWith(t testing.TB, o InfluxOptions) *InfluxServer {
	t.Helper()
	bin, err := findInfluxd()
	if err != nil {
		t.Fatalf("testenv: %v; run scripts/ensure-tools.sh (it installs influxd 1.8.10 into .tools/bin)", err)
	}
	dir := t.TempDir()
	httpPort, rpcPort := influxFreePort(t), influxFreePort(t)
	s := &InfluxServer{
		URL:      "http://127.0.0.1:" + strconv.Itoa(httpPort),
		Bucket:   influxDatabase + "/autogen",
		Database: influxDatabase,
		t:        t,
		bin:      bin,
		dir:      dir,
		config:   filepath.Join(dir, "influxdb.conf"),
		logPath:  filepath.Join(dir, "influxd.log"),
	}
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = "127.0.0.1:%d"

[meta]
  dir = %q

[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
  wal-fsync-delay = "0s"

[http]
  enabled = true
  bind-address = "127.0.0.1:%d"
  auth-enabled = false
  log-enabled = false
  flux-enabled = %t
  flux-log-enabled = false

[logging]
  level = "warn"
  suppress-logo = true

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false
`, rpcPort, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), httpPort, o.Flux)
	if err := os.WriteFile(s.config, []byte(conf), 0o644); err != nil {
		t.Fatalf("testenv: write influxd config: %v", err)
	}
	t.Cleanup(s.Stop)
	s.Start()
	if o.NoDatabase {
		return s
	}
	if _, err := s.query("POST", "CREATE DATABASE "+influxDatabase); err != nil {
		t.Fatalf("testenv: create influx database: %v", err)
	}
	return s
}

// Start starts influxd (again, after Stop) on the same port and data directory and waits until
// it answers /ping. It is a no-op when the server is running.
func (s *InfluxServer) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatalf("testenv: influxd log: %v", err)
	}
	cmd := exec.Command(s.bin, "run", "-config", s.config)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "INFLUXDB_DATA_QUERY_LOG_ENABLED=false")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		s.t.Fatalf("testenv: start %s: %v", s.bin, err)
	}
	exit := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exit)
	}()
	s.cmd, s.exit = cmd, exit

	// Generous: start-up (Flux, shard loading) takes seconds, and far longer on a loaded machine.
	deadline := time.Now().Add(120 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(s.URL + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				break
			}
		}
		select {
		case <-exit:
			s.cmd = nil
			s.t.Fatalf("testenv: influxd exited during start-up:\n%s", s.logTail())
		default:
		}
		if time.Now().After(deadline) {
			s.stopLocked()
			s.t.Fatalf("testenv: influxd did not answer /ping within 120s:\n%s", s.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	client.CloseIdleConnections()
}

// Stop stops influxd with SIGTERM and waits for it to exit (SIGKILL after 30s). It is a no-op
// when the server is not running.
func (s *InfluxServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

// Kill stops influxd with SIGKILL (no shutdown, no flush: what a crash or an OOM kill does);
// Start brings it back on the same data directory, which recovers from its write-ahead log.
func (s *InfluxServer) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.exit
	s.cmd = nil
}

func (s *InfluxServer) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exit:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exit
	}
	s.cmd = nil
}

// Count returns the number of points in measurement (in every series, over all time),
// using InfluxQL: per series the largest count of any field, summed over series. That is
// exact when every point of a series carries a field every other point has too (true of
// lanewatch's measurements: lat, event_id, scan_id, case_id...).
func (s *InfluxServer) Count(t testing.TB, measurement string) int {
	t.Helper()
	q := fmt.Sprintf(`SELECT count(*) FROM "%s" GROUP BY *`, strings.ReplaceAll(measurement, `"`, `\"`))
	body, err := s.query("GET", q)
	if err != nil {
		t.Fatalf("testenv: count %s: %v", measurement, err)
	}
	var resp struct {
		Results []struct {
			Error  string `json:"error"`
			Series []struct {
				Values [][]any `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	d := json.NewDecoder(strings.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&resp); err != nil {
		t.Fatalf("testenv: count %s: decode %q: %v", measurement, body, err)
	}
	total := 0
	for _, r := range resp.Results {
		if r.Error != "" {
			t.Fatalf("testenv: count %s: %s", measurement, r.Error)
		}
		for _, ser := range r.Series {
			best := 0
			for _, row := range ser.Values {
				for _, v := range row[1:] { // row[0] is the time
					num, _ := v.(json.Number)
					if n, err := num.Int64(); err == nil && int(n) > best {
						best = int(n)
					}
				}
			}
			total += best
		}
	}
	return total
}

// Query runs an InfluxQL statement against the lanewatch database and returns the JSON body.
func (s *InfluxServer) Query(t testing.TB, q string) string {
	t.Helper()
	body, err := s.query("POST", q)
	if err != nil {
		t.Fatalf("testenv: influx query %q: %v", q, err)
	}
	return body
}

func (s *InfluxServer) query(method, q string) (string, error) {
	v := url.Values{"q": {q}, "db": {influxDatabase}, "epoch": {"ns"}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var req *http.Request
	var err error
	if method == "GET" {
		req, err = http.NewRequestWithContext(ctx, method, s.URL+"/query?"+v.Encode(), nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, s.URL+"/query", strings.NewReader(v.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return "", err
	}
	client := &http.Client{}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, b)
	}
	return string(b), nil
}

func (s *InfluxServer) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// findInfluxd locates the influxd binary.
func findInfluxd() (string, error) {
	if p := os.Getenv("LANEWATCH_INFLUXD"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("LANEWATCH_INFLUXD=%s: %w", p, err)
		}
		return p, nil
	}
	if root, err := influxRepoRoot(); err == nil {
		p := filepath.Join(root, ".tools", "bin", "influxd")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("influxd"); err == nil {
		return p, nil
	}
	return "", errors.New("influxd not found in $LANEWATCH_INFLUXD, .tools/bin or PATH")
}

// influxRepoRoot walks up from the working directory to the directory holding go.mod.
func influxRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found")
		}
		dir = parent
	}
}

// influxFreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func influxFreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
