package gateway

import (
	"context"
	"fmt"

	"github.com/lanewatch/lanewatch"
)

// Inject appends a device message that arrived by another route than MQTT (a vendor camera's
// HTTP push) to the journal exactly as the publish hook does for a QoS 1 publish: it returns
// once the record is synced, so the message then takes the same durable path (pipeline,
// decoding, dead letters, rules) as one the device published. The caller must have
// authenticated deviceID. Inline-client publishes (Publish) skip the hook and are not journaled,
// which is why this exists.
func (b *Broker) Inject(ctx context.Context, kind lanewatch.Kind, deviceID string, payload []byte) error {
	if kindByte(kind) == 0 {
		return fmt.Errorf("inject: unknown kind %q", kind)
	}
	if deviceID == "" || len(deviceID) > 255 {
		return fmt.Errorf("inject: device id must be 1..255 bytes")
	}
	r := record{Kind: kind, QoS: 1, Received: b.opts.Now(), DeviceID: deviceID, Payload: payload}
	buf := appendRecord(make([]byte, 0, 32+len(deviceID)+len(payload)), &r)
	if _, err := b.opts.Journal.Append(ctx, buf, true); err != nil {
		b.m.journalErrors.Inc()
		return fmt.Errorf("inject %s message of %s: %w", kind, deviceID, err)
	}
	return nil
}
