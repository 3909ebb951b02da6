package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/lanewatch/lanewatch/app"
	"github.com/lanewatch/lanewatch/internal/testenv"
)

// -screenshots DIR saves the screenshots of the main pages there (docs/screenshots when
// refreshing the README's pictures); by default they go to a temporary directory.
var screenshotDir = flag.String("screenshots", "", "directory for console screenshots (default: a temp dir)")

const (
	adminToken    = "console-admin-token-0123456789"
	operatorToken = "console-operator-token-0123456789"
	deptToken     = "console-dept-token-0123456789"
	viewerToken   = "console-viewer-token-0123456789"
	department    = "xiqu-sanitation"
	chromiumPath  = "/usr/bin/chromium"
)

// server is a whole lanewatch running in-process on free ports against a real influxd.
type server struct {
	t    *testing.T
	url  string
	mqtt string
}

func startLanewatch(t *testing.T) *server {
	t.Helper()
	return startLanewatchWith(t, launch{})
}

// launch varies a test's lanewatch: its clock and more config.
type launch struct {
	now   func() time.Time // default time.Now
	extra string           // YAML appended to the config
}

func startLanewatchWith(t *testing.T, l launch) *server {
	t.Helper()
	influx := testenv.Influx(t)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mqttAddr, httpAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	cfg := fmt.Sprintf(`time_zone: Asia/Shanghai
data_dir: %q
mqtt: {addr: %q, ws_addr: %q, bcrypt_cost: 4, auth_failure_delay: 1ms}
http:
  addr: %q
  tokens:
    - {name: ops-desk, token: %q, role: operator}
    - {name: xiqu-office, token: %q, role: "department:%s"}
    - {name: watcher, token: %q, role: viewer}
influx: {url: %q, bucket: %q, flush_interval: 100ms}
devices_file: %q
categories_file: %q
rules_dir: %q
coverage: {roads_file: %q, districts_file: %q, zones_file: %q}
log: {level: warn}
%s
`, filepath.Join(dir, "data"), mqttAddr, testenv.FreeAddr(t), httpAddr, operatorToken, deptToken, department, viewerToken,
		influx.URL, influx.Bucket, filepath.Join(wd, "testdata", "devices.yaml"),
		filepath.Join(wd, "..", "configs", "categories.yaml"), filepath.Join(wd, "testdata", "rules"),
		filepath.Join(wd, "..", "configs", "roads.geojson"), filepath.Join(wd, "..", "configs", "districts.geojson"),
		filepath.Join(wd, "..", "configs", "zones.geojson"), l.extra)
	return runLanewatch(t, dir, cfg, httpAddr, mqttAddr, l.now)
}

// runLanewatch starts lanewatch with the config text cfg (written into dir) and waits until it
// answers on httpAddr; now (nil: time.Now) is its clock.
func runLanewatch(t *testing.T, dir, cfg, httpAddr, mqttAddr string, now func() time.Time) *server {
	t.Helper()
	path := filepath.Join(dir, "lanewatch.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"LANEWATCH_ADMIN_TOKEN=" + adminToken}
	c, err := app.LoadConfig(path, env)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, c, app.Options{Logger: logger, Env: env, Now: now})
	if err != nil {
		cancel()
		t.Fatalf("new app: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("lanewatch stopped with error: %v", err)
			}
		case <-time.After(40 * time.Second):
			t.Errorf("lanewatch did not stop within 40s")
		}
	})
	s := &server{t: t, url: "http://" + httpAddr, mqtt: mqttAddr}
	waitFor(t, 15*time.Second, "healthz", func() bool {
		resp, err := http.Get(s.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// waitFor polls a condition of the outside world (a server, a browser) until a deadline.
// waitFor waits for another process to reach a state (see testenv.WaitFor).
var waitFor = testenv.WaitFor

// call does an API request with a token and returns the status and the body.
func (s *server) call(method, path, token string, body any) (int, []byte) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, r)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// has reports whether the server has a route (an endpoint other engineers may not have built).
func (s *server) has(method, path string) bool {
	code, b := s.call(method, path, adminToken, map[string]any{})
	return !(code == http.StatusNotFound && strings.Contains(string(b), "no route"))
}

type caseItem struct {
	ID, Status, Category, Title, Description, District string
}

func (s *server) cases(query string) []caseItem {
	s.t.Helper()
	code, b := s.call("GET", "/api/v1/cases?"+query, adminToken, nil)
	if code != http.StatusOK {
		s.t.Fatalf("list cases: %d %s", code, b)
	}
	var out struct{ Items []caseItem }
	if err := json.Unmarshal(b, &out); err != nil {
		s.t.Fatal(err)
	}
	return out.Items
}

func (s *server) publish(user, pass, topic, payload string) {
	s.t.Helper()
	opts := paho.NewClientOptions().AddBroker("tcp://" + s.mqtt).SetClientID(user + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)).
		SetUsername(user).SetPassword(pass).SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		s.t.Fatalf("mqtt connect %s: %v", user, tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		s.t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func telemetry(ts time.Time, lat, lon, speed float64) string {
	return fmt.Sprintf(`{"ts":%q,"lat":%.6f,"lon":%.6f,"speed_kmh":%.1f,"heading":90,"brush_on":true,"water_level_pct":80,"fuel_pct":70}`,
		ts.UTC().Format(time.RFC3339Nano), lat, lon, speed)
}

// seed opens cases the way devices do: speeding sweepers and a street-vending camera.
func (s *server) seed() {
	now := time.Now().Add(-time.Minute)
	s.publish("sw-101", "console-sw-101-pass", "vehicles/sw-101/telemetry", telemetry(now, 22.5151, 113.3750972, 26))
	s.publish("sw-102", "console-sw-102-pass", "vehicles/sw-102/telemetry", telemetry(now, 22.509, 113.3837502, 31))
	s.publish("sw-103", "console-sw-103-pass", "vehicles/sw-103/telemetry", telemetry(now, 22.5045, 113.3746111, 24))
	s.publish("cam-101", "console-cam-101-pass", "cameras/cam-101/events",
		fmt.Sprintf(`{"event_id":"evt-c1","ts":%q,"type":"street_vending","confidence":0.93,"bbox":[0.1,0.2,0.3,0.2],"lat":22.518,"lon":113.3701388}`,
			now.UTC().Format(time.RFC3339)))
	// A sweeper working along 富华道 (fuhua-01) at 8 km/h covers it on the map.
	var pts []string
	for i := range 20 {
		pts = append(pts, fmt.Sprintf(`{"ts":%q,"lat":%.7f,"lon":113.3746106,"speed_kmh":8,"heading":0,"brush_on":true}`,
			now.Add(time.Duration(i)*4*time.Second).UTC().Format(time.RFC3339Nano), 22.5020498+float64(i)*0.00009))
	}
	s.publish("sw-103", "console-sw-103-pass", "vehicles/sw-103/telemetry", "["+strings.Join(pts, ",")+"]")
	waitFor(s.t, 20*time.Second, "4 seeded cases", func() bool { return len(s.cases("limit=100")) >= 4 })
}

// browser starts a headless chromium with a fresh profile and returns its context.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s missing (scripts/ensure-tools.sh installs it: apt-get install chromium): %v", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancelC(); cancelA() })
	// The first run starts the browser and must not have a timeout (it would stop the browser).
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

type step = chromedp.Action[chromedp.Void]

// run runs browser steps with a time limit, failing the test with what was being done.
func run(t *testing.T, ctx context.Context, what string, steps ...step) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err := chromedp.Do(c, steps...)
	if err != nil && strings.Contains(err.Error(), "Could not find node") {
		// The live refresh replaced the element between finding it and using it: the steps are
		// idempotent up to that point, so do them again once.
		err = chromedp.Do(c, steps...)
	}
	if err != nil {
		t.Fatalf("%s: %v\npage text: %.2000s", what, err, pageText(ctx))
	}
}

// get runs one browser action that returns a value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("%s: %v\npage text: %.2000s", what, err, pageText(ctx))
	}
	return v
}

func pageText(ctx context.Context) string {
	c, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	s, _ := chromedp.Run(c, chromedp.Evaluate[string](`document.body.innerText`))
	return s
}

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// until polls a JavaScript condition in the page.
func until(expr string) step {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))
}

// goTo switches the console's page as its navigation links do.
func goTo(hash string) step { return js(fmt.Sprintf(`location.hash = %q`, hash)) }

// js runs a statement in the page.
func js(expr string) step {
	return chromedp.Evaluate[chromedp.Void](`(() => { ` + expr + `; return true; })()`)
}

// setValue sets a form field and fires its input and change events (what typing does).
func setValue(sel, value string) step {
	return js(fmt.Sprintf(`const e = document.querySelector(%q); e.value = %q; e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true}))`, sel, value))
}

func count(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	return get(t, ctx, "count "+sel, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := *screenshotDir
	if dir == "" {
		dir = t.TempDir()
	}
	run(t, ctx, "settle before screenshot", chromedp.Sleep(400*time.Millisecond))
	buf := get(t, ctx, "screenshot "+name, chromedp.CaptureScreenshot())
	if len(buf) < 1000 {
		t.Fatalf("screenshot %s: %d bytes", name, len(buf))
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func signIn(t *testing.T, ctx context.Context, token, role string) {
	t.Helper()
	run(t, ctx, "sign in as "+role,
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), token),
		chromedp.Click(css("#signin-submit")),
		chromedp.WaitVisible(css("#shell")),
		until(fmt.Sprintf(`document.body.dataset.role === %q`, role)),
	)
}

func signOut(t *testing.T, ctx context.Context) {
	t.Helper()
	run(t, ctx, "sign out", chromedp.Click(css("#signout")), chromedp.WaitVisible(css("#signin")),
		until(`sessionStorage.getItem('lanewatch.token') === null`))
}

// photo writes a small PNG for the after-photo upload.
func photo(t *testing.T) string {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{R: uint8(40 + x), G: uint8(120 + y), B: 90, A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "after.png")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// press clicks the element sel finds now until then exists: a live update may re-render the
// case detail between finding a button and clicking it (an open form stops re-renders).
func press(sel, then string) step {
	return until(fmt.Sprintf(`(() => { if (document.querySelector(%q)) return true; document.querySelector(%q)?.click(); return !!document.querySelector(%q); })()`, then, sel, then))
}

// act opens an action's form in the case detail, fills it and submits; then waits for the
// case to reach want.
func act(t *testing.T, ctx context.Context, action string, fields map[string]string, file, want string) {
	t.Helper()
	steps := []step{
		chromedp.WaitVisible(css(fmt.Sprintf(`#actions button[data-action=%q]`, action))),
		press(fmt.Sprintf(`#actions button[data-action=%q]`, action), fmt.Sprintf(`form.action-form[data-action=%q]`, action)),
		chromedp.WaitVisible(css(fmt.Sprintf(`form.action-form[data-action=%q]`, action))),
	}
	for name, v := range fields {
		steps = append(steps, setValue(fmt.Sprintf(`form.action-form [name=%q]`, name), v))
	}
	if file != "" {
		steps = append(steps, chromedp.SetUploadFiles(css(`form.action-form input[name=photo]`), []string{file}))
	}
	steps = append(steps,
		chromedp.Click(css(`form.action-form button[type=submit]`)),
		until(fmt.Sprintf(`document.querySelector('#detail-status')?.dataset.status === %q || !!document.querySelector('form.action-form .error:not([hidden])')`, want)))
	run(t, ctx, action, steps...)
	if got := get(t, ctx, "status after "+action, chromedp.Evaluate[string](`document.querySelector('#detail-status').dataset.status`)); got != want {
		msg := get(t, ctx, "form error", chromedp.Evaluate[string](`document.querySelector('form.action-form .error')?.textContent || ''`))
		t.Fatalf("%s: case is %s, want %s; the form says %q", action, got, want, msg)
	}
}

func TestConsole(t *testing.T) {
	s := startLanewatch(t)
	s.seed()
	ctx := browser(t)

	// Headers of the console itself.
	resp, err := http.Get(s.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("console CSP = %q", csp)
	}

	// A bad token is refused with a message; the token never shows in the URL.
	run(t, ctx, "bad token",
		chromedp.Navigate(s.url+"/"),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), "not-a-token"),
		chromedp.Click(css("#signin-submit")),
		chromedp.WaitVisible(css("#signin-error")))
	errText := get(t, ctx, "error text", chromedp.Text(css("#signin-error")))
	loc := get(t, ctx, "location", chromedp.Location())
	if errText == "" || strings.Contains(loc, "not-a-token") {
		t.Fatalf("bad token: error %q, location %q", errText, loc)
	}
	screenshot(t, ctx, "signin")

	signIn(t, ctx, operatorToken, "operator")
	if loc := get(t, ctx, "location", chromedp.Location()); strings.Contains(loc, operatorToken) {
		t.Fatalf("token in URL %q", loc)
	}

	// The board lists every case, with counts per state.
	all := s.cases("limit=100")
	run(t, ctx, "board rows", until(fmt.Sprintf(`document.querySelectorAll('#case-list tr.case').length === %d`, len(all))))
	if total := get(t, ctx, "total chip", chromedp.Text(css(`#counts .chip[data-status=""] b`))); total != strconv.Itoa(len(all)) {
		t.Fatalf("total chip %q, want %d", total, len(all))
	}

	// Paging: with two cases per page the board shows two and "load more"; clicking it until
	// it goes away lists every case once.
	run(t, ctx, "two per page",
		js(`sessionStorage.setItem('lanewatch.boardPage', '2')`), chromedp.Reload(),
		until(`document.querySelectorAll('#case-list tr.case').length === 2 && !!document.querySelector('#load-more')`))
	screenshot(t, ctx, "board-paged")
	run(t, ctx, "load more until all", until(fmt.Sprintf(`(() => {
		const more = document.querySelector('#load-more');
		if (more && !more.disabled) more.click();
		const ids = [...document.querySelectorAll('#case-list tr.case')].map(tr => tr.dataset.id);
		return !more && ids.length === %d && new Set(ids).size === ids.length;
	})()`, len(all))))
	run(t, ctx, "one page again", js(`sessionStorage.removeItem('lanewatch.boardPage')`), chromedp.Reload(),
		until(fmt.Sprintf(`document.querySelectorAll('#case-list tr.case').length === %d && !document.querySelector('#load-more')`, len(all))))

	// Filters: by category, district (server side) and state (client side).
	speeding := s.cases("limit=100&category=9002")
	if len(speeding) != 3 {
		t.Fatalf("seeded speeding cases = %d, want 3", len(speeding))
	}
	run(t, ctx, "filter category 9002", setValue("#f-category", "9002"),
		until(`document.querySelectorAll('#case-list tr.case').length === 3`))
	run(t, ctx, "filter category 0101 (none)", setValue("#f-category", "0101"), chromedp.WaitVisible(css("#empty")))
	run(t, ctx, "filter district", setValue("#f-category", ""), setValue("#f-district", "xiqu"),
		until(`document.querySelectorAll('#case-list tr.case').length >= 1 && [...document.querySelectorAll('#case-list tr.case td:nth-child(4)')].every(td => td.textContent === '西区街道')`))
	run(t, ctx, "filter status", setValue("#f-district", ""), setValue("#f-status", "closed"), chromedp.WaitVisible(css("#empty")))
	run(t, ctx, "clear filters", chromedp.Click(css(`.filters button.link`)),
		until(fmt.Sprintf(`document.querySelectorAll('#case-list tr.case').length === %d`, len(all))))

	// Open the speeding case of sw-101: its description holds markup that must stay text.
	var target caseItem
	for _, c := range speeding {
		if strings.Contains(c.Title, "sw-101") {
			target = c
		}
	}
	if target.ID == "" || !strings.Contains(target.Description, "<script>") {
		t.Fatalf("seeded case with markup not found: %+v", speeding)
	}
	run(t, ctx, "open case",
		chromedp.Click(css(fmt.Sprintf(`#case-list tr.case[data-id=%q]`, target.ID))),
		chromedp.WaitVisible(css("#detail-description")))
	desc := get(t, ctx, "description", chromedp.Text(css("#detail-description")))
	injected := count(t, ctx, `#detail script, #detail img[src="x"]`)
	xss := get(t, ctx, "xss marker", chromedp.Evaluate[int](`window.__xss === undefined ? 0 : window.__xss`))
	if !strings.Contains(desc, "<script>window.__xss = 1</script>") || injected != 0 || xss != 0 {
		t.Fatalf("description must show as text: %q, injected elements %d, __xss %d", desc, injected, xss)
	}
	if n := count(t, ctx, "#timeline li"); n < 1 {
		t.Fatalf("timeline has %d entries", n)
	}
	screenshot(t, ctx, "board")

	// The lifecycle through the console, as far as the dispatch API exists.
	if s.has("POST", "/api/v1/cases/"+target.ID+"/actions") {
		lifecycle(t, ctx, s, target.ID)
	} else {
		t.Logf("POST /api/v1/cases/{id}/actions is not on this server yet: lifecycle not driven")
		if n := count(t, ctx, "#actions button[data-action]"); n == 0 {
			t.Fatalf("no action offered to the operator on a %s case", target.Status)
		}
	}

	// Map: segments when coverage exists, case pins always.
	run(t, ctx, "map", goTo("#/map"), chromedp.WaitVisible(css("#map-svg")),
		until(`document.querySelectorAll('#pins circle.pin').length >= 1`))
	if s.has("GET", "/api/v1/coverage") {
		run(t, ctx, "map segments", until(`document.querySelectorAll('#segments polyline.seg').length > 0`))
	} else {
		t.Logf("GET /api/v1/coverage is not on this server yet: the map shows pins only")
		run(t, ctx, "map notice", chromedp.WaitVisible(css("#map-nocov")))
	}
	viewBox := chromedp.Evaluate[string](`document.querySelector('#map-svg').getAttribute('viewBox')`)
	vb1 := get(t, ctx, "view box", viewBox)
	run(t, ctx, "zoom in", chromedp.Click(css("#zoom-in")))
	if vb2 := get(t, ctx, "view box", viewBox); vb1 == vb2 {
		t.Fatalf("zoom did not change the view box %q", vb1)
	}
	// A real mouse drag from an empty corner pans (the view moves against the drag); the wheel
	// zooms in around the pointer.
	run(t, ctx, "home", chromedp.Click(css("#zoom-home")))
	corner := get(t, ctx, "map corner", chromedp.Evaluate[[]float64](`(() => { const r = document.querySelector('#map-svg').getBoundingClientRect(); return [r.left + 8, r.top + 8]; })()`))
	x, y := corner[0], corner[1]
	vbHome := get(t, ctx, "view box", viewBox)
	run(t, ctx, "drag", chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, x, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x+60, y+30, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x+120, y+60, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, x+120, y+60, chromedp.ButtonLeft))
	var hx, hy, hw, px, py, pw float64
	fmt.Sscan(vbHome, &hx, &hy, &hw)
	fmt.Sscan(get(t, ctx, "view box", viewBox), &px, &py, &pw)
	if !(px < hx && py < hy && pw == hw) {
		t.Fatalf("drag right and down: view box %q -> %v %v %v, want x and y smaller, same width", vbHome, px, py, pw)
	}
	run(t, ctx, "wheel", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseWheel, x+200, y+200,
		func(p *input.DispatchMouseEventParams) { p.DeltaX, p.DeltaY = 0.001, -120 })) // a zero deltaX would be omitted, and chromium wants both
	var wx, wy, ww float64
	fmt.Sscan(get(t, ctx, "view box", viewBox), &wx, &wy, &ww)
	if !(ww < pw) {
		t.Fatalf("wheel up: view box width %v -> %v, want smaller (zoomed in)", pw, ww)
	}
	run(t, ctx, "pin details", chromedp.Click(css("#zoom-home")),
		js(`document.querySelector('#pins circle.pin').dispatchEvent(new MouseEvent('click', {bubbles: true}))`),
		chromedp.WaitVisible(css("#map-open-case")))
	screenshot(t, ctx, "map")

	// Rules: loaded set, reload, dry run.
	run(t, ctx, "rules", goTo("#/rules"), chromedp.WaitVisible(css("#rules-list")))
	if s.has("GET", "/api/v1/rules") {
		run(t, ctx, "rules listed", until(`document.querySelectorAll('#rules-list tr.rule').length === 2`),
			chromedp.Click(css("#rules-reload")),
			until(`document.querySelector('#main').dataset.reloaded === 'true'`),
			setValue("#dryrun-input", `{"kind":"telemetry","device_id":"sw-101","msg":{"lat":22.51,"lon":113.375,"speed_kmh":28,"brush_on":true}}`),
			chromedp.Click(css("#dryrun-run")),
			until(`document.querySelector('#dryrun-out pre') !== null`))
		if mode := get(t, ctx, "rule mode", chromedp.Text(css("#rules-list tr.rule .badge.mode"))); mode != "生效" && mode != "影子" {
			t.Fatalf("rule mode shows %q, not a Chinese label", mode)
		}
		if out := get(t, ctx, "dry run output", chromedp.Text(css("#dryrun-out pre"))); !strings.Contains(out, "console_speeding") {
			t.Fatalf("dry run output lacks the rule: %s", out)
		}
	} else {
		t.Logf("GET /api/v1/rules is not on this server yet")
		run(t, ctx, "rules not available", chromedp.WaitVisible(css(`#rules-list .na`)))
	}
	screenshot(t, ctx, "rules")

	// Mechanization and assessment render (charts and tables, or the "not available yet" panel).
	run(t, ctx, "mechanization", goTo("#/mech"),
		until(`document.querySelector('#mech-charts svg, #mech-charts .na, #mech-charts [data-group]') !== null`))
	if s.has("GET", "/api/v1/mechanization") {
		// Nothing was worked before today: a district's line has at most today's point, not 30
		// days of 0% (or the chart says there is no data yet).
		run(t, ctx, "mechanization chart", until(`document.querySelector('#mech-charts [data-group=district] svg, #mech-charts [data-group=district] p.muted') !== null`))
		points := get(t, ctx, "chart points", chromedp.Evaluate[[]int](`[...document.querySelectorAll('#mech-charts [data-group=district] path.line')].map(p => document.querySelectorAll('#mech-charts [data-group=district] circle[fill="' + p.getAttribute('stroke') + '"]').length)`))
		for _, n := range points {
			if n > 1 {
				t.Fatalf("a district's 30-day line has %d points; at most today has data: %v", n, points)
			}
		}
		run(t, ctx, "day table", until(`document.querySelector('#mech-table p.muted') !== null`))
		if basis := get(t, ctx, "basis", chromedp.Evaluate[string](`document.querySelector('#mech-table p.muted')?.textContent || ''`)); strings.Contains(basis, "area") || strings.Contains(basis, "length") {
			t.Fatalf("the basis shows the code: %q", basis)
		}
	}
	screenshot(t, ctx, "mechanization")
	run(t, ctx, "assessment", goTo("#/assessment"),
		until(`document.querySelector('#as-table table, #as-table .na, #as-table .error') !== null || document.querySelector('#as-table p')?.textContent !== '加载中…'`))
	screenshot(t, ctx, "assessment")

	// English labels on request.
	run(t, ctx, "english", goTo("#/board"), chromedp.WaitVisible(css("#case-list")),
		chromedp.Click(css(`#shell .lang-toggle`)), until(`document.documentElement.lang === 'en'`))
	if nav := get(t, ctx, "nav label", chromedp.Text(css(`#nav a[data-page="board"]`))); nav != "Cases" {
		t.Fatalf("english nav label %q", nav)
	}
	run(t, ctx, "english board", until(`document.querySelectorAll('#case-list tr.case').length > 0`))
	screenshot(t, ctx, "board-en")
	run(t, ctx, "back to chinese", chromedp.Click(css(`#shell .lang-toggle`)), until(`document.documentElement.lang === 'zh-CN'`))

	// A tablet in portrait: the board and a case's detail still fit the width (no sideways
	// scrolling of the page).
	run(t, ctx, "tablet", chromedp.EmulateViewport(820, 1180), goTo("#/board/"+target.ID),
		chromedp.WaitVisible(css("#detail-title")), until(`document.querySelectorAll('#case-list tr.case').length > 0`))
	if w := get(t, ctx, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 820 {
		t.Fatalf("on a 820 px wide tablet the page is %d px wide", w)
	}
	screenshot(t, ctx, "board-tablet")
	run(t, ctx, "laptop again", chromedp.EmulateViewport(1280, 800))

	// A viewer sees the case but is offered no action.
	signOut(t, ctx)
	signIn(t, ctx, viewerToken, "viewer")
	run(t, ctx, "viewer detail", goTo("#/board/"+target.ID), chromedp.WaitVisible(css("#actions")))
	if n := count(t, ctx, "#actions button[data-action]"); n != 0 {
		t.Fatalf("viewer is offered %d actions", n)
	}
}

// lifecycle drives a case from reported to closed through the console, switching roles.
func lifecycle(t *testing.T, ctx context.Context, s *server, id string) {
	t.Helper()
	if st := get(t, ctx, "status", chromedp.Evaluate[string](`document.querySelector('#detail-status').dataset.status`)); st == "reported" {
		act(t, ctx, "accept", nil, "", "registered")
	}
	act(t, ctx, "dispatch", map[string]string{"department": department, "note": "请尽快处理"}, "", "dispatched")
	screenshot(t, ctx, "case-dispatched")

	signOut(t, ctx)
	signIn(t, ctx, deptToken, "department")
	run(t, ctx, "department sees the case", until(fmt.Sprintf(`document.querySelector('#case-list tr.case[data-id=%q]') !== null`, id)),
		chromedp.Click(css(fmt.Sprintf(`#case-list tr.case[data-id=%q]`, id))), chromedp.WaitVisible(css("#actions")))
	act(t, ctx, "sign", nil, "", "signed")
	act(t, ctx, "start", nil, "", "in_progress")

	// The operator extends the handling deadline (a reason is required; the department has no
	// extend button).
	if n := count(t, ctx, `#actions button[data-action="extend"]`); n != 0 {
		t.Fatalf("department is offered extend")
	}
	before := s.caseDeadline(id)
	signOut(t, ctx)
	signIn(t, ctx, operatorToken, "operator")
	run(t, ctx, "operator opens the case to extend", goTo("#/board/"+id), chromedp.WaitVisible(css("#actions")))
	act(t, ctx, "extend", map[string]string{"reason": "暴雨，延期两小时", "handle_by": before.Add(2 * time.Hour).Local().Format("2006-01-02T15:04")}, "", "in_progress")
	// The status does not change on extend, so wait for the new deadline itself.
	waitFor(t, 15*time.Second, "the extended handle_by deadline", func() bool { return s.caseDeadline(id).After(before) })
	run(t, ctx, "extend in the timeline", until(`[...document.querySelectorAll('#timeline li')].some(li => li.textContent.includes('暴雨，延期两小时'))`))
	signOut(t, ctx)
	signIn(t, ctx, deptToken, "department")
	run(t, ctx, "department back on the case", goTo("#/board/"+id), chromedp.WaitVisible(css("#actions")))
	// Resolve requires a note and a photo: without them the form says what is missing.
	run(t, ctx, "resolve needs fields",
		press(`#actions button[data-action="resolve"]`, `form.action-form[data-action="resolve"]`),
		chromedp.Click(css(`form.action-form button[type=submit]`)),
		chromedp.WaitVisible(css(`form.action-form .error`)),
		chromedp.Click(css(`form.action-form button[type=button]`)))
	act(t, ctx, "resolve", map[string]string{"note": "已降速并重新清扫"}, photo(t), "resolved")
	run(t, ctx, "after photo shown", until(`(() => { const i = document.querySelector('.photos figure[data-kind=after] img'); return !!i && i.complete && i.naturalWidth === 64; })()`))
	screenshot(t, ctx, "case-resolved")

	signOut(t, ctx)
	signIn(t, ctx, operatorToken, "operator")
	run(t, ctx, "operator opens the case", goTo("#/board/"+id), chromedp.WaitVisible(css("#actions")))
	act(t, ctx, "verify", map[string]string{"note": "核查通过"}, "", "closed")
	if n := count(t, ctx, "#timeline li"); n < 6 {
		t.Fatalf("timeline has %d entries after the lifecycle", n)
	}

	// The citizen's rating, recorded by the operator once the case is closed; then no second one.
	act(t, ctx, "rate", map[string]string{"score": "4", "comment": "处理及时"}, "", "closed")
	run(t, ctx, "rating shown", until(`[...document.querySelectorAll('#detail dd')].some(dd => dd.textContent.startsWith('4/5 处理及时'))`),
		until(`!document.querySelector('#actions button[data-action="rate"]')`))
	var c struct {
		Rating *struct {
			Score   int    `json:"score"`
			Comment string `json:"comment"`
		} `json:"rating"`
	}
	if code, b := s.call("GET", "/api/v1/cases/"+id, adminToken, nil); code != 200 || json.Unmarshal(b, &c) != nil || c.Rating == nil ||
		c.Rating.Score != 4 || c.Rating.Comment != "处理及时" {
		t.Fatalf("rating after the console: %d %s", code, b)
	}
}

// caseDeadline returns a case's handle_by deadline from the API.
func (s *server) caseDeadline(id string) time.Time {
	s.t.Helper()
	var c struct {
		Deadlines struct {
			HandleBy *time.Time `json:"handle_by"`
		} `json:"deadlines"`
	}
	code, b := s.call("GET", "/api/v1/cases/"+id, adminToken, nil)
	if code != 200 || json.Unmarshal(b, &c) != nil || c.Deadlines.HandleBy == nil {
		s.t.Fatalf("case %s deadlines: %d %s", id, code, b)
	}
	return *c.Deadlines.HandleBy
}
