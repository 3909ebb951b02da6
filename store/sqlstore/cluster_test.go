package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch/internal/testenv"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

// TestLeaderElection: of two stores on one database exactly one leads; when the leader stops
// (its session, and so its lock, ends) the other takes over.
func TestLeaderElection(t *testing.T) {
	dsn := testenv.Postgres(t)
	var stores []*sqlstore.Postgres
	for range 2 {
		s, err := sqlstore.OpenPostgres(t.Context(), sqlstore.PostgresOptions{DSN: dsn})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	a := stores[0].NewLeader("test", 50*time.Millisecond, nil)
	b := stores[1].NewLeader("test", 50*time.Millisecond, nil)
	other := stores[1].NewLeader("other", 50*time.Millisecond, nil)
	actx, stopA := context.WithCancel(t.Context())
	bctx, stopB := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	changes := make(chan bool, 10)
	wg.Go(func() { _ = a.Run(actx, func(v bool) { changes <- v }) })
	if v := <-changes; !v {
		t.Fatal("a: first change is not leading")
	}
	wg.Go(func() { _ = b.Run(bctx, nil) })
	wg.Go(func() { _ = other.Run(bctx, nil) })
	waitUntil(t, "the other election's leader", other.IsLeader)
	time.Sleep(200 * time.Millisecond) // b has tried several times
	if !a.IsLeader() || b.IsLeader() {
		t.Fatalf("a leading %v, b leading %v: want a only", a.IsLeader(), b.IsLeader())
	}
	stopA()
	if v := <-changes; v {
		t.Fatal("a: change after stop is not stepping down")
	}
	waitUntil(t, "b to take over", b.IsLeader)
	if a.IsLeader() {
		t.Error("a still leading after stop")
	}
	stopB()
	wg.Wait()
	if b.IsLeader() {
		t.Error("b leading after Run returned")
	}
}

// TestNotifyListen: a notification reaches every listener, after the empty catch-up call.
func TestNotifyListen(t *testing.T) {
	s := openFresh(t, engines()[1]).(*sqlstore.Postgres)
	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan string, 10)
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Listen(ctx, "lanewatch_test", 0, nil, func(p string) { got <- p }) })
	if p := <-got; p != "" {
		t.Fatalf("first call %q, want the empty catch-up", p)
	}
	if err := s.Notify(ctx, "lanewatch_test", "node-1 abc"); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "node-1 abc" {
			t.Errorf("payload %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification")
	}
	cancel()
	wg.Wait()
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
