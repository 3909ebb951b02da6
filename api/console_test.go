package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/lanewatch/lanewatch"
)

func newConsoleServer(t *testing.T) *Server {
	t.Helper()
	assets := fstest.MapFS{
		"index.html":  {Data: []byte("<!doctype html><title>console</title>")},
		"app.css":     {Data: []byte("body{}")},
		"js/main.js":  {Data: []byte("export {};")},
		"js/other.js": {Data: []byte("export {};")},
	}
	s, err := New(Options{
		Tokens: []Token{{Name: "ops", Token: "op-tok", Role: "operator"}, {Name: "d", Token: "dept-tok", Role: "department:xiqu-office"}},
		Cases:  &fakeCases{cases: []*lanewatch.Case{}}, Devices: &fakeDevices{m: map[string]*lanewatch.Device{}}, DeadLetters: fakeDead{},
		Console: assets,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConsoleServesAssetsWithCSP(t *testing.T) {
	s := newConsoleServer(t)
	tests := []struct {
		name, path string
		status     int
		ctype      string
		body       string
	}{
		{"index at root", "/", 200, "text/html", "<title>console</title>"},
		{"script", "/console/js/main.js", 200, "javascript", "export"},
		{"style", "/console/app.css", 200, "text/css", "body{}"},
		{"missing file", "/console/nope.js", 404, "", ""},
		{"no directory listing", "/console/js/", 404, "application/json", "not_found"},
		{"no path escape", "/console/../server.go", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, req)
			if w.Code != tt.status {
				t.Fatalf("GET %s = %d, want %d: %s", tt.path, w.Code, tt.status, w.Body)
			}
			if tt.ctype != "" && !strings.Contains(w.Header().Get("Content-Type"), tt.ctype) {
				t.Errorf("Content-Type = %q, want %q", w.Header().Get("Content-Type"), tt.ctype)
			}
			if !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("body %q does not contain %q", w.Body, tt.body)
			}
			if tt.status == 200 {
				if got := w.Header().Get("Content-Security-Policy"); got != ConsoleCSP {
					t.Errorf("CSP = %q", got)
				}
				if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("X-Frame-Options") != "DENY" {
					t.Errorf("security headers missing: %v", w.Header())
				}
			}
		})
	}
	if !strings.Contains(ConsoleCSP, "script-src 'self'") || strings.Contains(ConsoleCSP, "unsafe-inline") {
		t.Errorf("CSP must forbid inline scripts: %s", ConsoleCSP)
	}
}

func TestWhoami(t *testing.T) {
	s := newConsoleServer(t)
	code, body := do(t, s, "GET", "/api/v1/whoami", "dept-tok", "")
	if code != http.StatusOK || body["role"] != "department" || body["id"] != "xiqu-office" || body["name"] != "d" {
		t.Fatalf("whoami = %d %v", code, body)
	}
	code, body = do(t, s, "GET", "/api/v1/whoami", "op-tok", "")
	if code != http.StatusOK || body["role"] != "operator" || body["id"] != "" {
		t.Fatalf("whoami = %d %v", code, body)
	}
	if code, body = do(t, s, "GET", "/api/v1/whoami", "", ""); code != http.StatusUnauthorized || errCode(body) != "unauthorized" {
		t.Fatalf("whoami without token = %d %v", code, body)
	}
}
