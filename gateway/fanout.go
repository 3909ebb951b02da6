package gateway

import (
	"bytes"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Fanout carries the messages this broker delivers to its subscribers to the other nodes'
// brokers (the bridge package, over NATS). Export must not block: it runs on the publishing
// client's goroutine (or its acker's).
type Fanout interface {
	Export(topic string, payload []byte, qos byte, retain bool)
}

// fanoutHook exports every message delivered to this broker's subscribers, except those that
// came from another node (published through the import client: no loop) and commands (each
// node delivers those itself, from the store).
type fanoutHook struct {
	mqtt.HookBase
	b   *Broker
	imp *mqtt.Client
}

func (h *fanoutHook) ID() string { return "lanewatch-fanout" }

func (h *fanoutHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnPublished}, []byte{b})
}

func (h *fanoutHook) OnPublished(cl *mqtt.Client, pk packets.Packet) {
	f := h.b.opts.Fanout
	if f == nil || cl == h.imp || pk.Ignore || strings.HasPrefix(pk.TopicName, "$") || isCommandTopic(pk.TopicName) {
		return
	}
	if !cl.Net.Inline && pk.FixedHeader.Qos > 0 {
		// A device's QoS 1 publish is forwarded by its acker once durable (an inline publish),
		// which is exported then; this one only happens with a journal without AppendAsync.
		if _, ok := h.b.opts.Journal.(AsyncJournal); ok {
			return
		}
	}
	f.Export(pk.TopicName, pk.Payload, pk.FixedHeader.Qos, pk.FixedHeader.Retain)
}

// isCommandTopic reports whether topic is devices/{id}/commands/...
func isCommandTopic(topic string) bool {
	rest, ok := strings.CutPrefix(topic, "devices/")
	if !ok {
		return false
	}
	_, sub, _ := strings.Cut(rest, "/")
	return strings.HasPrefix(sub, "commands/") || sub == "commands"
}

// addFanoutHook installs the fanout hook and its import client; NewBroker calls it.
func (b *Broker) addFanoutHook() error {
	h := &fanoutHook{b: b, imp: b.srv.NewClient(nil, "local", "lanewatch-fanout", true)}
	b.fanout = h
	return b.srv.AddHook(h, nil)
}

// ImportRemote delivers a message published on another node to this broker's subscribers
// (their subscriptions passed the ACL when they were made), keeping its QoS and retain flag.
// It is not exported again.
func (b *Broker) ImportRemote(topic string, payload []byte, qos byte, retain bool) error {
	return b.srv.InjectPacket(b.fanout.imp, packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos, Retain: retain},
		TopicName:   topic, Payload: payload, PacketID: uint16(qos),
	})
}
