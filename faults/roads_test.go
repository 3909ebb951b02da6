package faults

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// route is a drive along one segment of the example road network (configs/roads.geojson),
// in the direction of its coordinates, starting 5 m in.
type route struct {
	pts [][2]float64 // lon, lat
}

// mPerDegLat is the length of a degree of latitude in metres.
const mPerDegLat = 111_320.0

// at returns the position and heading (degrees from north) after d metres.
func (r route) at(d float64) (lat, lon, heading float64) {
	d += 5
	kx := mPerDegLat * math.Cos(r.pts[0][1]*math.Pi/180)
	for i := 0; i+1 < len(r.pts); i++ {
		a, b := r.pts[i], r.pts[i+1]
		dx, dy := (b[0]-a[0])*kx, (b[1]-a[1])*mPerDegLat
		l := math.Hypot(dx, dy)
		h := math.Mod(math.Atan2(dx, dy)*180/math.Pi+360, 360)
		if d <= l || i+2 == len(r.pts) {
			f := min(d/l, 1)
			return a[1] + f*(b[1]-a[1]), a[0] + f*(b[0]-a[0]), h
		}
		d -= l
	}
	return r.pts[0][1], r.pts[0][0], 0
}

// length is the route's length in metres.
func (r route) length() float64 {
	kx := mPerDegLat * math.Cos(r.pts[0][1]*math.Pi/180)
	l := 0.0
	for i := 0; i+1 < len(r.pts); i++ {
		l += math.Hypot((r.pts[i+1][0]-r.pts[i][0])*kx, (r.pts[i+1][1]-r.pts[i][1])*mPerDegLat)
	}
	return l
}

// exampleRoutes returns a route on every example segment long enough for a drive of minM
// metres plus 5 m at each end, in file order.
func exampleRoutes(t *testing.T, minM float64) []route {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "configs", "roads.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []struct {
			Geometry struct {
				Coordinates [][2]float64 `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		t.Fatal(err)
	}
	var out []route
	for _, f := range fc.Features {
		if r := (route{pts: f.Geometry.Coordinates}); len(r.pts) >= 2 && r.length() >= minM+10 {
			out = append(out, r)
		}
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

// coverageDiff lists the segments whose coverage differs (empty when equal).
func coverageDiff(got, want map[string]segmentCoverage) []string {
	var diffs []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s: not covered, want %.2f m", k, w.CoveredM))
		case g.CoveredM != w.CoveredM || fmt.Sprint(g.Vehicles) != fmt.Sprint(w.Vehicles) || !g.First.Equal(w.First) || !g.Last.Equal(w.Last):
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
