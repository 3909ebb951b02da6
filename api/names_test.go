package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch/api"
	"github.com/lanewatch/lanewatch/coverage"
	"github.com/lanewatch/lanewatch/devices"
	"github.com/lanewatch/lanewatch/dispatch"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

// groupsByKey is a coverage service whose groups are given per group_by (the rates are not
// what these tests look at; the names are).
type groupsByKey map[string][]string

func (g groupsByKey) Mechanization(_ context.Context, date, groupBy, basis string) (*coverage.Mechanization, error) {
	if groupBy == "" {
		groupBy = coverage.ByDistrict
	}
	m := &coverage.Mechanization{Date: "2025-03-12", Basis: "area", Groups: []coverage.Group{}}
	for i, k := range g[groupBy] {
		m.Groups = append(m.Groups, coverage.Group{Key: k, Rate: 0.5, Covered: float64(i + 1), Total: float64(2 * (i + 1)), Segments: 1})
	}
	return m, nil
}

func (groupsByKey) Coverage(context.Context, string, string) (*coverage.FeatureCollection, error) {
	return &coverage.FeatureCollection{Type: "FeatureCollection"}, nil
}

// namesServer is the API over the real case service and registry built from the shipped
// configs (districts.geojson, routing.yaml).
func namesServer(t *testing.T) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, sqlstore.SQLiteOptions{Path: filepath.Join(t.TempDir(), "db.sqlite")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	catalog, err := dispatch.LoadCatalog("../configs/categories.yaml")
	if err != nil {
		t.Fatal(err)
	}
	routing, err := dispatch.LoadRouting("../configs/routing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	districts, err := dispatch.LoadDistricts("../configs/districts.geojson")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dispatch.New(dispatch.Options{Store: st, Catalog: catalog, Routing: routing, Districts: districts})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Options{
		Tokens: []api.Token{{Token: "t-admin", Role: "admin"}, {Token: "t-lvcheng", Role: "contractor:lvcheng"}},
		Cases:  svc, Devices: devices.New(devices.Options{Store: st, BcryptCost: 4}), DeadLetters: st,
		Coverage: groupsByKey{
			coverage.ByDistrict:   {"xiqu", "nanqu", "nowhere"},
			coverage.ByContractor: {"lvcheng", "jieyuan", "acme"},
			coverage.ByRoadClass:  {"main"},
		},
		Now: func() time.Time { return time.Date(2025, 3, 12, 1, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs
}

func callJSON(t *testing.T, hs *httptest.Server, token, method, path string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, hs.URL+path, r)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// TestDeviceNames: device items (created, updated, listed, read, as admin and as the
// contractor) carry the names of their district (districts.geojson name_zh) and contractor
// (routing.yaml), "" for ids those files do not list; the registry fields stay as they were.
func TestDeviceNames(t *testing.T) {
	hs := namesServer(t)
	type item map[string]any
	check := func(what string, got item, id, district, contractor string) {
		t.Helper()
		if got["id"] != id || got["district_name"] != district || got["contractor_name"] != contractor {
			t.Errorf("%s: id %v district_name %v contractor_name %v, want %s %q %q", what, got["id"], got["district_name"], got["contractor_name"], id, district, contractor)
		}
		if _, ok := got["password_hash"]; ok || got["type"] != "sweeper" {
			t.Errorf("%s: fields %v", what, got)
		}
	}
	var created item
	if code := callJSON(t, hs, "t-admin", "POST", "/api/v1/devices", map[string]any{"id": "sw-101", "type": "sweeper",
		"password": "a-long-enough-secret", "district": "xiqu", "contractor": "lvcheng", "plate": "粤T·S0101"}, &created); code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, created)
	}
	check("created", created, "sw-101", "西区街道", "绿城环卫公司")
	if created["district"] != "xiqu" || created["contractor"] != "lvcheng" || created["plate"] != "粤T·S0101" {
		t.Errorf("created registry fields %v", created)
	}
	var unknown item
	callJSON(t, hs, "t-admin", "POST", "/api/v1/devices", map[string]any{"id": "sw-102", "type": "sweeper",
		"password": "a-long-enough-secret", "district": "nowhere", "contractor": "acme"}, &unknown)
	check("unlisted ids", unknown, "sw-102", "", "")

	var one item
	callJSON(t, hs, "t-admin", "GET", "/api/v1/devices/sw-101", nil, &one)
	check("get", one, "sw-101", "西区街道", "绿城环卫公司")
	var page struct {
		Items []item `json:"items"`
	}
	callJSON(t, hs, "t-admin", "GET", "/api/v1/devices", nil, &page)
	if len(page.Items) != 2 {
		t.Fatalf("listed %d devices", len(page.Items))
	}
	check("listed", page.Items[0], "sw-101", "西区街道", "绿城环卫公司")
	check("listed", page.Items[1], "sw-102", "", "")
	page.Items = nil
	callJSON(t, hs, "t-lvcheng", "GET", "/api/v1/devices", nil, &page)
	if len(page.Items) != 1 {
		t.Fatalf("contractor lists %d devices", len(page.Items))
	}
	check("contractor's list", page.Items[0], "sw-101", "西区街道", "绿城环卫公司")

	var updated item
	if code := callJSON(t, hs, "t-admin", "PUT", "/api/v1/devices/sw-102", map[string]any{"type": "sweeper",
		"district": "nanqu", "contractor": "jieyuan"}, &updated); code != http.StatusOK {
		t.Fatalf("update: %d %v", code, updated)
	}
	check("updated", updated, "sw-102", "南区街道", "洁源环卫公司")
}

// TestMechanizationNames: mechanization groups carry district_name when grouped by district
// (also by default) and contractor_name when grouped by contractor, from the configs; "" for
// an id they do not list; neither for other groupings. The rates pass through unchanged.
func TestMechanizationNames(t *testing.T) {
	hs := namesServer(t)
	type group map[string]any
	cases := []struct {
		query, field string
		want         map[string]string // key -> name
	}{
		{"", "district_name", map[string]string{"xiqu": "西区街道", "nanqu": "南区街道", "nowhere": ""}},
		{"?group_by=district", "district_name", map[string]string{"xiqu": "西区街道", "nanqu": "南区街道", "nowhere": ""}},
		{"?group_by=contractor", "contractor_name", map[string]string{"lvcheng": "绿城环卫公司", "jieyuan": "洁源环卫公司", "acme": ""}},
		{"?group_by=road_class", "", map[string]string{"main": ""}},
	}
	for _, tc := range cases {
		var m struct {
			Date   string  `json:"date"`
			Basis  string  `json:"basis"`
			Groups []group `json:"groups"`
		}
		if code := callJSON(t, hs, "t-admin", "GET", "/api/v1/mechanization"+tc.query, nil, &m); code != http.StatusOK {
			t.Fatalf("%s: %d", tc.query, code)
		}
		if m.Date != "2025-03-12" || m.Basis != "area" || len(m.Groups) != len(tc.want) {
			t.Fatalf("%s: %+v", tc.query, m)
		}
		for i, g := range m.Groups {
			key, _ := g["key"].(string)
			want, ok := tc.want[key]
			if !ok {
				t.Fatalf("%s: unexpected group %v", tc.query, g)
			}
			if g["covered"] != float64(i+1) || g["total"] != float64(2*(i+1)) || g["rate"] != 0.5 {
				t.Errorf("%s: group %v lost its figures", tc.query, g)
			}
			for _, f := range []string{"district_name", "contractor_name"} {
				v, has := g[f]
				switch {
				case f == tc.field && (!has || v != want):
					t.Errorf("%s: group %s %s = %v (present %v), want %q", tc.query, key, f, v, has, want)
				case f != tc.field && has:
					t.Errorf("%s: group %s carries %s", tc.query, key, f)
				}
			}
		}
	}
}
