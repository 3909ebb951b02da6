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

// queueSentinelID owns the shared subscription that makes mochi call OnSelectSubscribers for
// every publish (it calls the hook only when a publish matches a shared subscription). No client
// may take this id (connectAllowed), so the sentinel itself never receives anything.
const queueSentinelID = "$lanewatch/queue-bytes"

// messageOverhead is what a queued message costs besides its payload: mochi queues a pointer to
// a copy of the packets.Packet (topic strings are shared with the published packet).
const messageOverhead = int(unsafe.Sizeof(packets.Packet{}))

// queueBytesHook bounds, per subscribing client, the bytes of the messages mochi holds for it:
// QoS 0 messages from their selection for delivery until mochi has written them to the socket,
// QoS 1 and 2 messages from their storage in the client's in-flight set until acknowledged (or
// dropped). mochi bounds both only by count (max_client_writes_pending, max_inflight), so a
// subscriber that stops reading held up to count × maximum packet size (issue 14: 800 × 1 MB
// gave 1.28 GB). A message for a client whose held bytes would pass the budget is not delivered
// to it (SPEC 3: counted in lanewatch_mqtt_dropped_total{reason="queue_bytes"} and logged at
// most once a minute per client); the publisher is unaffected and still acknowledged. A client
// holding nothing always gets the next message, however large.
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
	mu    sync.Mutex
	qos0  int            // selected QoS 0 messages not yet written
	held  int            // stored QoS > 0 messages not yet acknowledged
	byID  map[uint16]int // packet id -> cost of each stored QoS > 0 message
	total int            // qos0 + held, for the check without recomputing
}

func messageCost(pk *packets.Packet) int { return len(pk.Payload) + messageOverhead }

func (h *queueBytesHook) ID() string { return "lanewatch-queue-bytes" }

func (h *queueBytesHook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnSelectSubscribers, mqtt.OnPacketSent, mqtt.OnQosPublish, mqtt.OnQosComplete,
		mqtt.OnQosDropped, mqtt.OnPublishDropped, mqtt.OnSubscribed, mqtt.OnSessionEstablished,
		mqtt.OnDisconnect,
	}, []byte{b})
}

// addQueueBytesHook installs the hook and its sentinel shared subscription; NewBroker calls it.
func (b *Broker) addQueueBytesHook() error {
	h := &queueBytesHook{b: b, limit: b.opts.MaxQueueBytes}
	b.queue = h
	b.srv.Topics.Subscribe(queueSentinelID, packets.Subscription{Filter: "$share/lanewatch-queue-bytes/#"})
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

// OnSelectSubscribers removes from a publish's delivery set every client that holds too many
// bytes already, and counts the QoS 0 deliveries it lets through (QoS > 0 ones are counted when
// mochi stores them, OnQosPublish). It also stands in for mochi's choice of shared subscribers,
// which mochi makes only when the hook selected none: the sentinel group is removed and the
// sentinel marked selected, which mochi then skips (no such client).
func (h *queueBytesHook) OnSelectSubscribers(subs *mqtt.Subscribers, pk packets.Packet) *mqtt.Subscribers {
	for filter, group := range subs.Shared {
		if _, ok := group[queueSentinelID]; ok {
			delete(group, queueSentinelID)
			if len(group) == 0 {
				delete(subs.Shared, filter)
			}
		}
	}
	if len(subs.Shared) > 0 && len(subs.SharedSelected) == 0 {
		subs.SelectShared()
	}
	cost := messageCost(&pk)
	admit := func(id string, sub packets.Subscription) bool {
		cl, ok := h.b.srv.Clients.Get(id)
		if !ok {
			return true // mochi skips it too
		}
		st := h.state(cl)
		if st == nil {
			return true
		}
		qos0 := min(pk.FixedHeader.Qos, sub.Qos) == 0
		// Count only what mochi will queue: it skips no-local echoes, ACL refusals and closed clients.
		counted := qos0 && !(sub.NoLocal && pk.Origin == id) && !cl.Closed() &&
			aclAllows(h.b, cl, pk.TopicName, false)
		held := connBuffered(cl)
		st.mu.Lock()
		defer st.mu.Unlock()
		held += st.total
		if held > 0 && held+cost > h.limit {
			h.b.m.dropped.WithLabelValues("queue_bytes").Inc()
			h.b.logs.warn("queue_bytes:"+id, "mqtt message dropped: subscriber over its queue byte budget",
				"client", id, "topic", pk.TopicName, "held_bytes", held, "limit", h.limit)
			return false
		}
		if counted {
			st.qos0 += cost
			st.total += cost
		}
		return true
	}
	for id, sub := range subs.Subscriptions {
		if id != queueSentinelID && !admit(id, sub) {
			delete(subs.Subscriptions, id)
		}
	}
	for id, sub := range subs.SharedSelected {
		if _, dup := subs.Subscriptions[id]; !dup && id != queueSentinelID && !admit(id, sub) {
			delete(subs.SharedSelected, id)
		}
	}
	if len(subs.SharedSelected) == 0 {
		// Keeps mochi from selecting shared subscribers again (possibly one refused above).
		subs.SharedSelected[queueSentinelID] = packets.Subscription{Filter: "#"}
	}
	return subs
}

// OnPacketSent releases a QoS 0 message once mochi has written it.
func (h *queueBytesHook) OnPacketSent(cl *mqtt.Client, pk packets.Packet, _ []byte) {
	if pk.FixedHeader.Type != packets.Publish || pk.FixedHeader.Qos != 0 {
		return
	}
	if st := h.state(cl); st != nil {
		st.mu.Lock()
		st.releaseQoS0(messageCost(&pk))
		st.mu.Unlock()
	}
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
		st.total -= old
	}
	if st.byID == nil {
		st.byID = map[uint16]int{}
	}
	c := messageCost(&pk)
	st.byID[pk.PacketID] = c
	st.held += c
	st.total += c
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

// OnPublishDropped releases a message mochi could not queue (its outbound queue was full). pk
// is the published packet, so the QoS it would have had is unknown: it is released as QoS 0
// (at worst an undercount), and for a QoS > 0 publish the stored ids mochi rolled back without
// a hook are released too.
func (h *queueBytesHook) OnPublishDropped(cl *mqtt.Client, pk packets.Packet) {
	st := h.state(cl)
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.releaseQoS0(messageCost(&pk))
	if pk.FixedHeader.Qos > 0 {
		for id := range st.byID {
			if _, ok := cl.State.Inflight.Get(id); !ok {
				st.release(id)
			}
		}
	}
}

func (st *queueState) releaseQoS0(c int) {
	c = min(c, st.qos0) // retained and resent messages were never counted
	st.qos0 -= c
	st.total -= c
}

func (st *queueState) release(id uint16) {
	if c, ok := st.byID[id]; ok {
		delete(st.byID, id)
		st.held -= c
		st.total -= c
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
	return n + st.total
}
