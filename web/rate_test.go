package web_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/api"
	"github.com/lanewatch/lanewatch/devices"
	"github.com/lanewatch/lanewatch/dispatch"
	"github.com/lanewatch/lanewatch/store/sqlstore"
	"github.com/lanewatch/lanewatch/web"
)

// The reporter's rating page in a real chromium under the console's CSP: on a phone
// (390 px) in Chinese, rate with the keyboard-reachable radios, see the thanks; reopened it
// shows the rating; in English at 1440 px; a tampered link says so.
func TestRatingPage(t *testing.T) {
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
	routing, err := dispatch.LoadRouting("../configs/routing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	districts, err := dispatch.LoadDistricts("../configs/districts.geojson")
	if err != nil {
		t.Fatal(err)
	}
	key, err := dispatch.LinkKey(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dispatch.New(dispatch.Options{Store: st, Catalog: catalog, Routing: routing, Districts: districts,
		AttachmentDir: filepath.Join(dir, "att"), LinkKey: key})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Options{Tokens: []api.Token{{Token: adminToken, Role: "admin"}}, Cases: svc,
		Devices: devices.New(devices.Options{Store: st}), DeadLetters: st, Console: web.Assets()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)

	c, _, err := svc.Open(ctx, &lanewatch.Case{Category: "0101", Source: lanewatch.SourceCitizen, Title: "岐关西路口垃圾堆放",
		Location: lanewatch.Location{Lat: 22.52, Lon: 113.3652775}, Reporter: &lanewatch.Reporter{Phone: "13600000001"}}, "reporter:app")
	if err != nil {
		t.Fatal(err)
	}
	op := dispatch.Actor{Role: dispatch.RoleOperator, Name: "desk"}
	for _, r := range []dispatch.ActionRequest{{Action: "accept"}, {Action: "close", Reason: "已清理"}} {
		if _, err := svc.Act(ctx, c.ID, r, op); err != nil {
			t.Fatal(err)
		}
	}
	link := hs.URL + svc.RatingURL(c.ID)

	b := browser(t)
	run(t, b, "open the rating link on a phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(link),
		until(`document.querySelector('#rate-case').textContent.includes('岐关西路口垃圾堆放')`),
		chromedp.WaitVisible(css(`input[name=score][value="4"]`)))
	if txt := pageText(b); !strings.Contains(txt, "评价处理结果") || !strings.Contains(txt, "5 很满意") || !strings.Contains(txt, "西区街道") {
		t.Fatalf("page text: %s", txt)
	}
	screenshot(t, b, "rate-phone-zh")
	run(t, b, "submit without a score", chromedp.Click(css("#rate-submit")), until(`!document.querySelector('#rate-error').hidden`))
	run(t, b, "rate 4 with the keyboard",
		chromedp.Focus(css(`input[name=score][value="4"]`)), chromedp.KeyEvent(" "),
		chromedp.SendKeys(css("#rate-comment"), "处理及时"),
		chromedp.Focus(css("#rate-submit")), chromedp.KeyEvent("\r"),
		until(`document.querySelector('#rate-done').textContent.includes('感谢')`))
	got, err := svc.Get(ctx, c.ID)
	if err != nil || got.Rating == nil || got.Rating.Score != 4 || got.Rating.Comment != "处理及时" {
		t.Fatalf("stored rating %+v (%v)", got.Rating, err)
	}
	screenshot(t, b, "rate-phone-zh-done")

	run(t, b, "reopen on a laptop, in English", chromedp.EmulateViewport(1440, 900), chromedp.Navigate(link),
		until(`document.querySelector('#rate-done').textContent.includes('4')`),
		chromedp.Click(css("#rate-lang")), until(`document.querySelector('#rate-done').textContent.includes('You rated it 4')`))
	if n := count(t, b, `#rate-scores:not([hidden])`); n != 0 {
		t.Fatal("rated case still offers the form")
	}
	screenshot(t, b, "rate-desktop-en")

	run(t, b, "a tampered link", chromedp.Navigate(strings.Replace(link, "sig=", "sig=00", 1)),
		until(`!document.querySelector('#rate-error').hidden`))
	if txt := pageText(b); !strings.Contains(txt, "链接无效") {
		t.Fatalf("tampered link page: %s", txt)
	}
}
