package coverage

import (
	"math"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
)

// biasedDrive is a 1 Hz drive at 2.5 m/s along path with every position shifted by off
// (metres east, north: a multipath bias near buildings that no filter of the positions alone
// can tell from motion) and the brush down while working(i) for the i-th point.
func biasedDrive(path [][2]float64, off [2]float64, working func(i int) bool) []lanewatch.Telemetry {
	pts := drive(path, 2.5, 0, day0, nil)
	for i := range pts {
		x, y := testProj.Forward(pts[i].Lat, pts[i].Lon)
		pts[i].Lat, pts[i].Lon = testProj.Inverse(x+off[0], y+off[1])
		pts[i].BrushOn = working(i)
	}
	return pts
}

// TestTurnPlacesBrushUp: east along "a", a left turn north onto "b", the brush up 100 m along
// "b", every position 8 m north of the truth. Along "b" the positions are 8 m ahead, so a
// filter of positions and speed ends the stretch about 8 m late; the turn (the heading swings
// from east to north at the junction, which the bias does not move) places the vehicle there,
// and the odometry from there places the brush-up. Truth: b covered 100 m, nothing on "c"
// (the road straight on).
func TestTurnPlacesBrushUp(t *testing.T) {
	const day = "2025-06-02"
	n := mustNetwork(t, road("a", [2]float64{0, 0}, [2]float64{300, 0}), road("b", [2]float64{300, 0}, [2]float64{300, 300}),
		road("c", [2]float64{300, 0}, [2]float64{600, 0}))
	// 120 points along a, then 40 (100 m) along b with the brush down, 40 more with it up.
	pts := biasedDrive([][2]float64{{0, 0}, {300, 0}, {300, 200}}, [2]float64{0, 8}, func(i int) bool { return i < 160 })
	tr := newTracker(t, n, newMemStore(), &fakeClock{t: day0})
	observeSettled(tr, "sw-1", pts)
	got, _ := ratioOf(t, tr, day, "b")
	t.Logf("b covered %.2f m, truth 100 m", got)
	if math.Abs(got-100) > 2 {
		t.Errorf("b covered %.2f m, want 100 ± 2 (the brush went up 100 m after the turn)", got)
	}
	if c, _ := ratioOf(t, tr, day, "c"); c > 0 {
		t.Errorf("c covered %.2f m, want 0 (never entered)", c)
	}
}

// TestHeldCreditIsBounded: the middle of a working stretch is credited lag + holdPoints
// points behind the vehicle; its start is held until placed (smoothWindow later), and HeldSeq
// names the journal record the held credit began in until then, 0 once all is credited.
func TestHeldCreditIsBounded(t *testing.T) {
	const day = "2025-06-02"
	n := mustNetwork(t, road("a", [2]float64{0, 0}, [2]float64{1000, 0}))
	pts := drive([][2]float64{{0, 0}, {1000, 0}}, 2.5, 0, day0, nil)
	tr := newTracker(t, n, newMemStore(), &fakeClock{t: day0})
	behind := DefaultLag + holdPoints + 2
	margin := tr.startMargin()
	for k := range 380 {
		tr.ObserveSeq("sw-1", "sweeper", uint64(k+1), pts[k:k+1], nil)
		got, _ := ratioOf(t, tr, day, "a")
		// Point k is at 2.5 k m: all but the held start (margin metres) of what is behind.
		want := 2.5*float64(k-behind) - margin
		if k > 250+behind {
			want = 2.5 * float64(k-behind) // the start is placed after 240 s
		}
		if got < want-0.5 {
			t.Fatalf("after point %d: %.1f m credited, want at least %.1f", k, got, want)
		}
		held := tr.HeldSeq()
		if k < 240 && (held == 0 || held > 2) {
			// The first point is the path's anchor; the held start begins with the second.
			t.Fatalf("after point %d: HeldSeq %d, want 1 or 2 (the start is held)", k, held)
		}
		if k > 260+behind && (held == 0 || held < uint64(k-behind-holdPoints-replayMargin-2)) {
			t.Fatalf("after point %d: HeldSeq %d, want the last %d points' records", k, held, behind+replayMargin)
		}
	}
	vi, _ := tr.vehicles.Load("sw-1")
	v := vi.(*vehicle)
	v.mu.Lock()
	tr.settle("sw-1", v)
	v.mu.Unlock()
	if held := tr.HeldSeq(); held != 0 {
		t.Errorf("after the vehicle fell quiet: HeldSeq %d, want 0", held)
	}
	if got, _ := ratioOf(t, tr, day, "a"); math.Abs(got-2.5*379) > 0.5 {
		t.Errorf("after the vehicle fell quiet: %.1f m credited, want %.1f", got, 2.5*379)
	}
}

// TestFitEdgeTurnsAndDrift: the fit of placeEdge on a drive whose positions carry a slowly
// changing error, with two turns: the position at the edge comes from the turns and the
// odometry, not from the positions around it.
func TestFitEdgeTurnsAndDrift(t *testing.T) {
	var lg []logPoint
	for i := range 200 {
		o := 2.5 * float64(i)
		drift := 6 * math.Sin(float64(i)/40) // metres along the road, a period of 250 s
		lg = append(lg, logPoint{t: float64(i), o: o, s: o + drift, hdg: -1})
	}
	fixes := []fix{{o: 100, u: 100, v: 0.77}, {o: 350, u: 350, v: 0.77}}
	edge := 495.0 // the last point
	x0, c, ok := fitEdge(lg, fixes, edge, 30, 18)
	if !ok {
		t.Fatal("fitEdge: no solution")
	}
	if math.Abs(x0-edge) > 1.5 || math.Abs(c-1) > 0.01 {
		t.Errorf("fitEdge = %.2f m (scale %.4f), want %.1f ± 1.5 m (the positions there are %.1f m off)", x0, c, edge, lg[len(lg)-1].s-edge)
	}
	// Without the turns the same positions place it by themselves, with their error.
	x1, _, _ := fitEdge(lg, nil, edge, 30, 18)
	t.Logf("with turns %.2f m, without %.2f m, truth %.1f m", x0, x1, edge)
}

func init() { _ = time.Second }

// TestReleaseMovesHeldSeq: told to release the records before a seq (the journal's backlog
// is at its bound), the tracker places the held start with what it has and credits it.
func TestReleaseMovesHeldSeq(t *testing.T) {
	const day = "2025-06-02"
	n := mustNetwork(t, road("a", [2]float64{0, 0}, [2]float64{1000, 0}))
	pts := drive([][2]float64{{0, 0}, {1000, 0}}, 2.5, 0, day0, nil)
	tr := newTracker(t, n, newMemStore(), &fakeClock{t: day0})
	for k := range 100 {
		tr.ObserveSeq("sw-1", "sweeper", uint64(k+1), pts[k:k+1], nil)
	}
	before, _ := ratioOf(t, tr, day, "a")
	if held := tr.HeldSeq(); held > 2 {
		t.Fatalf("HeldSeq %d before the release, want the start's record (1 or 2)", held)
	}
	tr.Release(50)
	held := tr.HeldSeq()
	if held < 50 {
		t.Errorf("HeldSeq %d after Release(50), want at least 50", held)
	}
	after, _ := ratioOf(t, tr, day, "a")
	t.Logf("credited %.1f m before the release, %.1f m after; HeldSeq %d", before, after, held)
	if after < 2.5*float64(100-DefaultLag-holdPoints-2)-0.5 || after <= before {
		t.Errorf("credited %.1f m after the release (%.1f before), want the held start credited", after, before)
	}
}

// TestBrokenPathGoesOn: a working drive whose path breaks at one point far off every road, the
// next five positions 20 m behind the truth (a reflection as the receiver recovers). The path
// after the break begins where the one before ended while working, so its start is not put
// later than the forward estimate by the fit over the 240 s after it: the forward estimate
// reaches back across the break, and the whole road driven is covered (the fit alone left
// 895.9 of 897.5 m).
func TestBrokenPathGoesOn(t *testing.T) {
	const day = "2025-06-02"
	n := mustNetwork(t, road("a", [2]float64{0, 0}, [2]float64{1000, 0}))
	pts := drive([][2]float64{{0, 0}, {1000, 0}}, 2.5, 0, day0, nil)[:360]
	for i := range pts {
		x, y := testProj.Forward(pts[i].Lat, pts[i].Lon)
		switch {
		case i == 150:
			y += 200 // off every road: the path breaks
		case i > 150 && i <= 155:
			x -= 20
		}
		pts[i].Lat, pts[i].Lon = testProj.Inverse(x, y)
	}
	tr := newTracker(t, n, newMemStore(), &fakeClock{t: day0})
	observeSettled(tr, "sw-1", pts)
	got, _ := ratioOf(t, tr, day, "a")
	driven := 2.5 * 359
	t.Logf("covered %.1f m, driven %.1f m", got, driven)
	if got < driven-0.5 {
		t.Errorf("covered %.1f m, want %.1f (the drive goes on after the break)", got, driven)
	}
}
