package inspections

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// shippedRoads reads configs/roads.geojson independently: segment id -> class.
func shippedRoads(t testing.TB) RoadClass {
	t.Helper()
	b, err := os.ReadFile("../configs/roads.geojson")
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []struct {
			Properties struct{ ID, Class string } `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, f := range fc.Features {
		m[f.Properties.ID] = f.Properties.Class
	}
	return func(id string) (string, bool) { c, ok := m[id]; return c, ok }
}

func TestShippedPlaces(t *testing.T) {
	p, err := LoadPlaces("../configs/places.geojson", shippedRoads(t))
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	districts := map[string]bool{}
	for _, pl := range p.List() {
		n[pl.Kind]++
		districts[pl.District] = true
	}
	if n[KindAlley] != 35 || n[KindCompound] != 12 || n[KindMarket] != 2 || len(districts) != 4 {
		t.Errorf("kinds %v, districts %v", n, districts)
	}
	a, ok := p.Get("alley-qingxi-lane1")
	if !ok || a.Name != "青溪路一巷" || len(a.Segments) != 2 || a.District != "xiqu" {
		t.Errorf("alley-qingxi-lane1 = %+v", a)
	}
}

func TestShippedSupervisionCampaigns(t *testing.T) {
	places, err := LoadPlaces("../configs/places.geojson", shippedRoads(t))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Campaigns []CampaignConfig `yaml:"campaigns"`
		Review    any              `yaml:"review"`
		Notices   any              `yaml:"notices"`
	}
	if err := yamlx.ReadFile("../configs/supervision.yaml", &f); err != nil {
		t.Fatal(err)
	}
	cs, err := NewCampaigns(f.Campaigns, places, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.List()) == 0 {
		t.Fatal("no shipped campaign")
	}
	c := cs.List()[0]
	assigned := map[string]bool{}
	for _, g := range c.Groups {
		for _, p := range g.Places {
			assigned[p] = true
		}
	}
	if len(assigned) != len(c.Places) {
		t.Errorf("shipped campaign: %d places in scope, %d assigned to a group", len(c.Places), len(assigned))
	}
}

func TestParsePlacesErrors(t *testing.T) {
	roads := func(id string) (string, bool) {
		switch id {
		case "s-alley":
			return "alley", true
		case "s-main":
			return "main", true
		}
		return "", false
	}
	feat := func(props, geom string) string {
		return `{"type":"FeatureCollection","features":[{"type":"Feature","properties":` + props + `,"geometry":` + geom + `}]}`
	}
	line := `{"type":"LineString","coordinates":[[113.3652775,22.51],[113.375,22.51]]}`
	poly := `{"type":"Polygon","coordinates":[[[113.3652775,22.51],[113.375,22.51],[113.375,22.52],[113.3652775,22.51]]]}`
	tests := []struct{ name, doc, want string }{
		{"not json", `{`, "not a GeoJSON FeatureCollection"},
		{"empty", `{"type":"FeatureCollection","features":[]}`, "with features"},
		{"bad id", feat(`{"id":"a b","kind":"alley","name":"x","district":"d","segments":["s-alley"]}`, line), `id: "a b"`},
		{"no name", feat(`{"id":"a","kind":"alley","district":"d","segments":["s-alley"]}`, line), "name: required"},
		{"no district", feat(`{"id":"a","kind":"alley","name":"x","segments":["s-alley"]}`, line), "district: required"},
		{"alley polygon", feat(`{"id":"a","kind":"alley","name":"x","district":"d","segments":["s-alley"]}`, poly), "an alley is a LineString"},
		{"compound line", feat(`{"id":"c","kind":"compound","name":"x","district":"d"}`, line), "a compound is a Polygon"},
		{"unknown segment", feat(`{"id":"a","kind":"alley","name":"x","district":"d","segments":["s-x"]}`, line), `"s-x" is not a segment`},
		{"main road", feat(`{"id":"a","kind":"alley","name":"x","district":"d","segments":["s-main"]}`, line), "is a main road, not an alley"},
		{"no segments", feat(`{"id":"a","kind":"alley","name":"x","district":"d"}`, line), "segments: an alley names"},
		{"compound segments", feat(`{"id":"c","kind":"compound","name":"x","district":"d","segments":["s-alley"]}`, poly), "only an alley"},
		{"out of range", feat(`{"id":"c","kind":"compound","name":"x","district":"d"}`, `{"type":"Polygon","coordinates":[[[200,26],[1,1],[2,2]]]}`), "not a [lon, lat]"},
		{"no geometry", feat(`{"id":"c","kind":"compound","name":"x","district":"d"}`, `null`), "geometry: required"},
		{"props not object", feat(`[1]`, poly), "properties:"},
		{"duplicate", `{"type":"FeatureCollection","features":[` +
			`{"type":"Feature","properties":{"id":"c","kind":"market","name":"x","district":"d"},"geometry":` + poly + `},` +
			`{"type":"Feature","properties":{"id":"c","kind":"market","name":"y","district":"d"},"geometry":` + poly + `}]}`, "features[1] (c): id \"c\" is also"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePlaces("p.geojson", []byte(tt.doc), roads)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "p.geojson") {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCampaignErrors(t *testing.T) {
	places := testPlaces(t)
	good := func() CampaignConfig {
		return CampaignConfig{ID: "c", NameZH: "n", Start: "2026-11-02", End: "2026-11-15", Cadence: "weekly",
			Scope: ScopeConfig{Districts: []string{"xiqu"}}, Groups: []GroupConfig{{ID: "g", Leader: "王", Places: []string{"a01"}}}}
	}
	tests := []struct {
		name string
		edit func(*CampaignConfig)
		want string
	}{
		{"bad start", func(c *CampaignConfig) { c.Start = "2026-13-01" }, "start:"},
		{"end before start", func(c *CampaignConfig) { c.End = "2026-11-01" }, "end: 2026-11-01 is before"},
		{"cadence", func(c *CampaignConfig) { c.Cadence = "fortnightly" }, "cadence:"},
		{"no name", func(c *CampaignConfig) { c.NameZH = "" }, "name_zh:"},
		{"empty scope", func(c *CampaignConfig) { c.Scope = ScopeConfig{Districts: []string{"nowhere"}} }, "scope: selects no place"},
		{"unknown place", func(c *CampaignConfig) { c.Scope.Places = []string{"zz"} }, "scope.places[0]"},
		{"no groups", func(c *CampaignConfig) { c.Groups = nil }, "groups:"},
		{"no leader", func(c *CampaignConfig) { c.Groups[0].Leader = "" }, "groups[0] (g).leader"},
		{"place outside", func(c *CampaignConfig) { c.Groups[0].Places = []string{"a13"} }, `groups[0] (g).places[0]: "a13" is not in the campaign's scope`},
		{"dup group", func(c *CampaignConfig) { c.Groups = append(c.Groups, c.Groups[0]) }, "groups[1].id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.edit(&c)
			_, err := NewCampaigns([]CampaignConfig{c}, places, time.UTC)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "campaigns[0] (c).") {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	// Monthly rounds end with the campaign.
	c := good()
	c.Cadence, c.Start, c.End = "monthly", "2026-01-15", "2026-03-20"
	cs, err := NewCampaigns([]CampaignConfig{c}, places, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	rs := cs.List()[0].Rounds()
	if len(rs) != 3 || !rs[1][0].Equal(time.Date(2026, 2, 15, 0, 0, 0, 0, time.UTC)) || !rs[2][1].Equal(time.Date(2026, 3, 21, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("rounds = %v", rs)
	}
}

func FuzzParsePlaces(f *testing.F) {
	b, err := os.ReadFile("testdata/places.geojson")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"c","kind":"market","name":"x","district":"d"},"geometry":{"type":"MultiPolygon","coordinates":[]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePlaces("f.geojson", data, func(string) (string, bool) { return "alley", true })
		if err == nil && len(p.List()) == 0 {
			t.Fatal("no error and no places")
		}
	})
}

func FuzzCampaigns(f *testing.F) {
	b, err := os.ReadFile("testdata/campaigns.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	places, err := ParsePlaces("p", mustRead(f, "testdata/places.geojson"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc struct {
			Campaigns []CampaignConfig `yaml:"campaigns"`
		}
		if yamlx.Decode("c.yaml", data, &doc) != nil {
			return
		}
		cs, err := NewCampaigns(doc.Campaigns, places, time.UTC)
		if err == nil {
			for _, c := range cs.List() {
				if len(c.Rounds()) == 0 || len(c.Places) == 0 {
					t.Fatalf("campaign %s without rounds or places", c.ID)
				}
			}
		}
	})
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
