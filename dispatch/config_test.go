package dispatch

import (
	"strings"
	"testing"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/internal/geo"
)

func TestShippedConfigs(t *testing.T) {
	r, err := LoadRouting("../configs/routing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r.Weights.SignOnTime != 25 || r.DuplicateRadiusM != 50 || len(r.Departments) == 0 {
		t.Fatalf("routing = %+v", r)
	}
	if _, err := NewCalendar(r.Calendar); err != nil {
		t.Fatal(err)
	}
}

func TestRoutingValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		f    RoutingFile
		want string
	}{
		{"dup department", RoutingFile{Departments: []Department{{ID: "a"}, {ID: "a"}}}, "defined twice"},
		{"unknown supervisor", RoutingFile{Departments: []Department{{ID: "a", Supervisor: "z"}}}, "supervisor"},
		{"unknown route target", RoutingFile{Routes: []Route{{Department: "z"}}}, "not a department"},
		{"bad category", RoutingFile{Departments: []Department{{ID: "a"}}, Routes: []Route{{Category: "ab", Department: "a"}}}, "category"},
		{"auto citizen", RoutingFile{Auto: []AutoRule{{Sources: []string{"citizen"}}}}, "only rule and camera"},
		{"confidence", RoutingFile{Auto: []AutoRule{{Sources: []string{"camera"}, MinConfidence: 2}}}, "min_confidence"},
		{"calendar", RoutingFile{Calendar: CalendarConfig{Hours: []string{"x"}}}, "calendar.hours"},
	} {
		err := tt.f.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestParseDistrictsRejectsBadRings(t *testing.T) {
	for _, tt := range []struct{ name, geom, want string }{
		{"no rings", `{"type":"Polygon","coordinates":[]}`, "no rings"},
		{"empty ring", `{"type":"Polygon","coordinates":[[]]}`, "ring 0 has 0 positions"},
		{"open ring", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}`, "not closed"},
		{"empty multi", `{"type":"MultiPolygon","coordinates":[]}`, "no polygons"},
		{"multi empty ring", `{"type":"MultiPolygon","coordinates":[[[]]]}`, "polygon 0: ring 0"},
	} {
		doc := `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"d1"},"geometry":` + tt.geom + `}]}`
		_, err := ParseDistricts("districts.geojson", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "districts.geojson: features[0] (d1)") {
			t.Errorf("%s: %v, want an error naming the file, the feature and %q", tt.name, err, tt.want)
		}
	}
}

func FuzzParseDistricts(f *testing.F) {
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"a"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[0,0]}}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"a"},"geometry":{"type":"Polygon","coordinates":[]}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"a"},"geometry":{"type":"MultiPolygon","coordinates":[[[]]]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDistricts("fuzz", data)
		if err != nil {
			return
		}
		_ = d.Locate(lanewatch.Location{Lat: 0.5, Lon: 0.5})
	})
}

func TestDistrictsOf(t *testing.T) {
	a, err := geo.Load("testdata/districts.geojson")
	if err != nil {
		t.Fatal(err)
	}
	d, err := LoadDistricts("testdata/districts.geojson")
	if err != nil {
		t.Fatal(err)
	}
	shared := DistrictsOf(a)
	for _, loc := range []lanewatch.Location{{Lat: 22.52, Lon: 113.3652775}, {Lat: 22.51, Lon: 113.3847225}, {Lat: 0, Lon: 0}} {
		if got, want := shared.Locate(loc), d.Locate(loc); got != want {
			t.Errorf("%v: %q, want %q", loc, got, want)
		}
	}
	if len(shared.IDs()) != len(d.IDs()) {
		t.Errorf("ids %v, want %v", shared.IDs(), d.IDs())
	}
}
