package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// HeartbeatNode upserts the row of n.ID; see store.Nodes.
func (s *Store) HeartbeatNode(ctx context.Context, n store.Node) error {
	if n.ID == "" {
		return lanewatch.Errorf(lanewatch.EInvalid, "node: id is required")
	}
	devs := n.Devices
	if devs == nil {
		devs = []string{}
	}
	b, err := json.Marshal(devs)
	if err != nil {
		return fmt.Errorf("heartbeat node %q: %w", n.ID, err)
	}
	_, err = s.w().exec(ctx, `INSERT INTO nodes (id, http_addr, mqtt_addr, started_at, last_seen, connected, devices)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET http_addr = excluded.http_addr, mqtt_addr = excluded.mqtt_addr,
		started_at = excluded.started_at, last_seen = excluded.last_seen, connected = excluded.connected,
		devices = excluded.devices`,
		cleanText(n.ID), cleanText(n.HTTPAddr), cleanText(n.MQTTAddr), s.d.t(n.StartedAt), s.d.t(n.LastSeen), len(devs), string(b))
	if err != nil {
		return fmt.Errorf("heartbeat node %q: %w", n.ID, err)
	}
	return nil
}

// ListNodes returns the nodes seen at or after since, by id; see store.Nodes.
func (s *Store) ListNodes(ctx context.Context, since time.Time) ([]store.Node, error) {
	out, err := collect(s.r().query(ctx, `SELECT id, http_addr, mqtt_addr, started_at, last_seen, devices
		FROM nodes WHERE last_seen >= ? ORDER BY id`, s.d.t(since)), func(row scanner) (store.Node, error) {
		var (
			n    store.Node
			devs string
		)
		if err := row.Scan(&n.ID, &n.HTTPAddr, &n.MQTTAddr, scanT(&n.StartedAt), scanT(&n.LastSeen), &devs); err != nil {
			return n, err
		}
		if err := json.Unmarshal([]byte(devs), &n.Devices); err != nil {
			return n, fmt.Errorf("node %q devices: %w", n.ID, err)
		}
		return n, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// DeleteNode removes a node's row; see store.Nodes.
func (s *Store) DeleteNode(ctx context.Context, id string) error {
	if _, err := s.w().exec(ctx, `DELETE FROM nodes WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete node %q: %w", id, err)
	}
	return nil
}
