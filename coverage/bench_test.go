package coverage

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/coverage/internal/gen/scenario"
)

// gridNetwork builds a street grid of about n segments (100 m blocks).
func gridNetwork(b *testing.B, n int) *Network {
	side := 1
	for 2*side*(side+1) < n {
		side++
	}
	var roads []testRoad
	for i := 0; i <= side && len(roads) < n; i++ {
		for j := 0; j < side && len(roads) < n; j++ {
			x0, y := float64(j*100+1), float64(i*100+1)
			roads = append(roads, road(fmt.Sprintf("h%d-%d", i, j), [2]float64{x0, y}, [2]float64{x0 + 100, y}))
			roads = append(roads, road(fmt.Sprintf("v%d-%d", i, j), [2]float64{y, x0}, [2]float64{y, x0 + 100}))
		}
	}
	return mustNetwork(b, roads[:min(n, len(roads))]...)
}

func BenchmarkMatch50k(b *testing.B) {
	n := gridNetwork(b, 50000)
	rng := rand.New(rand.NewPCG(1, 1))
	ext := n.index.tree.Len()
	_ = ext
	qs := make([]matchQuery, 4096)
	for i := range qs {
		x, y := rng.Float64()*11000, float64(rng.IntN(110))*100+1+(rng.Float64()*2-1)*5
		qs[i] = matchQuery{p: vec{x, y}, heading: 90, useHeading: true, prev: -1, maxDist: 20, tolDeg: 45, stickM: 3}
	}
	b.ReportAllocs()
	b.ResetTimer()
	matched := 0
	for i := 0; i < b.N; i++ {
		if n.match(&qs[i&4095]).seg >= 0 {
			matched++
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "points/s")
	if matched == 0 {
		b.Fatal("nothing matched")
	}
}

// BenchmarkObserve50k is the whole ingest step: projection, matching, working state, credit.
func BenchmarkObserve50k(b *testing.B) {
	n := gridNetwork(b, 50000)
	tr := newTracker(b, n, newMemStore(), &fakeClock{t: day0})
	pts := drive([][2]float64{{1, 1001}, {10001, 1001}}, 2.5, 5, day0, rand.New(rand.NewPCG(2, 2)))
	ids := make([]string, 0, len(pts))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(pts) {
		ids = tr.Observe("sw-1", "sweeper", pts, ids[:0])
		for j := range pts { // keep time moving forward
			pts[j].TS = pts[j].TS.Add(time.Duration(len(pts)) * time.Second)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "points/s")
}

// TestMemoryPerSegment reports the heap used per segment of a 50,000-segment network.
func TestMemoryPerSegment(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	var m0, m1 runtime.MemStats
	raw := roadsJSON(nil)
	_ = raw
	runtime.GC()
	runtime.ReadMemStats(&m0)
	n := gridNetwork(&testing.B{}, 50000)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	per := float64(m1.HeapAlloc-m0.HeapAlloc) / float64(len(n.Segments))
	t.Logf("network of %d segments: %.0f bytes per segment (heap, incl. index)", len(n.Segments), per)
	if per > 4096 {
		t.Errorf("%.0f bytes per segment", per)
	}
	_ = lanewatch.KindTelemetry
}

// BenchmarkZonesAndDistricts measures the point-in-area lookups of the example network: the
// rules' inZone (Network.InZone) and DistrictOf.
func BenchmarkZonesAndDistricts(b *testing.B) {
	n, err := LoadFiles(Files{Roads: "../configs/roads.geojson", Districts: "../configs/districts.geojson", Zones: "../configs/zones.geojson"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		lat, lon := 26.072+float64(i%100)*0.00026, 119.286+float64(i%97)*0.0003
		_ = n.InZone("central", lat, lon)
		_ = n.DistrictOf(lat, lon)
	}
}

// BenchmarkMatchSequence20k is the sequence matcher on a 20,200-segment street grid (100 m
// blocks): 64 sweepers on random drives with turns at junctions, 1 Hz, σ 5 m, fed one point
// per Observe as the pipeline does (matching, decisions at the lag, crediting along the path).
func BenchmarkMatchSequence20k(b *testing.B) {
	const side, vehicles, steps = 100, 64, 40
	var net scenario.Net
	net.Grid(side, side, 100, -5000, -5000, "main")
	n, err := Parse(net.RoadsGeoJSON(), scenario.DistrictsGeoJSON(), nil)
	if err != nil {
		b.Fatal(err)
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start := time.Now()
	tr := newTracker(b, n, newMemStore(), &fakeClock{t: day0})
	took := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	b.Logf("network: %d segments; tracker with its shortest-path table (route_bound_m %v) built in %v, %.1f MB of heap",
		len(n.Segments), tr.cfg.RouteBoundM, took, float64(m1.HeapAlloc-m0.HeapAlloc)/1e6)
	rng := rand.New(rand.NewPCG(3, 3))
	type feed struct {
		id  string
		pts []lanewatch.Telemetry
	}
	var feeds []feed
	total := 0
	for v := range vehicles {
		c, r := 10+rng.IntN(side-20), 10+rng.IntN(side-20)
		nodes := [][2]int{{c, r}}
		dc, dr := 1, 0
		for range steps {
			if rng.IntN(3) == 0 { // turn left or right
				dc, dr = -dr*(1-2*rng.IntN(2)), dc*(1-2*rng.IntN(2))
				if dc == 0 && dr == 0 {
					dc = 1
				}
			}
			if c+dc < 0 || c+dc > side || r+dr < 0 || r+dr > side {
				dc, dr = -dc, -dr
			}
			c, r = c+dc, r+dr
			nodes = append(nodes, [2]int{c, r})
		}
		f := scenario.Family{Net: net, Vehicles: []scenario.Vehicle{{ID: fmt.Sprintf("sw-%d", v), Legs: scenario.GridRoute(nodes...),
			Start: day0, SpeedKmh: 9, Every: time.Second, Noise: scenario.Noise{Sigma: 5}, Seed: uint64(v)}}}
		pts := f.Samples(&f.Vehicles[0])
		feeds = append(feeds, feed{id: f.Vehicles[0].ID, pts: pts})
		total += len(pts)
	}
	b.Logf("%d vehicles, %d points", vehicles, total)
	ids := make([]string, 0, 1)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	i, round := 0, 0
	for b.Loop() {
		f := &feeds[i%vehicles]
		k := (i / vehicles) % len(f.pts)
		p := f.pts[k : k+1]
		if k == 0 && i >= vehicles {
			round++
		}
		if round > 0 { // later rounds: the same drive again, a day later each time
			q := p[0]
			q.TS = q.TS.Add(time.Duration(round) * 24 * time.Hour)
			p = []lanewatch.Telemetry{q}
		}
		ids = tr.Observe(f.id, "sweeper", p, ids[:0])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "points/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "points/cpu-s")
	}
}
