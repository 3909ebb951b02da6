package app

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// The reporter rates through the signed link of the result SMS, as the public page does: no
// token, the link's exp and sig are the credential, once per case; a forged or altered link
// is refused (issue 15: only admin/operator could rate).
func TestReporterRatesThroughSignedLink(t *testing.T) {
	h := newDispatchHarness(t)
	form := url.Values{"api_key": {"citizen-app-key"}, "service_code": {"0101"}, "lat": {"22.52"}, "long": {"113.3652775"},
		"description": {"路边有一堆垃圾"}, "phone": {"13600000077"}}
	code, b, _ := h.do("", "POST", "/open311/v2/requests.json", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	var created []struct {
		ID string `json:"service_request_id"`
	}
	if json.Unmarshal(b, &created); code != 201 || len(created) != 1 {
		t.Fatalf("submit: %d %s", code, b)
	}
	id := created[0].ID
	path := "/api/v1/cases/" + id + "/actions"
	for _, a := range []map[string]any{{"action": "accept"}, {"action": "close", "reason": "已现场核实并清理"}} {
		if code := h.json("operator", "POST", path, a, nil); code != 200 {
			t.Fatalf("%v: %d", a, code)
		}
	}
	n, err := h.st.GetNotification(t.Context(), "result:"+id+":closed:sms:13600000077")
	if err != nil {
		t.Fatal(err)
	}
	var vars map[string]string
	json.Unmarshal(n.Payload, &vars)
	link, err := url.Parse(vars["rate_url"])
	if err != nil || link.Path != "/console/rate.html" || link.Query().Get("case") != id {
		t.Fatalf("rate_url %q", vars["rate_url"])
	}
	q := link.Query()
	page := "/api/v1/public/ratings/" + id
	var view map[string]any
	code, b, _ = h.do("", "GET", page+"?exp="+q.Get("exp")+"&sig="+q.Get("sig"), "", nil)
	if json.Unmarshal(b, &view); code != 200 || view["closed"] != true || view["rating"] != nil || view["id"] != id {
		t.Fatalf("GET rating page data: %d %s", code, b)
	}
	if strings.Contains(string(b), "13600000077") || strings.Contains(string(b), "timeline") {
		t.Fatalf("public view leaks: %s", b)
	}
	for name, qs := range map[string]string{
		"no signature":   "?exp=" + q.Get("exp"),
		"altered expiry": "?exp=9" + q.Get("exp") + "&sig=" + q.Get("sig"),
		"other case sig": "?exp=" + q.Get("exp") + "&sig=00000000000000000000000000000000",
	} {
		if code, _, _ := h.do("", "GET", page+qs, "", nil); code != 403 {
			t.Errorf("%s: %d, want 403", name, code)
		}
	}
	// Another case's path with this case's signature.
	if code, _, _ := h.do("", "GET", "/api/v1/public/ratings/1"+id+"?exp="+q.Get("exp")+"&sig="+q.Get("sig"), "", nil); code != 403 {
		t.Errorf("signature moved to another case: %d", code)
	}
	rate := func(body map[string]any) (int, []byte) {
		bs, _ := json.Marshal(body)
		code, b, _ := h.do("", "POST", page, "application/json", strings.NewReader(string(bs)))
		return code, b
	}
	if code, b := rate(map[string]any{"exp": q.Get("exp"), "sig": q.Get("sig"), "score": 6}); code != 400 || !strings.Contains(string(b), "score") {
		t.Fatalf("score 6: %d %s", code, b)
	}
	if code, b := rate(map[string]any{"exp": q.Get("exp"), "sig": q.Get("sig"), "score": 5, "comment": "很快", "role": "admin"}); code != 400 {
		t.Fatalf("unknown field: %d %s", code, b)
	}
	if code, b := rate(map[string]any{"exp": q.Get("exp"), "sig": "bad", "score": 5}); code != 403 {
		t.Fatalf("bad signature: %d %s", code, b)
	}
	if code, b := rate(map[string]any{"exp": q.Get("exp"), "sig": q.Get("sig"), "score": 4, "comment": "处理很快"}); code != 200 || !strings.Contains(string(b), `"score":4`) {
		t.Fatalf("rate: %d %s", code, b)
	}
	if code, _ := rate(map[string]any{"exp": q.Get("exp"), "sig": q.Get("sig"), "score": 1}); code != 409 {
		t.Fatalf("second rating: %d, want 409", code)
	}
	var full map[string]any
	h.json("operator", "GET", "/api/v1/cases/"+id, nil, &full)
	tl := full["timeline"].([]any)
	last := tl[len(tl)-1].(map[string]any)
	if r, _ := full["rating"].(map[string]any); r == nil || r["score"] != 4.0 || last["actor"] != "reporter:link" || last["note"] != "评分4：处理很快" {
		t.Fatalf("rating %v, last entry %v", full["rating"], last)
	}
}
