package loadgen

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

// allowAll lets every client connect, publish and subscribe.
type allowAll struct{ mqtt.HookBase }

func (allowAll) ID() string { return "allow-all" }
func (allowAll) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}
func (allowAll) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }
func (allowAll) OnACLCheck(*mqtt.Client, string, bool) bool              { return true }

// startBroker runs an in-process mochi broker that allows everyone and returns its address.
func startBroker(t *testing.T) string {
	t.Helper()
	addr := testenv.FreeAddr(t)
	s := mqtt.New(&mqtt.Options{InlineClient: false})
	if err := s.AddHook(new(allowAll), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddListener(listeners.NewTCP(listeners.Config{ID: "t", Address: addr})); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve() }()
	t.Cleanup(func() { _ = s.Close() })
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("broker on %s did not start", addr)
	return ""
}

func clients(n int) []Client {
	var out []Client
	for i := range n {
		out = append(out, Client{ID: fmt.Sprintf("v-%03d", i), District: "gudong", Password: "secret"})
	}
	return out
}

func TestRunCountsEveryMessageAndMeasuresLatency(t *testing.T) {
	addr := startBroker(t)
	for _, qos := range []byte{0, 1} {
		t.Run(fmt.Sprintf("qos%d", qos), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rep, err := Run(ctx, Options{Addr: addr, Clients: clients(5), Messages: 1003, QoS: qos,
				Subscriber: &Credentials{ClientID: "sub", Username: "sub"}, SampleClients: 2, Label: "t"})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Sent != 1003 {
				t.Errorf("sent = %d, want 1003", rep.Sent)
			}
			if qos == 1 && rep.Acked != 1003 {
				t.Errorf("acked = %d, want 1003", rep.Acked)
			}
			// Clients 0 and 1 send 201 each (1003 = 5*200 + 3).
			if rep.SubscriberExpects != 402 || rep.SubscriberGot != 402 {
				t.Errorf("subscriber got %d of %d, want 402 of 402", rep.SubscriberGot, rep.SubscriberExpects)
			}
			if rep.Delivery == nil || rep.Delivery.Samples != 402 || rep.Delivery.P50 < 0 || rep.Delivery.P99 < rep.Delivery.P50 {
				t.Errorf("delivery latency = %+v", rep.Delivery)
			}
			if rep.IngestRate <= 0 || rep.PayloadBytes < 100 {
				t.Errorf("ingest rate %v, payload bytes %v", rep.IngestRate, rep.PayloadBytes)
			}
		})
	}
}

func TestRunAtRateTakesAboutTheScheduledTime(t *testing.T) {
	addr := startBroker(t)
	rep, err := Run(context.Background(), Options{Addr: addr, Clients: clients(4), Messages: 200, QoS: 1, Rate: 400})
	if err != nil {
		t.Fatal(err)
	}
	// 200 messages at 400/s: half a second, give or take scheduling on a busy machine.
	if rep.IngestSeconds < 0.4 || rep.IngestSeconds > 5 {
		t.Errorf("ingest took %.2fs, want about 0.5s", rep.IngestSeconds)
	}
}

func TestIdleHoldsConnections(t *testing.T) {
	addr := startBroker(t)
	ctx, cancel := context.WithCancel(context.Background())
	var creds []Credentials
	for i := range 20 {
		creds = append(creds, Credentials{ClientID: fmt.Sprintf("i-%d", i), Username: "u"})
	}
	got := make(chan int, 1)
	done := make(chan error, 1)
	go func() {
		_, err := Idle(ctx, addr, creds, 4, func(n int) { got <- n })
		done <- err
	}()
	if n := <-got; n != 20 {
		t.Errorf("connected %d, want 20", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestValidateRejectsBadOptions(t *testing.T) {
	for name, o := range map[string]Options{
		"no addr":          {Clients: clients(1), Messages: 1},
		"no clients":       {Addr: "x:1", Messages: 1},
		"too few messages": {Addr: "x:1", Clients: clients(3), Messages: 2},
		"qos 2":            {Addr: "x:1", Clients: clients(1), Messages: 1, QoS: 2},
		"marks sans rule":  {Addr: "x:1", Clients: clients(1), Messages: 1, MarkEvery: time.Second, APIURL: "http://x"},
	} {
		if err := o.validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	tpl, err := newTemplates("v-1", "sweeper", "gudong", 1, 0, 8)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 5, 1, 8, 0, 0, 123456789, time.UTC)
	p := tpl.appendPayload(nil, 3, ts, 7)
	got, ok := parseTS(p)
	if !ok || !got.Equal(ts) {
		t.Errorf("parseTS = %v, %v; want %v", got, ok, ts)
	}
	if !strings.HasSuffix(string(p), `,"bench_mark":7}`) || !strings.Contains(string(p), `"lat":`) {
		t.Errorf("payload %s", p)
	}
}

func TestSumCounter(t *testing.T) {
	text := "# HELP x\nlanewatch_x_total 3\nlanewatch_x_total_other 100\nlanewatch_x_total{a=\"b\"} 4.5e+00\n"
	n, err := sumCounter(strings.NewReader(text), "lanewatch_x_total")
	if err != nil || n != 7 {
		t.Errorf("sumCounter = %d, %v; want 7", n, err)
	}
}
