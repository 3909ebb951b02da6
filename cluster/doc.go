// Package cluster owns a node's membership among several lanewatch nodes sharing one
// PostgreSQL (ARCHITECTURE.md, Multi-node): the node's identity and its `node` config
// section, the heartbeat row and the node list, leadership of the cluster-wide singletons
// (WhileLeader), the periodic re-read of the other nodes' coverage, and the NOTIFY protocol
// that tells the other nodes of a changed rule set (RulesChannel) or registry (RegistryChannel)
// and applies theirs here.
//
// It declares what it needs as small interfaces (Store, Bus, Elector, RuleSet, Caches,
// Refresher) and must not import the components it drives (rules, devices, coverage, plaques),
// the store drivers, or the HTTP API: app wires them together. It holds no business rule of
// its own beyond the protocol.
package cluster
