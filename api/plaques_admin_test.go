package api

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
)

func (e *plaqueEnv) call(t *testing.T, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.send(t, req)
}

const newPlaqueJSON = `{"id":"pl-100","address":"中山市 岐关西路 1 号","district":"xiqu","lat":22.51,"lon":113.3652775,
	"party":{"name":"岐关西路小吃","contact":"13700001111","department":"xiqu-office","duties":["门前市容整洁"]}}`

func TestPlaqueAdminRoleMatrix(t *testing.T) {
	tokens := map[string]string{"admin": "admin-tok", "operator": "op-tok", "viewer": "viewer-tok",
		"department": "dept-tok", "contractor": "ctr-tok", "none": ""}
	update := strings.Replace(newPlaqueJSON, `"id":"pl-100",`, "", 1)
	for role, tok := range tokens {
		e := newPlaqueServer(t)
		allowedRead := role == "admin" || role == "operator" || role == "viewer"
		denied := 403
		if role == "none" {
			denied = 401
		}
		want := func(allowed bool, ok int) int {
			if allowed {
				return ok
			}
			return denied
		}
		checks := []struct {
			method, path, body string
			want               int
		}{
			{"GET", "/api/v1/plaques", "", want(allowedRead, 200)},
			{"POST", "/api/v1/plaques", newPlaqueJSON, want(role == "admin", 201)},
			{"PUT", "/api/v1/plaques/pl-001", update, want(role == "admin", 200)},
			{"DELETE", "/api/v1/plaques/pl-002", "", want(role == "admin", 204)},
		}
		for _, c := range checks {
			if code, body := e.call(t, c.method, c.path, tok, c.body); code != c.want {
				t.Errorf("%s %s %s: %d %v, want %d", role, c.method, c.path, code, body, c.want)
			}
		}
	}
}

func TestPlaqueAdminCRUDAndPublicView(t *testing.T) {
	e := newPlaqueServer(t)
	code, body := e.call(t, "POST", "/api/v1/plaques", "admin-tok", newPlaqueJSON)
	party, _ := body["party"].(map[string]any)
	if code != 201 || body["id"] != "pl-100" || party["contact"] != "13700001111" {
		t.Fatalf("create: %d %v", code, body)
	}
	if code, body := e.call(t, "POST", "/api/v1/plaques", "admin-tok", newPlaqueJSON); code != 409 || errCode(body) != "conflict" {
		t.Fatalf("duplicate create: %d %v", code, body)
	}
	// The public view reflects the API's change, contact masked.
	code, body = e.call(t, "GET", "/api/v1/plaques/pl-100", "", "")
	party, _ = body["party"].(map[string]any)
	if code != 200 || party["contact"] != "137****1111" || party["name"] != "岐关西路小吃" {
		t.Fatalf("public GET: %d %v", code, body)
	}

	// Update: new address visible publicly; the id in the body must match the path.
	upd := strings.Replace(strings.Replace(newPlaqueJSON, `"id":"pl-100",`, "", 1), "岐关西路 1 号", "岐关西路 3 号", 1)
	if code, body := e.call(t, "PUT", "/api/v1/plaques/pl-100", "admin-tok", upd); code != 200 || body["address"] != "中山市 岐关西路 3 号" {
		t.Fatalf("update: %d %v", code, body)
	}
	if _, body := e.call(t, "GET", "/api/v1/plaques/pl-100", "", ""); body["address"] != "中山市 岐关西路 3 号" {
		t.Fatalf("public GET after update: %v", body)
	}
	if code, body := e.call(t, "PUT", "/api/v1/plaques/pl-001", "admin-tok", newPlaqueJSON); code != 400 || !strings.Contains(errMsg(body), "id:") {
		t.Fatalf("update with another id: %d %v", code, body)
	}
	if code, body := e.call(t, "PUT", "/api/v1/plaques/nope", "admin-tok", upd); code != 404 || errCode(body) != "not_found" {
		t.Fatalf("update unknown: %d %v", code, body)
	}

	// List pages in id order; operator sees the full contact, viewer a masked one.
	code, body = e.call(t, "GET", "/api/v1/plaques?limit=2", "op-tok", "")
	items, _ := body["items"].([]any)
	if code != 200 || len(items) != 2 || body["next_cursor"] != "pl-002" {
		t.Fatalf("list page 1: %d %v", code, body)
	}
	if p := items[0].(map[string]any)["party"].(map[string]any); p["contact"] != "13812345678" {
		t.Fatalf("operator sees contact %v", p["contact"])
	}
	code, body = e.call(t, "GET", "/api/v1/plaques?limit=1000&cursor=pl-002", "viewer-tok", "")
	items, _ = body["items"].([]any)
	last := len(items) - 1
	if code != 200 || len(items) < 2 || body["next_cursor"] != "" || items[last].(map[string]any)["id"] != "pl-100" ||
		items[0].(map[string]any)["id"] != "pl-003" {
		t.Fatalf("list page 2: %d %v", code, body)
	}
	if p := items[last].(map[string]any)["party"].(map[string]any); p["contact"] != "137****1111" {
		t.Fatalf("viewer sees contact %v", p["contact"])
	}
	if code, body := e.call(t, "GET", "/api/v1/plaques?limit=0", "admin-tok", ""); code != 400 || !strings.Contains(errMsg(body), "limit") {
		t.Fatalf("bad limit: %d %v", code, body)
	}

	// Delete: gone from the public view and from reports.
	if code, _ := e.call(t, "DELETE", "/api/v1/plaques/pl-100", "admin-tok", ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := e.call(t, "GET", "/api/v1/plaques/pl-100", "", ""); code != 404 {
		t.Fatalf("public GET after delete: %d", code)
	}
	if code, _ := e.call(t, "POST", "/api/v1/plaques/pl-100/reports", "", `{"category":"9101"}`); code != 404 {
		t.Fatalf("report after delete: %d", code)
	}
	if code, _ := e.call(t, "DELETE", "/api/v1/plaques/pl-100", "admin-tok", ""); code != 404 {
		t.Fatalf("second delete: %d", code)
	}
}

func TestPlaqueAdminStrictBodies(t *testing.T) {
	e := newPlaqueServer(t)
	_, before := e.call(t, "GET", "/api/v1/plaques", "admin-tok", "")
	cases := []struct{ name, method, path, body, want string }{
		{"unknown field", "POST", "/api/v1/plaques", `{"id":"pl-9","colour":"red"}`, "colour"},
		{"unknown party field", "POST", "/api/v1/plaques", strings.Replace(newPlaqueJSON, `"name":`, `"nick":"x","name":`, 1), "nick"},
		{"empty body", "POST", "/api/v1/plaques", "", "empty"},
		{"not json", "POST", "/api/v1/plaques", `{"id":`, "request body"},
		{"bad id", "POST", "/api/v1/plaques", strings.Replace(newPlaqueJSON, "pl-100", "pl 100/x", 1), "id:"},
		{"missing address", "POST", "/api/v1/plaques", strings.Replace(newPlaqueJSON, `"address":"中山市 岐关西路 1 号",`, "", 1), "address: required"},
		{"missing department", "POST", "/api/v1/plaques", strings.Replace(newPlaqueJSON, `"department":"xiqu-office",`, "", 1), "party.department: required"},
		{"bad point", "POST", "/api/v1/plaques", strings.Replace(newPlaqueJSON, `"lat":22.51`, `"lat":126.08`, 1), "lat/lon"},
		{"wrong type", "PUT", "/api/v1/plaques/pl-001", `{"lat":"north"}`, "lat"},
		{"unknown field on update", "PUT", "/api/v1/plaques/pl-001", `{"contact":"1"}`, "contact"},
	}
	for _, c := range cases {
		code, body := e.call(t, c.method, c.path, "admin-tok", c.body)
		if code != 400 || errCode(body) != "invalid" || !strings.Contains(errMsg(body), c.want) {
			t.Errorf("%s: %d %v, want 400 naming %q", c.name, code, body, c.want)
		}
	}
	// A body over the limit is 413.
	big := `{"id":"pl-9","address":"` + string(bytes.Repeat([]byte("x"), 70<<10)) + `"}`
	if code, _ := e.call(t, "POST", "/api/v1/plaques", "admin-tok", big); code != 413 {
		t.Errorf("oversize body: %d", code)
	}
	// Nothing was stored by the refused requests.
	if _, body := e.call(t, "GET", "/api/v1/plaques", "admin-tok", ""); len(body["items"].([]any)) != len(before["items"].([]any)) {
		t.Errorf("list after refusals: %v", body)
	}
}

func errMsg(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}
