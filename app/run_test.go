package app

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

// TestRunReturnsComponentError: a component that fails while the app runs (here the debug
// server, whose address is taken) stops the app, and Run returns that component's error
// after the ordinary shutdown.
func TestRunReturnsComponentError(t *testing.T) {
	influx := testenv.Influx(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := testConfig(t, influx, t.TempDir(), func(c *Config) { c.DebugAddr = taken.Addr().String() })
	a, err := New(context.Background(), cfg, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("new app: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(context.Background()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "debug server: listen debug on "+taken.Addr().String()) {
			t.Fatalf("Run = %v, want the debug server's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after a component failed")
	}
}
