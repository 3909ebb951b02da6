package gateway

import (
	"bytes"
	"context"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/lanewatch/lanewatch"
)

// CommandSink receives what devices do on the command topics of SPEC 3.1: subscribing to
// devices/{id}/commands/# (the moment to deliver what is pending) and answering on
// devices/{id}/responses/{command id}.
type CommandSink interface {
	// CommandsSubscribed is called on the device's goroutine when it subscribed to its command
	// topics; it must not block.
	CommandsSubscribed(deviceID string)
	// CommandResponse records a device's answer to a command. It is called on the device's
	// goroutine before the PUBACK, so a QoS 1 answer is acknowledged only once recorded; an
	// error leaves it unacknowledged (the device sends it again).
	CommandResponse(ctx context.Context, deviceID, commandID string, payload []byte) error
}

// responsePrefix is the start of the response topics of device id.
func responsePrefix(id string) string { return "devices/" + id + "/responses/" }

// isCommandResponse reports whether topic is devices/{id}/responses/{command id} with one
// non-empty, wildcard-free command id level, and returns the command id.
func isCommandResponse(id, topic string) (string, bool) {
	cmd, ok := strings.CutPrefix(topic, responsePrefix(id))
	if !ok || cmd == "" || strings.ContainsAny(cmd, "/+#") {
		return "", false
	}
	return cmd, true
}

// commandResponseAllowed is the ACL of the response topics: a device may publish answers under
// its own id only, and only when a CommandSink is configured.
func (b *Broker) commandResponseAllowed(id, topic string) bool {
	_, ok := isCommandResponse(id, topic)
	return ok && b.opts.Commands != nil
}

// commandResponse handles a device's publish on its response topic instead of journalling it.
// handled is false for any other topic.
func (b *Broker) commandResponse(cl *mqtt.Client, pk packets.Packet, id string) (handled bool, err error) {
	cmd, ok := isCommandResponse(id, pk.TopicName)
	if !ok || b.opts.Commands == nil {
		return false, nil
	}
	if err := b.opts.Commands.CommandResponse(b.ctx, id, cmd, pk.Payload); err != nil {
		b.logger.Warn("command response", "device", id, "command", cmd, "err", err)
		if pk.FixedHeader.Qos > 0 && isTransient(err) {
			return true, packets.ErrRejectPacket // not acknowledged: the device resends it
		}
	}
	// Handled: acknowledged (QoS 1) and not forwarded to other subscribers.
	return true, packets.CodeSuccessIgnore
}

// isTransient reports whether recording a response failed for a reason that may pass (the
// store is down) rather than for the response itself (unknown command, bad payload).
func isTransient(err error) bool {
	switch lanewatch.ErrorCode(err) {
	case lanewatch.EInternal, lanewatch.EUnavailable:
		return true
	}
	return false
}

// CommandSubscriber reports whether device id is connected to this broker now with a
// subscription that receives devices/{id}/commands/... (SPEC 3.1: the moment to publish).
func (b *Broker) CommandSubscriber(id string) bool {
	subs := b.srv.Topics.Subscribers("devices/" + id + "/commands/x")
	for clientID := range subs.Subscriptions {
		cl, ok := b.srv.Clients.Get(clientID)
		if ok && !cl.Net.Inline && !cl.Closed() && string(cl.Properties.Username) == id {
			return true
		}
	}
	return false
}

// commandHook tells the CommandSink when a device subscribes to its command topics.
type commandHook struct {
	mqtt.HookBase
	b *Broker
}

func (h *commandHook) ID() string { return "lanewatch-commands" }

func (h *commandHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnSubscribed}, []byte{b})
}

func (h *commandHook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, reasonCodes []byte) {
	if h.b.opts.Commands == nil || cl.Net.Inline {
		return
	}
	id := string(cl.Properties.Username)
	for i, f := range pk.Filters {
		if i < len(reasonCodes) && reasonCodes[i] >= 0x80 {
			continue // refused
		}
		if filterCovers(f.Filter, "devices/"+id+"/commands/x") {
			h.b.opts.Commands.CommandsSubscribed(id)
			return
		}
	}
}

// addCommandHook installs the command hook; NewBroker calls it.
func (b *Broker) addCommandHook() error { return b.srv.AddHook(&commandHook{b: b}, nil) }
