package app

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

// TestNewFailureClosesWhatItOpened: New fails late (the camera snapshots directory cannot be
// made because a file has its name, after the store, the journal, the InfluxDB sink, dispatch
// and the rules are set up) with that error and without a panic, and it closes what it opened:
// a second New on the same data dir gets the journal's lock.
func TestNewFailureClosesWhatItOpened(t *testing.T) {
	influx := testenv.Influx(t)
	dataDir := t.TempDir()
	blocker := filepath.Join(dataDir, "snapshots")
	if err := os.WriteFile(blocker, []byte("not a directory\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := testConfig(t, influx, dataDir, nil)
	a, err := New(context.Background(), bad, Options{Logger: testLogger(t)})
	if err == nil || a != nil {
		t.Fatalf("New = %v, %v; want the snapshots directory's error", a, err)
	}
	if !strings.Contains(err.Error(), blocker) {
		t.Fatalf("error %q does not name %s", err, blocker)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	good := testConfig(t, influx, dataDir, nil)
	a, err = New(context.Background(), good, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("New after a failed New on the same data dir: %v", err)
	}
	a.closeAll()
}

// TestNewFileErrorsOpenNothing: a bad routing file fails New before anything is opened: the
// data dir is not even created, and the error names the file, line, column and key.
func TestNewFileErrorsOpenNothing(t *testing.T) {
	influx := testenv.Influx(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	routing := filepath.Join(t.TempDir(), "routing.yaml")
	if err := os.WriteFile(routing, []byte("escalashun: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, influx, dataDir, func(c *Config) { c.Dispatch.RoutingFile = routing })
	a, err := New(context.Background(), cfg, Options{Logger: testLogger(t)})
	if err == nil || a != nil {
		t.Fatalf("New = %v, %v; want the routing file's error", a, err)
	}
	if want := routing + `:1:1: unknown field "escalashun"`; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Fatalf("data dir made before the files were checked: %v", err)
	}
}

// TestRunListenFailureClosesListeners: when the broker cannot listen (its TCP address is
// taken), Run returns that error and closes the HTTP listener it had opened and the data dir.
func TestRunListenFailureClosesListeners(t *testing.T) {
	influx := testenv.Influx(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dataDir := t.TempDir()
	cfg := testConfig(t, influx, dataDir, func(c *Config) { c.MQTT.Addr = taken.Addr().String() })
	a, err := New(context.Background(), cfg, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	err = a.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), taken.Addr().String()) {
		t.Fatalf("Run = %v, want the broker's listen error naming %s", err, taken.Addr())
	}
	for _, addr := range []string{cfg.HTTP.Addr} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("%s still held after Run failed: %v", addr, err)
			continue
		}
		ln.Close()
	}
	again, err := New(context.Background(), testConfig(t, influx, dataDir, nil), Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("New on the data dir after Run failed: %v", err)
	}
	again.closeAll()
}
