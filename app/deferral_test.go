package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/api"
	"github.com/lanewatch/lanewatch/devices"
	"github.com/lanewatch/lanewatch/dispatch"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

// TestDeferOverHTTP drives 缓办 through POST /api/v1/cases/{id}/actions as the console and
// scripts do: a deferred case reads overdue false with its deferred_at however long it waits
// (ticker running on the shipped configs' calendar), a department may not resume it (403),
// other actions answer 409 with allowed ["resume"], and the resumed case shows its shifted
// deadline and the resume note in Chinese or English by Accept-Language.
func TestDeferOverHTTP(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlstore.OpenSQLite(ctx, sqlstore.SQLiteOptions{Path: filepath.Join(dir, "db.sqlite")})
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
	loc, _ := time.LoadLocation("Asia/Shanghai")
	var mu sync.Mutex
	now := time.Date(2025, 3, 12, 9, 0, 0, 0, loc) // Wednesday
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(s string) {
		t.Helper()
		at, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		now = at
		mu.Unlock()
	}
	svc, err := dispatch.New(dispatch.Options{Store: st, Catalog: catalog, Routing: routing, Districts: districts, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Options{
		Tokens: []api.Token{{Token: "t-op", Role: "operator", Name: "desk"}, {Token: "t-xiqu", Role: "department:xiqu-office"}},
		Cases:  svc, Devices: devices.New(devices.Options{Store: st}), DeadLetters: st, Workflow: &workflow{s: svc, catalog: catalog}, Now: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	type item struct {
		Status     string     `json:"status"`
		Overdue    bool       `json:"overdue"`
		DeferredAt *time.Time `json:"deferred_at"`
		Deadlines  struct {
			HandleBy *time.Time `json:"handle_by"`
		} `json:"deadlines"`
		Timeline []struct {
			Action, Note, Code string
		} `json:"timeline"`
		Error struct {
			Code    string   `json:"code"`
			Message string   `json:"message"`
			Allowed []string `json:"allowed"`
		} `json:"error"`
	}
	do := func(token, lang, method, path string, body any) (int, item) {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, hs.URL+path, r)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out item
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: %s", method, path, b)
		}
		return resp.StatusCode, out
	}
	c, _, err := svc.Open(ctx, &lanewatch.Case{Category: "0101", Source: lanewatch.SourceCitizen,
		Location: lanewatch.Location{Lat: 22.5205, Lon: 113.3745139}}, "r")
	if err != nil {
		t.Fatal(err)
	}
	act := "/api/v1/cases/" + c.ID + "/actions"
	for _, a := range []struct{ token, action string }{{"t-op", "accept"}, {"t-op", "dispatch"}, {"t-xiqu", "sign"}} {
		if code, out := do(a.token, "", "POST", act, map[string]string{"action": a.action}); code != http.StatusOK {
			t.Fatalf("%s: %d %+v", a.action, code, out.Error)
		}
	}
	// Signed 09:00; 0101 is 4 working hours: 09:00-12:00, 14:30-15:30.
	set("2025-03-12 11:00") // 1h + 1h left
	code, out := do("t-op", "", "POST", act, map[string]string{"action": "defer", "reason": "道路施工"})
	if code != http.StatusOK || out.DeferredAt == nil || out.Overdue {
		t.Fatalf("defer: %d %+v", code, out)
	}
	set("2025-03-13 17:00")
	if err := svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, got := do("t-op", "", "GET", "/api/v1/cases/"+c.ID, nil); got.Overdue || got.DeferredAt == nil || len(got.Timeline) != 5 {
		t.Fatalf("deferred case a day later: overdue %v deferred_at %v, %d entries", got.Overdue, got.DeferredAt, len(got.Timeline))
	}
	if code, out := do("t-xiqu", "", "POST", act, map[string]string{"action": "resume"}); code != http.StatusForbidden {
		t.Fatalf("department resumes: %d %+v", code, out.Error)
	}
	if code, out := do("t-op", "", "POST", act, map[string]string{"action": "urge"}); code != http.StatusConflict ||
		len(out.Error.Allowed) != 1 || out.Error.Allowed[0] != "resume" {
		t.Fatalf("urge while deferred: %d %+v", code, out.Error)
	}
	// Resumed Friday 09:00: 2h left → 11:00.
	set("2025-03-14 09:00")
	code, out = do("t-op", "en", "POST", act, map[string]string{"action": "resume", "note": "works finished"})
	want := time.Date(2025, 3, 14, 11, 0, 0, 0, loc)
	if code != http.StatusOK || out.DeferredAt != nil || out.Deadlines.HandleBy == nil || !out.Deadlines.HandleBy.Equal(want) {
		t.Fatalf("resume: %d %+v", code, out)
	}
	if last := out.Timeline[len(out.Timeline)-1]; last.Code != "resumed" ||
		last.Note != "resumed after deferral since 2025-03-12 11:00; handling deadline 2025-03-14 11:00\nworks finished" {
		t.Errorf("en note %+v", last)
	}
	_, zh := do("t-op", "zh-CN", "GET", "/api/v1/cases/"+c.ID, nil)
	if last := zh.Timeline[len(zh.Timeline)-1]; last.Note != "缓办结束（2025-03-12 11:00起），恢复办理；处置期限2025-03-14 11:00\nworks finished" {
		t.Errorf("zh note %q", last.Note)
	}
	set("2025-03-14 10:59")
	if err := svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, got := do("t-op", "", "GET", "/api/v1/cases/"+c.ID, nil); got.Overdue {
		t.Fatal("overdue before the shifted deadline")
	}
	set("2025-03-14 11:00")
	if err := svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, got := do("t-op", "", "GET", "/api/v1/cases/"+c.ID, nil); !got.Overdue {
		t.Fatal("not overdue at the shifted deadline")
	}
}
