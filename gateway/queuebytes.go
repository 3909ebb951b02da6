package gateway

import (
	"bytes"
	"sync"
	"unsafe"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// DefaultMaxQueueBytes is the default per-client budget of outbound message bytes (SPEC 3.3).
const DefaultMaxQueueBytes = 8 << 20

// messageOverhead is what a queued message costs besides its payload: mochi queues a pointer to
// a copy of the packets.Packet (topic strings are shared with the published packet).
const messageOverhead = int(unsafe.Sizeof(packets.Packet{}))

// queueBytesHook bounds, per subscribing client, the bytes of the messages held for it: stored
// QoS 1 and 2 messages from their storage in the client's in-flight set until acknowledged (or
// dropped), and the bytes its connection has buffered and not yet written (asyncConn: mochi,
// patched in third_party/mochi-mqtt-server, writes deliveries straight into it, with no
// outbound queue, since those writes never wait for the peer).
// mochi bounds them only by count (max_client_writes_pending, max_inflight), so a subscriber
// that stopped reading held up to count × maximum packet size (issue 14: 800 × 1 MB gave
// 1.28 GB). Once a client holds the budget or more, the next deliveries to it are refused at
// mochi's per-delivery ACL check (SPEC 3: counted in
// lanewatch_mqtt_dropped_total{reason="queue_bytes"} and logged at most once a minute per
// client); the publisher is unaffected and still acknowledged. The budget is exceeded by at most
// the message that reached it (held twice at QoS 1: in flight and encoded in the write buffer).
type queueBytesHook struct {
	mqtt.HookBase
	b     *Broker
	limit int
	// per holds a *queueState for each connected client with subscriptions; it is created and
	// deleted on the client's own read goroutine (OnSubscribed, OnSessionEstablished,
	// OnDisconnect), so a late delivery can never recreate a departed client's entry.
	per sync.Map // *mqtt.Client -> *queueState
}

// queueState is one client's held outbound bytes.
type queueState struct {
	mu   sync.Mutex
	held int            // stored QoS > 0 messages not yet acknowledged
	byID map[uint16]int // packet id -> cost of each stored QoS > 0 message
}

func messageCost(pk *packets.Packet) int { return len(pk.Payload) + messageOverhead }

func (h *queueBytesHook) ID() string { return "lanewatch-queue-bytes" }

func (h *queueBytesHook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnQosPublish, mqtt.OnQosComplete, mqtt.OnQosDropped, mqtt.OnPublishDropped,
		mqtt.OnSubscribed, mqtt.OnSessionEstablished, mqtt.OnDisconnect,
	}, []byte{b})
}

// addQueueBytesHook installs the hook; NewBroker calls it.
func (b *Broker) addQueueBytesHook() error {
	h := &queueBytesHook{b: b, limit: b.opts.MaxQueueBytes}
	b.queue = h
	return b.srv.AddHook(h, nil)
}

func (h *queueBytesHook) state(cl *mqtt.Client) *queueState {
	if v, ok := h.per.Load(cl); ok {
		return v.(*queueState)
	}
	return nil
}

func (h *queueBytesHook) track(cl *mqtt.Client) {
	if cl.Net.Inline {
		return
	}
	h.per.LoadOrStore(cl, &queueState{})
}

// OnSubscribed starts tracking a client once it has a subscription.
func (h *queueBytesHook) OnSubscribed(cl *mqtt.Client, _ packets.Packet, _ []byte) { h.track(cl) }

// OnSessionEstablished tracks a client that resumed a session with subscriptions.
func (h *queueBytesHook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	if cl.State.Subscriptions.Len() > 0 {
		h.track(cl)
	}
}

func (h *queueBytesHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) { h.per.Delete(cl) }

// admit reports whether a message may be delivered to cl: false once cl holds the budget or
// more (the refusal is counted and logged). The main hook calls it from OnACLCheck, which mochi
// runs for every delivery to a client before queueing it (and for subscribe filters, where a
// client over its budget is refused too).
func (h *queueBytesHook) admit(cl *mqtt.Client, topic string) bool {
	st := h.state(cl)
	if st == nil {
		return true
	}
	held := connBuffered(cl)
	st.mu.Lock()
	held += st.held
	st.mu.Unlock()
	if held < h.limit {
		return true
	}
	h.b.m.dropped.WithLabelValues("queue_bytes").Inc()
	h.b.logs.warn("queue_bytes:"+cl.ID, "mqtt message dropped: subscriber over its queue byte budget",
		"client", cl.ID, "topic", topic, "held_bytes", held, "limit", h.limit)
	return false
}

// OnQosPublish counts a QoS > 0 message stored for the client (a resend of one already counted
// carries the dup flag and is not counted again).
func (h *queueBytesHook) OnQosPublish(cl *mqtt.Client, pk packets.Packet, _ int64, _ int) {
	if pk.FixedHeader.Type != packets.Publish {
		return
	}
	st := h.state(cl)
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if old, ok := st.byID[pk.PacketID]; ok {
		if pk.FixedHeader.Dup {
			return
		}
		st.held -= old // the id was freed without a hook (mochi's queue-full rollback) and reused
	}
	if st.byID == nil {
		st.byID = map[uint16]int{}
	}
	c := messageCost(&pk)
	st.byID[pk.PacketID] = c
	st.held += c
}

// OnQosComplete releases an acknowledged QoS > 0 message.
func (h *queueBytesHook) OnQosComplete(cl *mqtt.Client, pk packets.Packet) {
	h.releaseID(cl, pk.PacketID)
}

// OnQosDropped releases a QoS > 0 message mochi gave up on.
func (h *queueBytesHook) OnQosDropped(cl *mqtt.Client, pk packets.Packet) {
	h.releaseID(cl, pk.PacketID)
}

func (h *queueBytesHook) releaseID(cl *mqtt.Client, id uint16) {
	if st := h.state(cl); st != nil {
		st.mu.Lock()
		st.release(id)
		st.mu.Unlock()
	}
}

// OnPublishDropped: mochi could not queue a message (its outbound queue was full); for a QoS > 0
// one it rolled back the stored message without a hook, so the ids no longer stored are
// released.
func (h *queueBytesHook) OnPublishDropped(cl *mqtt.Client, pk packets.Packet) {
	st := h.state(cl)
	if st == nil || pk.FixedHeader.Qos == 0 {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for id := range st.byID {
		if _, ok := cl.State.Inflight.Get(id); !ok {
			st.release(id)
		}
	}
}

func (st *queueState) release(id uint16) {
	if c, ok := st.byID[id]; ok {
		delete(st.byID, id)
		st.held -= c
	}
}

// connBuffered returns the bytes cl's connection has buffered and not yet written (asyncConn).
func connBuffered(cl *mqtt.Client) int {
	if g, ok := cl.Net.Conn.(*connectGuard); ok && g.async != nil {
		return g.async.Buffered()
	}
	return 0
}

// heldBytes returns the bytes held for cl (tests).
func (h *queueBytesHook) heldBytes(cl *mqtt.Client) int {
	n := connBuffered(cl)
	st := h.state(cl)
	if st == nil {
		return n
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return n + st.held
}
