package store

import (
	"context"
	"time"
)

// Node is one lanewatch process of a cluster sharing this store, as of its last heartbeat.
type Node struct {
	ID        string
	HTTPAddr  string // advertised HTTP address
	MQTTAddr  string // advertised MQTT address
	StartedAt time.Time
	LastSeen  time.Time
	// Devices are the usernames connected to the node's broker at LastSeen, sorted.
	Devices []string
}

// Nodes is the registry of cluster nodes (the `nodes` table), kept by their heartbeats.
type Nodes interface {
	// HeartbeatNode inserts or replaces the row of n.ID with n.
	HeartbeatNode(ctx context.Context, n Node) error
	// ListNodes returns the nodes whose LastSeen is at or after since, ordered by id.
	ListNodes(ctx context.Context, since time.Time) ([]Node, error)
	// DeleteNode removes a node's row (clean shutdown); absent ids are ignored.
	DeleteNode(ctx context.Context, id string) error
}
