package coverage

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
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
