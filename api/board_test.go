package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

// storeCases fronts a real store as the API's case service (what dispatch.Service does).
type storeCases struct{ store.Store }

func (s storeCases) List(ctx context.Context, f store.CaseFilter) ([]*lanewatch.Case, string, error) {
	return s.ListCases(ctx, f)
}
func (s storeCases) Get(ctx context.Context, id string) (*lanewatch.Case, error) {
	return s.GetCase(ctx, id)
}

// boardServer is an API over a real SQLite store with 30 cases: the three overdue ones are
// the oldest (so a newest-first page of 5 would not hold them), a third belong to xiqu-office.
func boardServer(t *testing.T, now func() time.Time) (*Server, store.Store, []*lanewatch.Case) {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), sqlstore.SQLiteOptions{Path: filepath.Join(t.TempDir(), "lw.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	base := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	var all []*lanewatch.Case
	for i := range 30 {
		dept := "other"
		if i%3 == 0 {
			dept = "xiqu-office"
		}
		due := base.Add(time.Duration(48-i) * time.Hour) // newer cases have nearer deadlines
		c := &lanewatch.Case{Status: lanewatch.StatusDispatched, Category: "0101", Source: lanewatch.SourceCitizen,
			Department: dept, District: "xiqu", Title: fmt.Sprintf("case %02d", i), Overdue: i < 3,
			CreatedAt: base.Add(time.Duration(i) * time.Minute), UpdatedAt: base.Add(time.Duration(i) * time.Minute),
			Deadlines: lanewatch.Deadlines{SignBy: &due}}
		if i == 7 {
			c.Title = `=HYPERLINK("http://evil.example/","click")`
			c.Reporter = &lanewatch.Reporter{Name: "李先生", Phone: "13912345678"}
		}
		if _, _, err := st.CreateCase(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		all = append(all, c)
	}
	if now == nil {
		now = time.Now
	}
	s, err := New(Options{
		Tokens: []Token{{Name: "a", Token: "admin-tok", Role: "admin"}, {Name: "d", Token: "dept-tok", Role: "department:xiqu-office"}},
		Cases:  storeCases{st}, CaseCounts: st, Devices: &fakeDevices{m: map[string]*lanewatch.Device{}}, DeadLetters: fakeDead{},
		EventsInterval: 20 * time.Millisecond, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, st, all
}

type listBody struct {
	Items []struct {
		ID      string `json:"id"`
		Title   string `json:"title"`
		Overdue bool   `json:"overdue"`
	} `json:"items"`
	NextCursor string            `json:"next_cursor"`
	Counts     *store.CaseCounts `json:"counts"`
}

func getList(t *testing.T, s *Server, path, token string) (int, listBody, string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	var b listBody
	_ = json.Unmarshal(w.Body.Bytes(), &b)
	return w.Code, b, w.Body.String()
}

func TestCaseListCountsAndOrder(t *testing.T) {
	s, _, all := boardServer(t, nil)
	code, b, raw := getList(t, s, "/api/v1/cases?limit=5", "admin-tok")
	if code != 200 || b.Counts == nil {
		t.Fatalf("list = %d %s", code, raw)
	}
	// The counts are of the whole filter, not of the page of 5.
	if b.Counts.Total != 30 || b.Counts.Overdue != 3 || b.Counts.ByStatus[lanewatch.StatusDispatched] != 30 {
		t.Fatalf("counts %+v, want total 30, overdue 3", b.Counts)
	}
	// Default order: the three overdue cases (the oldest) first, then the nearest deadline
	// (the newest case).
	var got []string
	for _, it := range b.Items {
		got = append(got, it.ID)
	}
	want := []string{all[2].ID, all[1].ID, all[0].ID, all[29].ID, all[28].ID}
	if !slices.Equal(got, want) {
		t.Fatalf("first page %v, want %v", got, want)
	}
	// The rest follows from the cursor, each case once.
	seen := map[string]bool{}
	for _, id := range got {
		seen[id] = true
	}
	for cursor := b.NextCursor; cursor != ""; {
		_, p, raw := getList(t, s, "/api/v1/cases?limit=5&cursor="+cursor, "admin-tok")
		for _, it := range p.Items {
			if seen[it.ID] {
				t.Fatalf("case %s twice: %s", it.ID, raw)
			}
			seen[it.ID] = true
		}
		cursor = p.NextCursor
	}
	if len(seen) != 30 {
		t.Fatalf("paged through %d cases, want 30", len(seen))
	}

	// A department's counts cover its own cases only.
	_, d, _ := getList(t, s, "/api/v1/cases?limit=1", "dept-tok")
	if d.Counts.Total != 10 || d.Counts.Overdue != 1 {
		t.Fatalf("department counts %+v, want 10 and 1 overdue", d.Counts)
	}
	// Search by reporter phone, title; newest order on request.
	if _, q, raw := getList(t, s, "/api/v1/cases?q=1234567", "admin-tok"); len(q.Items) != 1 || q.Items[0].ID != all[7].ID || q.Counts.Total != 1 {
		t.Fatalf("q by phone: %s", raw)
	}
	if _, q, raw := getList(t, s, "/api/v1/cases?q=CASE%2029&sort=newest", "admin-tok"); len(q.Items) != 1 || q.Items[0].ID != all[29].ID {
		t.Fatalf("q by title: %s", raw)
	}
	if _, q, _ := getList(t, s, "/api/v1/cases?sort=newest&limit=1", "admin-tok"); q.Items[0].ID != all[29].ID {
		t.Fatalf("sort=newest starts with %s", q.Items[0].ID)
	}
	// A date range.
	if _, q, raw := getList(t, s, "/api/v1/cases?since=2026-11-30T08:10:00Z&until=2026-11-30T08:20:00Z", "admin-tok"); q.Counts.Total != 10 || len(q.Items) != 10 {
		t.Fatalf("since/until: %s", raw)
	}
	for _, bad := range []struct{ q, field string }{
		{"sort=sideways", "sort"}, {"sort=updated_asc", "sort"}, {"since=2026-11-30T09:00:00Z&until=2026-11-30T08:00:00Z", "until"},
		{"q=" + strings.Repeat("x", 101), "q"}, {"q=%ff", "q"}, {"cursor=o-1", "cursor"},
	} {
		code, _, raw := getList(t, s, "/api/v1/cases?"+bad.q, "admin-tok")
		if code != 400 || !strings.Contains(raw, bad.field) {
			t.Errorf("?%s = %d %s, want 400 naming %s", bad.q, code, raw, bad.field)
		}
	}
}

func TestCaseExport(t *testing.T) {
	s, _, all := boardServer(t, nil)
	get := func(path, token, lang string) (int, http.Header, []byte) {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		return w.Code, w.Header(), w.Body.Bytes()
	}
	code, h, body := get("/api/v1/cases/export?format=csv", "admin-tok", "zh-CN")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.Contains(h.Get("Content-Disposition"), ".csv") {
		t.Fatalf("csv export = %d %v %.200s", code, h, body)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 31 || rows[0][0] != "编号" || rows[0][2] != "状态" {
		t.Fatalf("csv: %d rows, header %v", len(rows), rows[0])
	}
	byID := map[string][]string{}
	for _, r := range rows[1:] {
		byID[r[0]] = r
	}
	if r := byID[all[7].ID]; r == nil || r[1] != `'=HYPERLINK("http://evil.example/","click")` || r[2] != "已派遣" {
		t.Fatalf("formula title must be defused, status labelled: %v", r)
	}
	if strings.Contains(string(body), "13912345678") {
		t.Fatalf("the export holds a reporter's phone number")
	}
	// The department's export has its own cases only, in English on request.
	code, _, body = get("/api/v1/cases/export?format=csv&overdue=true", "dept-tok", "en-GB,en;q=0.9")
	rows, _ = csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))).ReadAll()
	if code != 200 || len(rows) != 2 || rows[0][0] != "ID" || rows[1][0] != all[0].ID || rows[1][2] != "dispatched" {
		t.Fatalf("department csv = %d %v", code, rows)
	}

	code, h, body = get("/api/v1/cases/export?format=xlsx&district=xiqu", "admin-tok", "")
	if code != 200 || !strings.Contains(h.Get("Content-Type"), "spreadsheetml") {
		t.Fatalf("xlsx export = %d %v", code, h)
	}
	x, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("xlsx does not open: %v", err)
	}
	defer x.Close()
	sheet := x.GetSheetName(0)
	xr, err := x.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	if sheet != "案件" || len(xr) != 31 || xr[0][1] != "标题" {
		t.Fatalf("xlsx sheet %q with %d rows, header %v", sheet, len(xr), xr[0])
	}
	for i, r := range xr[1:] {
		if r[0] == all[7].ID {
			if f, _ := x.GetCellFormula(sheet, fmt.Sprintf("B%d", i+2)); f != "" || !strings.HasPrefix(r[1], "=HYPERLINK") {
				t.Fatalf("xlsx title %q formula %q: want the text, no formula", r[1], f)
			}
		}
	}
	for _, bad := range []struct{ q, field string }{{"format=pdf", "format"}, {"format=csv&limit=5", "cursor"}, {"format=csv&sort=x", "sort"}} {
		code, _, body := get("/api/v1/cases/export?"+bad.q, "admin-tok", "")
		if code != 400 || !strings.Contains(string(body), bad.field) {
			t.Errorf("export ?%s = %d %s", bad.q, code, body)
		}
	}
	if code, _, _ := get("/api/v1/cases/export", "", ""); code != 401 {
		t.Errorf("export without a token = %d", code)
	}
}

// sse reads Server-Sent Events from a stream.
type sse struct {
	r  *bufio.Reader
	rc io.Closer
}

func (e *sse) next(t *testing.T) (string, string) {
	t.Helper()
	var event, data string
	for {
		line, err := e.r.ReadString('\n')
		if err != nil {
			t.Fatalf("event stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && event != "":
			return event, data
		case strings.HasPrefix(line, "event: "):
			event = line[7:]
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		}
	}
}

func openEvents(t *testing.T, url string, header http.Header) (*http.Response, *sse) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, &sse{r: bufio.NewReader(resp.Body), rc: resp.Body}
}

func ticket(t *testing.T, url, token string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/api/v1/events/ticket", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct{ Ticket string }
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || resp.StatusCode != 200 || b.Ticket == "" {
		t.Fatalf("ticket: %d %v", resp.StatusCode, err)
	}
	return b.Ticket
}

func TestEventsStream(t *testing.T) {
	var skew atomic.Int64 // the server's clock runs this much ahead
	s, st, _ := boardServer(t, func() time.Time { return time.Now().Add(time.Duration(skew.Load())) })
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	resp, admin := openEvents(t, srv.URL+"/api/v1/events?ticket="+ticket(t, srv.URL, "admin-tok"), nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events = %d %v", resp.StatusCode, resp.Header)
	}
	if ev, _ := admin.next(t); ev != "hello" {
		t.Fatalf("first event %q", ev)
	}
	_, dept := openEvents(t, srv.URL+"/api/v1/events", http.Header{"Authorization": {"Bearer dept-tok"}})
	if ev, _ := dept.next(t); ev != "hello" {
		t.Fatalf("department's first event %q", ev)
	}
	// A new urgent case for another department, then one for xiqu-office.
	now := time.Now()
	for _, dep := range []string{"other", "xiqu-office"} {
		c := &lanewatch.Case{Status: lanewatch.StatusReported, Category: "0101", Urgency: lanewatch.UrgencyUrgent, Department: dep,
			Title: "new for " + dep, CreatedAt: now, UpdatedAt: now}
		if _, _, err := st.CreateCase(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	var ce caseEvent
	for _, want := range []string{"new for other", "new for xiqu-office"} {
		ev, data := admin.next(t)
		if err := json.Unmarshal([]byte(data), &ce); ev != "case" || err != nil || ce.Title != want || !ce.New || ce.Urgency != "urgent" {
			t.Fatalf("admin event %q %s, want the case %q, new and urgent", ev, data, want)
		}
	}
	if ev, data := dept.next(t); ev != "case" || !strings.Contains(data, "new for xiqu-office") {
		t.Fatalf("department event %q %s: want only its own case", ev, data)
	}

	// Refused: no credentials, a forged or tampered ticket, an expired one, a ticket on another route.
	tk := ticket(t, srv.URL, "dept-tok")
	body, sig, _ := strings.Cut(tk, ".")
	raw, _ := base64Decode(body)
	forged := base64Encode(bytes.Replace(raw, []byte(`"r":"department"`), []byte(`"r":"admin"`), 1)) + "." + sig
	for name, url := range map[string]string{
		"no ticket": "/api/v1/events", "garbage": "/api/v1/events?ticket=abc", "tampered role": "/api/v1/events?ticket=" + forged,
	} {
		if resp, _ := openEvents(t, srv.URL+url, nil); resp.StatusCode != 401 {
			t.Errorf("%s: %d, want 401", name, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/cases?ticket="+tk, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("a ticket opens the case list: %v %v", resp.StatusCode, err)
	}
	skew.Store(int64(2 * EventsTicketTTL))
	if resp, _ := openEvents(t, srv.URL+"/api/v1/events?ticket="+tk, nil); resp.StatusCode != 401 {
		t.Errorf("expired ticket: %d, want 401", resp.StatusCode)
	}
}

func base64Decode(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
func base64Encode(b []byte) string          { return base64.RawURLEncoding.EncodeToString(b) }

type fakeLookups struct{}

func (fakeLookups) Departments() []Named {
	return []Named{{ID: "xiqu-office", Name: "西区街道城管办"}}
}
func (fakeLookups) Districts() []DistrictShape {
	return []DistrictShape{{Named: Named{ID: "xiqu", Name: "西区街道", NameEN: "Gudong"},
		Polygons: [][][][2]float64{{{{113.355555, 22.51}, {113.375, 22.51}, {113.375, 22.52}, {113.355555, 22.51}}}}}}
}
func (fakeLookups) Propose(_ context.Context, c *lanewatch.Case) string {
	return c.Department + "-proposed"
}

func TestLookups(t *testing.T) {
	s, err := New(Options{
		Tokens: []Token{{Name: "o", Token: "op-tok", Role: "operator"}, {Name: "v", Token: "viewer-tok", Role: "viewer"},
			{Name: "d", Token: "dept-tok", Role: "department:xiqu-office"}},
		Cases: &fakeCases{cases: []*lanewatch.Case{{ID: "1", Department: "other"}}}, Devices: &fakeDevices{m: map[string]*lanewatch.Device{
			"cam-1": {ID: "cam-1", Type: lanewatch.DeviceCamera}}}, DeadLetters: fakeDead{}, Lookups: fakeLookups{},
	})
	if err != nil {
		t.Fatal(err)
	}
	code, body := do(t, s, "GET", "/api/v1/lookups", "viewer-tok", "")
	deps, _ := body["departments"].([]any)
	if code != 200 || len(deps) != 1 || fmt.Sprint(body["cameras"]) != "[cam-1]" {
		t.Fatalf("lookups = %d %v", code, body)
	}
	if _, body := do(t, s, "GET", "/api/v1/lookups", "dept-tok", ""); fmt.Sprint(body["cameras"]) != "[]" {
		t.Fatalf("a department sees the camera registry: %v", body)
	}
	code, body = do(t, s, "GET", "/api/v1/districts", "viewer-tok", "")
	fs, _ := body["features"].([]any)
	if code != 200 || body["type"] != "FeatureCollection" || len(fs) != 1 {
		t.Fatalf("districts = %d %v", code, body)
	}
	f := fs[0].(map[string]any)
	if g := f["geometry"].(map[string]any); g["type"] != "MultiPolygon" || f["properties"].(map[string]any)["name_zh"] != "西区街道" {
		t.Fatalf("district feature %v", f)
	}
	if code, body := do(t, s, "GET", "/api/v1/cases/1/proposal", "op-tok", ""); code != 200 || body["department"] != "other-proposed" {
		t.Fatalf("proposal = %d %v", code, body)
	}
	if code, _ := do(t, s, "GET", "/api/v1/cases/1/proposal", "viewer-tok", ""); code != 403 {
		t.Fatalf("viewer proposal = %d, want 403", code)
	}
	if code, _ := do(t, s, "GET", "/api/v1/cases/9/proposal", "op-tok", ""); code != 404 {
		t.Fatalf("proposal of a missing case = %d", code)
	}
}

// trackTelemetry answers n points of a sweeper moving north, brush on for the first half.
type trackTelemetry struct{ n int }

func (f trackTelemetry) QueryTelemetry(_ context.Context, _ string, from, _ time.Time, limit int) ([]map[string]any, error) {
	var out []map[string]any
	for i := range min(f.n, limit) {
		out = append(out, map[string]any{"time": from.Add(time.Duration(i) * time.Second), "lat": 22.5 + float64(i)*1e-5, "lon": 113.375,
			"brush_on": i < f.n/2, "speed_kmh": 8.0})
	}
	return out, nil
}

func TestVehiclesLiveAndTrack(t *testing.T) {
	s, err := New(Options{
		Tokens: []Token{{Name: "o", Token: "op-tok", Role: "operator"}, {Name: "c", Token: "con-tok", Role: "contractor:lvcheng"}},
		Cases:  &fakeCases{}, DeadLetters: fakeDead{}, Telemetry: trackTelemetry{n: 5000},
		Devices: &fakeDevices{m: map[string]*lanewatch.Device{
			"sw-1":  {ID: "sw-1", Type: lanewatch.DeviceSweeper, Contractor: "lvcheng", Plate: "粤T·1"},
			"sw-2":  {ID: "sw-2", Type: lanewatch.DeviceSweeper, Contractor: "other"},
			"cam-1": {ID: "cam-1", Type: lanewatch.DeviceCamera}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	code, body := do(t, s, "GET", "/api/v1/vehicles/live", "op-tok", "")
	items, _ := body["items"].([]any)
	if code != 200 || len(items) != 2 {
		t.Fatalf("live = %d %v: want the two sweepers, not the camera", code, body)
	}
	last := items[0].(map[string]any)
	// The last of 5000 points: 22.5 + 4999e-5, brush off (the second half).
	if lat, _ := last["lat"].(float64); lat < 22.5499 || lat > 22.55 || last["working"] != false {
		t.Fatalf("last position %v", last)
	}
	if _, body := do(t, s, "GET", "/api/v1/vehicles/live", "con-tok", ""); len(body["items"].([]any)) != 1 {
		t.Fatalf("a contractor sees other contractors' vehicles: %v", body)
	}
	code, body = do(t, s, "GET", "/api/v1/vehicles/sw-1/track?from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z", "op-tok", "")
	pts, _ := body["points"].([]any)
	if code != 200 || len(pts) != maxTrackPoints || body["recorded"] != float64(5000) {
		t.Fatalf("track = %d, %d points %v", code, len(pts), body["recorded"])
	}
	if first, lastPt := pts[0].([]any), pts[len(pts)-1].([]any); first[1] != 22.5 || first[2] != float64(1) || lastPt[2] != float64(0) {
		t.Fatalf("track ends %v %v: first and last kept with their working flag", first, lastPt)
	}
	for _, bad := range []string{"", "?from=2026-12-01T00:00:00Z", "?from=2026-12-03T00:00:00Z&to=2026-12-01T00:00:00Z", "?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z"} {
		if code, body := do(t, s, "GET", "/api/v1/vehicles/sw-1/track"+bad, "op-tok", ""); code != 400 || errCode(body) != "invalid" {
			t.Errorf("track%s = %d %v", bad, code, body)
		}
	}
	if code, _ := do(t, s, "GET", "/api/v1/vehicles/sw-2/track?from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z", "con-tok", ""); code != 404 {
		t.Errorf("a contractor reads another's track: %d", code)
	}
}

// TestEventsOnePoller: every open stream shares one poller, which stops with the last stream.
func TestEventsOnePoller(t *testing.T) {
	s, st, _ := boardServer(t, nil)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	var streams []*http.Response
	var readers []*sse
	for range 3 {
		resp, r := openEvents(t, srv.URL+"/api/v1/events", http.Header{"Authorization": {"Bearer admin-tok"}})
		if ev, _ := r.next(t); ev != "hello" {
			t.Fatalf("first event %q", ev)
		}
		streams, readers = append(streams, resp), append(readers, r)
	}
	s.hub.mu.Lock()
	subs, running := len(s.hub.subs), s.hub.cancel != nil
	s.hub.mu.Unlock()
	if subs != 3 || !running {
		t.Fatalf("3 streams: %d subscribers, poller running %v", subs, running)
	}
	now := time.Now()
	if _, _, err := st.CreateCase(t.Context(), &lanewatch.Case{Status: lanewatch.StatusReported, Title: "for all", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for i, r := range readers {
		if ev, data := r.next(t); ev != "case" || !strings.Contains(data, "for all") {
			t.Fatalf("stream %d: %q %s", i, ev, data)
		}
	}
	for _, resp := range streams {
		resp.Body.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.hub.mu.Lock()
		subs, running = len(s.hub.subs), s.hub.cancel != nil
		s.hub.mu.Unlock()
		if subs == 0 && !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after closing every stream: %d subscribers, poller running %v", subs, running)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
