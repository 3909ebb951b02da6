package geo

import (
	"math"
	"strings"
	"testing"
)

// haversine is the formula the packages used before orb (mean earth radius), to check that
// Distance keeps their figures.
func haversine(lat1, lon1, lat2, lon2 float64) float64 {
	toRad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*toRad, (lon2-lon1)*toRad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*toRad)*math.Cos(lat2*toRad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * EarthRadiusM * math.Asin(math.Min(1, math.Sqrt(a)))
}

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
	}{
		{"same point", 26.085, 119.3, 26.085, 119.3},
		{"50 m north", 26.085, 119.3, 26.0854497, 119.3},
		{"across old town", 26.0715, 119.285, 26.0985, 119.315},
		{"Fuzhou to Beijing", 26.085, 119.3, 39.9042, 116.4074},
		{"antipodes", 0, 0, 0, 180},
	} {
		got, want := Distance(tt.lat1, tt.lon1, tt.lat2, tt.lon2), haversine(tt.lat1, tt.lon1, tt.lat2, tt.lon2)
		if math.Abs(got-want) > 1e-9*math.Max(1, want) {
			t.Errorf("%s: Distance = %.9f, want %.9f", tt.name, got, want)
		}
	}
	// One degree of latitude on the mean radius is 111 195.08 m.
	if d := Distance(0, 0, 1, 0); math.Abs(d-111195.08) > 0.01 {
		t.Errorf("one degree = %v m", d)
	}
}

func TestBearing(t *testing.T) {
	for _, tt := range []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		want                   float64
	}{
		{"north", 26, 119, 27, 119, 0},
		{"east", 0, 119, 0, 120, 90},
		{"south", 27, 119, 26, 119, 180},
		{"west", 0, 120, 0, 119, 270},
	} {
		if got := Bearing(tt.lat1, tt.lon1, tt.lat2, tt.lon2); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s: Bearing = %v, want %v", tt.name, got, tt.want)
		}
	}
}

const twoAreas = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":"west","name_zh":"西","name_en":"West"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]],[[0.4,0.4],[0.6,0.4],[0.6,0.6],[0.4,0.6],[0.4,0.4]]]}},
{"type":"Feature","properties":{"id":"east"},"geometry":{"type":"MultiPolygon","coordinates":[[[[1,0],[2,0],[2,1],[1,1],[1,0]]],[[[3,0],[4,0],[4,1],[3,1],[3,0]]]]}}]}`

func TestParseAndLocate(t *testing.T) {
	a, err := Parse("areas.geojson", []byte(twoAreas))
	if err != nil {
		t.Fatal(err)
	}
	if ids := a.IDs(); len(ids) != 2 || ids[0] != "west" || ids[1] != "east" {
		t.Fatalf("ids = %v", ids)
	}
	if l := a.List(); l[0].NameZH != "西" || l[0].NameEN != "West" || len(l[1].Polygons) != 2 {
		t.Fatalf("areas = %+v", l)
	}
	for _, tt := range []struct {
		name     string
		lat, lon float64
		want     string
	}{
		{"inside west", 0.2, 0.2, "west"},
		{"in the hole", 0.5, 0.5, ""},
		{"shared border: first in file order", 0.5, 1, "west"},
		{"second polygon of east", 0.5, 3.5, "east"},
		{"between east's polygons", 0.5, 2.5, ""},
		{"outside", 5, 5, ""},
	} {
		if got := a.Locate(tt.lat, tt.lon); got != tt.want {
			t.Errorf("%s: Locate = %q, want %q", tt.name, got, tt.want)
		}
	}
	if l := a.List(); !l[1].Contains(0.5, 3.5) || l[1].Contains(0.5, 2.5) {
		t.Error("Area.Contains is wrong")
	}
	if !a.Contains("east", 0.5, 1.5) || a.Contains("east", 0.2, 0.2) || a.Contains("north", 0.2, 0.2) {
		t.Error("Contains is wrong")
	}
	var none *Areas
	if none.Locate(0, 0) != "" || none.Contains("x", 0, 0) || none.IDs() != nil || none.List() != nil {
		t.Error("a nil *Areas is not empty")
	}
}

func TestParseErrors(t *testing.T) {
	feature := func(props, geom string) string {
		return `{"type":"FeatureCollection","features":[{"type":"Feature","properties":` + props + `,"geometry":` + geom + `}]}`
	}
	square := `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}`
	for _, tt := range []struct{ name, doc, want string }{
		{"not json", `{`, "f.geojson: not a GeoJSON FeatureCollection"},
		{"not a collection", `{"type":"Feature"}`, "not a GeoJSON FeatureCollection"},
		{"no features", `{"type":"FeatureCollection","features":[]}`, "f.geojson: no features"},
		{"null feature", `{"type":"FeatureCollection","features":[null]}`, "features[0]: not a GeoJSON Feature"},
		{"no id", feature(`{}`, square), "features[0]: property id (a string) is required"},
		{"numeric id", feature(`{"id":7}`, square), "property id (a string) is required"},
		{"bad id", feature(`{"id":"a b"}`, square), "features[0] (a b): property id: want"},
		{"unknown property", feature(`{"id":"a","colour":"red"}`, square), `unknown property "colour"`},
		{"name not a string", feature(`{"id":"a","name_zh":1}`, square), "name_zh: want a string"},
		{"no geometry", feature(`{"id":"a"}`, `null`), "geometry must be Polygon or MultiPolygon"},
		{"point", feature(`{"id":"a"}`, `{"type":"Point","coordinates":[0,0]}`), "geometry must be Polygon or MultiPolygon"},
		{"no rings", feature(`{"id":"a"}`, `{"type":"Polygon","coordinates":[]}`), "features[0] (a): polygon has no rings"},
		{"empty ring", feature(`{"id":"a"}`, `{"type":"Polygon","coordinates":[[]]}`), "ring 0 has 0 positions, want at least 4"},
		{"open ring", feature(`{"id":"a"}`, `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}`), "ring 0 is not closed"},
		{"out of range", feature(`{"id":"a"}`, `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,91],[0,0]]]}`), "ring 0 position 2 [1, 91] is not a finite [lon, lat]"},
		{"empty multi", feature(`{"id":"a"}`, `{"type":"MultiPolygon","coordinates":[]}`), "MultiPolygon has no polygons"},
		{"multi empty ring", feature(`{"id":"a"}`, `{"type":"MultiPolygon","coordinates":[[[]]]}`), "polygon 0: ring 0 has 0 positions"},
		{"duplicate", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"a"},"geometry":` + square + `},{"type":"Feature","properties":{"id":"a"},"geometry":` + square + `}]}`, `features[1] (a): id "a" defined twice (also features[0])`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.geojson", []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	// Every bad feature is reported.
	doc := `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"a"},"geometry":null},{"type":"Feature","properties":{},"geometry":null}]}`
	if _, err := Parse("f", []byte(doc)); err == nil || !strings.Contains(err.Error(), "features[0] (a)") || !strings.Contains(err.Error(), "features[1]:") {
		t.Fatalf("err = %v, want both features named", err)
	}
}

func TestLoad(t *testing.T) {
	a, err := Load("../../configs/districts.geojson")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.IDs()) != 4 || a.Locate(22.52, 113.3652775) != "xiqu" {
		t.Fatalf("districts = %v, (22.52, 113.3652775) in %q", a.IDs(), a.Locate(22.52, 113.3652775))
	}
	if _, err := Load("testdata/missing.geojson"); err == nil || !strings.Contains(err.Error(), "read area file") {
		t.Fatalf("missing file: %v", err)
	}
}

func BenchmarkLocate(b *testing.B) {
	a, err := Load("../../configs/districts.geojson")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = a.Locate(22.502+float64(i%100)*0.00026, 113.3613885+float64(i%97)*0.0003)
	}
}
