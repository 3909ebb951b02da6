package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

// TestOwnerNoticeWiring: a camera's illegal-parking event with a plate, published over MQTT,
// becomes an owner notice whose SMS reaches the gateway with the phone the owner lookup gave.
func TestOwnerNoticeWiring(t *testing.T) {
	influx := testenv.Influx(t)
	var (
		mu   sync.Mutex
		sent []map[string]any
	)
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		sent = append(sent, m)
		mu.Unlock()
		_, _ = w.Write([]byte(`{"code":0}`))
	}))
	defer gw.Close()
	owners := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("plate") != "粤T·12345" || r.Header.Get("Authorization") != "Bearer lookup-secret" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"phone":"13900000000"}`))
	}))
	defer owners.Close()
	sup := filepath.Join(t.TempDir(), "supervision.yaml")
	if err := os.WriteFile(sup, []byte(fmt.Sprintf(`notices:
  enabled: true
  interval: 100ms
  owner_lookup: {url: %q, token_env: OWNER_TOKEN}
  sms: {url: %q}
`, owners.URL+"/owners", gw.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, influx, t.TempDir(), func(c *Config) { c.SupervisionFile = sup })
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, Options{Logger: testLogger(t), Env: []string{"LANEWATCH_ADMIN_TOKEN=" + adminToken, "OWNER_TOKEN=lookup-secret"}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	h := launch(t, ctx, cancel, a, cfg, influx, "http")
	cam, err := h.connect("cam-001", "camera-one-pass")
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Disconnect(100)
	publish(t, cam, "cameras/cam-001/events", 1, fmt.Sprintf(`{"event_id":"p-1","ts":%q,"type":"illegal_parking","confidence":0.9,"bbox":[0.1,0.2,0.2,0.2],"lat":22.52,"lon":113.3652775,"plate":"粤T·12345"}`,
		time.Now().UTC().Format(time.RFC3339)))
	waitFor(t, 15*time.Second, "the owner's SMS", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(sent) == 1
	})
	mu.Lock()
	if sent[0]["to"] != "13900000000" {
		t.Errorf("SMS = %v", sent[0])
	}
	mu.Unlock()
	var list struct {
		Items []struct {
			Plate    string `json:"plate"`
			CameraID string `json:"camera_id"`
		} `json:"items"`
	}
	waitFor(t, 10*time.Second, "the notice sent", func() bool {
		h.getJSON("/api/v1/notices?status=sent", &list)
		return len(list.Items) == 1
	})
	if list.Items[0].Plate != "粤T·12345" || list.Items[0].CameraID != "cam-001" {
		t.Errorf("notice = %+v", list.Items[0])
	}
	var counts struct {
		Districts []struct {
			District string `json:"district"`
			Notices  int    `json:"notices"`
		} `json:"districts"`
	}
	if code := h.getJSON("/api/v1/notices/counts", &counts); code != 200 || len(counts.Districts) != 1 || counts.Districts[0].Notices != 1 {
		t.Errorf("counts = %d %+v", code, counts)
	}
}

// TestShippedSupervision: the shipped places, campaigns, checklist and notices settings load
// against the shipped road network (what `make run` starts with).
func TestShippedSupervision(t *testing.T) {
	influx := testenv.Influx(t)
	wd, _ := os.Getwd()
	shipped := func(name string) string { return filepath.Join(wd, "..", "configs", name) }
	cfg := testConfig(t, influx, t.TempDir(), func(c *Config) {
		c.PlacesFile, c.SupervisionFile = shipped("places.geojson"), shipped("supervision.yaml")
		c.Coverage.RoadsFile, c.Coverage.DistrictsFile = shipped("roads.geojson"), shipped("districts.geojson")
	})
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, Options{Logger: testLogger(t), Env: []string{"LANEWATCH_ADMIN_TOKEN=" + adminToken}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	h := launch(t, ctx, cancel, a, cfg, influx, "http")
	var places, campaigns, checklist struct {
		Items []map[string]any `json:"items"`
	}
	if code := h.getJSON("/api/v1/inspections/places", &places); code != 200 || len(places.Items) != 49 {
		t.Errorf("places: %d, %d items", code, len(places.Items))
	}
	if code := h.getJSON("/api/v1/inspections/campaigns", &campaigns); code != 200 || len(campaigns.Items) != 1 {
		t.Errorf("campaigns: %d, %d items", code, len(campaigns.Items))
	}
	if code := h.getJSON("/api/v1/reviews/checklist", &checklist); code != 200 || len(checklist.Items) != 6 {
		t.Errorf("checklist: %d, %d items", code, len(checklist.Items))
	}
	if code := h.getJSON("/api/v1/notices", &checklist); code != 404 {
		t.Errorf("notices are off as shipped, GET /api/v1/notices = %d", code)
	}
}
