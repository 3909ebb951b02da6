// Package loadgen owns the benchmark load generator of `lanewatch simulate --load`: many MQTT
// clients publishing realistic vehicle telemetry as fast as the broker takes it (or at a set
// rate), a sampling subscriber that measures publish-to-delivery latency, optional marker
// messages whose rule cases measure publish-to-case latency through the HTTP API, and idle
// connections for memory-per-connection measurements. It reports JSON.
//
// It speaks MQTT 3.1.1 through its own minimal client (wire.go): a benchmark client must cost
// the machine as little as possible, because the load generator shares the CPU with the broker
// under test. It works against any MQTT broker (Mosquitto and lanewatch alike) and must not
// know server internals: it talks to lanewatch only over MQTT and the public HTTP API.
package loadgen
