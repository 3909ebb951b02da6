package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch/store"
)

// testNodes checks the node heartbeat contract: upsert by id, liveness filter, order, delete.
func testNodes(t *testing.T, s store.Store) {
	ctx := context.Background()
	t0 := time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC)
	for i, id := range []string{"node-b", "node-a"} {
		if err := s.HeartbeatNode(ctx, store.Node{ID: id, HTTPAddr: "10.0.0.1:8080", MQTTAddr: "10.0.0.1:1883",
			StartedAt: t0, LastSeen: t0.Add(time.Duration(i) * time.Second), Devices: []string{"v-1", "v-2"}}); err != nil {
			t.Fatal(err)
		}
	}
	// A later heartbeat replaces the row.
	if err := s.HeartbeatNode(ctx, store.Node{ID: "node-b", HTTPAddr: "10.0.0.2:8080", StartedAt: t0,
		LastSeen: t0.Add(10 * time.Second), Devices: []string{"v-3"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.HeartbeatNode(ctx, store.Node{}); err == nil {
		t.Error("HeartbeatNode without id: want an error")
	}
	all, err := s.ListNodes(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != "node-a" || all[1].ID != "node-b" {
		t.Fatalf("ListNodes = %+v, want node-a, node-b", all)
	}
	b := all[1]
	if b.HTTPAddr != "10.0.0.2:8080" || !b.LastSeen.Equal(t0.Add(10*time.Second)) || !b.StartedAt.Equal(t0) ||
		!slices.Equal(b.Devices, []string{"v-3"}) || b.LastSeen.Location() != time.UTC {
		t.Errorf("node-b = %+v", b)
	}
	if !slices.Equal(all[0].Devices, []string{"v-1", "v-2"}) || all[0].MQTTAddr != "10.0.0.1:1883" {
		t.Errorf("node-a = %+v", all[0])
	}
	live, err := s.ListNodes(ctx, t0.Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 || live[0].ID != "node-b" {
		t.Errorf("ListNodes(since) = %+v, want node-b only", live)
	}
	if err := s.HeartbeatNode(ctx, store.Node{ID: "node-c", StartedAt: t0, LastSeen: t0.Add(11 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteNode(ctx, "node-b"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteNode(ctx, "absent"); err != nil {
		t.Errorf("DeleteNode(absent) = %v, want nil", err)
	}
	live, err = s.ListNodes(ctx, t0.Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 || live[0].ID != "node-c" || live[0].Devices == nil || len(live[0].Devices) != 0 {
		t.Errorf("after delete = %+v, want node-c with no devices", live)
	}
}
