package cluster

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lanewatch/lanewatch/internal/yamlx"
	"github.com/lanewatch/lanewatch/store"
)

// fakeStore keeps node rows in memory.
type fakeStore struct {
	mu         sync.Mutex
	rows       map[string]store.Node
	heartbeats int
	deleted    []string
}

func (s *fakeStore) HeartbeatNode(_ context.Context, n store.Node) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rows == nil {
		s.rows = map[string]store.Node{}
	}
	s.rows[n.ID] = n
	s.heartbeats++
	return nil
}

func (s *fakeStore) ListNodes(_ context.Context, since time.Time) ([]store.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Node
	for _, n := range s.rows {
		if !n.LastSeen.Before(since) {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b store.Node) int { return compare(a.ID, b.ID) })
	return out, nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *fakeStore) DeleteNode(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rows, id)
	s.deleted = append(s.deleted, id)
	return nil
}

// fakeBus delivers notifications to the listeners of the same bus (one PostgreSQL).
type fakeBus struct {
	mu        sync.Mutex
	listeners map[string][]chan string
	sent      []string
	fail      error
}

func (b *fakeBus) Notify(_ context.Context, channel, payload string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	b.sent = append(b.sent, channel+": "+payload)
	for _, l := range b.listeners[channel] {
		l <- payload
	}
	return nil
}

func (b *fakeBus) Listen(ctx context.Context, channel string, _ time.Duration, _ *slog.Logger, fn func(string)) error {
	ch := make(chan string, 16)
	b.mu.Lock()
	if b.listeners == nil {
		b.listeners = map[string][]chan string{}
	}
	b.listeners[channel] = append(b.listeners[channel], ch)
	b.mu.Unlock()
	fn("") // connected
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case p := <-ch:
			fn(p)
		}
	}
}

func (b *fakeBus) messages() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.sent...)
}

// fakeRules is a rule set whose files have hash files; Reload adopts it.
type fakeRules struct {
	mu            sync.Mutex
	running, file string
	reloads       []string
}

func (r *fakeRules) Hash() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running
}

func (r *fakeRules) Reload(_ context.Context, reason string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reloads = append(r.reloads, reason)
	r.running = r.file
	return r.running, nil
}

func (r *fakeRules) set(h string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.running, r.file = h, h
}

// fakeCaches records what was forgotten.
type fakeCaches struct {
	mu     sync.Mutex
	forgot []string
}

func (c *fakeCaches) Forget(id string) { c.mu.Lock(); c.forgot = append(c.forgot, id); c.mu.Unlock() }
func (c *fakeCaches) ForgetAll()       { c.Forget("*") }

// fakeElector is an Elector the test switches.
type fakeElector struct{ set chan bool }

func (e *fakeElector) Run(ctx context.Context, onChange func(bool)) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case v := <-e.set:
			onChange(v)
		}
	}
}

var (
	_ Store   = (*fakeStore)(nil)
	_ Bus     = (*fakeBus)(nil)
	_ RuleSet = (*fakeRules)(nil)
	_ Caches  = (*fakeCaches)(nil)
	_ Elector = (*fakeElector)(nil)
)

func TestConfig(t *testing.T) {
	var c Config
	c.Defaults()
	if time.Duration(c.Heartbeat) != DefaultHeartbeat || time.Duration(c.CoverageRefresh) != DefaultCoverageRefresh {
		t.Fatalf("defaults = %+v", c)
	}
	if err := (&Config{ID: "a b"}).Validate(); err == nil {
		t.Fatal("an id with a space validated")
	}
	if _, err := New(Options{Config: Config{ID: "x\ty"}, Store: &fakeStore{}}); err == nil {
		t.Fatal("New accepted an id with a tab")
	}
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without a Store succeeded")
	}
	n, err := New(Options{Store: &fakeStore{}})
	if err != nil || n.ID() == "" {
		t.Fatalf("generated id: %q %v", n.ID(), err)
	}
}

// TestHeartbeatAndNodeList: a node heartbeats every interval, lists the nodes seen within three
// heartbeats, and removes its row when it stops.
func TestHeartbeatAndNodeList(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &fakeStore{}
		n, err := New(Options{Config: Config{ID: "n1", Heartbeat: yamlx.Duration(5 * time.Second), MQTTAddr: "lb:1883"}, Store: st})
		if err != nil {
			t.Fatal(err)
		}
		// A node that stopped 20 s ago without removing its row.
		st.HeartbeatNode(t.Context(), store.Node{ID: "n0", LastSeen: time.Now().Add(-20 * time.Second)})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			done <- n.Run(ctx, Followers{Self: func() Self {
				return Self{HTTPAddr: "127.0.0.1:8080", MQTTAddr: "127.0.0.1:1883", Devices: []string{"v1"}}
			}})
		}()
		time.Sleep(11 * time.Second)
		synctest.Wait()
		st.mu.Lock()
		beats := st.heartbeats
		st.mu.Unlock()
		if beats != 1+3 { // the stale row, then at 0, 5 and 10 s
			t.Fatalf("heartbeats = %d, want 4", beats)
		}
		info, err := n.Nodes(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if info.Node != "n1" || !info.Leader || len(info.Nodes) != 1 {
			t.Fatalf("info = %+v", info)
		}
		if r := info.Nodes[0]; r.HTTPAddr != "127.0.0.1:8080" || r.MQTTAddr != "lb:1883" || !slices.Equal(r.Devices, []string{"v1"}) {
			t.Fatalf("row = %+v (configured mqtt_addr wins, listen http address otherwise)", r)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v", err)
		}
		if !slices.Equal(st.deleted, []string{"n1"}) {
			t.Fatalf("deleted = %v", st.deleted)
		}
	})
}

// TestRulesAnnouncedAndFollowed: a node announces its changed rule set once; another node
// reloads its own files on it, ignores its own announcements, and warns when its files differ.
func TestRulesAnnouncedAndFollowed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := &fakeBus{}
		r1, r2 := &fakeRules{}, &fakeRules{}
		r1.set("h1")
		r2.set("h1")
		n1, _ := New(Options{Config: Config{ID: "n1"}, Store: &fakeStore{}, Bus: bus})
		n2, _ := New(Options{Config: Config{ID: "n2"}, Store: &fakeStore{}, Bus: bus})
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { _ = n1.Run(ctx, Followers{Rules: r1}) })
		wg.Go(func() { _ = n2.Run(ctx, Followers{Rules: r2}) })
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if m := bus.messages(); len(m) != 0 {
			t.Fatalf("unchanged rules announced: %v", m)
		}
		// n1 reloads a new set; n2's files are the same new set.
		r1.set("h2")
		r2.mu.Lock()
		r2.file = "h2"
		r2.mu.Unlock()
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		if m := bus.messages(); !slices.Equal(m, []string{RulesChannel + ": n1 h2"}) {
			t.Fatalf("announcements = %v", m)
		}
		r2.mu.Lock()
		reloads, running := append([]string(nil), r2.reloads...), r2.running
		r2.mu.Unlock()
		if !slices.Equal(reloads, []string{"cluster:n1"}) || running != "h2" {
			t.Fatalf("n2 reloads = %v running %q", reloads, running)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if m := bus.messages(); len(m) != 1 {
			t.Fatalf("n2 re-announced the set it adopted: %v", m)
		}
		r1.mu.Lock()
		own := len(r1.reloads)
		r1.mu.Unlock()
		if own != 0 {
			t.Fatalf("n1 reloaded on its own announcement")
		}
		cancel()
		wg.Wait()
	})
}

// TestRegistryChanges: a device change made on one node makes the others forget that device; a
// plaque change reloads their plaques; the announcing node changes nothing of its own.
func TestRegistryChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := &fakeBus{}
		c1, c2 := &fakeCaches{}, &fakeCaches{}
		var plaques int
		n1, _ := New(Options{Config: Config{ID: "n1"}, Store: &fakeStore{}, Bus: bus})
		n2, _ := New(Options{Config: Config{ID: "n2"}, Store: &fakeStore{}, Bus: bus})
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { _ = n1.Run(ctx, Followers{Devices: c1}) })
		wg.Go(func() {
			_ = n2.Run(ctx, Followers{Devices: c2, ReloadPlaques: func(context.Context) error { plaques++; return nil }})
		})
		synctest.Wait()
		n1.AnnounceDevice(ctx, "v-7")
		n1.AnnouncePlaques(ctx, "P-1")
		synctest.Wait()
		if !slices.Equal(c2.forgot, []string{"v-7"}) || plaques != 1 {
			t.Fatalf("n2 forgot %v, reloaded plaques %d times", c2.forgot, plaques)
		}
		if len(c1.forgot) != 0 {
			t.Fatalf("n1 forgot its own change: %v", c1.forgot)
		}
		cancel()
		wg.Wait()
	})
}

func TestAnnounceFailureIsLoggedNotFatal(t *testing.T) {
	bus := &fakeBus{fail: errors.New("connection refused")}
	n, _ := New(Options{Store: &fakeStore{}, Bus: bus})
	n.AnnounceDevice(t.Context(), "v1") // must return
	var single *Node
	single.AnnounceDevice(t.Context(), "v1") // a nil node (not set up yet) tells no one
}

// TestWhileLeader: singletons run only while the node leads, and stop when it loses the lead.
func TestWhileLeader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		el := &fakeElector{set: make(chan bool)}
		n, _ := New(Options{Config: Config{ID: "n1"}, Store: &fakeStore{}, Bus: &fakeBus{}, Elector: el})
		if n.Leading() {
			t.Fatal("a node with an elector leads before it is elected")
		}
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { _ = n.Run(ctx, Followers{}) })
		var mu sync.Mutex
		runs, running := 0, false
		wg.Go(func() {
			n.WhileLeader(ctx, "test", func(ctx context.Context) {
				mu.Lock()
				runs++
				running = true
				mu.Unlock()
				<-ctx.Done()
				mu.Lock()
				running = false
				mu.Unlock()
			})
		})
		check := func(wantRuns int, wantRunning bool) {
			t.Helper()
			synctest.Wait()
			mu.Lock()
			defer mu.Unlock()
			if runs != wantRuns || running != wantRunning {
				t.Fatalf("runs %d running %v, want %d %v", runs, running, wantRuns, wantRunning)
			}
		}
		check(0, false)
		el.set <- true
		check(1, true)
		el.set <- false
		check(1, false)
		el.set <- true
		check(2, true)
		cancel()
		wg.Wait()
		check(2, false)
	})
}

// TestCoverageRefresh: the other nodes' coverage is merged every coverage_refresh on a
// multi-node store, never on a single node.
func TestCoverageRefresh(t *testing.T) {
	for _, multi := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			var bus Bus
			if multi {
				bus = &fakeBus{}
			}
			var refreshes atomic.Int32
			r := refresherFunc(func(context.Context) error { refreshes.Add(1); return nil })
			n, _ := New(Options{Config: Config{CoverageRefresh: yamlx.Duration(10 * time.Second)}, Store: &fakeStore{}, Bus: bus})
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { defer close(done); _ = n.Run(ctx, Followers{Coverage: r}) }()
			time.Sleep(35 * time.Second)
			n.RefreshOnce(ctx, r)
			cancel()
			<-done
			var want int32
			if multi {
				want = 3 + 1
			}
			if got := refreshes.Load(); got != want {
				t.Fatalf("multi %v: refreshes = %d, want %d", multi, got, want)
			}
		})
	}
}

type refresherFunc func(context.Context) error

func (f refresherFunc) Refresh(ctx context.Context) error { return f(ctx) }
