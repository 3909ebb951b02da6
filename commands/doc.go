// Package commands owns commands to devices (SPEC 3.1): validating and queueing a command in
// the store (the store's `commands` table is the queue), publishing it on
// devices/{id}/commands/{name} (QoS 1) when the device is subscribed on this node and again
// after every resubscription until it is answered, recording the device's answer from
// devices/{id}/responses/{command id}, expiring commands whose TTL passed, the timestamped
// status history (queued → sent → acknowledged | failed | expired) and the metric
// lanewatch_commands_total{status}.
//
// It reaches the broker and other nodes only through the small interfaces it declares
// (Publisher, Presence, Transport, Bus) and must not import the gateway, the API or a store
// driver.
package commands
