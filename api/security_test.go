package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/coverage"
	"github.com/lanewatch/lanewatch/rules"
)

// Fakes for the services behind the endpoints of the role matrix; each answers with success so
// that an allowed role sees the handler's success status.

type fakeRules struct{}

func (fakeRules) Status() []rules.RuleStatus                  { return nil }
func (fakeRules) Shadow() []rules.Firing                      { return nil }
func (fakeRules) Evaluate(rules.EvalInput) []rules.EvalResult { return nil }
func (fakeRules) Reload(context.Context, string) (rules.ReloadResult, error) {
	return rules.ReloadResult{}, nil
}

//lint:ignore ST1008 the signature of api.Rules
func (fakeRules) LastError() (error, time.Time) { return nil, time.Time{} }
func (fakeRules) Current() rules.Version        { return rules.Version{ID: "v1"} }
func (fakeRules) Versions(context.Context) ([]rules.Version, error) {
	return []rules.Version{{ID: "v1"}}, nil
}
func (fakeRules) Version(context.Context, string) (rules.Version, error) {
	return rules.Version{ID: "v1"}, nil
}
func (fakeRules) Diff(context.Context, string, string) (string, error) { return "", nil }

type fakeCoverage struct{}

func (fakeCoverage) Mechanization(context.Context, string, string, string) (*coverage.Mechanization, error) {
	return &coverage.Mechanization{}, nil
}
func (fakeCoverage) Coverage(context.Context, string, string) (*coverage.FeatureCollection, error) {
	return &coverage.FeatureCollection{}, nil
}

type fakeTelemetry struct{}

func (fakeTelemetry) QueryTelemetry(context.Context, string, time.Time, time.Time, int) ([]map[string]any, error) {
	return []map[string]any{{"lat": 26.0}}, nil
}

// fakeWorkflow serves only the assessment; the case endpoints are dispatch's role test.
type fakeWorkflow struct{}

var errNotHere = errors.New("not in this test")

func (fakeWorkflow) Create(context.Context, *lanewatch.Case, Principal) (*lanewatch.Case, error) {
	return nil, errNotHere
}
func (fakeWorkflow) Act(context.Context, string, CaseAction, Principal) (*lanewatch.Case, error) {
	return nil, errNotHere
}
func (fakeWorkflow) Attach(context.Context, string, string, io.Reader, Principal) (*lanewatch.Attachment, error) {
	return nil, errNotHere
}
func (fakeWorkflow) OpenAttachment(context.Context, *lanewatch.Case, string) (io.ReadCloser, lanewatch.Attachment, error) {
	return nil, lanewatch.Attachment{}, errNotHere
}
func (fakeWorkflow) Rate(context.Context, string, int, string, Principal) (*lanewatch.Case, error) {
	return nil, errNotHere
}
func (fakeWorkflow) MaxAttachmentBytes() int64 { return 1 << 20 }
func (fakeWorkflow) Assess(context.Context, string) (any, error) {
	return map[string]any{"departments": []any{}}, nil
}

type fakeOpen311 struct{ submitted int }

func (*fakeOpen311) Services() []Open311Service {
	return []Open311Service{{Code: "0101", Name: "垃圾 litter"}, {Code: "0202", Name: "积水 standing water"}}
}
func (f *fakeOpen311) Submit(_ context.Context, c *lanewatch.Case) (*lanewatch.Case, error) {
	f.submitted++
	out := *c
	out.ID = "c1"
	return &out, nil
}
func (*fakeOpen311) Agency(string) string      { return "office" }
func (*fakeOpen311) FetchMedia(string, string) {}

var (
	_ Rules        = fakeRules{}
	_ Coverage     = fakeCoverage{}
	_ Telemetry    = fakeTelemetry{}
	_ CaseWorkflow = fakeWorkflow{}
	_ Open311      = (*fakeOpen311)(nil)
)

// roleTokens maps each role of the matrix to its bearer token ("" is no token).
var roleTokens = map[string]string{
	"admin": "t-admin", "operator": "t-operator", "department": "t-dept", "contractor": "t-contractor",
	"viewer": "t-viewer", "none": "", "bad": "t-not-a-token",
}

func newMatrixServer(t *testing.T, o Options) *Server {
	t.Helper()
	o.Tokens = []Token{
		{Name: "adm", Token: "t-admin", Role: "admin"}, {Name: "op", Token: "t-operator", Role: "operator"},
		{Name: "dep", Token: "t-dept", Role: "department:xiqu-office"},
		{Name: "con", Token: "t-contractor", Role: "contractor:lvcheng"}, {Name: "view", Token: "t-viewer", Role: "viewer"},
	}
	o.Cases = &fakeCases{}
	o.Devices = &fakeDevices{m: map[string]*lanewatch.Device{
		"sw-1": {ID: "sw-1", Type: lanewatch.DeviceSweeper, District: "xiqu", Contractor: "lvcheng"},
	}}
	o.DeadLetters = fakeDead{}
	o.Telemetry = fakeTelemetry{}
	o.Rules = fakeRules{}
	o.Coverage = fakeCoverage{}
	o.Workflow = fakeWorkflow{}
	o.Console = fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>console</title>")}, "app.js": {Data: []byte("1")}}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAPIRoleMatrix calls every endpoint outside the case lifecycle (which dispatch's role test
// covers) with every role, no token and an unknown token, and checks the status: 401 without a
// valid token, 403 for a role not allowed, the handler's success status otherwise.
func TestAPIRoleMatrix(t *testing.T) {
	const (
		a, o, d, c, v = "admin", "operator", "department", "contractor", "viewer"
	)
	endpoints := []struct {
		method, path, body string
		allowed            []string
		ok                 int
	}{
		{"GET", "/api/v1/devices", "", []string{a, o, v, c}, 200},
		{"POST", "/api/v1/devices", `{"id":"sw-2","type":"sweeper","password":"long-enough-pass"}`, []string{a}, 201},
		{"GET", "/api/v1/devices/sw-1", "", []string{a, o, v, c}, 200},
		{"PUT", "/api/v1/devices/sw-1", `{"type":"sweeper","district":"dongqu"}`, []string{a}, 200},
		{"DELETE", "/api/v1/devices/sw-1", "", []string{a}, 204},
		{"POST", "/api/v1/devices/sw-1/credentials", `{"password":"another-long-pass"}`, []string{a}, 200},
		{"GET", "/api/v1/devices/sw-1/telemetry", "", []string{a, o, v, c}, 200},
		{"GET", "/api/v1/deadletters", "", []string{a, o, v}, 200},
		{"GET", "/api/v1/rules", "", []string{a, o, v}, 200},
		{"POST", "/api/v1/rules/reload", "", []string{a, o}, 200},
		{"POST", "/api/v1/rules/evaluate", `{"device_id":"sw-1","msg":{"lat":26,"lon":119}}`, []string{a, o}, 200},
		{"GET", "/api/v1/rules/shadow", "", []string{a, o, v}, 200},
		{"GET", "/api/v1/rules/versions", "", []string{a, o, v}, 200},
		{"GET", "/api/v1/rules/versions/v1", "", []string{a, o, v}, 200},
		{"GET", "/api/v1/rules/versions/v1/diff", "", []string{a, o, v}, 200},
		{"GET", "/api/v1/mechanization", "", []string{a, o, d, c, v}, 200},
		{"GET", "/api/v1/coverage", "", []string{a, o, d, c, v}, 200},
		{"GET", "/api/v1/assessment?month=2025-03", "", []string{a, o, v, d}, 200},
		{"GET", "/api/v1/whoami", "", []string{a, o, d, c, v}, 200},
	}
	roles := []string{a, o, d, c, v, "none", "bad"}
	for _, ep := range endpoints {
		for _, role := range roles {
			want, wantCode := ep.ok, ""
			switch {
			case role == "none" || role == "bad":
				want, wantCode = 401, "unauthorized"
			case !contains(ep.allowed, role):
				want, wantCode = 403, "forbidden"
			}
			// A fresh server per call: a DELETE or PUT must not change what the next role sees.
			s := newMatrixServer(t, Options{})
			status, body := do(t, s, ep.method, ep.path, roleTokens[role], ep.body)
			if status != want || errCode(body) != wantCode {
				t.Errorf("%s %s as %s = %d %v, want %d %q", ep.method, ep.path, role, status, body, want, wantCode)
			}
		}
	}
	// whoami tells each role what it is.
	s := newMatrixServer(t, Options{})
	for _, role := range []string{a, o, d, c, v} {
		_, body := do(t, s, "GET", "/api/v1/whoami", roleTokens[role], "")
		if body["role"] != role {
			t.Errorf("whoami as %s = %v", role, body)
		}
	}
	// A contractor sees only its own devices.
	s.o.Devices.(*fakeDevices).m["sw-9"] = &lanewatch.Device{ID: "sw-9", Type: lanewatch.DeviceSweeper, Contractor: "other"}
	for _, p := range []string{"/api/v1/devices/sw-9", "/api/v1/devices/sw-9/telemetry"} {
		if status, body := do(t, s, "GET", p, roleTokens[c], ""); status != 404 || errCode(body) != "not_found" {
			t.Errorf("contractor GET %s = %d %v, want 404", p, status, body)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestBodyLimits: JSON bodies over MaxBodyBytes get 413 with the error shape on every JSON
// endpoint; an Open311 form over the limit gets 413 with a GeoReport error.
func TestBodyLimits(t *testing.T) {
	s := newMatrixServer(t, Options{MaxBodyBytes: 512, Open311: &fakeOpen311{}, Open311Keys: []string{"key-1"}})
	big := `{"password":"` + strings.Repeat("x", 600) + `"}`
	for _, p := range []struct{ method, path string }{
		{"POST", "/api/v1/devices"}, {"PUT", "/api/v1/devices/sw-1"},
		{"POST", "/api/v1/devices/sw-1/credentials"}, {"POST", "/api/v1/rules/evaluate"},
	} {
		status, body := do(t, s, p.method, p.path, "t-admin", big)
		msg, _ := body["error"].(map[string]any)["message"].(string)
		if status != 413 || errCode(body) != "too_large" || !strings.Contains(msg, "512 bytes") {
			t.Errorf("%s %s with %d bytes = %d %v, want 413 too_large naming the limit", p.method, p.path, len(big), status, body)
		}
	}
	form := url.Values{"api_key": {"key-1"}, "service_code": {"0101"}, "lat": {"26"}, "long": {"119"},
		"description": {strings.Repeat("d", 600)}}
	status, errs := postForm(t, s, "192.0.2.1", form)
	if status != 413 || len(errs) != 1 || errs[0].Code != 413 || !strings.Contains(errs[0].Description, "512 bytes") {
		t.Fatalf("oversized Open311 form = %d %+v", status, errs)
	}
}

func postForm(t *testing.T, s *Server, addr string, form url.Values) (int, []open311Error) {
	t.Helper()
	req := httptest.NewRequest("POST", "/open311/v2/requests.json", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = addr + ":40000"
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	var errs []open311Error
	if w.Code >= 400 {
		if err := json.Unmarshal(w.Body.Bytes(), &errs); err != nil {
			t.Fatalf("error body %q: %v", w.Body.String(), err)
		}
	}
	if w.Code == 429 && w.Header().Get("Retry-After") == "" {
		t.Fatalf("429 without Retry-After")
	}
	return w.Code, errs
}

// TestOpen311RateLimit: POST requests are limited per client address (token bucket on the
// injected clock); a spoofed X-Forwarded-For does not get around it; other addresses and the
// next window are not affected.
func TestOpen311RateLimit(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	o311 := &fakeOpen311{}
	s := newMatrixServer(t, Options{Open311: o311, Open311Keys: []string{"key-1"}, Open311Limit: RateLimit{N: 3, Per: time.Minute},
		Now: func() time.Time { return now }})
	form := url.Values{"api_key": {"key-1"}, "service_code": {"0101"}, "lat": {"22.51"}, "long": {"113.375"}, "description": {"垃圾"}}
	var codes []int
	for range 4 {
		code, _ := postForm(t, s, "192.0.2.7", form)
		codes = append(codes, code)
	}
	if codes[0] != 201 || codes[2] != 201 || codes[3] != 429 {
		t.Fatalf("codes = %v, want 201 201 201 429", codes)
	}
	code, errs := postForm(t, s, "192.0.2.7", form)
	if code != 429 || len(errs) != 1 || errs[0].Code != 429 || !strings.Contains(errs[0].Description, "at most 3 per 1m0s") {
		t.Fatalf("limited = %d %+v", code, errs)
	}
	// X-Forwarded-For from an untrusted peer is ignored.
	req := httptest.NewRequest("POST", "/open311/v2/requests.xml", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", "198.51.100.1")
	req.RemoteAddr = "192.0.2.7:40001"
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	if w.Code != 429 || !strings.Contains(w.Body.String(), "<errors><error><code>429</code>") {
		t.Fatalf("spoofed X-Forwarded-For = %d %s", w.Code, w.Body.String())
	}
	if code, _ := postForm(t, s, "192.0.2.8", form); code != 201 {
		t.Fatalf("another address = %d", code)
	}
	if o311.submitted != 4 {
		t.Fatalf("submitted %d, want 4 (limited requests must not reach the service)", o311.submitted)
	}
	now = now.Add(time.Minute)
	if code, _ := postForm(t, s, "192.0.2.7", form); code != 201 {
		t.Fatalf("next window = %d", code)
	}
	// GETs are not limited.
	for range 5 {
		if code, _ := do(t, s, "GET", "/open311/v2/services.json", "", ""); code != 200 {
			t.Fatalf("GET services = %d", code)
		}
	}
}

// FuzzOpen311Post sends arbitrary bodies and content types to POST requests.json: every answer
// is 201 or a 4xx with a GeoReport error array, never a panic or a 5xx.
func FuzzOpen311Post(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", []byte("api_key=key-1&service_code=0101&lat=22.51&long=113.375&description=%E5%9E%83%E5%9C%BE"))
	f.Add("application/x-www-form-urlencoded", []byte("api_key=key-1&service_code=0101&address_string=%E9%BC%93%E6%A5%BC"))
	f.Add("application/x-www-form-urlencoded", []byte("api_key=key-1&service_code=0101&lat=91&long=0"))
	f.Add("application/x-www-form-urlencoded", []byte("api_key=key-1&service_code=0101&lat=NaN&long=Inf"))
	f.Add("application/x-www-form-urlencoded", []byte("api_key=bad&service_code=9999"))
	f.Add("application/x-www-form-urlencoded", []byte("%zz=%%&;;&&=="))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"api_key\"\r\n\r\nkey-1\r\n--x--\r\n"))
	f.Add("text/plain", []byte("hello"))
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		s := newMatrixServer(t, Options{MaxBodyBytes: 4096, Open311: &fakeOpen311{}, Open311Keys: []string{"key-1"}, Open311Limit: RateLimit{N: -1}})
		req := httptest.NewRequest("POST", "/open311/v2/requests.json", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		switch {
		case w.Code == 201:
			var out []map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || len(out) != 1 || out[0]["service_request_id"] != "c1" {
				t.Fatalf("201 body %q", w.Body.String())
			}
		case w.Code >= 400 && w.Code < 500:
			var errs []open311Error
			if err := json.Unmarshal(w.Body.Bytes(), &errs); err != nil || len(errs) != 1 || errs[0].Code != w.Code || errs[0].Description == "" {
				t.Fatalf("%d body %q is not a GeoReport error", w.Code, w.Body.String())
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
	})
}

// TestSecurityHeaders: API answers, console pages and console assets carry no-sniff and
// frame-deny; the console also its Content-Security-Policy.
func TestSecurityHeaders(t *testing.T) {
	s := newMatrixServer(t, Options{})
	for _, p := range []struct {
		path string
		csp  bool
	}{{"/", true}, {"/console/app.js", true}, {"/api/v1/whoami", false}, {"/healthz", false}, {"/nope", false}} {
		req := httptest.NewRequest("GET", p.path, nil)
		req.Header.Set("Authorization", "Bearer t-viewer")
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		h := w.Header()
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s (%d): headers %v", p.path, w.Code, h)
		}
		if p.csp && (h.Get("Content-Security-Policy") != ConsoleCSP || !strings.Contains(ConsoleCSP, "frame-ancestors 'none'")) {
			t.Errorf("GET %s: CSP %q", p.path, h.Get("Content-Security-Policy"))
		}
	}
}
