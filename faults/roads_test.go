package faults

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch/coverage"
)

// route is a drive along one segment of the example road network (configs/roads.geojson),
// in the direction of its coordinates, starting 5 m in.
type route struct {
	proj coverage.Projection
	pts  [][2]float64 // vertices in the projection's metres
}

// at returns the position and heading (degrees from north) after d metres.
func (r route) at(d float64) (lat, lon, heading float64) {
	d += 5
	for i := 0; i+1 < len(r.pts); i++ {
		a, b := r.pts[i], r.pts[i+1]
		dx, dy := b[0]-a[0], b[1]-a[1]
		l := math.Hypot(dx, dy)
		if d <= l || i+2 == len(r.pts) {
			f := min(d/l, 1)
			lat, lon = r.proj.Inverse(a[0]+f*dx, a[1]+f*dy)
			return lat, lon, math.Mod(math.Atan2(dx, dy)*180/math.Pi+360, 360)
		}
		d -= l
	}
	lat, lon = r.proj.Inverse(r.pts[0][0], r.pts[0][1])
	return lat, lon, 0
}

// exampleRoutes returns a route on every example segment long enough for a drive of minM
// metres plus 5 m at each end, in file order (the network is read by the coverage loader).
func exampleRoutes(t *testing.T, minM float64) []route {
	t.Helper()
	cfg := filepath.Join("..", "configs")
	net, err := coverage.LoadFiles(coverage.Files{Roads: filepath.Join(cfg, "roads.geojson"),
		Districts: filepath.Join(cfg, "districts.geojson"), Zones: filepath.Join(cfg, "zones.geojson")})
	if err != nil {
		t.Fatal(err)
	}
	c := net.Segments[0].Coords[0]
	proj := coverage.NewProjection(c[1], c[0])
	var out []route
	for _, s := range net.Segments {
		if s.LengthM < minM+10 {
			continue
		}
		r := route{proj: proj}
		for _, p := range s.Coords {
			x, y := proj.Forward(p[1], p[0])
			r.pts = append(r.pts, [2]float64{x, y})
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		t.Fatalf("no example segment of %.0f m or more", minM+10)
	}
	return out
}

// coverageNetworkYAML is the coverage section of a test node: the example network, and a
// short handoff idle time so the test does not wait long for the stretches across a move.
func coverageNetworkYAML() string {
	wd, _ := os.Getwd()
	cfg := filepath.Join(wd, "..", "configs")
	return fmt.Sprintf(`coverage:
  roads_file: %s
  districts_file: %s
  zones_file: %s
  handoff_idle: 2s
`, filepath.Join(cfg, "roads.geojson"), filepath.Join(cfg, "districts.geojson"), filepath.Join(cfg, "zones.geojson"))
}

// segmentCoverage is what the comparison looks at of one segment on one day.
type segmentCoverage struct {
	CoveredM float64
	Vehicles []string
	First    time.Time
	Last     time.Time
}

// coverageOf reads the covered segments of the days from a node's API.
func (n *node) coverageOf(days []string) (map[string]segmentCoverage, bool) {
	out := map[string]segmentCoverage{}
	for _, day := range days {
		var fc struct {
			Features []struct {
				Properties struct {
					ID           string     `json:"id"`
					CoveredM     float64    `json:"covered_m"`
					Vehicles     []string   `json:"vehicles"`
					FirstCovered *time.Time `json:"first_covered"`
					LastCovered  *time.Time `json:"last_covered"`
				} `json:"properties"`
			} `json:"features"`
		}
		if n.getJSON("/api/v1/coverage?date="+day, &fc) != 200 {
			return nil, false
		}
		for _, f := range fc.Features {
			p := f.Properties
			if p.CoveredM == 0 {
				continue
			}
			sc := segmentCoverage{CoveredM: p.CoveredM, Vehicles: p.Vehicles}
			sort.Strings(sc.Vehicles)
			if p.FirstCovered != nil {
				sc.First, sc.Last = p.FirstCovered.UTC(), p.LastCovered.UTC()
			}
			out[day+"/"+p.ID] = sc
		}
	}
	return out, true
}

// coverageDiff lists the segments whose coverage differs by more than tolM metres or in
// vehicles, first or last pass (empty when equal).
func coverageDiff(got, want map[string]segmentCoverage, tolM float64) []string {
	var diffs []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s: not covered, want %.2f m", k, w.CoveredM))
		case math.Abs(g.CoveredM-w.CoveredM) > tolM || fmt.Sprint(g.Vehicles) != fmt.Sprint(w.Vehicles) || !g.First.Equal(w.First) || !g.Last.Equal(w.Last):
			diffs = append(diffs, fmt.Sprintf("%s: %.2f m by %v (%s..%s), want %.2f m by %v (%s..%s)", k,
				g.CoveredM, g.Vehicles, g.First.Format(time.TimeOnly), g.Last.Format(time.TimeOnly),
				w.CoveredM, w.Vehicles, w.First.Format(time.TimeOnly), w.Last.Format(time.TimeOnly)))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: %.2f m covered, want none", k, g.CoveredM))
		}
	}
	sort.Strings(diffs)
	return diffs
}
