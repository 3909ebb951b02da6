// Package app is the one place that wires lanewatch together: it loads the server
// configuration (configs/lanewatch.yaml, LANEWATCH_* environment variables, flags), opens the
// store, the journal and the InfluxDB sink, builds the broker, pipeline, rules engine, dispatch
// service and HTTP API, runs them, and shuts them down in order.
//
// Nothing else imports app except cmd/lanewatch and end-to-end tests. It holds no business
// logic of its own beyond adapting one component's output to another's input.
package app
