// Package bridge owns the fan-out of MQTT messages across lanewatch nodes (issue 17): every
// message a node's broker delivers to its subscribers is published on a NATS core subject, and
// every node delivers the messages of the others to its own subscribers, so a dashboard or
// bridge subscribed on any node receives what is published on every node. Messages carry the
// publishing node's id, and a node neither receives its own (NoEcho) nor re-exports an
// imported one, so nothing loops.
//
// It knows the broker only through the Importer interface and must not import the gateway,
// decode payloads or touch the journal (each node's journal holds only its own devices'
// messages).
package bridge
