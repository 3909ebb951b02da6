package notices_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/dispatch/notify"
	"github.com/lanewatch/lanewatch/dispatch/notify/sms"
	"github.com/lanewatch/lanewatch/notices"
	"github.com/lanewatch/lanewatch/notices/owners"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

// gateway is a local SMS gateway speaking the sms adapter's API; it keeps what it was sent.
type gateway struct {
	mu   sync.Mutex
	sent []map[string]any
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	g.mu.Lock()
	g.sent = append(g.sent, m)
	g.mu.Unlock()
	_, _ = w.Write([]byte(`{"code":0,"message":"OK"}`))
}

// ownerService is a local owner-lookup service: two known plates.
func ownerService(t *testing.T) *httptest.Server {
	phones := map[string]string{"粤T·12345": "13800000001", "粤T·22222": "13800000002", "粤T·33333": "13800000003"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer owner-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		p, ok := phones[r.URL.Query().Get("plate")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"phone": p})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// smsSender adapts the sms gateway adapter as app does.
type smsSender struct{ n *sms.Notifier }

func (s smsSender) Send(ctx context.Context, key, to, text string, vars map[string]string) error {
	v := map[string]string{"text": text}
	for k, x := range vars {
		v[k] = x
	}
	_, err := s.n.Notify(ctx, notify.Message{Key: key, Channel: "sms", Recipient: to, Event: "owner_notice", Vars: v})
	return err
}

type fakeCases struct {
	mu    sync.Mutex
	cases []*lanewatch.Case
}

func (f *fakeCases) Open(_ context.Context, c *lanewatch.Case, _ string) (*lanewatch.Case, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := *c
	cp.ID = strconv.Itoa(len(f.cases) + 1)
	f.cases = append(f.cases, &cp)
	return &cp, true, nil
}

type presence map[string]bool

func (p presence) Online(_ context.Context, id string) (bool, error) { return p[id], nil }

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func TestOwnerNotices(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.Open(ctx, sqlstore.Config{Driver: "sqlite", Path: t.TempDir() + "/s.db"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	gw := &gateway{}
	gsrv := httptest.NewServer(gw)
	defer gsrv.Close()
	osrv := ownerService(t)
	own, err := owners.New(osrv.URL+"/owners", "owner-secret", 2*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	notifier, err := sms.New(sms.Config{URL: gsrv.URL, Texts: map[string]string{"owner_notice": "{{.text}}"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	clk := &clock{t: t0}
	cases := &fakeCases{}
	pres := presence{"cam-1": true, "cam-2": true, "cam-3": true, "cam-4": true}
	district := map[float64]string{1: "xiqu", 2: "xiqu", 3: "shiqi", 4: "shiqi"}
	svc, err := notices.New(notices.Options{
		Config: notices.Config{Enabled: true, OwnerLookup: notices.OwnerLookupConfig{URL: osrv.URL}, SMS: notices.SMSConfig{URL: gsrv.URL}},
		Store:  st, Owners: own, Sender: smsSender{notifier}, Cases: cases, Presence: pres,
		District: func(lat, _ float64) string { return district[lat] }, Location: time.FixedZone("CST", 8*3600),
		Now: clk.now, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	det := func(cam, inc, plate string, at time.Duration, lat float64) {
		t.Helper()
		if err := svc.Observe(ctx, notices.Detection{CameraID: cam, IncidentID: inc, Category: "0505", Plate: plate, TS: t0.Add(at), Lat: lat, Lon: 113.375}); err != nil {
			t.Fatal(err)
		}
	}
	heartbeat := func(cam string, at time.Duration) {
		t.Helper()
		if err := svc.Observe(ctx, notices.Detection{CameraID: cam, TS: t0.Add(at)}); err != nil {
			t.Fatal(err)
		}
	}
	tick := func(at time.Duration) {
		t.Helper()
		clk.t = t0.Add(at)
		if err := svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// cam-1 (xiqu): 粤T·12345 parks, gets the text, and leaves after 5 minutes (complied).
	// cam-2 (xiqu): 粤T·22222 stays past the limit (ignored).
	// cam-3 (shiqi): 粤T·33333 is told, then the camera goes offline (camera_offline).
	// cam-4 (shiqi): 粤T·99999 has no known owner (failed).
	det("cam-1", "inc-1", "粤T·12345", 0, 1)
	det("cam-2", "inc-2", "粤T·22222", 0, 2)
	det("cam-3", "inc-3", "粤T·33333", 0, 3)
	det("cam-4", "inc-4", "粤T·99999", 0, 4)
	det("cam-1", "inc-x", "", 0, 1) // an incident without a plate: no notice, the rules handle it
	// An incident whose case the rules opened before its plate was read: no notice either.
	if err := svc.Observe(ctx, notices.Detection{CameraID: "cam-1", IncidentID: "inc-y", Category: "0505", Plate: "粤T·12345", TS: t0, Lat: 1, HasCase: true}); err != nil {
		t.Fatal(err)
	}
	if held, _ := svc.Holds(ctx, "inc-y"); held {
		t.Error("inc-y held although it had a case already")
	}
	if held, _ := svc.Holds(ctx, "inc-1"); !held {
		t.Error("inc-1 not held by its notice")
	}
	if held, _ := svc.Holds(ctx, "inc-x"); held {
		t.Error("inc-x held without a notice")
	}
	tick(10 * time.Second)
	if len(gw.sent) != 3 {
		t.Fatalf("SMS sent = %d, want 3: %v", len(gw.sent), gw.sent)
	}
	first := gw.sent[0]
	if first["to"] != "13800000001" || !strings.Contains(first["content"].(string), "粤T·12345") ||
		!strings.Contains(first["content"].(string), "15分钟内（12-01 17:15前）") || first["request_id"] != "n-inc-1" {
		t.Errorf("first SMS = %v", first)
	}
	if len(cases.cases) != 1 || !strings.Contains(cases.cases[0].Description, "未能发送") || cases.cases[0].Key != "inc-4" {
		t.Fatalf("after sending: cases %+v", cases.cases)
	}
	// Later detections: cam-1 sees the car until +5m, then only heartbeats; cam-2 sees it until
	// +14m30s; cam-3 sees it at +2m and then is disconnected.
	det("cam-1", "inc-1", "粤T·12345", 5*time.Minute, 1)
	for m := 6; m <= 15; m++ {
		heartbeat("cam-1", time.Duration(m)*time.Minute)
		heartbeat("cam-2", time.Duration(m)*time.Minute)
	}
	for s := 60; s <= 870; s += 90 {
		det("cam-2", "inc-2", "", time.Duration(s)*time.Second, 2) // detections without a plate read
	}
	det("cam-3", "inc-3", "粤T·33333", 2*time.Minute, 3)
	pres["cam-3"] = false
	tick(15 * time.Minute) // the limit runs from the send (+10 s): nothing due yet
	for _, n := range []string{"n-inc-1", "n-inc-2", "n-inc-3"} {
		if got, _ := svc.Get(ctx, n); got.Status != notices.StatusSent {
			t.Fatalf("%s at +15m = %s, want sent", n, got.Status)
		}
	}
	tick(15*time.Minute + 10*time.Second)
	want := map[string]string{"n-inc-1": notices.StatusComplied, "n-inc-2": notices.StatusIgnored,
		"n-inc-3": notices.StatusCameraOffline, "n-inc-4": notices.StatusFailed}
	for id, status := range want {
		n, err := svc.Get(ctx, id)
		if err != nil || n.Status != status {
			t.Errorf("%s = %+v, %v; want %s", id, n, err, status)
		}
	}
	// Cases: the failed one, then ignored and offline; none for the complied notice.
	if len(cases.cases) != 3 {
		t.Fatalf("cases = %d, want 3", len(cases.cases))
	}
	byKey := map[string]*lanewatch.Case{}
	for _, c := range cases.cases {
		byKey[c.Key] = c
	}
	ig := byKey["inc-2"]
	if ig == nil || ig.Category != "0505" || ig.Source != "camera" || ig.DeviceID != "cam-2" || ig.District != "xiqu" ||
		!strings.Contains(ig.Description, "仍在原地") || !strings.Contains(ig.Description, "n-inc-2") || !strings.Contains(ig.Description, "17:00") {
		t.Errorf("ignored case = %+v", ig)
	}
	if off := byKey["inc-3"]; off == nil || !strings.Contains(off.Description, "离线") {
		t.Errorf("offline case = %+v", off)
	}
	if byKey["inc-1"] != nil {
		t.Errorf("complied notice opened a case")
	}
	// A later tick decides nothing again.
	tick(time.Hour)
	if len(cases.cases) != 3 || len(gw.sent) != 3 {
		t.Errorf("after another tick: %d cases, %d SMS", len(cases.cases), len(gw.sent))
	}
	counts, err := svc.Counts(ctx, t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	wantCounts := []notices.Count{{District: "shiqi", Notices: 2, CameraOffline: 1, Failed: 1}, {District: "xiqu", Notices: 2, Complied: 1, Ignored: 1}}
	if len(counts) != 2 || counts[0] != wantCounts[0] || counts[1] != wantCounts[1] {
		t.Errorf("counts = %+v", counts)
	}
	for _, plate := range []string{"粤T·12345", "粤T·22222", "粤T·33333", "粤T·99999", "13800000001"} {
		if strings.Contains(logs.String(), plate) {
			t.Errorf("logs carry %s in full:\n%s", plate, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "粤T***45") {
		t.Errorf("logs do not name the masked plate:\n%s", logs.String())
	}
}

func TestOwnersAdapter(t *testing.T) {
	srv := ownerService(t)
	c, _ := owners.New(srv.URL, "owner-secret", time.Second, nil)
	if p, err := c.Phone(t.Context(), "粤T·12345"); err != nil || p != "13800000001" {
		t.Fatalf("known plate: %q, %v", p, err)
	}
	if _, err := c.Phone(t.Context(), "粤T·00000"); lanewatch.ErrorCode(err) != lanewatch.ENotFound {
		t.Fatalf("unknown plate: %v", err)
	}
	bad, _ := owners.New(srv.URL, "wrong", time.Second, nil)
	if _, err := bad.Phone(t.Context(), "粤T·12345"); err == nil || lanewatch.ErrorCode(err) == lanewatch.ENotFound || strings.Contains(err.Error(), "12345") {
		t.Fatalf("refused token: %v", err)
	}
	if _, err := owners.New("ftp://x", "", time.Second, nil); err == nil {
		t.Fatal("ftp URL accepted")
	}
}
