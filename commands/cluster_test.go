package commands_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch/commands"
	"github.com/lanewatch/lanewatch/gateway"
	"github.com/lanewatch/lanewatch/internal/testenv"
	"github.com/lanewatch/lanewatch/store"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

// node is one lanewatch node's command path: its own broker and service on the shared
// PostgreSQL store and bus.
type node struct {
	addr string
	b    *gateway.Broker
	svc  *commands.Service
	stop func()
}

func startNode(t *testing.T, dsn string) *node {
	t.Helper()
	pg, err := sqlstore.OpenPostgres(t.Context(), sqlstore.PostgresOptions{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{addr: testenv.FreeAddr(t)}
	k := &sink{}
	b, err := gateway.NewBroker(gateway.Options{TCPAddr: n.addr, Auth: devices{}, Devices: devices{}, Journal: journal{}, Commands: k})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	n.b = b
	n.svc, err = commands.New(commands.Options{Store: pg, Publisher: b, Presence: b, Bus: pg, Connected: b.ConnectedUsernames,
		Registerer: prometheus.NewRegistry(), ExpireInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	k.s.Store(n.svc)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = n.svc.Run(ctx) }()
	stopped := false
	n.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-done
		b.Close()
		pg.Close()
	}
	t.Cleanup(n.stop)
	return n
}

// TestCommandAcrossNodes: a command made on node C reaches the device connected to node B
// (PostgreSQL NOTIFY); when B dies before the device answers, the device reconnects to A and
// gets it again there; its answer there acknowledges it. Nothing acknowledged is lost.
func TestCommandAcrossNodes(t *testing.T) {
	dsn := testenv.Postgres(t)
	a, b, c := startNode(t, dsn), startNode(t, dsn), startNode(t, dsn)
	st, err := sqlstore.OpenPostgres(t.Context(), sqlstore.PostgresOptions{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	dev := (&rig{addr: b.addr}).connect(t, "V-7")
	// The listeners of A and B may still be starting: NOTIFY reaches only a listening node, so
	// wait until a command made on C arrives (each try is a new command; all go out).
	var first *store.Command
	testenv.WaitFor(t, 20*time.Second, "a command from node C on node B", func() bool {
		cmd, err := c.svc.Send(t.Context(), "V-7", "set_route", json.RawMessage(`{"route":"R-9"}`), time.Hour, "operator:ops")
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = cmd
		}
		select {
		case got := <-dev.got:
			if got.ID != first.ID {
				t.Fatalf("first delivery %s, want the oldest pending %s", got.ID, first.ID)
			}
			return true
		case <-time.After(500 * time.Millisecond):
			return false
		}
	})
	waitSent := func(id string) {
		testenv.WaitFor(t, 10*time.Second, "command "+id+" sent", func() bool {
			got, err := st.GetCommand(t.Context(), id)
			return err == nil && got.Status == store.CommandSent
		})
	}
	waitSent(first.ID)

	// Node B dies; the device reconnects through the balancer to A.
	b.stop()
	dev.close()
	dev = (&rig{addr: a.addr}).connect(t, "V-7")
	seen := map[string]bool{}
	for {
		got := dev.next()
		seen[got.ID] = true
		if got.ID == first.ID {
			break
		}
	}
	dev.answer(first.ID, `{"ok": true}`)
	testenv.WaitFor(t, 10*time.Second, "acknowledged", func() bool {
		got, err := st.GetCommand(t.Context(), first.ID)
		return err == nil && got.Status == store.CommandAcknowledged && got.Attempts >= 2
	})
	// Every command made is still pending or answered: none lost.
	all, _, err := st.ListCommands(t.Context(), "V-7", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range all {
		if cmd.Status == store.CommandQueued || cmd.Status == store.CommandExpired {
			t.Errorf("command %s is %s after the failover", cmd.ID, cmd.Status)
		}
	}
}

// TestCommandBehindStaleConnection: the device's connection to node C dies on the network
// side only (C still has it), and the device reconnects to node A. A command made on C, which
// believes the device is its own, and one made on B, which both C and A hear of, each reach
// the device on A: C's view of the device does not decide for A. (Before: C did not announce
// a command for a device it thought it held, and A skipped a command C had marked sent to the
// dead connection, so both waited for the device's next reconnect or their TTL.)
func TestCommandBehindStaleConnection(t *testing.T) {
	dsn := testenv.Postgres(t)
	a, b, c := startNode(t, dsn), startNode(t, dsn), startNode(t, dsn)
	st, err := sqlstore.OpenPostgres(t.Context(), sqlstore.PostgresOptions{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// A's and C's listeners are up once a command made on B reaches a device on each.
	for _, n := range []*node{a, c} {
		dev := (&rig{addr: n.addr}).connect(t, "V-8")
		testenv.WaitFor(t, 20*time.Second, "a command from node B", func() bool {
			if _, err := b.svc.Send(t.Context(), "V-8", "ping", nil, time.Hour, "operator:ops"); err != nil {
				t.Fatal(err)
			}
			select {
			case <-dev.got:
				return true
			case <-time.After(500 * time.Millisecond):
				return false
			}
		})
		for len(dev.got) > 0 {
			<-dev.got
		}
		pending, err := st.PendingCommands(t.Context(), "V-8", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pending {
			dev.answer(p.ID, `{"ok": true}`)
		}
		dev.close()
	}
	testenv.WaitFor(t, 10*time.Second, "warm-up commands answered", func() bool {
		pending, err := st.PendingCommands(t.Context(), "V-8", time.Now())
		return err == nil && len(pending) == 0
	})

	relay := testenv.NewHalfOpenRelay(t, c.addr)
	stale := (&rig{addr: relay.Addr()}).connect(t, "V-8")
	testenv.WaitFor(t, 10*time.Second, "V-8 subscribed on node C", func() bool { return c.b.CommandSubscriber("V-8") })
	relay.Cut()
	stale.close()
	dev := (&rig{addr: a.addr}).connect(t, "V-8")
	if !c.b.CommandSubscriber("V-8") {
		t.Fatal("node C no longer holds the stale connection: the test does not test it")
	}

	for _, via := range []*node{c, b} {
		cmd, err := via.svc.Send(t.Context(), "V-8", "set_route", json.RawMessage(`{"route":"R-1"}`), time.Hour, "operator:ops")
		if err != nil {
			t.Fatal(err)
		}
		for {
			got := dev.next()
			if got.ID == cmd.ID {
				break
			}
		}
		dev.answer(cmd.ID, `{"ok": true}`)
		testenv.WaitFor(t, 10*time.Second, "command "+cmd.ID+" acknowledged", func() bool {
			got, err := st.GetCommand(t.Context(), cmd.ID)
			return err == nil && got.Status == store.CommandAcknowledged
		})
	}
}
