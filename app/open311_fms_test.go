package app

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/url"
	"strings"
	"testing"
)

// fmsUpdates is the servicerequestupdates document as FixMyStreet's Open311 client reads it.
type fmsUpdates struct {
	XMLName xml.Name `xml:"service_requests_updates"`
	Updates []struct {
		UpdateID         string `xml:"update_id" json:"update_id"`
		ServiceRequestID string `xml:"service_request_id" json:"service_request_id"`
		Status           string `xml:"status" json:"status"`
		UpdatedDatetime  string `xml:"updated_datetime" json:"updated_datetime"`
		Description      string `xml:"description" json:"description"`
		External         string `xml:"external_status_code" json:"external_status_code"`
	} `xml:"request_update"`
}

// A citizen app driven as FixMyStreet's Open311 client drives a server: form-encoded POST
// requests.xml with its usual fields (jurisdiction_id, attribute[...], email), a report by
// address only, GET requests/{id}.json, then polling servicerequestupdates.xml and .json with
// start_date/end_date; media_url is a public signed link the app can open without a token
// (issue 15).
func TestOpen311AsFixMyStreet(t *testing.T) {
	h := newDispatchHarness(t)
	post := func(form url.Values) string {
		t.Helper()
		code, b, _ := h.do("", "POST", "/open311/v2/requests.xml", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		var doc struct {
			Requests []struct {
				ID string `xml:"service_request_id"`
			} `xml:"request"`
		}
		if err := xml.Unmarshal(b, &doc); code != 201 || err != nil || len(doc.Requests) != 1 || doc.Requests[0].ID == "" {
			t.Fatalf("POST requests.xml: %d %s (%v)", code, b, err)
		}
		return doc.Requests[0].ID
	}
	common := url.Values{"api_key": {"citizen-app-key"}, "jurisdiction_id": {"fuzhou.example"}, "service_code": {"0101"},
		"email": {"resident@example.com"}, "first_name": {"小"}, "last_name": {"王"}, "phone": {"13600000088"},
		"attribute[fixmystreet_id]": {"4711"}, "attribute[title]": {"垃圾"}}
	withPoint := url.Values{"lat": {"22.52"}, "long": {"113.3652775"}, "address_string": {"中山市 岐关西路口 12 号"}, "description": {"路边有一堆垃圾"}}
	byAddress := url.Values{"address_string": {"西区街道 杨桥路 3 号门口"}, "description": {"门口堆物"}, "service_code": {"0507"}}
	for k, v := range common {
		if withPoint[k] == nil {
			withPoint[k] = v
		}
		if byAddress[k] == nil {
			byAddress[k] = v
		}
	}
	id := post(withPoint)
	addrID := post(byAddress)

	var reqs []map[string]any
	code, b, _ := h.do("", "GET", "/open311/v2/requests/"+addrID+".json", "", nil)
	if json.Unmarshal(b, &reqs); code != 200 || len(reqs) != 1 || reqs[0]["address"] != "西区街道 杨桥路 3 号门口" {
		t.Fatalf("address-only request: %d %s", code, b)
	}
	if _, has := reqs[0]["lat"]; has {
		t.Fatalf("address-only request has a position: %s", b)
	}
	var addrCase map[string]any
	h.json("operator", "GET", "/api/v1/cases/"+addrID, nil, &addrCase)
	if addrCase["district"] != "xiqu" || addrCase["address"] != "西区街道 杨桥路 3 号门口" {
		t.Fatalf("address-only case: district %v address %v", addrCase["district"], addrCase["address"])
	}

	// The bureau handles the first one to the end, with an after photo.
	path := "/api/v1/cases/" + id + "/actions"
	for _, step := range []struct{ role, action string }{{"operator", "accept"}, {"operator", "dispatch"}, {"department", "sign"}, {"department", "start"}} {
		if code := h.json(step.role, "POST", path, map[string]any{"action": step.action}, nil); code != 200 {
			t.Fatalf("%s: %d", step.action, code)
		}
	}
	ctype, body := multipartBody("after", pngOf(3))
	if code, b, _ := h.do("department", "POST", "/api/v1/cases/"+id+"/attachments", ctype, body); code != 201 {
		t.Fatalf("upload: %d %s", code, b)
	}
	for _, step := range []struct{ role, action, note string }{{"department", "resolve", "已清运"}, {"operator", "verify", "核查通过"}} {
		if code := h.json(step.role, "POST", path, map[string]any{"action": step.action, "note": step.note}, nil); code != 200 {
			t.Fatalf("%s: %d", step.action, code)
		}
	}

	window := "start_date=" + url.QueryEscape("2025-03-12T00:00:00+08:00") + "&end_date=" + url.QueryEscape("2025-03-13T00:00:00+08:00") +
		"&api_key=citizen-app-key&jurisdiction_id=fuzhou.example"
	code, b, _ = h.do("", "GET", "/open311/v2/servicerequestupdates.xml?"+window, "", nil)
	var doc fmsUpdates
	if err := xml.Unmarshal(b, &doc); code != 200 || err != nil {
		t.Fatalf("servicerequestupdates.xml: %d %s (%v)", code, b, err)
	}
	var got []string
	seen := map[string]bool{}
	for _, u := range doc.Updates {
		if seen[u.UpdateID] {
			t.Fatalf("update_id %s twice", u.UpdateID)
		}
		seen[u.UpdateID] = true
		if u.ServiceRequestID == id {
			got = append(got, u.Status+"/"+u.External)
		}
	}
	want := []string{"investigating/registered", "action_scheduled/dispatched", "action_scheduled/signed", "in_progress/in_progress",
		"fixed/resolved", "closed/closed"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("updates of %s: %v, want %v", id, got, want)
	}
	if last := doc.Updates[len(doc.Updates)-1]; last.Description != "核查通过" || last.UpdatedDatetime == "" {
		t.Fatalf("last update %+v", last)
	}
	code, b, _ = h.do("", "GET", "/open311/v2/servicerequestupdates.json?"+window, "", nil)
	var js []map[string]any
	if json.Unmarshal(b, &js); code != 200 || len(js) != len(doc.Updates) {
		t.Fatalf("servicerequestupdates.json: %d, %d updates, want %d", code, len(js), len(doc.Updates))
	}
	// Outside the window: nothing; a bad date: the Open311 error format.
	if code, b, _ := h.do("", "GET", "/open311/v2/servicerequestupdates.json?start_date=2025-03-13T00:00:00Z&end_date=2025-03-14T00:00:00Z", "", nil); code != 200 || string(bytes.TrimSpace(b)) != "[]" {
		t.Fatalf("empty window: %d %s", code, b)
	}
	if code, b, _ := h.do("", "GET", "/open311/v2/servicerequestupdates.xml?start_date=yesterday", "", nil); code != 400 || !bytes.Contains(b, []byte("<errors><error><code>400</code>")) {
		t.Fatalf("bad start_date: %d %s", code, b)
	}

	// media_url opens the photo without a token; an altered link does not.
	code, b, _ = h.do("", "GET", "/open311/v2/requests/"+id+".json", "", nil)
	if json.Unmarshal(b, &reqs); code != 200 || len(reqs) != 1 {
		t.Fatalf("GET request: %d %s", code, b)
	}
	media, _ := reqs[0]["media_url"].(string)
	u, err := url.Parse(media)
	if err != nil || !strings.HasPrefix(u.Path, "/open311/v2/media/"+id+"/") || u.Query().Get("sig") == "" {
		t.Fatalf("media_url %q", media)
	}
	code, b, hdr := h.do("", "GET", u.RequestURI(), "", nil)
	if code != 200 || hdr.Get("Content-Type") != "image/png" || !bytes.Equal(b, pngOf(3)) {
		t.Fatalf("GET media_url: %d %s", code, hdr.Get("Content-Type"))
	}
	q := u.Query()
	q.Set("sig", strings.Repeat("0", 32))
	if code, _, _ := h.do("", "GET", u.Path+"?"+q.Encode(), "", nil); code != 403 {
		t.Fatalf("forged media link: %d, want 403", code)
	}
	if code, _, _ := h.do("", "GET", strings.Replace(u.RequestURI(), "/media/"+id+"/", "/media/"+addrID+"/", 1), "", nil); code != 403 {
		t.Fatalf("media link moved to another request: %d, want 403", code)
	}
}
