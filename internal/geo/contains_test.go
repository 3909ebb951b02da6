package geo

import (
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// TestPreparedMatchesOrb: the prepared lookup answers as planar.MultiPolygonContains for random
// points, every vertex, edge midpoints and points just off them, on a polygon with a hole and
// a multipolygon and on the shipped districts and zones.
func TestPreparedMatchesOrb(t *testing.T) {
	var all []Area
	a, err := Parse("two", []byte(twoAreas))
	if err != nil {
		t.Fatal(err)
	}
	all = append(all, a.List()...)
	for _, f := range []string{"../../configs/districts.geojson", "../../configs/zones.geojson"} {
		a, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, a.List()...)
	}
	// A triangle with a slanted edge and a concave ring.
	all = append(all, Area{ID: "tri", Polygons: orb.MultiPolygon{{{{0, 0}, {2, 1}, {0, 2}, {0, 0}}}}},
		Area{ID: "concave", Polygons: orb.MultiPolygon{{{{0, 0}, {3, 0}, {3, 3}, {2, 3}, {2, 1}, {1, 1}, {1, 3}, {0, 3}, {0, 0}}}}})
	rng := rand.New(rand.NewPCG(7, 7))
	for _, ar := range all {
		p := prepare(ar.Polygons)
		b := ar.Polygons.Bound()
		var pts []orb.Point
		for range 2000 {
			pts = append(pts, orb.Point{b.Min[0] + (rng.Float64()*1.2-0.1)*(b.Max[0]-b.Min[0]), b.Min[1] + (rng.Float64()*1.2-0.1)*(b.Max[1]-b.Min[1])})
		}
		for _, poly := range ar.Polygons {
			for _, r := range poly {
				for i := range len(r) - 1 {
					s, e := r[i], r[i+1]
					mid := orb.Point{(s[0] + e[0]) / 2, (s[1] + e[1]) / 2}
					pts = append(pts, s, mid, orb.Point{mid[0] + 1e-9, mid[1]}, orb.Point{mid[0], mid[1] - 1e-9})
				}
			}
		}
		for _, pt := range pts {
			if got, want := p.contains(pt), planar.MultiPolygonContains(ar.Polygons, pt); got != want {
				t.Fatalf("%s: %v: prepared %v, orb %v", ar.ID, pt, got, want)
			}
		}
	}
}
