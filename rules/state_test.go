package rules

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// countingStates counts GetState calls of a memStates.
type countingStates struct {
	*memStates
	mu   sync.Mutex
	gets int
}

func (c *countingStates) GetState(ctx context.Context, k string) ([]byte, error) {
	c.mu.Lock()
	c.gets++
	c.mu.Unlock()
	return c.memStates.GetState(ctx, k)
}

func (c *countingStates) n() int { c.mu.Lock(); defer c.mu.Unlock(); return c.gets }

// newNode returns a harness whose engine shares st with other nodes (Shared).
func newNode(t *testing.T, src string, st StateStore) *harness {
	t.Helper()
	h := &harness{op: &fakeOpener{}, now: t0}
	e, err := NewEngine(EngineOptions{Opener: h.op, States: st, Shared: true, Registerer: prometheus.NewPedanticRegistry(),
		Now: func() time.Time { return h.now }})
	if err != nil {
		t.Fatal(err)
	}
	e.Swap(mustRules(t, src))
	if err := e.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.e = e
	return h
}

func (h *harness) sendAs(dev DeviceEnv, at time.Duration, m Msg) {
	h.now = t0.Add(at)
	m.TS = h.now
	h.e.HandleEnv(context.Background(), Env{Msg: m, Device: dev, Now: h.now, Kind: "telemetry"})
}

func mustPersist(t *testing.T, e *Engine) {
	t.Helper()
	if err := e.Persist(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestForTimerFollowsDeviceToAnotherNode(t *testing.T) {
	st := &countingStates{memStates: &memStates{m: map[string][]byte{}}}
	src := rule("for: 10m")
	a := newNode(t, src, st)
	a.send(0, Msg{SpeedKmh: 25})
	a.send(4*time.Minute, Msg{SpeedKmh: 25})
	mustPersist(t, a.e) // node A saves and dies
	if _, err := st.GetState(context.Background(), StateKey("fast", "sw-001")); err != nil {
		t.Fatalf("per-key entry not written: %v", err)
	}

	b := newNode(t, src, st)
	gets := st.n()
	// Steady traffic every 10 s from 6m: one store read, on the first message.
	for at := 6 * time.Minute; at < 10*time.Minute; at += 10 * time.Second {
		b.send(at, Msg{SpeedKmh: 25})
	}
	if b.op.n() != 0 {
		t.Fatal("fired before the for duration")
	}
	b.send(10*time.Minute, Msg{SpeedKmh: 25})
	if b.op.n() != 1 {
		t.Fatalf("the for timer started on A did not complete on B at 10m: %d firings", b.op.n())
	}
	if g := st.n() - gets; g != 1 {
		t.Fatalf("B read the store %d times for one key, want 1", g)
	}
	// The case resolves on B: its entry is removed at the next save.
	b.send(11*time.Minute, Msg{SpeedKmh: 5})
	mustPersist(t, b.e)
	if _, err := st.GetState(context.Background(), StateKey("fast", "sw-001")); err == nil {
		t.Fatal("entry of a resolved key not deleted")
	}
	if ks := b.e.Status()[0].ActiveKeys; len(ks) != 0 {
		t.Fatalf("resolved key still held: %+v", ks)
	}
}

func TestForTimerFollowsDeviceRunLoop(t *testing.T) {
	// The same through Run: A's periodic save, then B continuing (testing/synctest clock).
	st := &memStates{m: map[string][]byte{}}
	src := rule("for: 10m")
	runNode := func(t *testing.T) (*Engine, *fakeOpener, context.CancelFunc, chan error) {
		op := &fakeOpener{}
		e, err := NewEngine(EngineOptions{Opener: op, States: st, Shared: true, PersistInterval: 5 * time.Second,
			Registerer: prometheus.NewPedanticRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		e.Swap(mustRules(t, src))
		if err := e.Restore(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		return e, op, cancel, done
	}
	send := func(e *Engine) {
		e.HandleEnv(context.Background(), Env{Msg: Msg{SpeedKmh: 25, TS: time.Now()}, Device: sw, Now: time.Now(), Kind: "telemetry"})
	}
	synctest.Test(t, func(t *testing.T) {
		a, _, cancelA, doneA := runNode(t)
		send(a)
		time.Sleep(6 * time.Second) // one periodic save
		synctest.Wait()
		if _, err := st.GetState(context.Background(), StateKey("fast", "sw-001")); err != nil {
			t.Fatalf("periodic save missing: %v", err)
		}
		time.Sleep(5 * time.Minute)
		cancelA()
		if err := <-doneA; err != nil {
			t.Fatal(err)
		}
		b, opB, cancelB, doneB := runNode(t)
		send(b)
		if opB.n() != 0 {
			t.Fatal("fired early on B")
		}
		time.Sleep(5 * time.Minute)
		send(b)
		if opB.n() != 1 {
			t.Fatalf("want the firing on B 10m after A started the timer, got %d", opB.n())
		}
		cancelB()
		if err := <-doneB; err != nil {
			t.Fatal(err)
		}
	})
}

func TestInterruptionOnNewNodeDropsStoredTimer(t *testing.T) {
	st := &memStates{m: map[string][]byte{}}
	src := rule("for: 10m")
	a := newNode(t, src, st)
	a.send(0, Msg{SpeedKmh: 25})
	mustPersist(t, a.e)
	b := newNode(t, src, st)
	b.send(2*time.Minute, Msg{SpeedKmh: 5}) // interrupts the pending timer loaded from A
	b.send(11*time.Minute, Msg{SpeedKmh: 25})
	if b.op.n() != 0 {
		t.Fatal("an interrupted timer from another node fired")
	}
	b.send(21*time.Minute, Msg{SpeedKmh: 25})
	if b.op.n() != 1 {
		t.Fatal("the new timer did not fire")
	}
}

func TestNodesDoNotOverwriteEachOthersKeys(t *testing.T) {
	st := &memStates{m: map[string][]byte{}}
	src := rule("for: 10m")
	a, b := newNode(t, src, st), newNode(t, src, st)
	a.sendAs(DeviceEnv{ID: "sw-001"}, 0, Msg{SpeedKmh: 25})
	b.sendAs(DeviceEnv{ID: "sw-002"}, 0, Msg{SpeedKmh: 25})
	mustPersist(t, a.e)
	mustPersist(t, b.e)
	all, _ := st.ListStates(context.Background(), StatePrefix)
	if len(all) != 2 || all[StateKey("fast", "sw-001")] == nil || all[StateKey("fast", "sw-002")] == nil {
		t.Fatalf("want one entry per key, got %v", keysOf(all))
	}
	// A Shared engine loads nothing at start; a single node loads everything.
	c := newNode(t, src, st)
	if n := len(c.e.Status()[0].ActiveKeys); n != 0 {
		t.Fatalf("shared restore loaded %d keys up front", n)
	}
	single := newHarness(t, src, st)
	if err := single.e.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(single.e.Status()[0].ActiveKeys); n != 2 {
		t.Fatalf("single-node restore loaded %d keys, want 2", n)
	}
}

func TestLegacyBlobConverted(t *testing.T) {
	st := &memStates{m: map[string][]byte{}}
	src := rule("for: 10m")
	h := newHarness(t, src, nil)
	hash := h.e.Rules()[0].Hash()
	b, _ := json.Marshal(persistedRule{Hash: hash, Keys: map[string]*keyState{
		"sw-001": {Active: true, ActiveAt: t0, LastHeldAt: t0}}})
	st.m[StatePrefix+"fast"] = b
	h2 := newHarness(t, src, st)
	if err := h2.e.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	mustPersist(t, h2.e)
	if _, ok := st.m[StatePrefix+"fast"]; ok {
		t.Fatal("legacy blob not deleted")
	}
	if _, ok := st.m[StateKey("fast", "sw-001")]; !ok {
		t.Fatalf("legacy key not rewritten per key: %v", keysOf(st.m))
	}
	h2.send(10*time.Minute, Msg{SpeedKmh: 25})
	if h2.op.n() != 1 {
		t.Fatal("legacy pending timer lost")
	}
}

func TestChangedRuleDropsStoredKeys(t *testing.T) {
	st := &memStates{m: map[string][]byte{}}
	a := newNode(t, rule("for: 10m"), st)
	a.send(0, Msg{SpeedKmh: 25})
	mustPersist(t, a.e)
	a.e.Swap(mustRules(t, strings.Replace(rule("for: 10m"), "> 20", "> 21", 1)))
	mustPersist(t, a.e)
	if len(st.m) != 0 {
		t.Fatalf("entries of the old rule version kept: %v", keysOf(st.m))
	}
	a.e.Swap(nil)
	a.send(time.Minute, Msg{SpeedKmh: 25})
	mustPersist(t, a.e)
	if len(st.m) != 0 {
		t.Fatalf("entries of a removed rule kept: %v", keysOf(st.m))
	}
}

func TestStateKeyRoundTrip(t *testing.T) {
	for _, c := range [][2]string{{"fast", "sw-001"}, {"a/b", "seg/1 x"}, {"r", ""}} {
		r, k, legacy, err := parseStateKey(StateKey(c[0], c[1]))
		if err != nil || legacy || r != c[0] || k != c[1] {
			t.Fatalf("%q: got %q %q %v %v", c, r, k, legacy, err)
		}
	}
	if _, _, legacy, _ := parseStateKey(StatePrefix + "fast"); !legacy {
		t.Fatal("legacy key not recognised")
	}
	if _, _, _, err := parseStateKey(StatePrefix + "a/%zz"); err == nil || !strings.Contains(err.Error(), "key part") {
		t.Fatalf("bad escape: %v", err)
	}
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestAbsenceOfDeviceThatMovedIsNotFiredByOldNode(t *testing.T) {
	st := &memStates{m: map[string][]byte{}}
	a, b := newNode(t, absentRule, st), newNode(t, absentRule, st)
	a.send(0, Msg{})
	mustPersist(t, a.e)
	b.send(3*time.Minute, Msg{}) // the device reconnected to B
	mustPersist(t, b.e)
	a.tick(6 * time.Minute)
	if a.op.n() != 0 {
		t.Fatal("the old node fired an absence for a device seen on another node")
	}
	mustPersist(t, a.e)
	if raw := st.m[StateKey("silent", "sw-001")]; !strings.Contains(string(raw), t0.Add(3*time.Minute).Format(time.RFC3339)) {
		t.Fatalf("the old node overwrote the new node's entry: %s", raw)
	}
	// Silent everywhere since 3m: absent fires (on any node holding the key).
	b.tick(9 * time.Minute)
	if b.op.n() != 1 {
		t.Fatalf("absence not fired on the new node: %d", b.op.n())
	}
	// A device that stays on its node still fires there.
	c := newNode(t, absentRule, &memStates{m: map[string][]byte{}})
	c.send(0, Msg{})
	mustPersist(t, c.e)
	c.tick(6 * time.Minute)
	if c.op.n() != 1 {
		t.Fatal("absence of a device that did not move not fired")
	}
}

func TestDeviceMovingAwayAndBackAdoptsNewerState(t *testing.T) {
	st := &memStates{m: map[string][]byte{}}
	src := rule("for: 10m\n        cooldown: 1h")
	a, b := newNode(t, src, st), newNode(t, src, st)
	a.send(0, Msg{SpeedKmh: 25})
	mustPersist(t, a.e)
	// On B from 1m: the timer continues and fires at 10m; B saves the cooldown.
	for at := time.Minute; at <= 10*time.Minute; at += 10 * time.Second {
		b.send(at, Msg{SpeedKmh: 25})
	}
	b.send(11*time.Minute, Msg{SpeedKmh: 5}) // resolved, cooldown until 1h10m
	mustPersist(t, b.e)
	if b.op.n() != 1 {
		t.Fatalf("B firings = %d, want 1", b.op.n())
	}
	// Back on A, whose memory still says "pending since 0": it adopts B's newer entry, so the
	// cooldown holds and nothing re-opens.
	for at := 12 * time.Minute; at <= 30*time.Minute; at += 10 * time.Second {
		a.send(at, Msg{SpeedKmh: 25})
	}
	if a.op.n() != 0 {
		t.Fatalf("A re-opened from its stale memory: %+v", a.op.got)
	}
	// A key resolved and deleted by another node is dropped from A's memory too.
	c, d := newNode(t, rule("for: 10m"), st), newNode(t, rule("for: 10m"), st)
	dev := DeviceEnv{ID: "sw-009"}
	c.sendAs(dev, 0, Msg{SpeedKmh: 25})
	mustPersist(t, c.e)
	d.sendAs(dev, time.Minute, Msg{SpeedKmh: 5}) // interrupted on D
	mustPersist(t, d.e)
	if _, ok := st.m[StateKey("fast", "sw-009")]; ok {
		t.Fatal("D did not delete the interrupted key")
	}
	c.sendAs(dev, 9*time.Minute, Msg{SpeedKmh: 25})
	c.sendAs(dev, 10*time.Minute, Msg{SpeedKmh: 25})
	if c.op.n() != 0 {
		t.Fatal("C fired from a timer another node had interrupted")
	}
}

func TestOldNodeTickDoesNotOverwriteNewNodeEntry(t *testing.T) {
	st := &memStates{m: map[string][]byte{}}
	src := rule("for: 1m\n        cooldown: 5m")
	a, b := newNode(t, src, st), newNode(t, src, st)
	a.send(0, Msg{SpeedKmh: 25})
	a.send(time.Minute, Msg{SpeedKmh: 25})  // fires
	a.send(2*time.Minute, Msg{SpeedKmh: 5}) // resolved; cooldown until 6m
	mustPersist(t, a.e)
	b.send(3*time.Minute, Msg{SpeedKmh: 25}) // moved to B: pending from 3m, in cooldown
	mustPersist(t, b.e)
	a.tick(7 * time.Minute) // A forgets its expired cooldown: a delete of an entry B now owns
	mustPersist(t, a.e)
	if _, ok := st.m[StateKey("fast", "sw-001")]; !ok {
		t.Fatal("the old node deleted the entry the new node saved")
	}
	if n := len(a.e.Status()[0].ActiveKeys); n != 0 {
		t.Fatalf("old node still holds %d keys", n)
	}
	// The timer B resumed still fires there once the cooldown allows.
	b.send(6*time.Minute+30*time.Second, Msg{SpeedKmh: 25})
	if b.op.n() != 1 || a.op.n() != 1 {
		t.Fatalf("firings A=%d B=%d, want 1 and 1", a.op.n(), b.op.n())
	}
}

func TestSharedRestartStillMissesSilentDevice(t *testing.T) {
	st := &memStates{m: map[string][]byte{}}
	a := newNode(t, absentRule, st)
	a.send(0, Msg{})
	mustPersist(t, a.e) // A dies; the device never speaks again
	b := newNode(t, absentRule, st)
	b.tick(6 * time.Minute)
	if b.op.n() != 1 || b.op.got[0].Key != "sw-001" {
		t.Fatalf("a restarted node did not miss the silent device: %+v", b.op.got)
	}
}
