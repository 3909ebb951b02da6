package web_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

const (
	inspectorToken = "console-inspector-token-0123456789"
	reviewerToken  = "console-reviewer-token-0123456789"
)

// startInspections runs lanewatch with the shipped places and a campaign around today whose
// group g1 (王建国 with 李明, 陈芳) has three places.
func startInspections(t *testing.T) *server {
	t.Helper()
	influx := testenv.Influx(t)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	today := time.Now().In(loc)
	sup := fmt.Sprintf(`campaigns:
  - id: test-week
    name_zh: 背街小巷周检
    name_en: Back alleys weekly
    start: %s
    end: %s
    cadence: weekly
    scope: {places: [alley-yijinfang, alley-wenrufang, compound-shiqi-1, alley-qingxi-lane1]}
    groups:
      - {id: g1, leader: 王建国, members: [李明, 陈芳], bureaus: [住建局, 城管局], places: [alley-yijinfang, alley-wenrufang, compound-shiqi-1]}
      - {id: g2, leader: 张伟, members: [], bureaus: [城管局], places: [alley-qingxi-lane1]}
`, today.AddDate(0, 0, -3).Format(time.DateOnly), today.AddDate(0, 0, 3).Format(time.DateOnly))
	supPath := filepath.Join(dir, "supervision.yaml")
	if err := os.WriteFile(supPath, []byte(sup), 0o600); err != nil {
		t.Fatal(err)
	}
	mqttAddr, httpAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	cfg := fmt.Sprintf(`time_zone: Asia/Shanghai
data_dir: %q
mqtt: {addr: %q, ws_addr: %q, bcrypt_cost: 4, auth_failure_delay: 1ms}
http:
  addr: %q
  tokens:
    - {name: 李明, token: %q, role: inspector}
    - {name: ops-desk, token: %q, role: operator}
    - {name: 林审, token: %q, role: reviewer}
influx: {url: %q, bucket: %q, flush_interval: 100ms}
categories_file: %q
coverage: {roads_file: %q, districts_file: %q}
places_file: %q
supervision_file: %q
log: {level: warn}
`, filepath.Join(dir, "data"), mqttAddr, testenv.FreeAddr(t), httpAddr, inspectorToken, operatorToken, reviewerToken,
		influx.URL, influx.Bucket, filepath.Join(wd, "..", "configs", "categories.yaml"),
		filepath.Join(wd, "..", "configs", "roads.geojson"), filepath.Join(wd, "..", "configs", "districts.geojson"),
		filepath.Join(wd, "..", "configs", "places.geojson"), supPath)
	return runLanewatch(t, dir, cfg, httpAddr, mqttAddr, nil)
}

// signal is a reverse proxy in front of lanewatch whose "signal" can be cut: without it every
// connection is closed at once, which the browser sees as a network failure.
type signal struct {
	up  atomic.Bool
	srv *httptest.Server
}

func newSignal(t *testing.T, target string) *signal {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	sg := &signal{}
	sg.up.Store(true)
	proxy := httputil.NewSingleHostReverseProxy(u)
	sg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !sg.up.Load() {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(sg.srv.Close)
	return sg
}

type visitList struct {
	Items []struct {
		ID       string `json:"id"`
		Result   string `json:"result"`
		Problems []struct {
			CaseID string `json:"case_id"`
		} `json:"problems"`
		Photos       []string `json:"photos"`
		Participants []string `json:"participants"`
	} `json:"items"`
}

func (s *server) visits(t *testing.T) visitList {
	t.Helper()
	code, body := s.call("GET", "/api/v1/inspections/campaigns/test-week/visits", operatorToken, nil)
	if code != 200 {
		t.Fatalf("visits: %d %s", code, body)
	}
	var vl visitList
	if err := json.Unmarshal(body, &vl); err != nil {
		t.Fatal(err)
	}
	return vl
}

func TestInspectionPage(t *testing.T) {
	s := startInspections(t)
	sg := newSignal(t, s.url)
	ctx := browser(t)
	pic := photo(t)
	shots := *screenshotDir

	// A phone: 390 px wide.
	run(t, ctx, "open the inspection page on a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
		chromedp.Navigate(sg.srv.URL+"/console/inspect.html"), chromedp.WaitVisible(css("#token")))
	run(t, ctx, "sign in as inspector", chromedp.SendKeys(css("#token"), inspectorToken), chromedp.Click(css("#signin-submit")),
		until(`document.body.dataset.ready === '1'`), until(`document.querySelectorAll('#f-place option').length === 3`))
	if got := count(t, ctx, "input[name=people]"); got != 3 {
		t.Fatalf("people of g1 = %d, want 3", got)
	}

	// A visit with one problem and its photo, sent at once.
	run(t, ctx, "record a visit with a problem",
		setValue("#f-place", "alley-wenrufang"),
		js(`document.querySelector('input[name=people][value="李明"]').click()`),
		js(`document.querySelector('input[name=result][value=problems]').click()`),
		chromedp.WaitVisible(css(".problem .p-description")),
		setValue(".problem .p-category", "0507"),
		setValue(".problem .p-description", "巷口堆放建筑材料"),
		chromedp.SetUploadFiles(css(".problem .p-photo"), []string{pic}),
		chromedp.SetUploadFiles(css("#f-photos"), []string{pic}))
	if shots != "" {
		screenshot(t, ctx, "inspect-visit-390")
	}
	run(t, ctx, "send it", chromedp.Click(css("#save-visit")))
	waitFor(t, 10*time.Second, "the first visit on the server", func() bool { return len(s.visits(t).Items) == 1 })
	run(t, ctx, "queue empty", until(`document.querySelector('#queue h2').textContent.includes('(0)')`))
	vl := s.visits(t)
	if len(vl.Items) != 1 || vl.Items[0].Result != "problems" || len(vl.Items[0].Problems) != 1 || len(vl.Items[0].Photos) != 1 ||
		strings.Join(vl.Items[0].Participants, ",") != "王建国,李明" {
		t.Fatalf("after the first visit: %+v", vl)
	}
	caseID := vl.Items[0].Problems[0].CaseID
	code, body := s.call("GET", "/api/v1/cases/"+caseID, operatorToken, nil)
	var c struct {
		Source, Category, District, Title string
		Attachments                       []struct{ Kind string }
	}
	_ = json.Unmarshal(body, &c)
	if code != 200 || c.Source != "inspection" || c.Category != "0507" || c.District != "shiqi" || c.Title != "福泽里" ||
		len(c.Attachments) != 1 || c.Attachments[0].Kind != "before" {
		t.Fatalf("case %s: %d %s", caseID, code, body)
	}

	// No signal: the visit is kept in the browser, survives a reload, and is sent when the
	// signal is back.
	sg.up.Store(false)
	run(t, ctx, "record a visit without signal",
		setValue("#f-place", "compound-shiqi-1"),
		chromedp.Click(css("#save-visit")),
		until(`document.querySelector('#queue h2').textContent.includes('(1)')`),
		until(`document.querySelector('#net').classList.contains('off')`))
	if got := len(s.visits(t).Items); got != 1 {
		t.Fatalf("visits on the server while offline = %d, want 1", got)
	}
	queued := get(t, ctx, "queued visit id", chromedp.Evaluate[string](`document.querySelector('#queue li').dataset.id`))
	if shots != "" {
		screenshot(t, ctx, "inspect-offline-390")
	}
	sg.up.Store(true)
	run(t, ctx, "reload with signal", chromedp.Navigate(sg.srv.URL+"/console/inspect.html"),
		until(`document.body.dataset.ready === '1'`),
		until(`document.querySelector('#queue h2') && document.querySelector('#queue h2').textContent.includes('(0)')`))
	vl = s.visits(t)
	found := false
	for _, v := range vl.Items {
		found = found || (v.ID == queued && v.Result == "pass")
	}
	if len(vl.Items) != 2 || !found {
		t.Fatalf("after the signal came back: %+v (queued %s)", vl, queued)
	}

	// The same visit sent again (the answer was lost) is recorded once.
	code, body = s.call("POST", "/api/v1/inspections/visits", inspectorToken, map[string]any{
		"id": queued, "campaign": "test-week", "group": "g1", "place": "compound-shiqi-1",
		"at": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), "participants": []string{"王建国"}, "result": "pass"})
	if code != 200 || len(s.visits(t).Items) != 2 {
		t.Fatalf("resend: %d %s", code, body)
	}

	// The report: 2 of 4 places covered, 2 visits, 1 problem, nothing rectified yet.
	run(t, ctx, "open the report", js(`location.hash = '#report'`),
		until(`document.querySelector('.tile[data-k="k.coverage"]') !== null`))
	cov := get(t, ctx, "coverage tile", chromedp.Evaluate[string](`document.querySelector('.tile[data-k="k.coverage"]').textContent`))
	if !strings.Contains(cov, "50.0%") || !strings.Contains(cov, "2 / 4") {
		t.Errorf("coverage tile = %q", cov)
	}
	if shots != "" {
		screenshot(t, ctx, "inspect-report-390")
	}
	run(t, ctx, "desktop", chromedp.EmulateViewport(1440, 900), js(`document.querySelector('.lang-toggle').click()`),
		until(`document.querySelector('#tabs a').textContent === 'Record a visit'`))
	if shots != "" {
		screenshot(t, ctx, "inspect-report-1440")
		run(t, ctx, "visit page", js(`location.hash = '#visit'`), chromedp.WaitVisible(css("#visit-form")))
		screenshot(t, ctx, "inspect-visit-1440")
	}
	// Nothing was refused by the page's security policy (a violation would have left the
	// page unstyled or without its script).
	bg := get(t, ctx, "styles applied", chromedp.Evaluate[string](`getComputedStyle(document.querySelector('.topbar')).backgroundColor`))
	if bg != "rgb(20, 33, 61)" {
		t.Errorf("topbar background = %q: the stylesheet did not apply", bg)
	}
}
