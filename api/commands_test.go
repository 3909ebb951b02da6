package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/api"
	"github.com/lanewatch/lanewatch/commands"
	"github.com/lanewatch/lanewatch/store"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

type cmdDevices struct{ m map[string]*lanewatch.Device }

func (f cmdDevices) Create(context.Context, *lanewatch.Device, string) error { return nil }
func (f cmdDevices) Update(context.Context, *lanewatch.Device, string) error { return nil }
func (f cmdDevices) SetPassword(context.Context, string, string) error       { return nil }
func (f cmdDevices) Delete(context.Context, string) error                    { return nil }
func (f cmdDevices) Get(_ context.Context, id string) (*lanewatch.Device, error) {
	if d, ok := f.m[id]; ok {
		return d, nil
	}
	return nil, lanewatch.Errorf(lanewatch.ENotFound, "device %q not found", id)
}
func (f cmdDevices) List(context.Context, store.DeviceFilter) ([]*lanewatch.Device, string, error) {
	return nil, "", nil
}

type noCases struct{}

func (noCases) List(context.Context, store.CaseFilter) ([]*lanewatch.Case, string, error) {
	return nil, "", nil
}
func (noCases) Get(context.Context, string) (*lanewatch.Case, error) { return nil, nil }

type noDead struct{}

func (noDead) ListDeadLetters(context.Context, int, string) ([]*lanewatch.DeadLetter, string, error) {
	return nil, "", nil
}

type offline struct{}

func (offline) CommandSubscriber(string) bool            { return false }
func (offline) Publish(string, []byte, bool, byte) error { return nil }

func commandServer(t *testing.T) *httptest.Server {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), sqlstore.SQLiteOptions{Path: filepath.Join(t.TempDir(), "lw.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := commands.New(commands.Options{Store: st, Publisher: offline{}, Presence: offline{}})
	if err != nil {
		t.Fatal(err)
	}
	devs := cmdDevices{m: map[string]*lanewatch.Device{
		"V-1":   {ID: "V-1", Type: lanewatch.DeviceSweeper, Contractor: "acme"},
		"V-2":   {ID: "V-2", Type: lanewatch.DeviceWasher, Contractor: "other"},
		"CAM-1": {ID: "CAM-1", Type: lanewatch.DeviceCamera, Contractor: "acme"},
	}}
	s, err := api.New(api.Options{Cases: noCases{}, Devices: devs, DeadLetters: noDead{}, Commands: svc,
		Tokens: []api.Token{{Name: "a", Token: "admin", Role: "admin"}, {Name: "o", Token: "op", Role: "operator"},
			{Name: "v", Token: "viewer", Role: "viewer"}, {Name: "c", Token: "acme", Role: "contractor:acme"},
			{Name: "d", Token: "dept", Role: "department:roads"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, srv *httptest.Server, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: body %q: %v", method, path, b, err)
	}
	return res.StatusCode, out
}

func TestCommandsAPI(t *testing.T) {
	srv := commandServer(t)
	code, body := call(t, srv, "POST", "/api/v1/devices/V-1/commands", "op", `{"name": "set_route", "params": {"route": "R-7"}, "ttl": "10m"}`)
	if code != http.StatusCreated || body["status"] != "queued" || body["id"] == "" || body["device_id"] != "V-1" {
		t.Fatalf("POST = %d %v", code, body)
	}
	created, _ := time.Parse(time.RFC3339, body["created_at"].(string))
	expires, _ := time.Parse(time.RFC3339, body["expires_at"].(string))
	if expires.Sub(created) != 10*time.Minute {
		t.Errorf("expires %v - created %v != 10m", expires, created)
	}
	if p, _ := body["params"].(map[string]any); p["route"] != "R-7" {
		t.Errorf("params = %v", body["params"])
	}
	h, _ := body["history"].([]any)
	if len(h) != 1 || h[0].(map[string]any)["status"] != "queued" || body["response"] != nil {
		t.Errorf("history %v, response %v", body["history"], body["response"])
	}
	// The contractor commands its own vehicle; the list shows newest first.
	if code, body := call(t, srv, "POST", "/api/v1/devices/V-1/commands", "acme", `{"name": "text", "params": {"text": "收车"}}`); code != http.StatusCreated {
		t.Fatalf("contractor POST = %d %v", code, body)
	}
	code, body = call(t, srv, "GET", "/api/v1/devices/V-1/commands", "viewer", "")
	items, _ := body["items"].([]any)
	if code != http.StatusOK || len(items) != 2 || items[0].(map[string]any)["name"] != "text" || body["next_cursor"] != "" {
		t.Fatalf("GET = %d %v", code, body)
	}
	if actor := items[0].(map[string]any)["actor"]; actor != "contractor:acme" {
		t.Errorf("actor = %v", actor)
	}
	code, body = call(t, srv, "GET", "/api/v1/devices/V-1/commands?limit=1", "admin", "")
	if items, _ := body["items"].([]any); code != 200 || len(items) != 1 || body["next_cursor"] == "" {
		t.Errorf("paged GET = %d %v", code, body)
	}
	next := body["next_cursor"].(string)
	if code, body := call(t, srv, "GET", "/api/v1/devices/V-1/commands?limit=1&cursor="+next, "admin", ""); code != 200 ||
		len(body["items"].([]any)) != 1 || body["next_cursor"] != "" {
		t.Errorf("second page = %d %v", code, body)
	}

	for _, tt := range []struct {
		name, method, path, token, body string
		status                          int
		code, field                     string
	}{
		{"viewer may not send", "POST", "/api/v1/devices/V-1/commands", "viewer", `{"name":"x"}`, 403, lanewatch.EForbidden, ""},
		{"department may not list", "GET", "/api/v1/devices/V-1/commands", "dept", "", 403, lanewatch.EForbidden, ""},
		{"contractor, other's vehicle", "POST", "/api/v1/devices/V-2/commands", "acme", `{"name":"x"}`, 404, lanewatch.ENotFound, ""},
		{"contractor, other's list", "GET", "/api/v1/devices/V-2/commands", "acme", "", 404, lanewatch.ENotFound, ""},
		{"contractor, own camera", "POST", "/api/v1/devices/CAM-1/commands", "acme", `{"name":"x"}`, 403, lanewatch.EForbidden, ""},
		{"unknown device", "POST", "/api/v1/devices/V-9/commands", "admin", `{"name":"x"}`, 404, lanewatch.ENotFound, ""},
		{"no token", "POST", "/api/v1/devices/V-1/commands", "", `{"name":"x"}`, 401, lanewatch.EUnauthorized, ""},
		{"topic wildcard in name", "POST", "/api/v1/devices/V-1/commands", "admin", `{"name":"a/#"}`, 400, lanewatch.EInvalid, "name"},
		{"missing name", "POST", "/api/v1/devices/V-1/commands", "admin", `{"params":{}}`, 400, lanewatch.EInvalid, "name"},
		{"params not an object", "POST", "/api/v1/devices/V-1/commands", "admin", `{"name":"x","params":[1]}`, 400, lanewatch.EInvalid, "params"},
		{"ttl typo", "POST", "/api/v1/devices/V-1/commands", "admin", `{"name":"x","ttl":"10 minutes"}`, 400, lanewatch.EInvalid, "ttl"},
		{"ttl too long", "POST", "/api/v1/devices/V-1/commands", "admin", `{"name":"x","ttl":"9000h"}`, 400, lanewatch.EInvalid, "ttl"},
		{"ttl negative", "POST", "/api/v1/devices/V-1/commands", "admin", `{"name":"x","ttl":"-1m"}`, 400, lanewatch.EInvalid, "ttl"},
		{"unknown field", "POST", "/api/v1/devices/V-1/commands", "admin", `{"name":"x","tll":"1m"}`, 400, lanewatch.EInvalid, "request body"},
		{"bad limit", "GET", "/api/v1/devices/V-1/commands?limit=0", "admin", "", 400, lanewatch.EInvalid, "limit"},
		{"bad cursor", "GET", "/api/v1/devices/V-1/commands?cursor=abc", "admin", "", 400, lanewatch.EInvalid, "cursor"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, srv, tt.method, tt.path, tt.token, tt.body)
			e, _ := body["error"].(map[string]any)
			msg, _ := e["message"].(string)
			if code != tt.status || e["code"] != tt.code || !strings.HasPrefix(msg, tt.field) {
				t.Errorf("= %d %v, want %d %s naming %q", code, body, tt.status, tt.code, tt.field)
			}
		})
	}
	// Nothing of the refused requests was queued.
	_, body = call(t, srv, "GET", "/api/v1/devices/V-1/commands", "admin", "")
	if n := len(body["items"].([]any)); n != 2 {
		t.Errorf("V-1 has %d commands after refused requests, want 2", n)
	}
	_, body = call(t, srv, "GET", "/api/v1/devices/V-2/commands", "admin", "")
	if n := len(body["items"].([]any)); n != 0 {
		t.Errorf("V-2 has %d commands, want 0", n)
	}
}
