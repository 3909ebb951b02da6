package web_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestMapDistrictsClustersVehicles: district borders and names from districts.geojson, the
// day in the title, pins that follow the district filter, clusters, overdue in the legend,
// vehicles at their last position and a vehicle's track of the day, all from the same origin.
func TestMapDistrictsClustersVehicles(t *testing.T) {
	s := startLanewatch(t)
	s.seed()
	for i := range 12 {
		s.openCase(fmt.Sprintf("同一路口第 %d 件", i), "地址：中山市岐关西路口")
	}
	raw, err := os.ReadFile(filepath.Join("..", "configs", "districts.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	var geo struct {
		Features []struct {
			Properties struct {
				ID     string `json:"id"`
				NameZH string `json:"name_zh"`
			} `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(raw, &geo); err != nil || len(geo.Features) == 0 {
		t.Fatalf("districts.geojson: %v", err)
	}

	ctx := browser(t)
	run(t, ctx, "open", chromedp.Navigate(s.url+"/"))
	signIn(t, ctx, operatorToken, "operator")
	run(t, ctx, "map", goTo("#/map"), chromedp.WaitVisible(css("#map-svg")),
		until(fmt.Sprintf(`document.querySelectorAll('#districts path.district').length === %d`, len(geo.Features))),
		until(`document.querySelectorAll('#pins g.cluster').length >= 1`),
		until(`document.querySelectorAll('#vehicles circle.vehicle').length >= 3`))
	labels := get(t, ctx, "labels", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#district-labels text')].map(e => e.textContent)`))
	for _, f := range geo.Features {
		if !strings.Contains(strings.Join(labels, ","), f.Properties.NameZH) {
			t.Fatalf("district label %q missing: %v", f.Properties.NameZH, labels)
		}
	}
	if title := get(t, ctx, "title", chromedp.Text(css("#map-title"))); !strings.Contains(title, "今日") {
		t.Fatalf("today's title %q", title)
	}
	if n := count(t, ctx, `#map-legend [data-legend="overdue"]`); n != 1 {
		t.Fatalf("the legend has no overdue entry")
	}
	// Every open case is a pin or inside a cluster.
	open := len(s.cases("limit=1000&status=reported,registered,dispatched,signed,in_progress,resolved"))
	pinned := `[...document.querySelectorAll('#pins circle.pin')].length + [...document.querySelectorAll('#pins g.cluster')].reduce((a, g) => a + Number(g.dataset.count), 0)`
	if got := get(t, ctx, "pins", chromedp.Evaluate[int](pinned)); got != open {
		t.Fatalf("%d cases on the map, %d open", got, open)
	}
	big := get(t, ctx, "largest cluster", chromedp.Evaluate[int](`Math.max(...[...document.querySelectorAll('#pins g.cluster')].map(g => Number(g.dataset.count)))`))
	if big < 12 {
		t.Fatalf("the 12 cases at one place are not one cluster (largest %d)", big)
	}
	screenshot(t, ctx, "map-districts")
	vb := chromedp.Evaluate[string](`document.querySelector('#map-svg').getAttribute('viewBox')`)
	before := get(t, ctx, "view box", vb)
	run(t, ctx, "cluster zooms in", js(`[...document.querySelectorAll('#pins g.cluster')].sort((a, b) => b.dataset.count - a.dataset.count)[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))`))
	var w0, w1 float64
	fmt.Sscanf(strings.Fields(before)[2], "%g", &w0)
	fmt.Sscanf(strings.Fields(get(t, ctx, "view box", vb))[2], "%g", &w1)
	if !(w1 < w0) {
		t.Fatalf("clicking a cluster did not zoom in: %v -> %v", w0, w1)
	}

	// Road names show once zoomed in, not at the whole-city view.
	visibleLabels := `[...document.querySelectorAll('#road-labels text')].filter(e => e.getClientRects().length > 0).map(e => e.textContent)`
	run(t, ctx, "home", chromedp.Click(css("#zoom-home")))
	if n := get(t, ctx, "labels at home", chromedp.Evaluate[[]string](visibleLabels)); len(n) != 0 {
		t.Fatalf("road names at the whole-city view: %v", n)
	}
	run(t, ctx, "zoom in for names", chromedp.Click(css("#zoom-in")), chromedp.Click(css("#zoom-in")), chromedp.Click(css("#zoom-in")))
	if n := get(t, ctx, "labels zoomed", chromedp.Evaluate[[]string](visibleLabels)); !slices.Contains(n, "富华道") {
		t.Fatalf("zoomed in, the road names shown are %v", n)
	}
	screenshot(t, ctx, "map-zoomed")

	// The pins follow the district filter.
	dongqu := len(s.cases("limit=1000&district=dongqu&status=reported,registered,dispatched,signed,in_progress,resolved"))
	run(t, ctx, "district filter", chromedp.Click(css("#zoom-home")), setValue("#map-district", "dongqu"),
		until(fmt.Sprintf(`(%s) === %d`, pinned, dongqu)))

	// The working sweeper's track of the day.
	run(t, ctx, "all districts", setValue("#map-district", ""), until(`document.querySelectorAll('#vehicles circle.vehicle[data-id="sw-103"]').length === 1`))
	if cls := get(t, ctx, "sw-103", chromedp.Evaluate[string](`document.querySelector('#vehicles circle.vehicle[data-id="sw-103"]').getAttribute('class')`)); !strings.Contains(cls, "working") {
		t.Fatalf("sw-103 (brush on) shows %q", cls)
	}
	run(t, ctx, "track", js(`document.querySelector('#vehicles circle.vehicle[data-id="sw-103"]').dispatchEvent(new MouseEvent('click', {bubbles: true}))`),
		until(`Number(document.querySelector('#track-line')?.dataset.points || 0) >= 20`))
	screenshot(t, ctx, "map-track")

	// A past day is named by its date, not 今日.
	yesterday := time.Now().AddDate(0, 0, -1)
	run(t, ctx, "yesterday", setValue("#map-date", yesterday.Format("2006-01-02")), until(`!document.querySelector('#map-title').textContent.includes('今日')`))
	if title := get(t, ctx, "title", chromedp.Text(css("#map-title"))); !strings.Contains(title, fmt.Sprintf("%d日", yesterday.Day())) {
		t.Fatalf("yesterday's title %q", title)
	}
	// Nothing from outside: every resource came from the console's origin.
	urls := get(t, ctx, "resources", chromedp.Evaluate[[]string](`performance.getEntriesByType('resource').map(e => e.name)`))
	for _, u := range urls {
		if !strings.HasPrefix(u, s.url+"/") {
			t.Fatalf("a resource from outside: %s", u)
		}
	}
	checkA11y(t, ctx, "map with a track")
}
