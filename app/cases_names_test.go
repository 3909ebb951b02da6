package app

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Over HTTP: 催办 and 改派 as the console sends them (operator; a department may not), display
// names next to every id, and coded notes in the reader's language and time zone (issue 15).
func TestUrgeReassignNamesAndNotes(t *testing.T) {
	h := newDispatchHarness(t)
	var c caseJSON
	if code := h.json("operator", "POST", "/api/v1/cases", map[string]any{"category": "0102", "source": "inspection",
		"location": map[string]float64{"lat": 22.52, "lon": 113.3652775}}, &c); code != 201 {
		t.Fatalf("create case: %d", code)
	}
	for _, a := range []string{"accept", "dispatch"} {
		if code := h.json("operator", "POST", "/api/v1/cases/"+c.ID+"/actions", map[string]any{"action": a}, &c); code != 200 {
			t.Fatalf("%s: %d", a, code)
		}
	}
	if c.Department != "xiqu-office" {
		t.Fatalf("dispatched to %s", c.Department)
	}
	path := "/api/v1/cases/" + c.ID + "/actions"
	if code := h.json("department", "POST", path, map[string]any{"action": "urge", "note": "请尽快处理"}, nil); code != http.StatusForbidden {
		t.Fatalf("urge by the department: %d, want 403", code)
	}
	if code := h.json("operator", "POST", path, map[string]any{"action": "urge", "note": "请尽快处理"}, nil); code != 200 {
		t.Fatalf("urge: %d", code)
	}
	var bad struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if code := h.json("operator", "POST", path, map[string]any{"action": "reassign", "note": "x"}, &bad); code != 400 || !strings.Contains(bad.Error.Message, "department") {
		t.Fatalf("reassign without department: %d %+v", code, bad)
	}
	if code := h.json("admin", "POST", path, map[string]any{"action": "reassign", "department": "dongqu-office"}, nil); code != 200 {
		t.Fatalf("reassign: %d", code)
	}

	get := func(lang string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("GET", h.srv.URL+"/api/v1/cases/"+c.ID, nil)
		req.Header.Set("Authorization", "Bearer "+roleTokens["operator"])
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		resp, err := h.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	zh := get("zh-CN,zh;q=0.9,en;q=0.8")
	if zh["department"] != "dongqu-office" || zh["department_name"] != "东区街道城管办" || zh["district_name"] != "西区街道" {
		t.Fatalf("names: department %v %v district %v %v", zh["department"], zh["department_name"], zh["district"], zh["district_name"])
	}
	notes := func(c map[string]any) []string {
		var out []string
		for _, e := range c["timeline"].([]any) {
			out = append(out, e.(map[string]any)["action"].(string)+"="+e.(map[string]any)["note"].(string))
		}
		return out
	}
	wantZH := []string{"accept=", "dispatch=派遣至西区街道城管办", "urge=请尽快处理", "reassign=由西区街道城管办改派至东区街道城管办"}
	if got := notes(zh)[1:]; strings.Join(got, "|") != strings.Join(wantZH, "|") {
		t.Fatalf("zh notes %q, want %q", got, wantZH)
	}
	en := get("en-GB,en;q=0.9")
	wantEN := []string{"accept=", "dispatch=dispatched to xiqu-office", "urge=请尽快处理", "reassign=reassigned from xiqu-office to dongqu-office"}
	if got := notes(en)[1:]; strings.Join(got, "|") != strings.Join(wantEN, "|") {
		t.Fatalf("en notes %q, want %q", got, wantEN)
	}
	last := en["timeline"].([]any)[4].(map[string]any)
	if last["code"] != "reassigned" || last["params"].(map[string]any)["to"] != "dongqu-office" {
		t.Fatalf("reassign entry code/params: %v %v", last["code"], last["params"])
	}
	if def := get(""); notes(def)[4] != wantZH[3] {
		t.Fatalf("no Accept-Language: %q, want Chinese", notes(def)[4])
	}
	// Lists carry the names too.
	var list struct {
		Items []map[string]any `json:"items"`
	}
	h.json("viewer", "GET", "/api/v1/cases", nil, &list)
	if len(list.Items) == 0 || list.Items[0]["district_name"] != "西区街道" {
		t.Fatalf("list items %v", list.Items)
	}
}
