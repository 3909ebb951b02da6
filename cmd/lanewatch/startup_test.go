package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

// binPath is the lanewatch binary TestMain builds; the tests below run it as a user would.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lanewatch-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "lanewatch")
	if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runBin runs the binary with args and env added to the test's environment; it returns stdout,
// stderr and the exit status.
func runBin(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

// exampleConfig copies configs/ (the complete working example) into a temp dir and returns
// the dir; edit changes files in it before the run.
func exampleConfig(t *testing.T, edit map[string]func(string) string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("..", "..", "configs")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	for name, fn := range edit {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(fn(string(b))), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// serveArgs are the arguments of `serve` on the example config in dir, on free ports.
func serveArgs(t *testing.T, dir, dataDir, influxURL string) []string {
	return []string{"serve", "--config", filepath.Join(dir, "lanewatch.yaml"),
		"--mqtt-addr", testenv.FreeAddr(t), "--http-addr", testenv.FreeAddr(t),
		"--data-dir", dataDir, "--influx-url", influxURL}
}

// quietEnv keeps the log to errors (so stderr holds only the start-up error) and makes
// seeding the example devices fast.
var quietEnv = []string{"LANEWATCH_LOG_LEVEL=error", "LANEWATCH_MQTT_BCRYPT_COST=4", "LANEWATCH_MQTT_WS_ADDR=off"}

// checkStartupError: exit 1, stderr one line "lanewatch: ..." matching want, no panic.
func checkStartupError(t *testing.T, stderr string, code int, want ...string) {
	t.Helper()
	if code != 1 {
		t.Errorf("exit status %d, want 1; stderr:\n%s", code, stderr)
	}
	for _, bad := range []string{"panic", "SIGSEGV", "goroutine "} {
		if strings.Contains(stderr, bad) {
			t.Fatalf("stderr has %q:\n%s", bad, stderr)
		}
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "lanewatch: ") {
		t.Fatalf("stderr is not one line \"lanewatch: ...\":\n%s", stderr)
	}
	for _, w := range want {
		if !strings.Contains(lines[0], w) {
			t.Errorf("stderr %q lacks %q", lines[0], w)
		}
	}
	t.Logf("stderr: %s", lines[0])
}

// closedPortURL is an http:// URL on a 127.0.0.1 port nothing listens on.
func closedPortURL(t *testing.T) string { return "http://" + testenv.FreeAddr(t) }

// TestServeStartupErrors runs `lanewatch serve` on the example config with one mistake each:
// every start-up error is one line naming the file and line or key (or the resource), exit 1.
func TestServeStartupErrors(t *testing.T) {
	appendTo := func(extra string) func(string) string { return func(s string) string { return s + extra } }
	pgAddr := testenv.FreeAddr(t)
	tests := []struct {
		name string
		edit map[string]func(string) string
		env  []string
		want []string
	}{
		{
			name: "rule type error",
			edit: map[string]func(string) string{"rules/broken.yaml": func(string) string {
				return "groups:\n  - name: broken\n    on: telemetry\n    rules:\n      - name: not_bool\n        when: msg.speed_kmh + 1\n        case: {category: \"9002\"}\n"
			}},
			want: []string{"broken.yaml:6:", "not_bool", "expected bool"},
		},
		{
			name: "unknown key in routing.yaml",
			edit: map[string]func(string) string{"routing.yaml": appendTo("\nescalashun: true\n")},
			want: []string{"routing.yaml", "escalashun"},
		},
		{
			name: "unknown key in devices.yaml",
			edit: map[string]func(string) string{"devices.yaml": func(s string) string {
				return strings.Replace(s, "{id: sw-001, type: sweeper,", "{id: sw-001, colour: red, type: sweeper,", 1)
			}},
			want: []string{"devices.yaml", "colour"},
		},
		{
			name: "PostgreSQL unreachable",
			env:  []string{"LANEWATCH_STORE_DRIVER=postgres", "LANEWATCH_STORE_DSN=postgres://lanewatch@" + pgAddr + "/lanewatch?sslmode=disable&connect_timeout=5"},
			want: []string{"store", pgAddr},
		},
		{
			name: "missing TLS file",
			env:  []string{"LANEWATCH_MQTT_TLS_ADDR=" + testenv.FreeAddr(t), "LANEWATCH_MQTT_TLS_CERT=missing-cert.pem", "LANEWATCH_MQTT_TLS_KEY=missing-key.pem"},
			want: []string{"mqtt.tls_cert", "missing-cert.pem"},
		},
		{
			name: "missing HTTP TLS file",
			env:  []string{"LANEWATCH_HTTP_TLS_CERT=missing-http.pem", "LANEWATCH_HTTP_TLS_KEY=missing-http-key.pem"},
			want: []string{"http.tls_cert", "missing-http.pem"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := exampleConfig(t, tt.edit)
			dataDir := filepath.Join(t.TempDir(), "data")
			_, stderr, code := runBin(t, append(append([]string{}, quietEnv...), tt.env...), serveArgs(t, dir, dataDir, closedPortURL(t))...)
			checkStartupError(t, stderr, code, tt.want...)
		})
	}
}

// TestServeDataDirInUse: a second instance on the data dir of a running one fails with one
// line naming the dir; the first keeps running, and once it stops the dir can be used again
// (the lock is released).
func TestServeDataDirInUse(t *testing.T) {
	influx := testenv.Influx(t)
	dir := exampleConfig(t, nil)
	dataDir := filepath.Join(t.TempDir(), "data")

	stopFirst := startServe(t, serveArgs(t, dir, dataDir, influx.URL))

	_, stderr, code := runBin(t, quietEnv, serveArgs(t, dir, dataDir, influx.URL)...)
	checkStartupError(t, stderr, code, dataDir, "in use by another process")

	if err := stopFirst(); err != nil {
		t.Fatalf("first instance: %v", err)
	}
	stopThird := startServe(t, serveArgs(t, dir, dataDir, influx.URL))
	if err := stopThird(); err != nil {
		t.Fatalf("instance after the first stopped: %v", err)
	}
}

// startServe starts `lanewatch serve` and waits until /healthz answers 200; stop sends SIGTERM
// and returns the exit error.
func startServe(t *testing.T, args []string) (stop func() error) {
	t.Helper()
	var httpAddr string
	for i, a := range args {
		if a == "--http-addr" {
			httpAddr = args[i+1]
		}
	}
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), quietEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	stop = func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(40 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("no exit 40 s after SIGTERM:\n%s", stderr.String())
		}
		if waitErr != nil {
			return fmt.Errorf("%w\n%s", waitErr, stderr.String())
		}
		return nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + httpAddr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return stop
			}
		}
		select {
		case <-exited:
			t.Fatalf("lanewatch serve exited at start:\n%s", stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	_ = cmd.Process.Kill()
	<-exited
	t.Fatalf("lanewatch serve did not become healthy:\n%s", stderr.String())
	return nil
}
