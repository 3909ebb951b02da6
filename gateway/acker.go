package gateway

import (
	"context"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Syncer is the pending durability of one journal record.
type Syncer interface {
	Wait(ctx context.Context) error
}

// AsyncJournal is a Journal that can hand out a record's place in the sequence before its fsync.
// With it the publish hook does not hold a client's read loop for each fsync: it appends in
// publish order and a per-client acker sends each PUBACK, in order, once its record is synced.
// A client's whole in-flight window then shares group commits, which is what makes QoS 1
// throughput a multiple of 1/fsync-time per client.
type AsyncJournal interface {
	Journal
	AppendAsync(ctx context.Context, rec []byte) (uint64, Syncer, error)
}

// ackQueue bounds the QoS 1 publishes of one client waiting for their sync; when it is full the
// hook blocks, which stalls that client's reads (back-pressure).
const ackQueue = 1024

type pendingAck struct {
	id      uint16
	topic   string
	payload []byte
	retain  bool
	qos     byte
	sync    Syncer
}

// acker sends one client's PUBACKs in publish order once each record is durable, then forwards
// the message to subscribers.
type acker struct {
	ch chan pendingAck
}

// ackerFor returns the acker of cl, starting it on first use. It is called only on cl's read
// goroutine, and closeAcker on the same goroutine after the read loop ends, so a send on a
// closed channel cannot happen.
func (b *Broker) ackerFor(cl *mqtt.Client) *acker {
	b.mu.Lock()
	defer b.mu.Unlock()
	if a := b.ackers[cl]; a != nil {
		return a
	}
	a := &acker{ch: make(chan pendingAck, ackQueue)}
	b.ackers[cl] = a
	b.ackWG.Go(func() { b.runAcker(cl, a) })
	return a
}

func (b *Broker) closeAcker(cl *mqtt.Client) {
	b.mu.Lock()
	a := b.ackers[cl]
	delete(b.ackers, cl)
	b.mu.Unlock()
	if a != nil {
		close(a.ch)
	}
}

func (b *Broker) runAcker(cl *mqtt.Client, a *acker) {
	failed := false
	for p := range a.ch {
		if failed {
			continue // the client is being disconnected; it will resend what was not acked
		}
		if err := p.sync.Wait(b.ctx); err != nil {
			b.m.journalErrors.Inc()
			b.logger.Error("journal sync; disconnecting client so it resends", "client", cl.ID, "err", err)
			failed = true
			_ = b.srv.DisconnectClient(cl, packets.ErrUnspecifiedError)
			continue
		}
		ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: p.id}
		if err := cl.WritePacket(ack); err != nil {
			failed = true // connection gone; the client resends after reconnecting
			continue
		}
		// Deliver to other subscribers (dashboards, bridges) only once durable, as mochi
		// would have after its own acknowledgement.
		if err := b.srv.Publish(p.topic, p.payload, p.retain, p.qos); err != nil {
			b.logger.Warn("forward to subscribers", "topic", p.topic, "err", err)
		}
	}
}
