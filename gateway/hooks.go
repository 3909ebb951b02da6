package gateway

import (
	"bytes"
	"context"
	"net"
	"strings"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/lanewatch/lanewatch"
)

// hook is lanewatch's mochi hook: authentication, ACL, presence, the durable publish path and
// drop accounting. It runs on each client's goroutine, so blocking here back-pressures exactly
// the client that publishes.
type hook struct {
	mqtt.HookBase
	b *Broker
}

func (h *hook) ID() string { return "lanewatch" }

func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnSessionEstablished, mqtt.OnDisconnect,
		mqtt.OnPublish, mqtt.OnPublishDropped, mqtt.OnQosDropped,
	}, []byte{b})
}

func remoteIP(cl *mqtt.Client) string {
	host, _, err := net.SplitHostPort(cl.Net.Remote)
	if err != nil {
		return cl.Net.Remote
	}
	return host
}

// OnConnectAuthenticate checks the CONNECT credentials: a device id and password, or a
// configured subscriber. Password checks go through the auth gate (a bounded number at once,
// one per second for an address after 5 failures); failures from one address are slowed down
// progressively. An authenticated client must also own its client id and may
// declare only a Last Will its ACL allows (SPEC 3.3).
func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	b := h.b
	if g, ok := cl.Net.Conn.(*connectGuard); ok {
		defer g.authDone() // after any held refusal: a held connection still counts as pending
	}
	user, pass := string(pk.Connect.Username), string(pk.Connect.Password)
	ip := remoteIP(cl)
	ok := false
	switch b.gate.check(b.ctx, ip, b.opts.Now, func() bool {
		if s, isSub := b.subs[user]; isSub {
			ok = b.opts.CheckSubscriber != nil && b.opts.CheckSubscriber(s.PasswordHash, pass)
		} else if _, err := b.opts.Auth.Authenticate(b.ctx, user, pass); err == nil {
			ok = true
		} else if lanewatch.ErrorCode(err) != lanewatch.EUnauthorized {
			b.logger.Error("authenticate device", "device", user, "err", err)
		}
		return ok
	}) {
	case notChecked:
		return false
	case throttled:
		b.m.authThrottled.Inc()
		// Hold the refusal (a tarpit), so a flood of connections cannot churn the CPU with
		// connect-refuse cycles either.
		b.opts.Sleep(b.ctx, min(5*b.opts.AuthFailureDelay, 5*time.Second))
		return false
	case checkPassed:
		b.failures.Reset(ip)
		return h.connectAllowed(cl, pk, user)
	}
	n := b.failures.Fail(ip, b.opts.Now())
	b.m.authFailures.Inc()
	delay := b.opts.AuthFailureDelay << min(n-1, 5)
	delay = min(delay, 5*time.Second)
	b.opts.Sleep(b.ctx, delay)
	return false
}

// connectAllowed applies the rules beyond the password: a client id that is another device's id
// belongs to that device, a connected or stored session belongs to the user that made it (no
// takeover by another user, which would kick the owner off and leave presence wrong), and the
// Last Will's topic passes the publish ACL (mochi's OnWill cannot cancel a will, so it is checked
// when declared and the CONNECT refused).
func (h *hook) connectAllowed(cl *mqtt.Client, pk packets.Packet, user string) bool {
	b := h.b
	if id := pk.Connect.ClientIdentifier; id != "" && id != user {
		if _, err := b.opts.Devices.Lookup(b.ctx, id); err == nil {
			b.m.connectRefused.WithLabelValues("client_id").Inc()
			b.logs.warn("client_id:"+user, "mqtt client id of another device refused", "user", user, "client_id", id)
			return false
		}
	}
	if old, ok := b.srv.Clients.Get(cl.ID); ok && string(old.Properties.Username) != user {
		b.m.connectRefused.WithLabelValues("takeover").Inc()
		b.logs.warn("takeover:"+user, "mqtt session takeover by another user refused", "user", user, "client_id", cl.ID)
		return false
	}
	if pk.Connect.WillFlag && !h.OnACLCheck(cl, pk.Connect.WillTopic, true) {
		b.m.connectRefused.WithLabelValues("will").Inc()
		return false
	}
	return true
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// OnACLCheck enforces SPEC 3: a device publishes only under {kind}/{its id}/... or
// devices/{its id}/status, and subscribes only to devices/{its id}/commands/#. A subscriber
// may subscribe to its allowed filters and never publish.
func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if cl.Net.Inline {
		return true
	}
	b := h.b
	user := string(cl.Properties.Username)
	allowed := false
	if s, isSub := b.subs[user]; isSub {
		allowed = !write && subscriberAllows(s.Allow, topic)
	} else {
		allowed = deviceAllows(b, user, topic, write)
	}
	// mochi runs this check for every delivery before queueing it: a client over its queue byte
	// budget gets nothing more (counted and logged as a drop, not as an ACL refusal).
	if allowed && !write && !b.queue.admit(cl, topic) {
		return false
	}
	if !allowed {
		op := "subscribe"
		if write {
			op = "publish"
		}
		b.m.aclDenied.WithLabelValues(op).Inc()
		b.logs.warn("acl:"+user, "acl denied", "user", user, "topic", topic, "op", op)
	}
	return allowed
}

func deviceAllows(b *Broker, id, topic string, write bool) bool {
	if !write {
		prefix := "devices/" + id + "/commands"
		return topic == prefix+"/#" || topic == prefix || strings.HasPrefix(topic, prefix+"/")
	}
	if strings.ContainsAny(topic, "+#") {
		return false
	}
	first, rest, _ := strings.Cut(topic, "/")
	tid, _, _ := strings.Cut(rest, "/")
	if tid != id {
		return false
	}
	if first == "devices" {
		return topic == "devices/"+id+"/status" || b.commandResponseAllowed(id, topic)
	}
	d, err := b.opts.Devices.Lookup(b.ctx, id)
	if err != nil {
		return false
	}
	return first == d.Type.TopicKind()
}

// subscriberAllows reports whether the filter requested is within one of the allowed filters.
func subscriberAllows(allow []string, filter string) bool {
	for _, a := range allow {
		if filterCovers(a, filter) {
			return true
		}
	}
	return false
}

// filterCovers reports whether every topic matched by f is matched by allowed.
func filterCovers(allowed, f string) bool {
	ap, fp := strings.Split(allowed, "/"), strings.Split(f, "/")
	for i, a := range ap {
		if a == "#" {
			return true
		}
		if i >= len(fp) {
			return false
		}
		switch {
		case a == "+":
			if fp[i] == "#" {
				return false
			}
		case a != fp[i]:
			return false
		}
	}
	return len(ap) == len(fp)
}

func (h *hook) OnSessionEstablished(cl *mqtt.Client, pk packets.Packet) {
	h.b.m.connected.Inc()
	if user := string(cl.Properties.Username); user != "" {
		if _, isSub := h.b.subs[user]; !isSub {
			h.b.opts.Devices.SetOnline(user, true, h.b.opts.Now())
		}
	}
}

func (h *hook) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	if cl.Net.Inline {
		return
	}
	h.b.closeAcker(cl)
	h.b.m.connected.Dec()
	if cl.IsTakenOver() { // the same device reconnected; the new session owns presence
		return
	}
	if user := string(cl.Properties.Username); user != "" {
		if _, isSub := h.b.subs[user]; !isSub {
			h.b.opts.Devices.SetOnline(user, false, h.b.opts.Now())
		}
	}
}

// OnPublish appends a device's message to the journal. For QoS 1 and 2 it returns only after the
// record is synced, so mochi acknowledges only what is durable; while the journal is full it
// blocks, which slows exactly this publisher.
func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	// mochi decodes the topic as a string sharing the packet's read buffer, and every copy it
	// queues or keeps in flight for a subscriber shares that string: without a copy, each held
	// message would keep the whole packet (its payload a second time) alive.
	pk.TopicName = strings.Clone(pk.TopicName)
	b := h.b
	user := string(cl.Properties.Username)
	kind, id, ok := parseTopic(pk.TopicName)
	if !ok || id != user {
		// The ACL already refused it; nothing to ingest.
		return pk, nil
	}
	if handled, err := b.commandResponse(cl, pk, id); handled {
		return pk, err
	}
	if pk.FixedHeader.Retain && !b.retained.admit(id, pk.TopicName, len(pk.Payload)) {
		pk.FixedHeader.Retain = false // delivered, not kept
		b.m.retainedRefused.Inc()
		b.logs.warn("retained:"+id, "retained message over the device's limit not retained", "device", id, "topic", pk.TopicName)
	}
	r := record{Kind: kind, QoS: pk.FixedHeader.Qos, Received: b.opts.Now(), DeviceID: id, Payload: pk.Payload}
	if kind == "" {
		r.Topic = pk.TopicName
	}
	buf := appendRecord(make([]byte, 0, 32+len(id)+len(r.Topic)+len(pk.Payload)), &r)
	if aj, ok := b.opts.Journal.(AsyncJournal); ok && pk.FixedHeader.Qos == 1 {
		return h.publishAsync(cl, pk, aj, buf)
	}
	start := time.Now()
	if _, err := b.opts.Journal.Append(b.ctx, buf, pk.FixedHeader.Qos > 0); err != nil {
		b.m.journalErrors.Inc()
		b.logger.Error("journal append", "device", id, "err", err)
		// Not acknowledged: the client retransmits after reconnecting.
		return pk, packets.ErrRejectPacket
	}
	b.m.appendSeconds.Observe(time.Since(start).Seconds())
	return pk, nil
}

// publishAsync appends a QoS 1 publish in order and leaves its PUBACK to the client's acker,
// which sends it after the sync. mochi is told to skip the packet (ErrRejectPacket): it then
// neither acknowledges nor forwards it; the acker does both once the record is durable.
func (h *hook) publishAsync(cl *mqtt.Client, pk packets.Packet, aj AsyncJournal, rec []byte) (packets.Packet, error) {
	b := h.b
	_, sync, err := aj.AppendAsync(b.ctx, rec)
	if err != nil {
		b.m.journalErrors.Inc()
		b.logger.Error("journal append", "device", string(cl.Properties.Username), "err", err)
		return pk, packets.ErrRejectPacket
	}
	a := b.ackerFor(cl)
	p := pendingAck{id: pk.PacketID, topic: pk.TopicName, payload: pk.Payload, retain: pk.FixedHeader.Retain,
		qos: pk.FixedHeader.Qos, sync: sync}
	select {
	case a.ch <- p:
	case <-b.ctx.Done():
	}
	return pk, packets.ErrRejectPacket
}

// OnPublishDropped counts a message mochi dropped for a subscriber that fell behind.
func (h *hook) OnPublishDropped(cl *mqtt.Client, pk packets.Packet) {
	h.b.m.dropped.WithLabelValues("publish_dropped").Inc()
	h.b.logs.warn("publish_dropped:"+cl.ID, "mqtt message dropped for slow subscriber", "client", cl.ID, "topic", pk.TopicName)
}

// OnQosDropped counts a QoS message mochi gave up on (inflight expiry or limit).
func (h *hook) OnQosDropped(cl *mqtt.Client, pk packets.Packet) {
	h.b.m.dropped.WithLabelValues("qos_dropped").Inc()
	h.b.logs.warn("qos_dropped:"+cl.ID, "mqtt qos message dropped", "client", cl.ID, "topic", pk.TopicName)
}
