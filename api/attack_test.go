package api

// Attacks on the HTTP surface (issue 14): bodies that no Content-Type lets past the limit,
// camera push password guessing, NUL bytes in text fields.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
)

// countingBody yields n bytes (a JSON object with one long string) and counts what was read.
type countingBody struct {
	n, read int
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.read >= b.n {
		return 0, io.EOF
	}
	k := min(len(p), b.n-b.read)
	for i := range k {
		switch pos := b.read + i; {
		case pos < 16:
			p[i] = `{"description":"`[pos]
		default:
			p[i] = 'x'
		}
	}
	b.read += k
	return k, nil
}

// TestAttackBodyLimitEveryContentType sends 20 MiB to a public and an authenticated endpoint
// under Content-Types that used to skip the body limit (anything gin reads as
// multipart/form-data, including a malformed "multipart/form-data;" that the handler then
// decodes as JSON): the server reads at most the route's limit (plus one read buffer) and
// answers 413. Before, the 20 MiB were read whole.
func TestAttackBodyLimitEveryContentType(t *testing.T) {
	e := newPlaqueServer(t) // MaxBodyBytes 64 KiB
	for _, tc := range []struct {
		method, path, token string
		limit               int
	}{
		{"POST", "/api/v1/plaques/pl-001/reports", "", maxPlaqueUpload},
		{"POST", "/api/v1/devices", "admin-tok", 64 << 10},
		{"POST", "/api/v1/no-such-route", "", 64 << 10},
	} {
		for _, ct := range []string{"multipart/form-data;", "multipart/form-data; boundary=x", "multipart/form-data",
			"MULTIPART/FORM-DATA ;x", "application/json", "text/plain", ""} {
			body := &countingBody{n: 20 << 20}
			req := httptest.NewRequest(tc.method, tc.path, body)
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			code, _ := e.send(t, req)
			if body.read > tc.limit+64<<10 {
				t.Errorf("%s %s as %q: server read %d bytes of 20 MiB, limit %d", tc.method, tc.path, ct, body.read, tc.limit)
			}
			if code < 400 || code >= 500 {
				t.Errorf("%s %s as %q: status %d, want a 4xx refusal", tc.method, tc.path, ct, code)
			}
		}
	}
}

// TestAttackCameraPushGuessing: 200 wrong basic-auth passwords from one address get at most 10
// checks (401), the rest 429 with Retry-After without a check; a camera on another address
// still pushes. Before, every guess was checked (~11,000/s).
func TestAttackCameraPushGuessing(t *testing.T) {
	e := newPlaqueServer(t)
	push := func(addr, pass string) (int, string) {
		req := httptest.NewRequest("POST", "/api/v1/cameras/cam-001/push/hikvision", strings.NewReader("<EventNotificationAlert>"))
		req.Header.Set("Content-Type", "application/xml")
		req.SetBasicAuth("cam-001", pass)
		req.RemoteAddr = addr + ":5000"
		w := httptest.NewRecorder()
		e.s.Handler().ServeHTTP(w, req)
		return w.Code, w.Header().Get("Retry-After")
	}
	checked := 0
	for i := range 200 {
		code, retry := push("198.51.100.7", fmt.Sprintf("guess-%d", i))
		switch {
		case code == 401:
			checked++
		case code == 429 && retry != "":
		default:
			t.Fatalf("guess %d: status %d (Retry-After %q)", i, code, retry)
		}
	}
	if checked > cameraAuthFailures {
		t.Fatalf("%d of 200 guesses from one address were checked, limit %d", checked, cameraAuthFailures)
	}
	// Another address with the right password is not affected (400: the push body is bad XML,
	// past authentication).
	if code, _ := push("198.51.100.8", "demo-cam-001-push"); code != 400 {
		t.Fatalf("camera from another address: %d, want 400 (authenticated, bad XML)", code)
	}
}

// TestAttackReadyzDetails: /readyz tells anyone which check failed, and only an admin token why
// (the store's error names its user, host and database). Before, anyone saw the error text.
func TestAttackReadyzDetails(t *testing.T) {
	secret := "connect postgres://lanewatch@db.internal:5432/lanewatch: connection refused"
	s := newMatrixServer(t, Options{Ready: map[string]Check{
		"store":  func(context.Context) error { return errors.New(secret) },
		"broker": func(context.Context) error { return nil },
	}})
	for _, tc := range []struct {
		token  string
		detail bool
	}{{"", false}, {"t-viewer", false}, {"t-operator", false}, {"t-not-a-token", false}, {"t-admin", true}} {
		req := httptest.NewRequest("GET", "/readyz", nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		var got struct {
			Ready  bool              `json:"ready"`
			Checks map[string]string `json:"checks"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if w.Code != 503 || got.Ready || got.Checks["broker"] != "ok" {
			t.Fatalf("token %q: %d %s", tc.token, w.Code, w.Body.String())
		}
		if shown := strings.Contains(w.Body.String(), "db.internal"); shown != tc.detail {
			t.Errorf("token %q: details shown %v, want %v: %s", tc.token, shown, tc.detail, w.Body.String())
		}
		if !tc.detail && got.Checks["store"] != "failed" {
			t.Errorf("token %q: store check %q, want \"failed\"", tc.token, got.Checks["store"])
		}
	}
}

// TestAttackOpen311Visibility walks the sequential ids of the public GeoReport front: only
// citizens' requests are shown (by id, in the list and through service_request_id), and a
// request's status_notes is never an internal note (dispatch instructions, inspection
// findings). Before, operator, inspection and plaque cases of public categories were shown
// and the last note of any kind was status_notes.
func TestAttackOpen311Visibility(t *testing.T) {
	now := time.Date(2025, 3, 12, 9, 0, 0, 0, time.UTC)
	mk := func(id, source string, tl ...lanewatch.TimelineEntry) *lanewatch.Case {
		return &lanewatch.Case{ID: id, Source: source, Category: "0101", Status: lanewatch.StatusDispatched,
			CreatedAt: now, UpdatedAt: now, Timeline: tl}
	}
	note := func(action, n string) lanewatch.TimelineEntry {
		return lanewatch.TimelineEntry{Action: action, Actor: "x", At: now, Note: n}
	}
	cases := &fakeCases{cases: []*lanewatch.Case{
		mk("1", lanewatch.SourceCitizen, note("report", "路边有垃圾"), note("sign", "已安排保洁员"), note("dispatch", "内部：王师傅电话 138")),
		mk("2", lanewatch.SourceOperator, note("report", "巡查员上报")),
		mk("3", lanewatch.SourceInspection),
		mk("4", lanewatch.SourcePlaque),
		mk("5", lanewatch.SourceRule),
		mk("6", lanewatch.SourceCitizen, note("verify", "核查不合格：未清理干净")),
	}}
	s, err := New(Options{Cases: cases, Devices: &fakeDevices{m: map[string]*lanewatch.Device{}}, DeadLetters: fakeDead{},
		Open311: &fakeOpen311{}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, []o311Request) {
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		var out []o311Request
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		if strings.Contains(w.Body.String(), "内部") || strings.Contains(w.Body.String(), "核查") {
			t.Errorf("GET %s shows an internal note: %s", path, w.Body.String())
		}
		return w.Code, out
	}
	for id := 1; id <= 7; id++ {
		code, out := get(fmt.Sprintf("/open311/v2/requests/%d.json", id))
		public := id == 1 || id == 6
		if public != (code == 200 && len(out) == 1) {
			t.Errorf("requests/%d.json: %d %+v, want public=%v", id, code, out, public)
		}
	}
	if _, out := get("/open311/v2/requests/1.json"); len(out) == 1 && out[0].StatusNotes != "已安排保洁员" {
		t.Errorf("status_notes %q, want the department's sign note", out[0].StatusNotes)
	}
	for _, path := range []string{"/open311/v2/requests.json", "/open311/v2/requests.json?service_request_id=1,2,3,4,5,6"} {
		_, out := get(path)
		var ids []string
		for _, r := range out {
			ids = append(ids, r.ServiceRequestID)
		}
		if strings.Join(ids, ",") != "1,6" {
			t.Errorf("GET %s lists %v, want [1 6]", path, ids)
		}
	}
}

// TestAttackNULRefused: a NUL byte in a JSON field (nested too), a query parameter, a path
// parameter or an Open311 form field is refused with 400 naming it, before any service sees it
// (on PostgreSQL it was a 500: faults.TestNULOnPostgres runs the whole binary there).
func TestAttackNULRefused(t *testing.T) {
	o311 := &fakeOpen311{}
	s := newMatrixServer(t, Options{Open311: o311, Open311Keys: []string{"key-1"}})
	for _, tc := range []struct {
		method, path, body, field string
	}{
		{"POST", "/api/v1/devices", `{"id":"sw-9","type":"sweeper","plate":"粤T\u0000"}`, "plate"},
		{"POST", "/api/v1/devices", `{"id":"sw-9","type":"sweeper","tags":{"k":"v\u0000"}}`, "tags.k"},
		{"POST", "/api/v1/cases", `{"category":"0101","title":"t\u0000itle"}`, "title"},
		{"GET", "/api/v1/cases?category=01%0001", "", "category"},
		{"GET", "/api/v1/devices/sw%00-1", "", "id"},
	} {
		status, body := do(t, s, tc.method, tc.path, "t-admin", tc.body)
		msg, _ := body["error"].(map[string]any)["message"].(string)
		if status != 400 || !strings.HasPrefix(msg, tc.field+": ") || !strings.Contains(msg, "NUL") {
			t.Errorf("%s %s: %d %v, want 400 naming %s", tc.method, tc.path, status, body, tc.field)
		}
	}
	form := "api_key=key-1&service_code=0101&lat=26&long=119&description=" + "a%00b"
	req := httptest.NewRequest("POST", "/open311/v2/requests.json", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = "192.0.2.1:4000"
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "description: contains a NUL byte") || o311.submitted != 0 {
		t.Errorf("Open311 form with a NUL: %d %s (%d submitted)", w.Code, w.Body.String(), o311.submitted)
	}
	// The same form without the NUL is submitted (the body was handed on intact).
	req = httptest.NewRequest("POST", "/open311/v2/requests.json", strings.NewReader(strings.Replace(form, "%00", "", 1)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = "192.0.2.1:4000"
	w = httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	if w.Code != 201 || o311.submitted != 1 {
		t.Errorf("Open311 form: %d %s (%d submitted)", w.Code, w.Body.String(), o311.submitted)
	}
}
