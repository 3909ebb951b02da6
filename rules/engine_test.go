package rules

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
)

type fakeOpener struct {
	mu  sync.Mutex
	got []Firing
}

func (f *fakeOpener) OpenRuleCase(_ context.Context, x Firing) error {
	f.mu.Lock()
	f.got = append(f.got, x)
	f.mu.Unlock()
	return nil
}

func (f *fakeOpener) n() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.got) }

var _ Opener = (*fakeOpener)(nil)

type memStates struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memStates) GetState(_ context.Context, k string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	if !ok {
		return nil, lanewatch.Errorf(lanewatch.ENotFound, "no %s", k)
	}
	return v, nil
}
func (s *memStates) PutState(_ context.Context, k string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = v
	return nil
}
func (s *memStates) ListStates(_ context.Context, p string) (map[string][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]byte{}
	for k, v := range s.m {
		if strings.HasPrefix(k, p) {
			out[k] = v
		}
	}
	return out, nil
}
func (s *memStates) DeleteState(_ context.Context, k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
	return nil
}

// memVersions is a VersionStore in memory.
type memVersions struct {
	mu sync.Mutex
	vs []Version // by id
}

func (s *memVersions) ListVersions(context.Context) ([]Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.vs), nil
}

func (s *memVersions) PutVersion(_ context.Context, v Version, keep int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vs = slices.DeleteFunc(s.vs, func(o Version) bool { return o.ID == v.ID })
	s.vs = append(s.vs, v)
	slices.SortFunc(s.vs, func(a, b Version) int { return strings.Compare(a.ID, b.ID) })
	if keep > 0 && len(s.vs) > keep {
		s.vs = s.vs[len(s.vs)-keep:]
	}
	return nil
}

var _ VersionStore = (*memVersions)(nil)

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC) // a Monday

func mustRules(t *testing.T, src string) []*Rule {
	t.Helper()
	rs, err := Parse("t.yaml", []byte(src), LoadOptions{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

type harness struct {
	e   *Engine
	op  *fakeOpener
	now time.Time
}

func newHarness(t *testing.T, src string, st StateStore) *harness {
	t.Helper()
	h := &harness{op: &fakeOpener{}, now: t0}
	e, err := NewEngine(EngineOptions{Opener: h.op, States: st, Registerer: prometheus.NewPedanticRegistry(), Now: func() time.Time { return h.now }})
	if err != nil {
		t.Fatal(err)
	}
	e.Swap(mustRules(t, src))
	h.e = e
	return h
}

var sw = DeviceEnv{ID: "sw-001", Type: "sweeper"}

// send delivers a telemetry message at t0+at.
func (h *harness) send(at time.Duration, m Msg) {
	h.now = t0.Add(at)
	m.TS = h.now
	h.e.HandleEnv(context.Background(), Env{Msg: m, Device: sw, Now: h.now, Kind: "telemetry"})
}

func (h *harness) tick(at time.Duration) {
	h.now = t0.Add(at)
	h.e.Tick(context.Background(), h.now)
}

const speedRule = `groups:
  - name: g
    on: telemetry
    rules:
      - name: fast
        when: msg.speed_kmh > 20
        %s
        case: {category: "9002"}
`

func rule(extra string) string { return strings.Replace(speedRule, "%s", extra, 1) }

func TestForInterruptedAndResumed(t *testing.T) {
	h := newHarness(t, rule("for: 1m"), nil)
	h.send(0, Msg{SpeedKmh: 25})
	h.send(50*time.Second, Msg{SpeedKmh: 25})
	h.send(55*time.Second, Msg{SpeedKmh: 5}) // interrupted
	h.send(70*time.Second, Msg{SpeedKmh: 25})
	h.send(120*time.Second, Msg{SpeedKmh: 25})
	if h.op.n() != 0 {
		t.Fatalf("fired after an interrupted for: %+v", h.op.got)
	}
	h.send(130*time.Second, Msg{SpeedKmh: 25})
	if h.op.n() != 1 || !h.op.got[0].At.Equal(t0.Add(130*time.Second)) {
		t.Fatalf("want one firing at 130s, got %+v", h.op.got)
	}
	h.send(140*time.Second, Msg{SpeedKmh: 25})
	if h.op.n() != 1 {
		t.Fatal("fired twice in one episode")
	}
}

func TestClearHysteresis(t *testing.T) {
	h := newHarness(t, rule("clear: msg.speed_kmh < 10"), nil)
	h.send(0, Msg{SpeedKmh: 25})
	h.send(10*time.Second, Msg{SpeedKmh: 15}) // not held, not cleared: still firing
	h.send(20*time.Second, Msg{SpeedKmh: 25})
	if h.op.n() != 1 {
		t.Fatalf("want 1 firing before clear, got %d", h.op.n())
	}
	h.send(30*time.Second, Msg{SpeedKmh: 5}) // cleared
	h.send(40*time.Second, Msg{SpeedKmh: 25})
	if h.op.n() != 2 {
		t.Fatalf("want a new firing after clear, got %d", h.op.n())
	}
}

func TestKeepForAcrossGaps(t *testing.T) {
	h := newHarness(t, rule("for: 1m\n        keep_for: 30s"), nil)
	h.send(0, Msg{SpeedKmh: 25})
	h.tick(20 * time.Second) // gap shorter than keep_for
	h.send(40*time.Second, Msg{SpeedKmh: 25})
	h.tick(60 * time.Second) // no message, for elapsed, within keep_for of 40s: fires from the clock
	if h.op.n() != 1 || !h.op.got[0].At.Equal(t0.Add(time.Minute)) {
		t.Fatalf("want a firing at 60s from the timer, got %+v", h.op.got)
	}
	// Firing resolves once keep_for passes without the condition.
	h.tick(80 * time.Second)
	h.send(100*time.Second, Msg{SpeedKmh: 25})
	if h.op.n() != 1 {
		t.Fatal("re-fired within the same episode")
	}
	h.tick(140 * time.Second) // 40s without holding: resolved
	h.send(150*time.Second, Msg{SpeedKmh: 25})
	h.send(215*time.Second, Msg{SpeedKmh: 25})
	if h.op.n() != 2 {
		t.Fatalf("want a second episode to fire, got %d", h.op.n())
	}
}

func TestCooldown(t *testing.T) {
	h := newHarness(t, rule("cooldown: 10m"), nil)
	h.send(0, Msg{SpeedKmh: 25})
	h.send(time.Minute, Msg{SpeedKmh: 5})
	h.send(2*time.Minute, Msg{SpeedKmh: 25}) // new episode inside cooldown
	if h.op.n() != 1 {
		t.Fatalf("cooldown ignored: %d firings", h.op.n())
	}
	h.send(10*time.Minute, Msg{SpeedKmh: 25}) // same episode, cooldown over
	if h.op.n() != 2 {
		t.Fatalf("want a firing once cooldown ends, got %d", h.op.n())
	}
}

func TestShadowOpensNothing(t *testing.T) {
	h := newHarness(t, rule("mode: shadow"), nil)
	h.send(0, Msg{SpeedKmh: 25})
	if h.op.n() != 0 {
		t.Fatal("shadow rule opened a case")
	}
	sh := h.e.Shadow()
	if len(sh) != 1 || sh[0].Rule != "fast" || !sh[0].Shadow {
		t.Fatalf("shadow list: %+v", sh)
	}
	if s := h.e.Stats("fast"); s.Evaluations != 1 || s.Matches != 1 || s.Firings != 1 {
		t.Fatalf("stats %+v", s)
	}
}

const absentRule = `groups:
  - name: g
    on: telemetry
    rules:
      - name: silent
        absent: 5m
        case: {category: "9004"}
`

// TestAbsentFiresWithoutInput runs Engine.Run in a synctest bubble: virtual time passes,
// no message arrives, the deadman fires from the engine's own ticker.
func TestAbsentFiresWithoutInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		op := &fakeOpener{}
		st := &memStates{m: map[string][]byte{}}
		e, err := NewEngine(EngineOptions{Opener: op, States: st, Registerer: prometheus.NewPedanticRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		e.Swap(mustRules(t, absentRule))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- e.Run(ctx) }()
		e.HandleEnv(ctx, Env{Device: sw, Kind: "telemetry", Now: time.Now()})
		time.Sleep(4 * time.Minute)
		synctest.Wait()
		if op.n() != 0 {
			t.Fatal("fired too early")
		}
		time.Sleep(90 * time.Second)
		synctest.Wait()
		if op.n() != 1 || op.got[0].Key != "sw-001" {
			t.Fatalf("want one absent firing, got %+v", op.got)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if op.n() != 1 {
			t.Fatal("absent fired again during the same silence")
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetState(context.Background(), StateKey("silent", "sw-001")); err != nil {
			t.Fatalf("state not saved on shutdown: %v", err)
		}
	})
}

func TestRestartRestoresState(t *testing.T) {
	st := &memStates{m: map[string][]byte{}}
	h := newHarness(t, rule("for: 1m"), st)
	h.send(0, Msg{SpeedKmh: 25})
	h.send(time.Minute, Msg{SpeedKmh: 25}) // fires
	if err := h.e.Persist(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A new process: the key is already firing, so the next message does not re-open.
	h2 := newHarness(t, rule("for: 1m"), st)
	if err := h2.e.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	h2.send(2*time.Minute, Msg{SpeedKmh: 25})
	if h2.op.n() != 0 {
		t.Fatal("restart re-opened")
	}
	// A pending timer is not forgotten either.
	h3 := newHarness(t, rule("for: 1m"), &memStates{m: map[string][]byte{}})
	h3.send(0, Msg{SpeedKmh: 25})
	_ = h3.e.Persist(context.Background())
	h4 := newHarness(t, rule("for: 1m"), h3.e.o.States)
	_ = h4.e.Restore(context.Background())
	h4.send(time.Minute, Msg{SpeedKmh: 25})
	if h4.op.n() != 1 {
		t.Fatal("restart forgot the pending for timer")
	}
}

// batchStates is memStates with WriteStates, counting the calls of each kind.
type batchStates struct {
	memStates
	batches, singles int
}

func (s *batchStates) WriteStates(ctx context.Context, ws []StateWrite) error {
	s.mu.Lock()
	s.batches++
	s.mu.Unlock()
	for _, w := range ws {
		if w.Value == nil {
			_ = s.memStates.DeleteState(ctx, w.Key)
		} else {
			_ = s.memStates.PutState(ctx, w.Key, w.Value)
		}
	}
	return nil
}

func (s *batchStates) PutState(ctx context.Context, k string, v []byte) error {
	s.mu.Lock()
	s.singles++
	s.mu.Unlock()
	return s.memStates.PutState(ctx, k, v)
}

// TestPersistBatches: with a store that batches, the state of many keys is saved in one
// WriteStates call, and a restart restores every key from it.
func TestPersistBatches(t *testing.T) {
	st := &batchStates{memStates: memStates{m: map[string][]byte{}}}
	src := `groups:
  - name: g
    on: telemetry
    rules:
      - name: fast
        when: msg.speed_kmh > 20
        key: device.id
        for: 1m
        case: {category: "9002", title: "fast"}
`
	h := newHarness(t, src, st)
	for i := range 200 {
		h.now = t0
		h.e.HandleEnv(context.Background(), Env{Msg: Msg{TS: t0, SpeedKmh: 25}, Device: DeviceEnv{ID: fmt.Sprintf("sw-%03d", i), Type: "sweeper"}, Now: t0, Kind: "telemetry"})
	}
	if err := h.e.Persist(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st.batches != 1 || st.singles != 0 {
		t.Fatalf("persist made %d batches and %d single writes, want 1 and 0", st.batches, st.singles)
	}
	if got, _ := st.ListStates(context.Background(), StatePrefix); len(got) != 200 {
		t.Fatalf("%d keys stored, want 200", len(got))
	}
	// A new process completes all 200 pending timers a minute after they started.
	h2 := newHarness(t, src, st)
	if err := h2.e.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		h2.now = t0.Add(time.Minute)
		h2.e.HandleEnv(context.Background(), Env{Msg: Msg{TS: h2.now, SpeedKmh: 25}, Device: DeviceEnv{ID: fmt.Sprintf("sw-%03d", i), Type: "sweeper"}, Now: h2.now, Kind: "telemetry"})
	}
	if h2.op.n() != 200 {
		t.Fatalf("%d cases after the restart, want 200", h2.op.n())
	}
	// Nothing changed: nothing written.
	if err := h.e.Persist(context.Background()); err != nil || st.batches != 1 {
		t.Fatalf("an idle persist wrote (%d batches, %v)", st.batches, err)
	}
}

func TestSwapKeepsStateOfUnchangedRules(t *testing.T) {
	h := newHarness(t, rule("for: 1m"), nil)
	h.send(0, Msg{SpeedKmh: 25})
	h.e.Swap(mustRules(t, rule("for: 1m\n        cooldown: 1h"))) // same name and when
	h.send(time.Minute, Msg{SpeedKmh: 25})
	if h.op.n() != 1 {
		t.Fatal("reload lost the for state of an unchanged rule")
	}
	h.e.Swap(mustRules(t, strings.Replace(rule("for: 1m"), "> 20", "> 21", 1))) // changed expression
	h.send(70*time.Second, Msg{SpeedKmh: 25})
	if h.op.n() != 1 {
		t.Fatal("changed rule kept old state and fired at once")
	}
}

func TestScheduleAcrossMidnightAndHolidays(t *testing.T) {
	sc, errs := compileSchedule(&ScheduleSpec{Days: []string{"mon"}, Hours: []string{"22:00-02:00"},
		Holidays: []string{"2025-03-10"}, Workdays: []string{"2025-03-08"}}, time.UTC)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	at := func(s string) time.Time { v, _ := time.Parse(time.DateTime, s); return v }
	for _, c := range []struct {
		t    string
		want bool
	}{
		{"2025-03-03 22:30:00", true},  // Monday night
		{"2025-03-04 01:30:00", true},  // Tuesday early: the Monday window
		{"2025-03-04 02:00:00", false}, // window ended
		{"2025-03-04 22:30:00", false}, // Tuesday
		{"2025-03-10 23:00:00", false}, // Monday, but a holiday
		{"2025-03-11 01:00:00", false}, // the holiday's window
		{"2025-03-08 23:00:00", true},  // Saturday make-up working day
		{"2025-03-03 12:00:00", false},
	} {
		if got := sc.Active(at(c.t)); got != c.want {
			t.Errorf("%s: active %v, want %v", c.t, got, c.want)
		}
	}
}

func TestManagerInvalidReloadKeepsOldSet(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) {
		if err := writeFile(dir+"/r.yaml", s); err != nil {
			t.Fatal(err)
		}
	}
	write(rule("for: 1m"))
	op := &fakeOpener{}
	reg := prometheus.NewPedanticRegistry()
	e, _ := NewEngine(EngineOptions{Opener: op, Registerer: reg})
	m, err := NewManager(ManagerOptions{Engine: e, Paths: []string{dir}, Versions: &memVersions{}, Registerer: reg, Load: LoadOptions{Location: time.UTC}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Reload(context.Background(), "test"); err != nil {
		t.Fatal(err)
	}
	write("groups: [{name: g, on: telemetry, rules: [{name: x, when: 'msg.speed_kmh +', case: {category: '9002'}}]}]")
	if _, err := m.Reload(context.Background(), "test"); err == nil || lanewatch.ErrorCode(err) != lanewatch.EUnprocessable {
		t.Fatalf("invalid reload: %v", err)
	}
	if rs := e.Rules(); len(rs) != 1 || rs[0].Name() != "fast" {
		t.Fatal("old set not kept")
	}
	if err, _ := m.LastError(); err == nil {
		t.Fatal("last error not reported")
	}
	write(rule("for: 2m"))
	res, err := m.Reload(context.Background(), "alice")
	if err != nil || !res.Changed || res.Version.ID != "00000002" {
		t.Fatalf("reload: %+v %v", res, err)
	}
	vs, _ := m.Versions(context.Background())
	if len(vs) != 2 || vs[0].Actor != "alice" {
		t.Fatalf("versions %+v", vs)
	}
	d, err := m.Diff(context.Background(), "", "00000002")
	if err != nil || !strings.Contains(d, "-        for: 1m") || !strings.Contains(d, "+        for: 2m") {
		t.Fatalf("diff %q %v", d, err)
	}
}

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o600) }

// TestAbsenceCountsFromWatchFrom: after a restart, a device last seen long before the start
// (while lanewatch was down) is given the whole absent window from the start; one that stays
// silent through it is missed then, once.
func TestAbsenceCountsFromWatchFrom(t *testing.T) {
	st := &memStates{m: map[string][]byte{}}
	h := newHarness(t, absentRule, st)
	h.send(0, Msg{})
	if err := h.e.Persist(context.Background()); err != nil {
		t.Fatal(err)
	}
	// lanewatch was down for an hour; it starts again at t0+1h.
	start := t0.Add(time.Hour)
	op := &fakeOpener{}
	now := start
	e, err := NewEngine(EngineOptions{Opener: op, States: st, Registerer: prometheus.NewPedanticRegistry(),
		Now: func() time.Time { return now }, WatchFrom: start})
	if err != nil {
		t.Fatal(err)
	}
	e.Swap(mustRules(t, absentRule))
	if err := e.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{time.Second, 4 * time.Minute} {
		now = start.Add(at)
		e.Tick(context.Background(), now)
		if op.n() != 0 {
			t.Fatalf("absence fired %v after the start, within the 5m window counted from the start", at)
		}
	}
	now = start.Add(5 * time.Minute)
	e.Tick(context.Background(), now)
	e.Tick(context.Background(), now.Add(time.Minute))
	if op.n() != 1 || op.got[0].Key != "sw-001" {
		t.Fatalf("after the window: %+v, want one absence for sw-001", op.got)
	}
}
