package bridge_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/bridge"
	"github.com/lanewatch/lanewatch/gateway"
	"github.com/lanewatch/lanewatch/internal/testenv"
	"github.com/lanewatch/lanewatch/wal"
)

type devs struct{}

func (devs) Authenticate(_ context.Context, id, pw string) (*lanewatch.Device, error) {
	if pw != "pw" {
		return nil, lanewatch.Errorf(lanewatch.EUnauthorized, "bad")
	}
	return &lanewatch.Device{ID: id, Type: lanewatch.DeviceSweeper}, nil
}

// Lookup knows the sweepers sw-NNN; any other id (a dashboard's client id) is no device's, as in
// the registry (the broker refuses a client id that is another device's).
func (devs) Lookup(_ context.Context, id string) (*lanewatch.Device, error) {
	if !strings.HasPrefix(id, "sw-") || len(id) != len("sw-001") {
		return nil, fmt.Errorf("device %s: %w", id, lanewatch.ErrNotFound)
	}
	return &lanewatch.Device{ID: id, Type: lanewatch.DeviceSweeper}, nil
}
func (devs) Touch(string, time.Time)           {}
func (devs) SetOnline(string, bool, time.Time) {}

type asyncJournal struct{ *wal.Log }

func (j asyncJournal) AppendAsync(ctx context.Context, rec []byte) (uint64, gateway.Syncer, error) {
	return j.Log.AppendAsync(ctx, rec)
}

// late lets the broker export through a bridge built after it.
type late struct{ b *bridge.Bridge }

func (l *late) Export(topic string, p []byte, qos byte, retain bool) {
	l.b.Export(topic, p, qos, retain)
}

type node struct {
	addr string
	br   *bridge.Bridge
}

func startNode(t *testing.T, id, natsURL string) *node {
	t.Helper()
	j, err := wal.Open(wal.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{addr: testenv.FreeAddr(t)}
	fan := &late{}
	b, err := gateway.NewBroker(gateway.Options{TCPAddr: n.addr, Auth: devs{}, Devices: devs{}, Journal: asyncJournal{j},
		Subscribers:     []gateway.Subscriber{{Username: "dash", Allow: []string{"vehicles/+/telemetry", "devices/+/status"}}},
		CheckSubscriber: func(_, pw string) bool { return pw == "dash-pw" }, Fanout: fan})
	if err != nil {
		t.Fatal(err)
	}
	n.br, err = bridge.New(bridge.Options{Config: bridge.Config{NATSURL: natsURL}, Node: id, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	fan.b = n.br
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = n.br.Run(ctx, b) }()
	t.Cleanup(func() { cancel(); <-done; b.Close(); j.Close() })
	return n
}

func mqttClient(t *testing.T, addr, user, pw string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(fmt.Sprintf("%s-%s-%d", user, addr, time.Now().UnixNano())).SetUsername(user).
		SetPassword(pw).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", user, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// collector counts the messages a subscriber receives per topic and payload.
type collector struct {
	mu  sync.Mutex
	got map[string]int
	qos map[byte]int
}

func subscribe(t *testing.T, c paho.Client, filter string, qos byte) *collector {
	t.Helper()
	col := &collector{got: map[string]int{}, qos: map[byte]int{}}
	tok := c.Subscribe(filter, qos, func(_ paho.Client, m paho.Message) {
		col.mu.Lock()
		col.got[m.Topic()+" "+string(m.Payload())]++
		col.qos[m.Qos()]++
		col.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	return col
}

func (c *collector) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.got {
		n += v
	}
	return n
}

// TestFanoutAcrossNodes: a dashboard subscribed on node A (and one on C) receives what devices
// publish on node B, at QoS 0 and 1, each message once (no loop, no echo); the subscriber's ACL
// still holds (it never sees camera events); a retained status published on B is retained on A.
func TestFanoutAcrossNodes(t *testing.T) {
	url := testenv.NATSServer(t)
	a, b, c := startNode(t, "node-a", url), startNode(t, "node-b", url), startNode(t, "node-c", url)
	dashA := subscribe(t, mqttClient(t, a.addr, "dash", "dash-pw"), "vehicles/+/telemetry", 1)
	dashC := subscribe(t, mqttClient(t, c.addr, "dash", "dash-pw"), "vehicles/+/telemetry", 1)
	dashB := subscribe(t, mqttClient(t, b.addr, "dash", "dash-pw"), "vehicles/+/telemetry", 1)
	if tok := mqttClient(t, a.addr, "dash", "dash-pw").Subscribe("cameras/#", 0, nil); tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
		// mochi answers a refused filter with a failure code, which paho reports in the token's result.
		if res := tok.(*paho.SubscribeToken).Result()["cameras/#"]; res < 0x80 {
			t.Fatalf("dashboard subscribed to cameras/# (granted %d)", res)
		}
	}
	// The NATS subscriptions of the three nodes are made asynchronously: wait until a probe
	// from B reaches A and C.
	dev := mqttClient(t, b.addr, "sw-001", "pw")
	probe := 0
	testenv.WaitFor(t, 10*time.Second, "fan-out ready", func() bool {
		probe++
		dev.Publish("vehicles/sw-001/telemetry", 0, false, fmt.Sprintf(`{"probe":%d}`, probe)).Wait()
		return dashA.total() > 0 && dashC.total() > 0
	})
	baseA, baseB, baseC := dashA.total(), dashB.total(), dashC.total()

	const n = 200
	for i := range n {
		qos := byte(i % 2)
		if tok := dev.Publish("vehicles/sw-001/telemetry", qos, false, fmt.Sprintf(`{"i":%d}`, i)); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %d: %v", i, tok.Error())
		}
	}
	cam := mqttClient(t, b.addr, "sw-002", "pw")
	cam.Publish("devices/sw-002/status", 1, true, `{"online": true}`).Wait()
	if err := b.br.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, col := range []*collector{dashA, dashB, dashC} {
		testenv.WaitFor(t, 10*time.Second, "all messages on every node", func() bool { return col.total() >= n })
	}
	// A marker after the burst: once it has arrived everywhere, nothing of the burst is late.
	dev.Publish("vehicles/sw-001/telemetry", 1, false, `{"end":true}`).Wait()
	for _, col := range []*collector{dashA, dashB, dashC} {
		testenv.WaitFor(t, 10*time.Second, "end marker", func() bool {
			col.mu.Lock()
			defer col.mu.Unlock()
			return col.got[`vehicles/sw-001/telemetry {"end":true}`] == 1
		})
	}
	for name, col := range map[string]*collector{"A": dashA, "B": dashB, "C": dashC} {
		base := map[string]int{"A": baseA, "B": baseB, "C": baseC}[name]
		col.mu.Lock()
		for i := range n {
			if k := fmt.Sprintf(`vehicles/sw-001/telemetry {"i":%d}`, i); col.got[k] != 1 {
				t.Errorf("node %s: %s received %d times", name, k, col.got[k])
			}
		}
		for k, v := range col.got { // probes included: nothing twice (no loop, no echo)
			if v != 1 {
				t.Errorf("node %s: %s received %d times", name, k, v)
			}
		}
		if col.totalLocked() < base+n+1 {
			t.Errorf("node %s: %d messages, want at least %d", name, col.totalLocked(), base+n+1)
		}
		if col.qos[1] == 0 {
			t.Errorf("node %s: no QoS 1 deliveries", name)
		}
		col.mu.Unlock()
	}
	// The retained status of sw-002 (published on B) is retained on A.
	late := subscribe(t, mqttClient(t, a.addr, "dash", "dash-pw"), "devices/+/status", 1)
	testenv.WaitFor(t, 10*time.Second, "retained status on node A", func() bool {
		late.mu.Lock()
		defer late.mu.Unlock()
		return late.got[`devices/sw-002/status {"online": true}`] == 1
	})
}

func (c *collector) totalLocked() int {
	n := 0
	for _, v := range c.got {
		n += v
	}
	return n
}

func TestSubject(t *testing.T) {
	for topic, want := range map[string]string{
		"vehicles/sw-001/telemetry": "p.vehicles.sw-001.telemetry",
		"vehicles/sw.1/telemetry":   "p.vehicles.sw%2E1.telemetry",
		"a//b":                      "p.a.%.b",
		"x y/*/>/%":                 "p.x%20y.%2A.%3E.%25",
	} {
		if got := bridge.Subject("p", topic); got != want {
			t.Errorf("Subject(%q) = %q, want %q", topic, got, want)
		}
	}
	for _, bad := range []bridge.Config{{NATSURL: "http://x"}, {Subject: "a.*"}, {Subject: ".a"}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
