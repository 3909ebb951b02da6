package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestTimesInCityZone: the console shows times in the city's zone (the working calendar's,
// Asia/Shanghai here), as lanewatch's own notes and SMS do, not in the browser's: a reader in
// another zone (a laptop left on UTC, a contractor abroad) sees the same 上报时间 as the
// operator desk.
func TestTimesInCityZone(t *testing.T) {
	s := startLanewatch(t)
	id := s.openCase("时区检查", "地址：中山市岐关西路 2 号")
	code, b := s.call("GET", "/api/v1/cases/"+id, operatorToken, nil)
	var c struct {
		CreatedAt time.Time `json:"created_at"`
	}
	if err := json.Unmarshal(b, &c); code != 200 || err != nil {
		t.Fatalf("case: %d %s", code, b)
	}
	city, _ := time.LoadLocation("Asia/Shanghai")
	want := c.CreatedAt.In(city).Format("2006/01/02 15:04")
	ctx := browser(t)
	tz := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"})
		return err
	})
	run(t, ctx, "a browser in New York", tz, chromedp.Navigate(s.url+"/"))
	if off := get(t, ctx, "browser offset", chromedp.Evaluate[int](`new Date().getTimezoneOffset()`)); off != 300 && off != 240 {
		t.Fatalf("the browser's zone offset is %d min: the override did not take", off)
	}
	signIn(t, ctx, operatorToken, "operator")
	row := fmt.Sprintf(`#case-list tr.case[data-id=%q]`, id)
	run(t, ctx, "row", until(fmt.Sprintf(`document.querySelector(%q) !== null`, row)))
	if got := get(t, ctx, "reported", chromedp.Text(css(row+` td:last-child`))); got != want {
		t.Fatalf("上报时间 %q, want %q (Asia/Shanghai)", got, want)
	}
}
