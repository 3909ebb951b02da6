// Package simulators owns generating realistic device traffic for demos, tests and benchmarks:
// sanitation vehicles (sweepers, washers, sprinklers) driving routes in their district and
// publishing telemetry, AI cameras reporting detections and heartbeats, and responsibility
// plaques relaying citizens' scans. Payloads follow SPEC.md section 3 exactly.
//
// The generators (VehicleSim, CameraSim, PlaqueSim) are pure: each is driven by Next(now) and
// draws every random choice from its own PCG seeded by (seed, device kind, device index), so
// the sequence of payloads of a device depends only on the seed and its index; only the
// wall-clock timestamps differ between runs. Fleet connects one MQTT client per device and
// publishes what the generators produce.
//
// The package must not import app internals (cmd/lanewatch reads the config and the device
// seed through their public loaders and hands Fleet a plain []Device), and must not know
// server internals (gateway, rules, dispatch, stores): it speaks to lanewatch only over MQTT,
// JT/T 808 and its public HTTP API (CitizenReporter posts Open311 reports; Staff works cases
// through their states with the operator's and the departments' tokens, for demos).
package simulators
