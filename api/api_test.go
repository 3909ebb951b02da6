package api

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

type fakeCases struct{ cases []*lanewatch.Case }

func (f *fakeCases) List(_ context.Context, fl store.CaseFilter) ([]*lanewatch.Case, string, error) {
	var out []*lanewatch.Case
	for _, c := range f.cases {
		if (fl.Department == "" || c.Department == fl.Department) && (fl.Contractor == "" || c.Contractor == fl.Contractor) {
			out = append(out, c)
		}
	}
	return out, "", nil
}

func (f *fakeCases) Get(_ context.Context, id string) (*lanewatch.Case, error) {
	for _, c := range f.cases {
		if c.ID == id {
			return c, nil
		}
	}
	return nil, lanewatch.Errorf(lanewatch.ENotFound, "case %q not found", id)
}

type fakeDevices struct{ m map[string]*lanewatch.Device }

func (f *fakeDevices) Create(_ context.Context, d *lanewatch.Device, pw string) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if len(pw) < 8 {
		return lanewatch.Errorf(lanewatch.EInvalid, "password: at least 8 characters required")
	}
	if f.m[d.ID] != nil {
		return lanewatch.Errorf(lanewatch.EConflict, "device %q exists", d.ID)
	}
	f.m[d.ID] = d
	return nil
}
func (f *fakeDevices) Update(_ context.Context, d *lanewatch.Device, _ string) error {
	if f.m[d.ID] == nil {
		return lanewatch.Errorf(lanewatch.ENotFound, "device %q not found", d.ID)
	}
	f.m[d.ID] = d
	return nil
}
func (f *fakeDevices) SetPassword(context.Context, string, string) error { return nil }
func (f *fakeDevices) Delete(_ context.Context, id string) error {
	delete(f.m, id)
	return nil
}
func (f *fakeDevices) Get(_ context.Context, id string) (*lanewatch.Device, error) {
	if d := f.m[id]; d != nil {
		return d, nil
	}
	return nil, lanewatch.Errorf(lanewatch.ENotFound, "device %q not found", id)
}
func (f *fakeDevices) List(context.Context, store.DeviceFilter) ([]*lanewatch.Device, string, error) {
	var out []*lanewatch.Device
	for _, d := range f.m {
		out = append(out, d)
	}
	return out, "", nil
}

type fakeDead struct{}

func (fakeDead) ListDeadLetters(context.Context, int, string) ([]*lanewatch.DeadLetter, string, error) {
	return nil, "", nil
}

var (
	_ Cases       = (*fakeCases)(nil)
	_ Devices     = (*fakeDevices)(nil)
	_ DeadLetters = fakeDead{}
)

func newTestServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(Options{
		Tokens: []Token{{Name: "a", Token: "admin-tok", Role: "admin"}, {Name: "v", Token: "viewer-tok", Role: "viewer"},
			{Name: "d", Token: "dept-tok", Role: "department:xiqu-office"}},
		Cases: &fakeCases{cases: []*lanewatch.Case{
			{ID: "1", Department: "xiqu-office", Status: lanewatch.StatusDispatched, CreatedAt: time.Now()},
			{ID: "2", Department: "other", Status: lanewatch.StatusDispatched, CreatedAt: time.Now()},
		}},
		Devices: &fakeDevices{m: map[string]*lanewatch.Device{}}, DeadLetters: fakeDead{}, MaxBodyBytes: 1024,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func do(t *testing.T, s *Server, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestAPIErrorsAndRoles(t *testing.T) {
	s := newTestServer(t)
	tests := []struct {
		name, method, path, token, body string
		status                          int
		code                            string
	}{
		{"no token", "GET", "/api/v1/cases", "", "", 401, "unauthorized"},
		{"bad token", "GET", "/api/v1/cases", "nope", "", 401, "unauthorized"},
		{"viewer cannot create device", "POST", "/api/v1/devices", "viewer-tok", `{"id":"x","type":"sweeper","password":"12345678"}`, 403, "forbidden"},
		{"department cannot list devices", "GET", "/api/v1/devices", "dept-tok", "", 403, "forbidden"},
		{"unknown field named", "POST", "/api/v1/devices", "admin-tok", `{"id":"x","type":"sweeper","pasword":"12345678"}`, 400, "invalid"},
		{"bad type named", "POST", "/api/v1/devices", "admin-tok", `{"id":"x","type":"tank","password":"12345678"}`, 400, "invalid"},
		{"too large", "POST", "/api/v1/devices", "admin-tok", `{"id":"` + strings.Repeat("x", 2000) + `"}`, 413, "too_large"},
		{"created", "POST", "/api/v1/devices", "admin-tok", `{"id":"sw-9","type":"sweeper","password":"12345678"}`, 201, ""},
		{"conflict", "POST", "/api/v1/devices", "admin-tok", `{"id":"sw-9","type":"sweeper","password":"12345678"}`, 409, "conflict"},
		{"not found", "GET", "/api/v1/devices/none", "admin-tok", "", 404, "not_found"},
		{"bad limit", "GET", "/api/v1/cases?limit=0", "admin-tok", "", 400, "invalid"},
		{"bad status", "GET", "/api/v1/cases?status=lost", "admin-tok", "", 400, "invalid"},
		{"department sees own case", "GET", "/api/v1/cases/1", "dept-tok", "", 200, ""},
		{"department cannot see other case", "GET", "/api/v1/cases/2", "dept-tok", "", 404, "not_found"},
		{"no route", "GET", "/api/v1/nothing", "admin-tok", "", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, s, tt.method, tt.path, tt.token, tt.body)
			if status != tt.status || errCode(body) != tt.code {
				t.Fatalf("%s %s = %d %v, want %d %q", tt.method, tt.path, status, body, tt.status, tt.code)
			}
			if tt.code != "" {
				if msg, _ := body["error"].(map[string]any)["message"].(string); msg == "" {
					t.Fatalf("error without message: %v", body)
				}
			}
		})
	}
	// A department's list is scoped to its cases.
	_, body := do(t, s, "GET", "/api/v1/cases", "dept-tok", "")
	if items := body["items"].([]any); len(items) != 1 || body["next_cursor"] != "" {
		t.Fatalf("department list = %v", body)
	}
	// The unknown-field error names the field.
	_, body = do(t, s, "POST", "/api/v1/devices", "admin-tok", `{"id":"x","type":"sweeper","pasword":"12345678"}`)
	if msg := body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "pasword") {
		t.Fatalf("message %q does not name the field", msg)
	}
}
