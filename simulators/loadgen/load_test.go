package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
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
func startBroker(t *testing.T) string { return startBrokerWith(t) }

// startBrokerWith is startBroker with extra hooks.
func startBrokerWith(t *testing.T, hooks ...mqtt.Hook) string {
	t.Helper()
	addr := testenv.FreeAddr(t)
	s := mqtt.New(&mqtt.Options{InlineClient: false})
	for _, hook := range append([]mqtt.Hook{new(allowAll)}, hooks...) {
		if err := s.AddHook(hook, nil); err != nil {
			t.Fatal(err)
		}
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
		out = append(out, Client{ID: fmt.Sprintf("v-%03d", i), District: "xiqu", Password: "secret"})
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
	tpl, err := newTemplates("v-1", "sweeper", "xiqu", 1, 0, 8)
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

// countingHook records, per client id, the telemetry publishes a broker received.
type countingHook struct {
	mqtt.HookBase
	mu  sync.Mutex
	got map[string]int
}

func (*countingHook) ID() string           { return "counting" }
func (*countingHook) Provides(b byte) bool { return b == mqtt.OnPublish }
func (h *countingHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if strings.HasSuffix(pk.TopicName, "/telemetry") {
		h.mu.Lock()
		h.got[cl.ID]++
		h.mu.Unlock()
	}
	return pk, nil
}

// startCountingBroker is startBroker with a hook counting each client's telemetry.
func startCountingBroker(t *testing.T) (string, *countingHook) {
	t.Helper()
	h := &countingHook{got: map[string]int{}}
	return startBrokerWith(t, h), h
}

// metricsServer serves a counter whose value is the sum of the telemetry the hook counted,
// as one lanewatch node's /metrics would.
func metricsServer(t *testing.T, h *countingHook) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h.mu.Lock()
		n := 0
		for _, v := range h.got {
			n += v
		}
		h.mu.Unlock()
		fmt.Fprintf(w, "# TYPE lw_points_total counter\nlw_points_total{writer=\"0\"} %d\n", n)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

func TestRunSpreadsClientsOverBrokersAndSumsMetrics(t *testing.T) {
	var addrs, urls []string
	var hooks []*countingHook
	for range 3 {
		a, h := startCountingBroker(t)
		addrs, hooks = append(addrs, a), append(hooks, h)
		urls = append(urls, metricsServer(t, h))
	}
	for _, qos := range []byte{0, 1} {
		t.Run(fmt.Sprintf("qos%d", qos), func(t *testing.T) {
			for _, h := range hooks {
				h.mu.Lock()
				clear(h.got)
				h.mu.Unlock()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			const clientN, messages = 7, 1403 // 1403 = 7*200 + 3: clients 0-2 send 201
			rep, err := Run(ctx, Options{Addrs: addrs, Clients: clients(clientN), Messages: messages, QoS: qos,
				Subscriber: &Credentials{ClientID: "sub", Username: "sub"}, SampleClients: 4,
				MetricsURLs: urls, Metric: "lw_points_total", ProcessTimeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			// Client i published all of its share to broker i mod 3 and nothing elsewhere.
			for i, c := range clients(clientN) {
				for b, h := range hooks {
					h.mu.Lock()
					got := h.got[c.ID]
					h.mu.Unlock()
					want := 0
					if b == i%3 {
						want = share(messages, clientN, i)
					}
					if got != want {
						t.Errorf("client %d on broker %d: %d publishes, want %d", i, b, got, want)
					}
				}
			}
			// Every broker's counter alone is below the total; only their sum reaches it.
			if rep.Processed != messages || rep.ProcessedRate <= 0 {
				t.Errorf("processed %d at %.0f/s, want %d summed over the brokers", rep.Processed, rep.ProcessedRate, messages)
			}
			if rep.Sent != messages || !slices.Equal(rep.Brokers, addrs) {
				t.Errorf("sent %d to %v, want %d to %v", rep.Sent, rep.Brokers, messages, addrs)
			}
			// Sampled clients 0-3 sit on brokers 0, 1, 2, 0: one subscriber per broker gets them all.
			if want := int64(201*3 + 200); rep.SubscriberExpects != want || rep.SubscriberGot != want {
				t.Errorf("subscribers got %d of %d, want %d", rep.SubscriberGot, rep.SubscriberExpects, want)
			}
		})
	}
}

func TestRunNamesTheBadBroker(t *testing.T) {
	good := startBroker(t)
	down := testenv.FreeAddr(t) // nothing listens there
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Run(ctx, Options{Addrs: []string{good, down}, Clients: clients(4), Messages: 40})
	if err == nil || !strings.Contains(err.Error(), "broker "+down+":") {
		t.Errorf("error %v does not name the broker %s", err, down)
	}
	for _, bad := range []string{"nohost", "127.0.0.1:0", ""} {
		_, err := Run(ctx, Options{Addrs: []string{good, bad}, Clients: clients(2), Messages: 2})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("address %q: error %v does not name it", bad, err)
		}
	}
	_, err = Run(ctx, Options{Addrs: []string{good}, Clients: clients(2), Messages: 2,
		MetricsURLs: []string{"http://127.0.0.1:1/metrics", "127.0.0.1:2/metrics"}, Metric: "m"})
	if err == nil || !strings.Contains(err.Error(), `"127.0.0.1:2/metrics"`) {
		t.Errorf("bad metrics URL: error %v does not name it", err)
	}
	// The counter must come from every endpoint: one that cannot be scraped is named.
	hc := &http.Client{Timeout: time.Second}
	r := &run{o: Options{MetricsURLs: []string{metricsServer(t, &countingHook{got: map[string]int{}}), "http://" + down + "/metrics"},
		Metric: "lw_points_total", HTTPClient: hc}}
	if _, err := r.scrapeAll(ctx, make([]int64, 2)); err == nil || !strings.Contains(err.Error(), down) {
		t.Errorf("scrape error %v does not name %s", err, down)
	}
}

// deafHook lets clients subscribe but delivers nothing to them (a subscriber that falls short).
type deafHook struct{ mqtt.HookBase }

func (*deafHook) ID() string           { return "deaf" }
func (*deafHook) Provides(b byte) bool { return b == mqtt.OnSubscribe }
func (*deafHook) OnSubscribe(_ *mqtt.Client, pk packets.Packet) packets.Packet {
	for i := range pk.Filters {
		pk.Filters[i].Filter = "nothing/matches/this"
	}
	return pk
}

// TestRunEndsWhenSeveralSubscribersFallShort: with two brokers whose subscribers receive
// nothing, Run gives the subscribers one grace period in total and returns (it used to wait
// forever for the second one).
func TestRunEndsWhenSeveralSubscribersFallShort(t *testing.T) {
	addrs := []string{startBrokerWith(t, new(deafHook)), startBrokerWith(t, new(deafHook))}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, Options{Addrs: addrs, Clients: clients(4), Messages: 400, QoS: 1,
		Subscriber: &Credentials{ClientID: "sub", Username: "sub"}, SampleClients: 4})
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run returned only when the test's context ended")
	}
	if rep.SubscriberGot != 0 || rep.SubscriberExpects != 400 {
		t.Errorf("subscribers got %d of %d, want 0 of 400", rep.SubscriberGot, rep.SubscriberExpects)
	}
}
