package coverage

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
)

// fakeInflux is the Neighbours of the tests: the points "stored in InfluxDB" so far.
type fakeInflux struct {
	mu    sync.Mutex
	pts   map[string][]lanewatch.Telemetry
	calls int
}

func (f *fakeInflux) store(id string, pts ...lanewatch.Telemetry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pts == nil {
		f.pts = map[string][]lanewatch.Telemetry{}
	}
	f.pts[id] = append(f.pts[id], pts...)
	slices.SortFunc(f.pts[id], func(a, b lanewatch.Telemetry) int { return a.TS.Compare(b.TS) })
}

func (f *fakeInflux) Before(_ context.Context, id string, at time.Time, within time.Duration) (lanewatch.Telemetry, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	pts := f.pts[id]
	for i := len(pts) - 1; i >= 0; i-- {
		if pts[i].TS.Before(at) {
			return pts[i], !pts[i].TS.Before(at.Add(-within)), nil
		}
	}
	return lanewatch.Telemetry{}, false, nil
}

func (f *fakeInflux) After(_ context.Context, id string, at time.Time, within time.Duration) (lanewatch.Telemetry, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	for _, p := range f.pts[id] {
		if p.TS.After(at) {
			return p, !p.TS.After(at.Add(within)), nil
		}
	}
	return lanewatch.Telemetry{}, false, nil
}

// storedMetres is the covered length of a segment on a day in the store.
func storedMetres(t *testing.T, st Store, day, id string) float64 {
	t.Helper()
	recs, err := st.ListCoverage(context.Background(), day)
	if err != nil {
		t.Fatal(err)
	}
	m := 0.0
	for _, r := range recs {
		if r.SegmentID == id {
			for _, iv := range r.Intervals {
				m += iv[1] - iv[0]
			}
		}
	}
	return m
}

func newHandoffTracker(t *testing.T, n *Network, st Store, clock *fakeClock, nb Neighbours) *Tracker {
	t.Helper()
	tr, err := New(Options{Network: n, Store: st, Location: shanghai, Registerer: prometheus.NewPedanticRegistry(), Now: clock.Now, Neighbours: nb})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestHandoffMatchesSingleNode: a sweeper drives an L-shaped route over two segments; its
// points are split between two trackers on one store (two nodes) at every possible point. Both
// orders of arrival in "InfluxDB" are played: the old node's points stored before the new node
// looks for a predecessor (the new node credits the stretch), and after (the old node credits
// it when the vehicle has been idle there). The shared coverage equals one tracker's that saw
// every point, and without Neighbours the stretch across the split is missing.
func TestHandoffMatchesSingleNode(t *testing.T) {
	ctx := context.Background()
	n := mustNetwork(t, road("a", [2]float64{10, 0}, [2]float64{200, 0}), road("b", [2]float64{200, 0}, [2]float64{200, 150}))
	pts := drive([][2]float64{{10, 0}, {200, 0}, {200, 150}}, 2.5, 0, day0, nil)
	const day = "2025-06-02"

	clock := &fakeClock{t: day0.Add(time.Hour)}
	single := newMemStore()
	ref := newHandoffTracker(t, n, single, clock, &fakeInflux{})
	observeSettled(ref, "sw-1", pts)
	if err := ref.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	for _, id := range []string{"a", "b"} {
		want[id] = storedMetres(t, single, day, id)
	}
	if want["a"] < 180 || want["b"] < 140 {
		t.Fatalf("single tracker covered %v, want nearly both whole segments", want)
	}

	for _, storedFirst := range []bool{true, false} {
		for k := 1; k < len(pts); k++ {
			st := newMemStore()
			nb := &fakeInflux{}
			clock.Set(day0.Add(time.Hour))
			a, b := newHandoffTracker(t, n, st, clock, nb), newHandoffTracker(t, n, st, clock, nb)
			observeSettled(a, "sw-1", pts[:k])
			if storedFirst {
				nb.store("sw-1", pts[:k]...)
			}
			observeSettled(b, "sw-1", pts[k:])
			if err := b.Flush(ctx); err != nil { // the new node's predecessor lookup
				t.Fatal(err)
			}
			nb.store("sw-1", pts[k:]...)
			if !storedFirst {
				nb.store("sw-1", pts[:k]...)
			}
			if err := a.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if got := a.Handoffs(ctx); got != 0 {
				t.Fatalf("k=%d: %d handoffs before the vehicle was idle", k, got)
			}
			clock.Set(clock.Now().Add(DefaultHandoffIdle))
			fwd := a.Handoffs(ctx)
			if err := a.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if !storedFirst && fwd != 1 {
				t.Errorf("k=%d: the old node credited %d stretches after the idle time, want 1", k, fwd)
			}
			for _, id := range []string{"a", "b"} {
				got := storedMetres(t, st, day, id)
				if diff := got - want[id]; diff > 1e-3 || diff < -1e-3 { // a millimetre: the position filter of each part
					t.Errorf("stored first %v, split at %d: segment %s covered %.9f m, single node %.9f m", storedFirst, k, id, got, want[id])
				}
			}
			// A further idle period looks once more, then never again.
			clock.Set(clock.Now().Add(6 * DefaultHandoffIdle))
			a.Handoffs(ctx)
			calls := nb.calls
			clock.Set(clock.Now().Add(time.Hour))
			a.Handoffs(ctx)
			if nb.calls != calls {
				t.Errorf("k=%d: Handoffs kept looking after two tries", k)
			}
		}
	}

	// Without Neighbours the stretch across the split is lost (what the lookups repair).
	st := newMemStore()
	a, b := newTracker(t, n, st, clock), newTracker(t, n, st, clock)
	observeSettled(a, "sw-1", pts[:30])
	observeSettled(b, "sw-1", pts[30:])
	for _, tr := range []*Tracker{a, b} {
		if err := tr.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := storedMetres(t, st, day, "a") + storedMetres(t, st, day, "b"); got >= want["a"]+want["b"]-1 {
		t.Errorf("without neighbours: %.1f m covered, want the split's 2.5 m missing from %.1f", got, want["a"]+want["b"])
	}
}

// TestHandoffSkipsWhatCannotPair: no lookups for points that are not working or not on a road,
// nor for a vehicle whose predecessor is in memory.
func TestHandoffSkipsWhatCannotPair(t *testing.T) {
	ctx := context.Background()
	n := mustNetwork(t, road("a", [2]float64{10, 0}, [2]float64{400, 0}))
	clock := &fakeClock{t: day0}
	nb := &fakeInflux{}
	tr := newHandoffTracker(t, n, newMemStore(), clock, nb)
	pts := drive([][2]float64{{10, 0}, {200, 0}}, 2.5, 0, day0, nil)
	observeSettled(tr, "sw-1", pts[:10])
	observeSettled(tr, "sw-1", pts[10:])
	off := slices.Clone(pts)
	for i := range off {
		off[i].BrushOn = false
	}
	observeSettled(tr, "sw-2", off)
	far := drive([][2]float64{{10, 500}, {200, 500}}, 2.5, 0, day0, nil)
	observeSettled(tr, "sw-3", far)
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if nb.calls != 1 {
		t.Errorf("%d predecessor lookups, want 1 (the first point of sw-1)", nb.calls)
	}
	clock.Set(day0.Add(time.Hour))
	tr.Handoffs(ctx)
	if nb.calls != 2 {
		t.Errorf("%d lookups after idling, want 2 (sw-1's next point only)", nb.calls)
	}
}

// hungInflux answers nothing until the caller gives up, like an InfluxDB that accepts the
// connection and never replies; with hung false it serves from fakeInflux.
type hungInflux struct {
	fakeInflux
	hung  atomic.Bool
	calls atomic.Int32
}

func (h *hungInflux) Before(ctx context.Context, id string, at time.Time, within time.Duration) (lanewatch.Telemetry, bool, error) {
	h.calls.Add(1)
	if h.hung.Load() {
		<-ctx.Done()
		return lanewatch.Telemetry{}, false, ctx.Err()
	}
	return h.fakeInflux.Before(ctx, id, at, within)
}

func (h *hungInflux) After(ctx context.Context, id string, at time.Time, within time.Duration) (lanewatch.Telemetry, bool, error) {
	h.calls.Add(1)
	if h.hung.Load() {
		<-ctx.Done()
		return lanewatch.Telemetry{}, false, ctx.Err()
	}
	return h.fakeInflux.After(ctx, id, at, within)
}

// TestHandoffHungInfluxDoesNotHoldFlush: with InfluxDB hung, one Flush makes one wave of
// lookups, keeps every request queued and pauses; Flushes and Handoffs during the pause make
// no lookups; after the pause the queued lookups complete and credit their stretches.
func TestHandoffHungInfluxDoesNotHoldFlush(t *testing.T) {
	ctx := context.Background()
	n := mustNetwork(t, road("a", [2]float64{10, 0}, [2]float64{1000, 0}))
	clock := &fakeClock{t: day0.Add(time.Hour)}
	nb := &hungInflux{}
	st := newMemStore()
	tr := newHandoffTracker(t, n, st, clock, nb)
	const vehicles = 20
	for i := range vehicles {
		id := fmt.Sprintf("sw-%02d", i)
		pts := drive([][2]float64{{10, 0}, {400, 0}}, 2.5, 0, day0.Add(time.Duration(i)*10*time.Minute), nil)
		nb.store(id, pts[:10]...) // observed by another node before
		observeSettled(tr, id, pts[10:])
	}
	nb.hung.Store(true)
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if c := nb.calls.Load(); c == 0 || c > handoffParallel {
		t.Fatalf("%d lookups during the hung Flush, want one wave of at most %d", c, handoffParallel)
	}
	if got := len(tr.pending); got != vehicles {
		t.Fatalf("%d lookups still queued, want all %d", got, vehicles)
	}
	calls := nb.calls.Load()
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Set(clock.Now().Add(handoffPause / 2)) // the vehicles are idle: Handoffs would look, but lookups are paused
	tr.Handoffs(ctx)
	if nb.calls.Load() != calls {
		t.Fatalf("lookups made during the pause")
	}
	before := storedMetres(t, st, "2025-06-02", "a")
	nb.hung.Store(false)
	clock.Set(clock.Now().Add(handoffPause))
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(tr.pending) != 0 {
		t.Fatalf("%d lookups left after InfluxDB came back", len(tr.pending))
	}
	if after := storedMetres(t, st, "2025-06-02", "a"); after <= before {
		t.Fatalf("no stretch credited after InfluxDB came back: %.1f m -> %.1f m", before, after)
	}
}

// TestCrashBeforeDecisionLosesNothing: a node that stops (is killed) with points observed but
// their credit not final (undecided by the fixed lag, or held for the ends of the working
// stretch, edges.go) loses nothing: the journal was committed only up to before the oldest
// record it held (HeldSeq), so the restarted node replays from there, and the node that sees
// the device's next point walks back over the stored points and matches them again.
func TestCrashBeforeDecisionLosesNothing(t *testing.T) {
	ctx := context.Background()
	n := mustNetwork(t, road("a", [2]float64{10, 0}, [2]float64{200, 0}), road("b", [2]float64{200, 0}, [2]float64{200, 150}))
	pts := drive([][2]float64{{30, 0}, {200, 0}, {200, 60}}, 2.5, 2, day0, rand.New(rand.NewPCG(5, 5)))
	const day = "2025-06-02"
	clock := &fakeClock{t: day0.Add(time.Hour)}
	single := newMemStore()
	ref := newHandoffTracker(t, n, single, clock, &fakeInflux{})
	observeSettled(ref, "sw-1", pts)
	if err := ref.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{3, 8, 20, 40, 70, 90} {
		st, nb := newMemStore(), &fakeInflux{}
		a := newHandoffTracker(t, n, st, clock, nb)
		for i := range k { // one journal record per point, seq i+1
			a.ObserveSeq("sw-1", "sweeper", uint64(i+1), pts[i:i+1], nil)
		}
		held := a.HeldSeq()
		if held == 0 || held > uint64(k) {
			t.Fatalf("killed after %d points: HeldSeq %d, want a record of the last points", k, held)
		}
		if err := a.Flush(ctx); err != nil { // then the journal is committed up to held-1; killed
			t.Fatal(err)
		}
		nb.store("sw-1", pts[:k]...)
		b := newHandoffTracker(t, n, st, clock, nb)
		// The restart replays the records from held on, then the device's next points come.
		observeSettled(b, "sw-1", pts[held-1:])
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"a", "b"} {
			got, want := storedMetres(t, st, day, id), storedMetres(t, single, day, id)
			if math.Abs(got-want) > 1.5 { // each part's positions are filtered on their own
				t.Errorf("killed after %d points: segment %s covered %.2f m, single node %.2f m", k, id, got, want)
			}
		}
	}
}
