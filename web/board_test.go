package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// fullCase is what the board tests read of a case from the API.
type fullCase struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Desc      string    `json:"description"`
	DeviceID  string    `json:"device_id"`
	Overdue   bool      `json:"overdue"`
	CreatedAt time.Time `json:"created_at"`
}

// allCases lists every case from the API (one page: the tests hold fewer than 1000).
func (s *server) allCases() []fullCase {
	s.t.Helper()
	code, b := s.call("GET", "/api/v1/cases?limit=1000&sort=newest", adminToken, nil)
	var out struct{ Items []fullCase }
	if code != http.StatusOK || json.Unmarshal(b, &out) != nil {
		s.t.Fatalf("list cases: %d %s", code, b)
	}
	return out.Items
}

// openCase opens a case by hand as the operator.
func (s *server) openCase(title, desc string) string {
	s.t.Helper()
	code, b := s.call("POST", "/api/v1/cases", operatorToken, map[string]any{"category": "0101", "title": title, "description": desc,
		"district": "xiqu", "location": map[string]float64{"lat": 22.5151, "lon": 113.3750972}})
	var c fullCase
	if code != http.StatusCreated || json.Unmarshal(b, &c) != nil {
		s.t.Fatalf("open case: %d %s", code, b)
	}
	return c.ID
}

// attach uploads a PNG of the given width as a photo of a case.
func (s *server) attach(id, kind string, width int) {
	s.t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, width, 48))
	for x := range width {
		for y := range 48 {
			img.Set(x, y, color.RGBA{R: uint8(x * 3), G: uint8(100 + y), B: 140, A: 255})
		}
	}
	var pic, body bytes.Buffer
	if err := png.Encode(&pic, img); err != nil {
		s.t.Fatal(err)
	}
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("kind", kind)
	fw, _ := mw.CreateFormFile("file", "photo.png")
	fw.Write(pic.Bytes())
	mw.Close()
	req, _ := http.NewRequest("POST", s.url+"/api/v1/cases/"+id+"/attachments", &body)
	req.Header.Set("Authorization", "Bearer "+operatorToken)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		s.s(resp, err)
	}
	resp.Body.Close()
}

func (s *server) s(resp *http.Response, err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	s.t.Fatalf("upload: %d %s", resp.StatusCode, b.String())
}

// clock is a test's wall clock that can jump ahead.
type clock struct{ ahead atomic.Int64 }

func (c *clock) now() time.Time       { return time.Now().Add(time.Duration(c.ahead.Load())) }
func (c *clock) jump(d time.Duration) { c.ahead.Add(int64(d)) }

// TestBoardAtScale: the board's counts and order are the server's over the whole filter, not
// the loaded page; search, date range, order, export and the photo viewer work.
func TestBoardAtScale(t *testing.T) {
	var clk clock
	wd, _ := filepath.Abs("testdata")
	s := startLanewatchWith(t, launch{now: clk.now, extra: fmt.Sprintf("dispatch: {routing_file: %q}", filepath.Join(wd, "routing.yaml"))})
	s.seed()
	var early []string
	for i := range 3 {
		early = append(early, s.openCase(fmt.Sprintf("早报案件 %d", i), fmt.Sprintf("地址：中山市悦来南路 %d 号", 10+i)))
	}
	// A month passes: every open case of before is overdue (the deadline checks run every 200 ms).
	clk.jump(30 * 24 * time.Hour)
	waitFor(t, 15*time.Second, "the early cases overdue", func() bool {
		n := 0
		for _, c := range s.allCases() {
			if slices.Contains(early, c.ID) && c.Overdue {
				n++
			}
		}
		return n == 3
	})
	var late []string
	for i := range 20 {
		late = append(late, s.openCase(fmt.Sprintf("新案件 %02d", i), fmt.Sprintf("地址：台江区五一中路 %d 号", 100+i)))
	}
	all := s.allCases()
	overdue := 0
	for _, c := range all {
		if c.Overdue {
			overdue++
		}
	}
	if overdue < 3 || overdue >= len(all)-5 {
		t.Fatalf("%d of %d cases overdue: the test needs a few among many", overdue, len(all))
	}

	ctx := browser(t)
	run(t, ctx, "open", chromedp.Navigate(s.url+"/"), js(`sessionStorage.setItem('lanewatch.boardPage', '5')`))
	signIn(t, ctx, operatorToken, "operator")
	run(t, ctx, "first page of 5", until(`document.querySelectorAll('#case-list tr.case').length === 5 && !!document.querySelector('#load-more')`))
	total := get(t, ctx, "total chip", chromedp.Text(css(`#counts .chip[data-status=""] b`)))
	over := get(t, ctx, "overdue chip", chromedp.Text(css(`#counts .chip[data-count="overdue"] b`)))
	if total != fmt.Sprint(len(all)) || over != fmt.Sprint(overdue) {
		t.Fatalf("chips: total %q overdue %q, want %d and %d (the whole filter, not the page of 5)", total, over, len(all), overdue)
	}
	rows := get(t, ctx, "row classes", chromedp.Evaluate[[]bool](`[...document.querySelectorAll('#case-list tr.case')].map(tr => tr.classList.contains('overdue'))`))
	for i, o := range rows {
		if o != (i < overdue) {
			t.Fatalf("row %d overdue=%v: the overdue cases come first (%d of them): %v", i, o, overdue, rows)
		}
	}
	screenshot(t, ctx, "board-urgent")

	ids := func() []string {
		return get(t, ctx, "row ids", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#case-list tr.case')].map(tr => tr.dataset.id)`))
	}
	sorted := func(v []string) []string { v = slices.Clone(v); slices.Sort(v); return v }
	// Search: by plate (the sweeper's case), by case id, by address.
	var plateCases []string
	for _, c := range all {
		if c.DeviceID == "sw-101" {
			plateCases = append(plateCases, c.ID)
		}
	}
	run(t, ctx, "search plate", setValue("#f-q", "s0101"), until(fmt.Sprintf(`document.querySelectorAll('#case-list tr.case').length === %d && document.querySelector('#counts .chip[data-status=""] b').textContent === '%d'`, len(plateCases), len(plateCases))))
	if got := ids(); len(plateCases) == 0 || !slices.Equal(sorted(got), sorted(plateCases)) {
		t.Fatalf("plate search rows %v, want %v", got, plateCases)
	}
	run(t, ctx, "search id", setValue("#f-q", late[7]), until(fmt.Sprintf(`document.querySelector('#case-list tr.case[data-id=%q]') !== null`, late[7])))
	for _, id := range ids() {
		if id != late[7] && !strings.Contains(titleOf(all, id), late[7]) {
			t.Fatalf("id search %s shows %s", late[7], id)
		}
	}
	run(t, ctx, "search address", setValue("#f-q", "悦来南路"), until(`document.querySelectorAll('#case-list tr.case').length === 3`))
	if got := ids(); !slices.Equal(sorted(got), sorted(early)) {
		t.Fatalf("address search rows %v, want %v", got, early)
	}
	screenshot(t, ctx, "board-search")
	// The refresh time is the UI's 24-hour clock, not the browser locale's "2:47:50 AM".
	if u := get(t, ctx, "refreshed", chromedp.Text(css("#updated"))); !regexp.MustCompile(`^更新于 \d{2}:\d{2}:\d{2}$`).MatchString(u) {
		t.Errorf("refresh time %q: want 更新于 HH:MM:SS", u)
	}

	// A date range: up to today holds the cases of before the jump only.
	run(t, ctx, "clear", chromedp.Click(css(`.filters button.link`)), until(`document.querySelectorAll('#case-list tr.case').length === 5`))
	var before int
	for _, c := range all {
		if c.CreatedAt.Before(time.Now().Add(24 * time.Hour)) {
			before++
		}
	}
	run(t, ctx, "until today", setValue("#f-until", time.Now().Format("2006-01-02")),
		until(fmt.Sprintf(`document.querySelector('#counts .chip[data-status=""] b').textContent === '%d'`, before)))
	// Newest first on request.
	run(t, ctx, "clear again", chromedp.Click(css(`.filters button.link`)), setValue("#f-sort", "newest"),
		until(fmt.Sprintf(`document.querySelector('#case-list tr.case')?.dataset.id === %q`, late[19])))

	// Export: the button downloads the filter as CSV; the server answers in the UI's language.
	run(t, ctx, "export csv", chromedp.Click(css("#export-csv")), until(`document.querySelector('#main').dataset.exported === 'csv'`))
	req, _ := http.NewRequest("GET", s.url+"/api/v1/cases/export?format=csv&q=%E6%82%A6%E6%9D%A5", nil)
	req.Header.Set("Authorization", "Bearer "+operatorToken)
	req.Header.Set("Accept-Language", "en")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var csvBody bytes.Buffer
	csvBody.ReadFrom(resp.Body)
	resp.Body.Close()
	if lines := strings.Split(strings.TrimSpace(csvBody.String()), "\n"); resp.StatusCode != 200 || len(lines) != 4 || !strings.HasPrefix(lines[0], "\ufeffID,Title,Status") {
		t.Fatalf("export: %d %q", resp.StatusCode, csvBody.String())
	}

	// The photo viewer: two before photos, large, previous/next by key, closed with Esc.
	s.attach(late[3], "before", 64)
	s.attach(late[3], "before", 96)
	run(t, ctx, "open case with photos", goTo("#/board/"+late[3]),
		until(`document.querySelectorAll('.photos figure[data-kind=before] .thumb img').length === 2`),
		until(`[...document.querySelectorAll('.photos .thumb img')].every(i => i.complete && i.naturalWidth > 0)`),
		chromedp.Click(css(`.photos figure[data-kind=before] .thumb`)),
		until(`document.querySelector('#viewer').open && document.querySelector('#viewer-img').naturalWidth === 64`))
	screenshot(t, ctx, "photo-viewer")
	run(t, ctx, "next photo", chromedp.KeyEvent(kb.ArrowRight), until(`document.querySelector('#viewer-img').naturalWidth === 96`),
		chromedp.KeyEvent(kb.ArrowRight), until(`document.querySelector('#viewer-img').naturalWidth === 64`),
		chromedp.KeyEvent(kb.Escape), until(`!document.querySelector('#viewer').open`))
}

func titleOf(all []fullCase, id string) string {
	for _, c := range all {
		if c.ID == id {
			return c.Title + " " + c.Desc + " " + c.DeviceID
		}
	}
	return ""
}
