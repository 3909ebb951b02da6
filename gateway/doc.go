// Package gateway owns the device edge of lanewatch: the embedded mochi-mqtt broker and its
// listeners (TCP, WebSocket, TLS), device authentication and the topic ACL (as mochi hooks),
// online/offline tracking, the publish hook that appends every accepted device message to the
// durable log (acknowledging QoS 1 only after it is synced), and the pipeline that reads the log,
// decodes payloads (gateway/payload), dead-letters bad ones and hands each decoded message to a
// Handler on per-device ordered workers.
//
// It holds the broker limits of SPEC 3.3: its own TCP/TLS listener that survives Accept errors
// and reports them through Ready, a CONNECT deadline and size bound, the auth gate (password
// checks per address and at once), CONNECT ownership (client id, session takeover, Last Will
// ACL) and retained limits per device. It keeps an idle connection small (docs/RELIABILITY.md):
// one goroutine whose parked frames stay under the runtime's stack-shrink threshold, no read
// buffer while idle (lazyread.go) and non-blocking writes (asyncconn.go).
//
// It declares the small interfaces it needs (Authenticator, DeviceLookup, Journal, Handler,
// DeadLetterSink) and imports no lanewatch package but the root and its own subpackages. It must
// not know about rules, cases, InfluxDB or HTTP.
package gateway
