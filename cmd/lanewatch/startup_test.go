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
	"unicode/utf8"

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

// mistake is one realistic operator mistake in a shipped YAML file: old is replaced by new
// (once) in file, or new is appended when old is empty. The error must point at the first
// occurrence of at on the line of new in the edited file (the nth+1 such line) and contain want.
type mistake struct {
	name, file, old, new, at string
	nth                      int
	want                     []string
}

func (m mistake) edit() func(string) string {
	return func(s string) string {
		if m.old == "" {
			return s + m.new
		}
		return strings.Replace(s, m.old, m.new, 1)
	}
}

// position is "FILE:LINE:COL" of m in the edited copy under dir, computed from the text: the
// line holding m.new, the column (1-based, in characters) of m.at on that line.
func (m mistake) position(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, m.file)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	skip := 0
	needle := strings.TrimSpace(strings.SplitN(strings.TrimLeft(m.new, "\n"), "\n", 2)[0])
	for i, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, needle) {
			continue
		}
		if skip < m.nth {
			skip++
			continue
		}
		col := strings.Index(line, m.at)
		if col < 0 {
			t.Fatalf("%q not on line %d of %s: %q", m.at, i+1, m.file, line)
		}
		return fmt.Sprintf("%s:%d:%d", p, i+1, utf8.RuneCountInString(line[:col])+1)
	}
	t.Fatalf("%q not in %s", needle, m.file)
	return ""
}

// shippedMistakes: one mistake per shipped YAML file (and kind of mistake).
var shippedMistakes = []mistake{
	{name: "lanewatch.yaml wrong type", file: "lanewatch.yaml", old: "  workers: 4", new: "  workers: four", at: "four",
		want: []string{`workers: want a whole number, got "four"`}},
	{name: "lanewatch.yaml typo key", file: "lanewatch.yaml", old: "  level: info", new: "  levle: info", at: "levle",
		want: []string{`unknown field "levle" (did you mean "level"?)`}},
	{name: "lanewatch.yaml bad duration", file: "lanewatch.yaml", old: "  flush_interval: 1s", new: "  flush_interval: 1 second", at: "1 second",
		want: []string{`flush_interval: invalid duration "1 second"`}},
	{name: "routing.yaml unknown key", file: "routing.yaml", new: "\nescalashun: true\n", at: "escalashun",
		want: []string{`unknown field "escalashun"`}},
	{name: "routing.yaml dangling department", file: "routing.yaml", old: "{district: shiqi, department: shiqi-office}",
		new: "{district: shiqi, department: shiqi-offce}", at: "department",
		want: []string{`routes[2].department: "shiqi-offce" is not a department (did you mean "shiqi-office"?)`}},
	{name: "routing.yaml dangling district", file: "routing.yaml", old: "{district: nanqu, department: nanqu-office}",
		new: "{district: nanquu, department: nanqu-office}", at: "district",
		want: []string{`routes[3].district: "nanquu" is not a district (did you mean "nanqu"?)`}},
	{name: "routing.yaml bad duration", file: "routing.yaml", old: "  sign: 1h ", new: "  sign: 1 hour ", at: "1 hour",
		want: []string{`sign: invalid duration "1 hour"`}},
	{name: "categories.yaml duplicate code", file: "categories.yaml", old: `{code: "0102"`, new: `{code: "0101"`, at: "code", nth: 1,
		want: []string{"categories[1].code: 0101 defined twice"}},
	{name: "categories.yaml bad code", file: "categories.yaml", old: `{code: "0103"`, new: `{code: "013"`, at: "code",
		want: []string{`categories[2].code: "013" is not 4 digits`}},
	{name: "devices.yaml unknown key", file: "devices.yaml", old: "{id: sw-001, type: sweeper,", new: "{id: sw-001, colour: red, type: sweeper,", at: "colour",
		want: []string{`unknown field "colour"`}},
	{name: "devices.yaml duplicate id", file: "devices.yaml", old: "{id: sw-002,", new: "{id: sw-001,", at: "id", nth: 1,
		want: []string{`devices[1].id: duplicate id "sw-001"`}},
	{name: "cameras.yaml bad duration", file: "cameras.yaml", old: "  window: 30m ", new: "  window: 30 minutes ", at: "30 minutes",
		want: []string{`window: invalid duration "30 minutes"`}},
	{name: "cameras.yaml typo key", file: "cameras.yaml", old: "  iou: 0.3 ", new: "  iuo: 0.3 ", at: "iuo",
		want: []string{`unknown field "iuo" (did you mean "iou"?)`}},
	{name: "plaques.yaml dangling department", file: "plaques.yaml", old: "      department: shiqi-office", new: "      department: shiqi-ofice", at: "department",
		want: []string{`plaques[2].party.department: "shiqi-ofice" is not a department of the routing file (did you mean "shiqi-office"?)`}},
	{name: "plaques.yaml wrong type", file: "plaques.yaml", old: "    lat: 22.5221", new: "    lat: north", at: "north",
		want: []string{`lat: want a number, got "north"`}},
	{name: "plaques.yaml typo key", file: "plaques.yaml", old: "    district: dongqu", new: "    distrct: dongqu", at: "distrct",
		want: []string{`unknown field "distrct" (did you mean "district"?)`}},
	{name: "rules/vehicles.yaml bad duration", file: "rules/vehicles.yaml", old: "        cooldown: 1h\n", new: "        cooldown: 1 hour\n", at: "1 hour",
		want: []string{`invalid duration "1 hour"`}},
	{name: "rules/cameras.yaml typo key", file: "rules/cameras.yaml", old: "        keep_for: 30s\n", new: "        keep_fr: 30s\n", at: "keep_fr",
		want: []string{`unknown field "keep_fr" (did you mean "keep_for"?)`}},
}

// TestShippedYAMLMistakes makes each mistake alone in a copy of the shipped configs: `serve`
// and `config check` both report exactly one line, at the file, line and column of the
// mistake and naming the key, and exit 1; `serve` opens nothing (the data dir is not made).
func TestShippedYAMLMistakes(t *testing.T) {
	for _, m := range shippedMistakes {
		t.Run(m.name, func(t *testing.T) {
			dir := exampleConfig(t, map[string]func(string) string{m.file: m.edit()})
			at := m.position(t, dir)
			want := append([]string{at + ": "}, m.want...)

			dataDir := filepath.Join(t.TempDir(), "data")
			_, stderr, code := runBin(t, quietEnv, serveArgs(t, dir, dataDir, closedPortURL(t))...)
			checkStartupError(t, stderr, code, want...)
			if !strings.HasPrefix(stderr, "lanewatch: "+at+": ") {
				t.Errorf("serve: error not at %s: %s", at, stderr)
			}
			if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("serve made the data dir before the files were checked (%v)", err)
			}

			stdout, stderr, code := runBin(t, nil, "config", "check", "--config", filepath.Join(dir, "lanewatch.yaml"))
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if code != 1 || stdout != "" || len(lines) != 2 || !strings.HasPrefix(lines[0], at+": ") || lines[1] != "1 error" {
				t.Fatalf("config check: exit %d, stdout %q, stderr:\n%s\nwant one error at %s and \"1 error\"", code, stdout, stderr, at)
			}
			for _, w := range m.want {
				if !strings.Contains(lines[0], w) {
					t.Errorf("config check: %q lacks %q", lines[0], w)
				}
			}
		})
	}
}

// TestShippedYAMLFiveMistakes: five mistakes in five files at once are five lines, each at its
// file, line and column, from both `serve` and `config check`.
func TestShippedYAMLFiveMistakes(t *testing.T) {
	pick := []string{"lanewatch.yaml wrong type", "routing.yaml dangling department", "devices.yaml unknown key",
		"cameras.yaml bad duration", "plaques.yaml typo key"}
	var ms []mistake
	edits := map[string]func(string) string{}
	for _, name := range pick {
		for _, m := range shippedMistakes {
			if m.name == name {
				ms = append(ms, m)
				edits[m.file] = m.edit()
			}
		}
	}
	if len(ms) != 5 || len(edits) != 5 {
		t.Fatalf("picked %d mistakes in %d files", len(ms), len(edits))
	}
	dir := exampleConfig(t, edits)
	_, serveErr, code := runBin(t, quietEnv, serveArgs(t, dir, filepath.Join(t.TempDir(), "data"), closedPortURL(t))...)
	if code != 1 {
		t.Errorf("serve: exit %d, want 1", code)
	}
	_, checkErr, ccode := runBin(t, nil, "config", "check", "--config", filepath.Join(dir, "lanewatch.yaml"))
	if ccode != 1 || !strings.HasSuffix(checkErr, "\n5 errors\n") {
		t.Errorf("config check: exit %d, stderr:\n%s\nwant 5 errors", ccode, checkErr)
	}
	for _, out := range []struct{ cmd, stderr, prefix string }{{"serve", serveErr, "lanewatch: "}, {"config check", checkErr, ""}} {
		lines := strings.Split(strings.TrimRight(out.stderr, "\n"), "\n")
		if out.cmd == "config check" {
			lines = lines[:len(lines)-1] // "5 errors"
		}
		if len(lines) != 5 {
			t.Errorf("%s: %d lines, want 5:\n%s", out.cmd, len(lines), out.stderr)
			continue
		}
		for _, m := range ms {
			at := out.prefix + m.position(t, dir) + ": "
			found := false
			for _, l := range lines {
				found = found || (strings.HasPrefix(l, at) && strings.Contains(l, m.want[0]))
			}
			if !found {
				t.Errorf("%s: no line %q...%q in:\n%s", out.cmd, at, m.want[0], out.stderr)
			}
		}
		if strings.Contains(out.stderr, "panic") || strings.Contains(out.stderr, "SIGSEGV") {
			t.Errorf("%s: stderr has a panic:\n%s", out.cmd, out.stderr)
		}
	}
}

// TestConfigCheckShipped: the shipped configs pass `config check` (exit 0, stdout says so).
func TestConfigCheckShipped(t *testing.T) {
	p := filepath.Join("..", "..", "configs", "lanewatch.yaml")
	stdout, stderr, code := runBin(t, nil, "config", "check", "--config", p)
	if code != 0 || stderr != "" || stdout != p+" and the files it names OK\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, _, code := runBin(t, nil, "config", "check", "--config", filepath.Join(t.TempDir(), "none.yaml")); code != 1 {
		t.Errorf("missing config: exit %d, want 1", code)
	}
}
