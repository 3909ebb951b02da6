package gateway

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lanewatch/lanewatch"
)

// passAuth accepts one device with one password.
type passAuth struct{ id, password string }

func (p passAuth) Authenticate(_ context.Context, id, password string) (*lanewatch.Device, error) {
	if id == p.id && password == p.password {
		return &lanewatch.Device{ID: id, Type: lanewatch.DeviceSweeper}, nil
	}
	return nil, lanewatch.Errorf(lanewatch.EUnauthorized, "bad credentials")
}

// delayRecorder is a Sleep that records the delays asked for instead of waiting.
type delayRecorder struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (r *delayRecorder) sleep(_ context.Context, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delays = append(r.delays, d)
}

func (r *delayRecorder) take() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.delays
	r.delays = nil
	return out
}

// TestAuthFailureDelay checks the per-address slow-down of failed CONNECTs on a fake clock and
// a recording Sleep: the delay doubles from AuthFailureDelay up to 5 s for one address, other
// addresses are not affected, and a success or a quiet AuthFailureWindow resets it.
func TestAuthFailureDelay(t *testing.T) {
	devs := fakeDevices{types: map[string]lanewatch.DeviceType{"sw-1": lanewatch.DeviceSweeper}}
	now := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	rec := &delayRecorder{}
	reg := prometheus.NewPedanticRegistry()
	b, err := NewBroker(Options{Auth: passAuth{"sw-1", "right-password"}, Devices: devs, Journal: nopJournal{},
		Registerer: reg, AuthFailureDelay: 200 * time.Millisecond, AuthFailureWindow: time.Minute,
		Now: func() time.Time { return now }, Sleep: rec.sleep})
	if err != nil {
		t.Fatal(err)
	}
	h := &hook{b: b}
	connect := func(addr, pass string) bool {
		cl := &mqtt.Client{Net: mqtt.ClientConnection{Remote: addr}}
		pk := packets.Packet{Connect: packets.ConnectParams{Username: []byte("sw-1"), Password: []byte(pass)}}
		return h.OnConnectAuthenticate(cl, pk)
	}
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, n := range v {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}

	// Eight failures from one address, one second apart: 0.2, 0.4, ... capped at 5 s.
	for range 8 {
		if connect("192.0.2.1:40000", "wrong") {
			t.Fatal("wrong password accepted")
		}
		now = now.Add(time.Second)
	}
	if got, want := rec.take(), ms(200, 400, 800, 1600, 3200, 5000, 5000, 5000); !slices.Equal(got, want) {
		t.Fatalf("delays = %v, want %v", got, want)
	}
	// Another address starts from the base delay; a different port of the first address does not.
	connect("192.0.2.2:40000", "wrong")
	connect("192.0.2.1:40001", "wrong")
	connect("[2001:db8::1]:1", "wrong")
	if got, want := rec.take(), ms(200, 5000, 200); !slices.Equal(got, want) {
		t.Fatalf("delays = %v, want %v", got, want)
	}
	// A success resets the address and is not delayed. (An address that failed gets one
	// password check per second: TestAttackGuessesPerAddress.)
	now = now.Add(time.Second)
	if !connect("192.0.2.1:40002", "right-password") {
		t.Fatal("right password refused")
	}
	connect("192.0.2.1:40003", "wrong")
	now = now.Add(time.Second)
	connect("192.0.2.1:40003", "wrong")
	if got, want := rec.take(), ms(200, 400); !slices.Equal(got, want) {
		t.Fatalf("after success: delays = %v, want %v", got, want)
	}
	// A window without failures resets it too; just inside the window does not.
	now = now.Add(time.Minute)
	connect("192.0.2.1:40004", "wrong")
	now = now.Add(time.Minute + time.Nanosecond)
	connect("192.0.2.1:40004", "wrong")
	if got, want := rec.take(), ms(800, 200); !slices.Equal(got, want) {
		t.Fatalf("after the window: delays = %v, want %v", got, want)
	}
	// Every failure is counted; the success is not.
	if n := testutil.ToFloat64(b.m.authFailures); n != 15 {
		t.Fatalf("auth failures counted = %v, want 15", n)
	}
}

// TestAuthFailureDelayDefaultSleep: the default Sleep returns when the broker shuts down, so a
// failing client does not hold shutdown for the whole delay.
func TestAuthFailureDelayDefaultSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		sleepCtx(ctx, time.Hour)
		close(done)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("sleepCtx did not return on cancel")
	}
}
