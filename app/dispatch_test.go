package app

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch/api"
	"github.com/lanewatch/lanewatch/devices"
	"github.com/lanewatch/lanewatch/dispatch"
	"github.com/lanewatch/lanewatch/internal/testenv"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

type dispatchHarness struct {
	t   *testing.T
	srv *httptest.Server
	st  *sqlstore.Store
}

var roleTokens = map[string]string{
	"admin": "t-admin", "operator": "t-op", "department": "t-xiqu", "other-department": "t-dongqu",
	"contractor": "t-contractor", "viewer": "t-viewer",
}

func newDispatchHarness(t *testing.T) *dispatchHarness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlstore.OpenSQLite(ctx, sqlstore.SQLiteOptions{Path: filepath.Join(dir, "db.sqlite")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	catalog, err := dispatch.LoadCatalog("../configs/categories.yaml")
	if err != nil {
		t.Fatal(err)
	}
	routing, err := dispatch.LoadRouting("../dispatch/testdata/routing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	districts, err := dispatch.LoadDistricts("../dispatch/testdata/districts.geojson")
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	now := func() time.Time { return time.Date(2025, 3, 12, 9, 0, 0, 0, loc) }
	svc, err := dispatch.New(dispatch.Options{Store: st, Catalog: catalog, Routing: routing, Districts: districts,
		AttachmentDir: filepath.Join(dir, "attachments"), MaxAttachmentBytes: 64 << 10, Now: now,
		LinkKey: []byte("a test key for signed public links"), Channels: []string{dispatch.ChannelSMS}})
	if err != nil {
		t.Fatal(err)
	}
	media, err := newMediaFetcher([]string{"127.0.0.1"}, 5*time.Second, 64<<10, svc, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	w := &workflow{s: svc, catalog: catalog, media: media}
	mctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.media.Run(mctx) }()
	t.Cleanup(func() { stop(); <-done })
	srv, err := api.New(api.Options{
		Tokens: []api.Token{{Token: "t-admin", Role: "admin"}, {Token: "t-op", Role: "operator", Name: "desk"},
			{Token: "t-xiqu", Role: "department:xiqu-office"}, {Token: "t-dongqu", Role: "department:dongqu-office"},
			{Token: "t-contractor", Role: "contractor:hy-sanitation"}, {Token: "t-viewer", Role: "viewer"}},
		Cases: svc, Devices: devices.New(devices.Options{Store: st}), DeadLetters: st, Workflow: w, Open311: w, Open311Keys: []string{"citizen-app-key"}, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := &dispatchHarness{t: t, srv: httptest.NewServer(srv.Handler()), st: st}
	t.Cleanup(h.srv.Close)
	return h
}

func (h *dispatchHarness) do(role, method, path, ctype string, body io.Reader) (int, []byte, http.Header) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, body)
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+roleTokens[role])
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func (h *dispatchHarness) json(role, method, path string, body any, out any) int {
	h.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	code, b, _ := h.do(role, method, path, "application/json", r)
	if out != nil {
		_ = json.Unmarshal(b, out)
	}
	return code
}

type caseJSON struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Department  string `json:"department"`
	District    string `json:"district"`
	Attachments []struct {
		ID, URL, Kind string
	} `json:"attachments"`
}

// newCase opens a case as the operator and moves it with the given actions.
func (h *dispatchHarness) newCase(actions ...map[string]any) caseJSON {
	h.t.Helper()
	var c caseJSON
	if code := h.json("operator", "POST", "/api/v1/cases", map[string]any{"category": "0102", "source": "inspection",
		"location": map[string]float64{"lat": 22.52 + float64(time.Now().UnixNano()%1000)*1e-5, "lon": 113.3652775}}, &c); code != 201 {
		h.t.Fatalf("create case: %d", code)
	}
	for _, a := range actions {
		role := "operator"
		if r, ok := a["_as"].(string); ok {
			role = r
			delete(a, "_as")
		}
		if code := h.json(role, "POST", "/api/v1/cases/"+c.ID+"/actions", a, &c); code != 200 {
			h.t.Fatalf("%v: %d", a, code)
		}
	}
	return c
}

func pngOf(n int) []byte {
	var b bytes.Buffer
	_ = png.Encode(&b, image.NewRGBA(image.Rect(0, 0, n, n)))
	return b.Bytes()
}

func multipartBody(kind string, data []byte) (string, io.Reader) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.WriteField("kind", kind)
	fw, _ := w.CreateFormFile("file", "photo.png")
	_, _ = fw.Write(data)
	_ = w.Close()
	return w.FormDataContentType(), &b
}

// TestCaseEndpointsByRole calls every case endpoint as every role.
func TestCaseEndpointsByRole(t *testing.T) {
	h := newDispatchHarness(t)
	roles := []string{"admin", "operator", "department", "other-department", "contractor", "viewer"}
	accept := map[string]any{"action": "accept"}
	dispatchGD := map[string]any{"action": "dispatch", "department": "xiqu-office"}
	want := map[string]map[string]int{
		"POST /cases":             {"admin": 201, "operator": 201, "department": 403, "other-department": 403, "contractor": 403, "viewer": 403},
		"GET /cases/{id}":         {"admin": 200, "operator": 200, "department": 200, "other-department": 404, "contractor": 404, "viewer": 200},
		"GET /cases":              {"admin": 200, "operator": 200, "department": 200, "other-department": 200, "contractor": 200, "viewer": 200},
		"POST actions accept":     {"admin": 200, "operator": 200, "department": 404, "other-department": 404, "contractor": 404, "viewer": 403},
		"POST actions sign":       {"admin": 403, "operator": 403, "department": 200, "other-department": 404, "contractor": 404, "viewer": 403},
		"POST attachments":        {"admin": 201, "operator": 201, "department": 201, "other-department": 404, "contractor": 404, "viewer": 403},
		"GET attachment":          {"admin": 200, "operator": 200, "department": 200, "other-department": 404, "contractor": 404, "viewer": 200},
		"POST rating":             {"admin": 200, "operator": 200, "department": 403, "other-department": 403, "contractor": 403, "viewer": 403},
		"GET assessment":          {"admin": 200, "operator": 200, "department": 200, "other-department": 200, "contractor": 403, "viewer": 200},
		"POST actions (no token)": {"": 401},
	}
	shared := h.newCase(accept, dispatchGD)
	ctype, body := multipartBody("after", pngOf(1))
	code, b, _ := h.do("admin", "POST", "/api/v1/cases/"+shared.ID+"/attachments", "", nil)
	if code != 400 {
		t.Errorf("upload without multipart body: %d %s", code, b)
	}
	if code, b, _ = h.do("admin", "POST", "/api/v1/cases/"+shared.ID+"/attachments", ctype, body); code != 201 {
		t.Fatalf("seed attachment: %d %s", code, b)
	}
	var att struct {
		URL string `json:"url"`
	}
	_ = json.Unmarshal(b, &att)
	for i, role := range roles {
		got := map[string]int{}
		got["POST /cases"] = h.json(role, "POST", "/api/v1/cases", map[string]any{"category": "0103", "location": map[string]float64{"lat": 22.48, "lon": 113.2 + float64(i)*0.01}}, nil)
		got["GET /cases/{id}"] = h.json(role, "GET", "/api/v1/cases/"+shared.ID, nil, nil)
		got["GET /cases"] = h.json(role, "GET", "/api/v1/cases", nil, nil)
		fresh := h.newCase()
		got["POST actions accept"] = h.json(role, "POST", "/api/v1/cases/"+fresh.ID+"/actions", accept, nil)
		disp := h.newCase(accept, map[string]any{"action": "dispatch", "department": "xiqu-office"})
		got["POST actions sign"] = h.json(role, "POST", "/api/v1/cases/"+disp.ID+"/actions", map[string]any{"action": "sign"}, nil)
		ct, body := multipartBody("before", pngOf(2+i))
		got["POST attachments"], _, _ = h.do(role, "POST", "/api/v1/cases/"+shared.ID+"/attachments", ct, body)
		var hdr http.Header
		got["GET attachment"], _, hdr = h.do(role, "GET", att.URL, "", nil)
		if got["GET attachment"] == 200 && hdr.Get("Content-Type") != "image/png" {
			t.Errorf("%s: attachment Content-Type %q", role, hdr.Get("Content-Type"))
		}
		closed := h.newCase(map[string]any{"action": "close", "reason": "no action needed"})
		got["POST rating"] = h.json(role, "POST", "/api/v1/cases/"+closed.ID+"/rating", map[string]any{"score": 4, "comment": "ok"}, nil)
		got["GET assessment"] = h.json(role, "GET", "/api/v1/assessment?month=2025-03", nil, nil)
		for ep, byRole := range want {
			if w, ok := byRole[role]; ok && got[ep] != w {
				t.Errorf("%s as %s: %d, want %d", ep, role, got[ep], w)
			}
		}
	}
	if code := h.json("", "POST", "/api/v1/cases/"+shared.ID+"/actions", accept, nil); code != want["POST actions (no token)"][""] {
		t.Errorf("no token: %d", code)
	}
}

func TestCaseEndpointErrors(t *testing.T) {
	h := newDispatchHarness(t)
	c := h.newCase()
	var e struct {
		Error struct {
			Code    string   `json:"code"`
			Message string   `json:"message"`
			Allowed []string `json:"allowed"`
		} `json:"error"`
	}
	if code := h.json("operator", "POST", "/api/v1/cases/"+c.ID+"/actions", map[string]any{"action": "verify"}, &e); code != 409 ||
		strings.Join(e.Error.Allowed, ",") != "accept,reject,close" {
		t.Errorf("illegal transition: %d %+v", code, e)
	}
	if code := h.json("operator", "POST", "/api/v1/cases/"+c.ID+"/actions", map[string]any{"action": "reject"}, &e); code != 400 || !strings.Contains(e.Error.Message, "reason") {
		t.Errorf("reject without reason: %d %+v", code, e)
	}
	if code := h.json("operator", "POST", "/api/v1/cases/"+c.ID+"/actions", map[string]any{"action": "accept", "bogus": 1}, &e); code != 400 {
		t.Errorf("unknown field: %d", code)
	}
	ct, body := multipartBody("before", make([]byte, 70<<10))
	if code, b, _ := h.do("operator", "POST", "/api/v1/cases/"+c.ID+"/attachments", ct, body); code != 413 {
		t.Errorf("oversized upload: %d %s", code, b)
	}
	ct, body = multipartBody("before", []byte("%PDF-1.4 not a photo"))
	if code, _, _ := h.do("operator", "POST", "/api/v1/cases/"+c.ID+"/attachments", ct, body); code != 422 {
		t.Errorf("pdf upload: %d", code)
	}
	ct, body = multipartBody("sideways", pngOf(3))
	if code, _, _ := h.do("operator", "POST", "/api/v1/cases/"+c.ID+"/attachments", ct, body); code != 400 {
		t.Errorf("bad kind: %d", code)
	}
	var full caseJSON
	h.json("operator", "GET", "/api/v1/cases/"+c.ID, nil, &full)
	if len(full.Attachments) != 0 {
		t.Errorf("refused uploads recorded: %+v", full.Attachments)
	}
	if code := h.json("operator", "GET", "/api/v1/assessment?month=2025-13", nil, nil); code != 400 {
		t.Errorf("bad month: %d", code)
	}
	var as struct {
		Month     string `json:"month"`
		Districts []struct {
			District string   `json:"district"`
			Index    *float64 `json:"index"`
		} `json:"districts"`
	}
	if code := h.json("viewer", "GET", "/api/v1/assessment?month=2025-03", nil, &as); code != 200 || as.Month != "2025-03" || len(as.Districts) != 4 {
		t.Errorf("assessment: %d %+v", code, as)
	}
	closed := h.newCase(map[string]any{"action": "close", "reason": "dup"})
	h.json("operator", "POST", "/api/v1/cases/"+closed.ID+"/rating", map[string]any{"score": 5}, nil)
	if code := h.json("operator", "POST", "/api/v1/cases/"+closed.ID+"/rating", map[string]any{"score": 5}, nil); code != 409 {
		t.Errorf("second rating: %d", code)
	}
	if code := h.json("operator", "POST", "/api/v1/cases/"+c.ID+"/rating", map[string]any{"score": 5}, nil); code != 409 {
		t.Errorf("rating an open case: %d", code)
	}
}

// TestOpen311Media: a request's media_url on a listed host becomes the case's "before" photo;
// an unlisted host, a redirect to one, a non-image and a bad URL do not, and the link always
// stays in the description.
func TestOpen311Media(t *testing.T) {
	h := newDispatchHarness(t)
	var pngBuf bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	if err := png.Encode(&pngBuf, img); err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	photos := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/p.png":
			hits.Add(1)
			w.Write(pngBuf.Bytes())
		case "/text":
			w.Write([]byte("not an image"))
		case "/away":
			http.Redirect(w, r, strings.Replace("http://"+r.Host+"/p.png", "127.0.0.1", "localhost", 1), http.StatusFound)
		}
	}))
	t.Cleanup(photos.Close)
	n := 0
	post := func(media string) (int, string, []byte) {
		n++ // a place of its own, so no report is a duplicate of another
		form := url.Values{"api_key": {"citizen-app-key"}, "service_code": {"0101"}, "lat": {fmt.Sprintf("%.4f", 22.52+0.002*float64(n))}, "long": {"113.3652775"},
			"description": {"垃圾"}, "media_url": {media}}
		code, b, _ := h.do("", "POST", "/open311/v2/requests.json", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		var created []struct {
			ID string `json:"service_request_id"`
		}
		_ = json.Unmarshal(b, &created)
		if len(created) == 1 {
			return code, created[0].ID, b
		}
		return code, "", b
	}
	type caseView struct {
		Description string
		Attachments []struct {
			Kind        string `json:"kind"`
			ContentType string `json:"content_type"`
		}
	}
	get := func(id string) caseView {
		var c caseView
		h.json("operator", "GET", "/api/v1/cases/"+id, nil, &c)
		return c
	}
	if code, _, b := post("ftp://example.com/x.png"); code != 400 || !bytes.Contains(b, []byte("media_url")) {
		t.Fatalf("ftp media_url: %d %s", code, b)
	}
	unlisted := strings.Replace(photos.URL, "127.0.0.1", "localhost", 1) + "/p.png"
	var skipped []string
	for _, m := range []string{unlisted, photos.URL + "/away", photos.URL + "/text"} {
		code, id, b := post(m)
		if code != 201 {
			t.Fatalf("POST with media_url %s: %d %s", m, code, b)
		}
		skipped = append(skipped, id)
	}
	code, id, b := post(photos.URL + "/p.png")
	if code != 201 {
		t.Fatalf("POST with media_url: %d %s", code, b)
	}
	testenv.WaitFor(t, 10*time.Second, "the fetched photo on the case", func() bool { return len(get(id).Attachments) == 1 })
	if c := get(id); c.Attachments[0].Kind != "before" || c.Attachments[0].ContentType != "image/png" ||
		c.Description != "垃圾\nmedia_url: "+photos.URL+"/p.png" {
		t.Fatalf("case with media = %+v", c)
	}
	// The fetches run in order on one worker: the earlier ones are done.
	for i, sid := range skipped {
		if c := get(sid); len(c.Attachments) != 0 || !strings.Contains(c.Description, "media_url: http") {
			t.Errorf("request %d: %+v, want no attachment and the link in the description", i, c)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("the photo was fetched %d times, want once (never through the unlisted host)", n)
	}
}

func TestOpen311(t *testing.T) {
	h := newDispatchHarness(t)
	var services []map[string]any
	code, b, _ := h.do("", "GET", "/open311/v2/services.json", "", nil)
	_ = json.Unmarshal(b, &services)
	if code != 200 || len(services) == 0 || services[0]["service_code"] != "0101" {
		t.Fatalf("services: %d %s", code, b)
	}
	if code, b, _ := h.do("", "GET", "/open311/v2/services.xml", "", nil); code != 200 || !bytes.Contains(b, []byte("<services><service><service_code>0101</service_code>")) {
		t.Fatalf("services.xml: %d %s", code, b)
	}
	if code, _, _ := h.do("", "GET", "/open311/v2/services/0505.json", "", nil); code != 200 {
		t.Errorf("service definition: %d", code)
	}
	if code, b, _ := h.do("", "GET", "/open311/v2/services/9999.json", "", nil); code != 404 || !bytes.Contains(b, []byte(`"code":404`)) {
		t.Errorf("unknown service: %d %s", code, b)
	}
	if code, b, _ := h.do("", "GET", "/open311/v2/discovery.json", "", nil); code != 200 || !bytes.Contains(b, []byte("GeoReport_v2")) {
		t.Errorf("discovery: %d %s", code, b)
	}
	post := func(format string, form url.Values) (int, []byte) {
		code, b, _ := h.do("", "POST", "/open311/v2/requests."+format, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		return code, b
	}
	form := url.Values{"api_key": {"citizen-app-key"}, "service_code": {"0101"}, "lat": {"22.52"}, "long": {"113.3652775"},
		"description": {"路边有一堆垃圾"}, "first_name": {"小"}, "last_name": {"王"}, "phone": {"13600000000"}}
	bad := url.Values{"service_code": {"0101"}, "lat": {"22.52"}, "long": {"113.3652775"}}
	if code, b := post("json", bad); code != 403 || !bytes.Contains(b, []byte(`[{"code":403,"description":`)) {
		t.Errorf("no api_key: %d %s", code, b)
	}
	bad = url.Values{"api_key": {"citizen-app-key"}, "service_code": {"9001"}, "lat": {"22.52"}, "long": {"113.3652775"}}
	if code, _ := post("json", bad); code != 400 {
		t.Errorf("non-citizen service: %d", code)
	}
	bad = url.Values{"api_key": {"citizen-app-key"}, "service_code": {"0101"}}
	if code, b := post("xml", bad); code != 400 || !bytes.Contains(b, []byte("<errors><error><code>400</code>")) {
		t.Errorf("no location (xml): %d %s", code, b)
	}
	code, b = post("json", form)
	var created []struct {
		ID string `json:"service_request_id"`
	}
	_ = json.Unmarshal(b, &created)
	if code != 201 || len(created) != 1 || created[0].ID == "" {
		t.Fatalf("POST requests.json: %d %s", code, b)
	}
	id := created[0].ID
	// It is a citizen case in the API.
	var c struct {
		Source, Status, District, Title string
	}
	h.json("operator", "GET", "/api/v1/cases/"+id, nil, &c)
	// Without an address_string the board lists it by what the citizen wrote, not by its id.
	if c.Source != "citizen" || c.Status != "reported" || c.District != "xiqu" || c.Title != "路边有一堆垃圾" {
		t.Fatalf("case = %+v", c)
	}
	// Move it on and read status, notes, expected time and agency back.
	for _, a := range []map[string]any{{"action": "accept"}, {"action": "dispatch"}} {
		if code := h.json("operator", "POST", "/api/v1/cases/"+id+"/actions", a, nil); code != 200 {
			t.Fatalf("%v: %d", a, code)
		}
	}
	if code := h.json("department", "POST", "/api/v1/cases/"+id+"/actions", map[string]any{"action": "sign", "note": "已安排保洁员"}, nil); code != 200 {
		t.Fatalf("sign: %d", code)
	}
	var reqs []map[string]any
	code, b, _ = h.do("", "GET", "/open311/v2/requests/"+id+".json", "", nil)
	_ = json.Unmarshal(b, &reqs)
	if code != 200 || len(reqs) != 1 || reqs[0]["status"] != "open" || reqs[0]["status_notes"] != "已安排保洁员" ||
		reqs[0]["agency_responsible"] != "西区街道城管办" || reqs[0]["expected_datetime"] == "" || reqs[0]["service_code"] != "0101" {
		t.Fatalf("request: %d %s", code, b)
	}
	code, b, _ = h.do("", "GET", "/open311/v2/requests/"+id+".xml", "", nil)
	var x struct {
		XMLName  xml.Name `xml:"service_requests"`
		Requests []struct {
			ID     string `xml:"service_request_id"`
			Status string `xml:"status"`
		} `xml:"request"`
	}
	if err := xml.Unmarshal(b, &x); code != 200 || err != nil || len(x.Requests) != 1 || x.Requests[0].ID != id {
		t.Fatalf("request xml: %d %v %s", code, err, b)
	}
	// A reject closes it in Open311 terms.
	other, _ := post("json", url.Values{"api_key": {"citizen-app-key"}, "service_code": {"0505"}, "lat": {"22.51"}, "long": {"113.3847225"}})
	_ = other
	code, b, _ = h.do("", "GET", "/open311/v2/requests.json?status=open&service_code=0101", "", nil)
	reqs = nil
	_ = json.Unmarshal(b, &reqs)
	if code != 200 || len(reqs) != 1 || reqs[0]["service_request_id"] != id {
		t.Fatalf("list open 0101: %d %s", code, b)
	}
	code, b, _ = h.do("", "GET", "/open311/v2/requests.json?start_date=2025-01-01T00:00:00Z&end_date=2025-06-01T00:00:00Z", "", nil)
	if code != 400 {
		t.Errorf("window over 90 days: %d %s", code, b)
	}
	code, b, _ = h.do("", "GET", "/open311/v2/tokens/"+id+".json", "", nil)
	if code != 200 || !bytes.Contains(b, []byte(fmt.Sprintf(`"service_request_id":"%s"`, id))) {
		t.Errorf("token: %d %s", code, b)
	}
	if code, _, _ := h.do("", "GET", "/open311/v2/requests/999999.json", "", nil); code != 404 {
		t.Errorf("unknown request: %d", code)
	}
}
