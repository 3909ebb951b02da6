package gateway

import (
	"context"
	"fmt"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Syncer is the pending durability of one journal record.
type Syncer interface {
	// Wait blocks until the record is durable and returns the sync's error, or ctx's.
	Wait(ctx context.Context) error
	// Done is closed once the sync has finished, successfully or not (wal.Sync has it).
	Done() <-chan struct{}
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

// maxAckBatch bounds the PUBACKs written with one write(2).
const maxAckBatch = 256

// runAcker sends the PUBACKs of cl in publish order. After the first pending ack's sync
// completes it also takes, without blocking, every further queued ack whose sync is already
// done (they usually share the group commit) and writes them together: one write(2) for the
// batch instead of one per 4-byte PUBACK, when that is safe (see writeAcks).
func (b *Broker) runAcker(cl *mqtt.Client, a *acker) {
	var (
		failed bool
		carry  pendingAck // an ack taken from the queue whose sync was not done yet
		have   bool
		batch  = make([]pendingAck, 0, 16)
		buf    []byte
	)
	for {
		var p pendingAck
		if have {
			p, have = carry, false
		} else {
			var ok bool
			if p, ok = <-a.ch; !ok {
				return
			}
		}
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
		batch = append(batch[:0], p)
		closed := false
	drain:
		for len(batch) < maxAckBatch {
			select {
			case q, ok := <-a.ch:
				if !ok {
					closed = true
					break drain
				}
				if !syncedOK(q.sync) {
					// Not done (or failed): it becomes the head and is waited for (or
					// reported) after this batch is written.
					carry, have = q, true
					break drain
				}
				batch = append(batch, q)
			default:
				break drain
			}
		}
		var err error
		if buf, err = writeAcks(cl, batch, buf); err != nil {
			failed = true // connection gone; the client resends after reconnecting
		} else {
			// Deliver to other subscribers (dashboards, bridges) only once durable, as mochi
			// would have after its own acknowledgement.
			for _, q := range batch {
				if err := b.srv.Publish(q.topic, q.payload, q.retain, q.qos); err != nil {
					b.logger.Warn("forward to subscribers", "topic", q.topic, "err", err)
				}
			}
		}
		clear(batch) // drop payload references
		if closed {
			return
		}
	}
}

// syncedOK reports, without blocking, whether s has finished successfully.
func syncedOK(s Syncer) bool {
	select {
	case <-s.Done():
		return s.Wait(context.Background()) == nil // returns at once: it is done
	default:
		return false
	}
}

// writeAcks writes the PUBACKs of batch in order and returns buf for reuse.
//
// Several PUBACKs to an MQTT 3.1.1 client are encoded here (4 bytes each) and written with one
// write(2) under the client's lock. That lock is the one mochi's WritePacket holds while it
// writes, so packets are never interleaved byte-wise; but WritePacket may also leave whole
// packets in a private buffer (cl.Net.outbuf) while the client's outbound queue is not empty,
// and a direct write would overtake them. That queue only ever holds deliveries to the
// client's subscriptions and its outbound QoS messages, so the direct write is used only when
// the client has neither subscriptions nor in-flight outbound messages (devices that only
// publish); otherwise, for MQTT 5 (PUBACK properties, maximum packet size) and for a single
// ack, every PUBACK goes through mochi's WritePacket as before.
func writeAcks(cl *mqtt.Client, batch []pendingAck, buf []byte) ([]byte, error) {
	if len(batch) > 1 && cl.Properties.ProtocolVersion < 5 {
		buf = buf[:0]
		for _, p := range batch {
			buf = append(buf, packets.Puback<<4, 2, byte(p.id>>8), byte(p.id))
		}
		done, err := writeRaw(cl, buf)
		if done || err != nil {
			return buf, err
		}
	}
	for _, p := range batch {
		ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: p.id}
		if err := cl.WritePacket(ack); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// writeRaw writes b to cl's connection under its lock if nothing of mochi's can be waiting in
// the client's write buffer; done is false when it did not write.
func writeRaw(cl *mqtt.Client, b []byte) (done bool, err error) {
	// Checked before taking the client's lock, so that no other lock is ever taken under it.
	// A SUBSCRIBE racing with this check cannot have queued anything yet: its deliveries
	// follow its SUBACK, which mochi writes (and flushes) itself.
	if cl.State.Subscriptions.Len() > 0 || cl.State.Inflight.Len() > 0 {
		return false, nil
	}
	cl.Lock()
	defer cl.Unlock()
	if cl.Closed() {
		return true, mqtt.ErrConnectionClosed
	}
	if cl.Net.Conn == nil {
		return false, nil
	}
	if _, err := cl.Net.Conn.Write(b); err != nil {
		return true, fmt.Errorf("write %d PUBACKs: %w", len(b)/4, err)
	}
	return true, nil
}
