package faults

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

// TestNULOnPostgres sends NUL bytes in text fields to a lanewatch binary on PostgreSQL (which,
// unlike SQLite, refuses NUL in text): device fields, a case title, a case filter and an
// Open311 description each get 400 naming the field, never 500, and the store is untouched.
func TestNULOnPostgres(t *testing.T) {
	influx := testenv.Influx(t)
	n := newNode(t, influx, crashDevices, pgRules, "store:\n  driver: postgres\n  dsn: "+testenv.Postgres(t)+"\n"+
		"dispatch:\n  open311:\n    api_keys: [nul-test-key]\n")
	n.start()
	send := func(method, path, ctype, body string) (int, string) {
		req, _ := http.NewRequest(method, "http://"+n.http+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct{ method, path, ctype, body, field string }{
		{"POST", "/api/v1/devices", "application/json", `{"id":"sw-nul","type":"sweeper","password":"pass-pass-pass","plate":"粤T\u0000"}`, "plate"},
		{"PUT", "/api/v1/devices/sw-001", "application/json", `{"id":"sw-001","type":"sweeper","district":"gu\u0000dong"}`, "district"},
		{"POST", "/api/v1/cases", "application/json", `{"category":"0101","title":"x\u0000","location":{"lat":22.51,"lon":113.375}}`, "title"},
		{"GET", "/api/v1/cases?district=gu%00dong", "", "", "district"},
		{"POST", "/open311/v2/requests.json", "application/x-www-form-urlencoded",
			"api_key=nul-test-key&service_code=0101&lat=22.51&long=113.375&description=a%00b", "description"},
	} {
		code, body := send(tc.method, tc.path, tc.ctype, tc.body)
		if code != 400 || !strings.Contains(body, tc.field+": contains a NUL byte") {
			t.Errorf("%s %s: %d %s, want 400 naming %s", tc.method, tc.path, code, body, tc.field)
		}
	}
	if code, _ := send("GET", "/api/v1/devices/sw-nul", "", ""); code != 404 {
		t.Errorf("device with a NUL plate: GET %d, want 404 (not created)", code)
	}
}
