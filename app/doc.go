// Package app is the one place that wires lanewatch together: it assembles the server
// configuration from the sections the packages own (configs/lanewatch.yaml, LANEWATCH_*
// environment variables, flags), opens the store, the journal and the InfluxDB sink, builds
// the broker, pipeline, rules engine, dispatch service, cluster membership and HTTP API, runs
// them in one group, and shuts them down in order.
//
// Nothing else imports app except cmd/lanewatch and end-to-end tests. It must hold no
// business logic, protocol, retry loop or fetcher of its own: only adapters from one
// component's output to another's input.
package app
