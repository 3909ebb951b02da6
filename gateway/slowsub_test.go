package gateway

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

// liveHeap returns the heap in use by live objects after a full GC.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestAttackSlowSubscriber: two dashboard subscribers that never read (paho clients whose message
// handler blocks: one subscribed at QoS 0, one at QoS 1) and one that reads, while a device
// publishes 300 QoS 1 messages of 200 KiB (60 MB). The broker may hold at most the queue byte
// budget (8 MiB by default) for each stalled subscriber: the heap grows by at most the two
// budgets plus slack, the messages beyond are dropped and counted, the reading subscriber gets
// every message and the device every PUBACK. Before (a count bound only: 1,024 queued, 1,024
// in flight), each stalled subscriber held all 300 messages: ~120 MB.
func TestAttackSlowSubscriber(t *testing.T) {
	const (
		n    = 300
		size = 200 << 10
	)
	b, addr := startBroker(t, Options{Auth: passAuth{"sw-1", "right-pass"},
		Subscribers:     []Subscriber{{Username: "dash", PasswordHash: "h", Allow: []string{"vehicles/#"}}},
		CheckSubscriber: func(h, p string) bool { return h == "h" && p == "dash-pass" }})
	mk := func(id, user, pass string) paho.Client {
		c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
			SetUsername(user).SetPassword(pass).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
		if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("%s connect: %v", id, tok.Error())
		}
		return c
	}
	subscribe := func(c paho.Client, qos byte, h paho.MessageHandler) {
		if tok := c.Subscribe("vehicles/#", qos, h); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	release := make(chan struct{})
	stalled := func(paho.Client, paho.Message) { <-release } // paho stops reading its socket
	slow0, slow1 := mk("dash-slow-0", "dash", "dash-pass"), mk("dash-slow-1", "dash", "dash-pass")
	subscribe(slow0, 0, stalled)
	subscribe(slow1, 1, stalled)
	got := make(chan int, n)
	calm := mk("dash-calm", "dash", "dash-pass")
	subscribe(calm, 1, func(_ paho.Client, m paho.Message) { got <- len(m.Payload()) })
	dev := mk("sw-1", "sw-1", "right-pass")
	defer func() {
		close(release)
		for _, c := range []paho.Client{dev, calm, slow0, slow1} {
			c.Disconnect(50)
		}
	}()

	before := liveHeap()
	payload := strings.Repeat("x", size)
	for i := range n {
		tok := dev.Publish("vehicles/sw-1/telemetry", 1, false, payload)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %d not acknowledged: %v", i, tok.Error())
		}
		// The reading subscriber keeps pace; waiting for it keeps it within its own budget.
		select {
		case l := <-got:
			if l != size {
				t.Fatalf("calm subscriber got %d bytes, want %d", l, size)
			}
		case <-time.After(10 * time.Second):
			var hs []int
			for _, id := range []string{"dash-slow-0", "dash-slow-1", "dash-calm"} {
				if cl, ok := b.srv.Clients.Get(id); ok {
					hs = append(hs, b.queue.heldBytes(cl))
				}
			}
			t.Fatalf("calm subscriber did not get message %d of %d (held %v, dropped %v %v)", i, n, hs,
				testutil.ToFloat64(b.m.dropped.WithLabelValues("queue_bytes")), testutil.ToFloat64(b.m.dropped.WithLabelValues("publish_dropped")))
		}
	}
	grew := int64(liveHeap()) - int64(before)
	dropped := testutil.ToFloat64(b.m.dropped.WithLabelValues("queue_bytes"))
	var held []int
	for _, id := range []string{"dash-slow-0", "dash-slow-1"} {
		cl, ok := b.srv.Clients.Get(id)
		if !ok {
			t.Fatalf("%s not connected", id)
		}
		held = append(held, b.queue.heldBytes(cl))
	}
	t.Logf("%d × %d KiB published: heap grew %.1f MiB with two stalled subscribers (budget %d MiB each); held %v bytes; %v dropped",
		n, size>>10, float64(grew)/(1<<20), DefaultMaxQueueBytes>>20, held, dropped)
	for i, h := range held {
		// Over by at most the message that reached the budget: at QoS 1 it is held twice, in
		// flight and encoded in the connection's write buffer.
		if h > DefaultMaxQueueBytes+2*(size+messageOverhead+64) {
			t.Errorf("stalled subscriber %d holds %d bytes, budget %d", i, h, DefaultMaxQueueBytes)
		}
	}
	// Two budgets, plus slack for what the stalled paho clients read before they stopped and
	// for the reading subscriber's last message.
	if bound := int64(2*DefaultMaxQueueBytes + 8<<20); grew > bound {
		t.Errorf("heap grew %d MiB with two stalled subscribers, bound %d MiB", grew>>20, bound>>20)
	}
	// Each stalled subscriber gets about budget/size messages (40), plus what the socket buffers
	// take at QoS 0; the rest are dropped and counted: well over half of the 600 deliveries.
	if dropped < n {
		t.Errorf("%v messages counted as dropped for the stalled subscribers, want at least %d", dropped, n)
	}
}

// TestAttackStalledWebSocketSubscriber: a WebSocket subscriber that stops reading must not hold
// up a device publishing to its topics. lanewatch's mochi fork writes deliveries from the
// publishing goroutine only on connections whose writes never block (TCP and TLS, asyncConn);
// a WebSocket connection keeps mochi's outbound queue and write goroutine, which absorbs the
// stall. Were a WebSocket client given direct writes, the publisher would block in the write to
// the stalled socket and its PUBACKs stop. With a QoS 1 subscription the publisher also stopped
// (publish 26 of 150 unacknowledged) until the fork's NextPacketID got a lock of its own: it
// took the client's lock, which the stalled write goroutine holds.
func TestAttackStalledWebSocketSubscriber(t *testing.T) {
	for _, q := range []byte{0, 1} {
		t.Run(fmt.Sprintf("qos%d", q), func(t *testing.T) { stalledWS(t, q) })
	}
}

func stalledWS(t *testing.T, subQoS byte) {
	const (
		n    = 150 // × 200 KiB: well over what the loopback socket buffers and paho take
		size = 200 << 10
	)
	ws := testenv.FreeAddr(t)
	_, addr := startBroker(t, Options{Auth: passAuth{"sw-1", "right-pass"}, WSAddr: ws,
		Subscribers:     []Subscriber{{Username: "dash", PasswordHash: "h", Allow: []string{"vehicles/#"}}},
		CheckSubscriber: func(h, p string) bool { return h == "h" && p == "dash-pass" }})
	mk := func(broker, id, user, pass string) paho.Client {
		var err error
		// The WebSocket listener's HTTP server starts on its own goroutine (slowly under -race
		// on a busy machine): retry for up to 10 s, with a fresh client each time.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID(id).
				SetUsername(user).SetPassword(pass).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
			tok := c.Connect()
			if tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
				return c
			}
			err = tok.Error()
		}
		t.Fatalf("%s connect: %v", id, err)
		return nil
	}
	release := make(chan struct{})
	slow := mk("ws://"+ws+"/mqtt", "dash-ws-slow", "dash", "dash-pass")
	if tok := slow.Subscribe("vehicles/#", subQoS, func(paho.Client, paho.Message) { <-release }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	dev := mk("tcp://"+addr, "sw-1", "sw-1", "right-pass")
	defer func() {
		close(release)
		dev.Disconnect(50)
		slow.Disconnect(50)
	}()
	payload := strings.Repeat("x", size)
	for i := range n {
		tok := dev.Publish("vehicles/sw-1/telemetry", 1, false, payload)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %d of %d not acknowledged with a stalled WebSocket subscriber: %v", i, n, tok.Error())
		}
	}
}
