package dispatch

import (
	"strings"
	"testing"

	"github.com/lanewatch/lanewatch"
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

func FuzzParseDistricts(f *testing.F) {
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"a"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[0,0]}}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDistricts("fuzz", data)
		if err != nil {
			return
		}
		_ = d.Locate(lanewatch.Location{Lat: 0.5, Lon: 0.5})
	})
}
