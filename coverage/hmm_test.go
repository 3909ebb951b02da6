package coverage

import (
	"math"
	"strings"
	"testing"

	"github.com/lanewatch/lanewatch/coverage/internal/gen/scenario"
)

// TestGraphShortestPaths checks the precomputed table on a grid, where the truth is the
// Manhattan distance, and that one-way segments are only used forward.
func TestGraphShortestPaths(t *testing.T) {
	var net scenario.Net
	net.Grid(4, 4, 100, 0, 0, "main")
	n, err := Parse(net.RoadsGeoJSON(), scenario.DistrictsGeoJSON(), nil)
	if err != nil {
		t.Fatal(err)
	}
	g := newGraph(n.Segments, 450)
	nodeAt := func(c, r int) int32 {
		s := n.Segments[n.byID["h"+itoa(r)+"-"+itoa(min(c, 3))]]
		if c == 4 {
			return g.to[n.byID[s.ID]]
		}
		return g.from[n.byID[s.ID]]
	}
	for c0 := 0; c0 <= 4; c0++ {
		for r0 := 0; r0 <= 4; r0++ {
			for c1 := 0; c1 <= 4; c1++ {
				for r1 := 0; r1 <= 4; r1++ {
					want := float64(100 * (abs(c1-c0) + abs(r1-r0)))
					d, ok := g.sp(nodeAt(c0, r0), nodeAt(c1, r1))
					if want > 450 {
						if ok {
							t.Fatalf("(%d,%d)→(%d,%d): %v found beyond the 450 m bound", c0, r0, c1, r1, d)
						}
						continue
					}
					if !ok || math.Abs(d-want) > 0.01 {
						t.Fatalf("(%d,%d)→(%d,%d) = %v, %v; want %v", c0, r0, c1, r1, d, ok, want)
					}
					var l float64
					for _, e := range g.path(nodeAt(c0, r0), nodeAt(c1, r1), nil) {
						l += g.length[e>>1]
					}
					if math.Abs(l-want) > 0.01 {
						t.Fatalf("(%d,%d)→(%d,%d): path of %v m, want %v", c0, r0, c1, r1, l, want)
					}
				}
			}
		}
	}
	// One way: a → b forward only; the way back is round the loop.
	var ow scenario.Net
	ow.Add("a", "main", true, [2]float64{0, 0}, [2]float64{100, 0})
	ow.Add("b", "main", false, [2]float64{100, 0}, [2]float64{100, 100})
	ow.Add("c", "main", false, [2]float64{100, 100}, [2]float64{0, 0})
	n2, err := Parse(ow.RoadsGeoJSON(), scenario.DistrictsGeoJSON(), nil)
	if err != nil {
		t.Fatal(err)
	}
	g2 := newGraph(n2.Segments, 1000)
	a := n2.byID["a"]
	if d, _ := g2.sp(g2.from[a], g2.to[a]); math.Abs(d-100) > 0.01 {
		t.Errorf("forward along the one-way: %v, want 100", d)
	}
	if d, _ := g2.sp(g2.to[a], g2.from[a]); math.Abs(d-(100+100*math.Sqrt2)) > 0.01 {
		t.Errorf("against the one-way: %v, want round the loop %v", d, 100+100*math.Sqrt2)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestConfigMatcherKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"sigma", func(c *Config) { c.SigmaM = -1 }, "coverage.sigma_m"},
		{"beta", func(c *Config) { c.BetaM = -2 }, "coverage.beta_m"},
		{"lag", func(c *Config) { c.Lag = 100 }, "coverage.lag"},
		{"lag timeout", func(c *Config) { c.LagTimeout = -1 }, "coverage.lag_timeout"},
		{"route bound below max gap", func(c *Config) { c.RouteBoundM = 50 }, "coverage.route_bound_m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			tc.mod(&c)
			c.SetDefaults()
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.want)
			}
		})
	}
	var c Config
	c.SetDefaults()
	if err := c.Validate(); err != nil || c.SigmaM != 5 || c.Lag != 5 || c.RouteBoundM != 2*c.MaxGapM {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
}

// TestLagTimeoutKeepsCoverageLive: the last lag points of a vehicle that stops sending are
// decided at the first Flush after lag_timeout, not held back for ever.
func TestLagTimeoutKeepsCoverageLive(t *testing.T) {
	n := mustNetwork(t, road("a", [2]float64{10, 0}, [2]float64{510, 0}))
	clock := &fakeClock{t: day0}
	tr := newTracker(t, n, newMemStore(), clock)
	pts := drive([][2]float64{{10, 0}, {310, 0}}, 2.5, 0, day0, nil)
	for i := range pts {
		clock.Set(pts[i].TS)
		tr.Observe("sw-1", "sweeper", pts[i:i+1], nil)
	}
	ctx := t.Context()
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	held, _ := ratioOf(t, tr, "2025-06-02", "a")
	clock.Set(pts[len(pts)-1].TS.Add(DefaultLagTimeout))
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := ratioOf(t, tr, "2025-06-02", "a")
	if held >= 300-2.5*DefaultLag+1 || math.Abs(got-300) > 1 {
		t.Fatalf("covered %.1f m before lag_timeout and %.1f m after, want less than %.1f and then 300", held, got, 300-2.5*DefaultLag+1)
	}
}

// TestStrayBeyondRadiusKeepsRoad: a sweeper on a main road with an alley 12 m beside it that
// no route joins; five points stray 20.5 m towards the alley, beyond the search radius (20 m)
// of the main road. The path goes on along the main road (the points are a little beyond its
// radius: continuations) instead of breaking and starting again on the alley.
func TestStrayBeyondRadiusKeepsRoad(t *testing.T) {
	n := mustNetwork(t, road("main", [2]float64{0, 0}, [2]float64{400, 0}), road("alley", [2]float64{100, 12}, [2]float64{300, 12}))
	pts := drive([][2]float64{{0, 0}, {400, 0}}, 2.5, 0, day0, nil)
	for i := 60; i < 65; i++ {
		x, y := testProj.Forward(pts[i].Lat, pts[i].Lon)
		pts[i].Lat, pts[i].Lon = testProj.Inverse(x, y+20.5)
	}
	clock := &fakeClock{t: day0}
	tr := newTracker(t, n, newMemStore(), clock)
	observeSettled(tr, "sw-1", pts)
	if m, _ := ratioOf(t, tr, "2025-06-02", "alley"); m != 0 {
		t.Errorf("alley credited %.1f m, want 0", m)
	}
	if m, _ := ratioOf(t, tr, "2025-06-02", "main"); m < 399 {
		t.Errorf("main credited %.1f m, want 400", m)
	}
}

// TestOutlierPointLeftOut: one point of a sweeper on a main road lands 40 m off it (beyond its
// search radius of 20 m), 5 m from a side road at a junction just behind the vehicle; matched,
// the path would go up the side road and back. It is left out as an outlier: the side road
// gets nothing.
func TestOutlierPointLeftOut(t *testing.T) {
	n := mustNetwork(t, road("main-1", [2]float64{0, 0}, [2]float64{200, 0}), road("main-2", [2]float64{200, 0}, [2]float64{400, 0}),
		road("side", [2]float64{200, 0}, [2]float64{200, 120}))
	pts := drive([][2]float64{{0, 0}, {400, 0}}, 2.5, 0, day0, nil)
	x, y := testProj.Forward(pts[82].Lat, pts[82].Lon) // at x = 205
	pts[82].Lat, pts[82].Lon = testProj.Inverse(x, y+40)
	clock := &fakeClock{t: day0}
	tr := newTracker(t, n, newMemStore(), clock)
	observeSettled(tr, "sw-1", pts)
	if m, _ := ratioOf(t, tr, "2025-06-02", "side"); m != 0 {
		t.Errorf("side road credited %.1f m, want 0", m)
	}
	for _, id := range []string{"main-1", "main-2"} {
		if m, _ := ratioOf(t, tr, "2025-06-02", id); m < 199 {
			t.Errorf("%s credited %.1f m, want 200", id, m)
		}
	}
}
