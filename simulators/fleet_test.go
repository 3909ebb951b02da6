package simulators

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/lanewatch/lanewatch"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// freeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// allowHook lets every client connect, publish and subscribe, like mochi's auth.AllowHook
// (which this module cannot import: hooks/auth pulls gopkg.in/yaml.v3, absent from go.sum).
type allowHook struct{ mochi.HookBase }

func (h *allowHook) ID() string { return "allow-all" }

func (h *allowHook) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}

func (h *allowHook) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }

func (h *allowHook) OnACLCheck(*mochi.Client, string, bool) bool { return true }

// startBroker runs an in-process mochi broker that lets everyone in, until the test ends.
func startBroker(t *testing.T) string {
	t.Helper()
	addr := freeAddr(t)
	s := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := s.AddHook(new(allowHook), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddListener(listeners.NewTCP(listeners.Config{ID: "t", Address: addr})); err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return "tcp://" + addr
}

// recorder subscribes to every device topic and keeps what arrives.
type recorder struct {
	mu   sync.Mutex
	msgs map[string][][]byte // by topic
	ret  map[string][]byte   // last retained or live status payload, by topic
}

func subscribe(t *testing.T, broker string) *recorder {
	t.Helper()
	r := &recorder{msgs: map[string][][]byte{}, ret: map[string][]byte{}}
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("test-sub").SetUsername("test-sub"))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	filters := map[string]byte{"vehicles/+/telemetry": 1, "cameras/+/events": 1, "plaques/+/scans": 1, "devices/+/status": 1}
	tok := c.SubscribeMultiple(filters, func(_ mqtt.Client, m mqtt.Message) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if strings.HasPrefix(m.Topic(), "devices/") {
			r.ret[m.Topic()] = append([]byte(nil), m.Payload()...)
			return
		}
		r.msgs[m.Topic()] = append(r.msgs[m.Topic()], append([]byte(nil), m.Payload()...))
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return r
}

func (r *recorder) snapshot() (map[string][][]byte, map[string][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[string][][]byte{}
	for k, v := range r.msgs {
		m[k] = v
	}
	s := map[string][]byte{}
	for k, v := range r.ret {
		s[k] = v
	}
	return m, s
}

var testDevices = []Device{
	{ID: "sw-001", Type: lanewatch.DeviceSweeper, District: "xiqu", Password: "pw-sw-001-secret"},
	{ID: "ws-001", Type: lanewatch.DeviceWasher, District: "dongqu", Password: "pw-ws-001-secret"},
	{ID: "sp-001", Type: lanewatch.DeviceSprinkler, District: "nanqu", Password: "pw-sp-001-secret"},
	{ID: "cam-001", Type: lanewatch.DeviceCamera, District: "shiqi", Password: "pw-cam-001-secret"},
	{ID: "pl-001", Type: lanewatch.DevicePlaque, District: "xiqu", Password: "pw-pl-001-secret"},
}

func TestFleetPublishes(t *testing.T) {
	broker := startBroker(t)
	rec := subscribe(t, broker)
	var progress []Stats
	var pmu sync.Mutex
	f, err := NewFleet(Options{
		Broker:        broker,
		Devices:       testDevices,
		Rate:          20 * time.Millisecond, // 100 ticks in 2 s
		Step:          2 * time.Second,       // 200 s of simulated time
		Duration:      2 * time.Second,
		Seed:          9,
		QoS:           1,
		ProgressEvery: 200 * time.Millisecond,
		Progress: func(s Stats) {
			pmu.Lock()
			progress = append(progress, s)
			pmu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Connected != len(testDevices) || stats.Sent == 0 || stats.Errors != 0 {
		t.Fatalf("stats %+v", stats)
	}
	if stats.Elapsed < 2*time.Second || stats.Elapsed > 5*time.Second {
		t.Errorf("elapsed %s for a 2s duration", stats.Elapsed)
	}
	pmu.Lock()
	if len(progress) < 3 {
		t.Errorf("%d progress reports in 2s at 200ms", len(progress))
	}
	pmu.Unlock()

	// QoS 1 publishes are acknowledged; give the broker a moment to forward the last ones.
	var msgs map[string][][]byte
	var status map[string][]byte
	deadline := time.Now().Add(3 * time.Second)
	for {
		msgs, status = rec.snapshot()
		n := 0
		for _, ps := range msgs {
			n += len(ps)
		}
		offline := 0
		for _, d := range testDevices {
			if string(status["devices/"+d.ID+"/status"]) == `{"online": false}` {
				offline++
			}
		}
		if uint64(n) >= stats.Sent && offline == len(testDevices) || time.Now().After(deadline) {
			if uint64(n) != stats.Sent {
				t.Errorf("subscriber got %d messages, fleet sent %d", n, stats.Sent)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{"vehicles/sw-001/telemetry", "vehicles/ws-001/telemetry", "vehicles/sp-001/telemetry", "cameras/cam-001/events", "plaques/pl-001/scans"} {
		if len(msgs[want]) == 0 {
			t.Errorf("nothing on %s; got topics %v", want, keys(msgs))
		}
	}
	for topic, ps := range msgs {
		for _, p := range ps {
			if !json.Valid(p) {
				t.Fatalf("%s: invalid JSON %s", topic, p)
			}
		}
		switch {
		case strings.HasPrefix(topic, "vehicles/"), strings.HasPrefix(topic, "cameras/"), strings.HasPrefix(topic, "plaques/"):
		default:
			t.Errorf("unexpected topic %s", topic)
		}
	}
	// Every device said goodbye on a clean stop.
	for _, d := range testDevices {
		var s struct{ Online *bool }
		if err := json.Unmarshal(status["devices/"+d.ID+"/status"], &s); err != nil || s.Online == nil || *s.Online {
			t.Errorf("%s: last status %s, want online false", d.ID, status["devices/"+d.ID+"/status"])
		}
	}
}

func TestFleetRetainedOnline(t *testing.T) {
	broker := startBroker(t)
	ctx, cancel := context.WithCancel(context.Background())
	f, err := NewFleet(Options{Broker: broker, Devices: testDevices[:1], Rate: 50 * time.Millisecond, Seed: 1, QoS: 1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := f.Run(ctx)
		done <- err
	}()
	// A subscriber arriving later gets the retained online status.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if f.Stats().Sent > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing sent")
		}
		time.Sleep(10 * time.Millisecond)
	}
	rec := subscribe(t, broker)
	for {
		_, status := rec.snapshot()
		if p := status["devices/sw-001/status"]; p != nil {
			if string(p) != `{"online": true}` {
				t.Fatalf("retained status %s", p)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no retained status")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestFleetNoBroker(t *testing.T) {
	f, err := NewFleet(Options{Broker: freeAddr(t), Devices: testDevices[:2], ConnectTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := f.Run(context.Background())
	if !errors.Is(err, ErrNoConnection) {
		t.Fatalf("err %v, want ErrNoConnection", err)
	}
	if stats.Connected != 0 || stats.Devices != 2 {
		t.Errorf("stats %+v", stats)
	}
}

func TestFleetOptions(t *testing.T) {
	for name, o := range map[string]Options{
		"no broker":    {Devices: testDevices},
		"no devices":   {Broker: "tcp://127.0.0.1:1"},
		"bad type":     {Broker: "x:1", Devices: []Device{{ID: "a", Type: "tram"}}},
		"duplicate id": {Broker: "x:1", Devices: []Device{testDevices[0], testDevices[0]}},
		"bad qos":      {Broker: "x:1", Devices: testDevices, QoS: 2},
	} {
		if _, err := NewFleet(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
