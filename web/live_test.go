package web_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// listFetches counts the board's case-list downloads so far (resource timing of the page).
const listFetches = `performance.getEntriesByType('resource').filter(e => e.name.includes('/api/v1/cases?')).length`

// TestLiveBoard: the board follows the server over Server-Sent Events instead of
// re-downloading on a timer; a new urgent case raises a visible alert with a tone, which the
// user can mute (api/board_test.go checks a department's stream carries its own cases only).
func TestLiveBoard(t *testing.T) {
	s := startLanewatch(t)
	first := s.openCase("第一件", "地址：中山市岐关西路 1 号")
	ctx := browser(t)
	run(t, ctx, "open", chromedp.Navigate(s.url+"/"))
	signIn(t, ctx, operatorToken, "operator")
	run(t, ctx, "board live", until(fmt.Sprintf(`document.querySelector('#case-list tr.case[data-id=%q]') !== null`, first)),
		until(`document.body.dataset.live === 'live' && document.querySelector('#live').textContent !== ''`))
	n0 := get(t, ctx, "list fetches", chromedp.Evaluate[int](listFetches))
	// Nothing changes for longer than the old 10 s poll: nothing is downloaded again.
	run(t, ctx, "quiet", chromedp.Sleep(11*time.Second))
	if n := get(t, ctx, "list fetches", chromedp.Evaluate[int](listFetches)); n != n0 {
		t.Fatalf("the board downloaded the list %d more times with nothing changed", n-n0)
	}

	// An urgent case arrives: its row appears, the alert names it, the tone plays.
	code, b := s.call("POST", "/api/v1/cases", operatorToken, map[string]any{"category": "0101", "urgency": "urgent",
		"title": "紧急：井盖缺失", "district": "xiqu", "location": map[string]float64{"lat": 22.51, "lon": 113.375}})
	if code != 201 {
		t.Fatalf("open urgent case: %d %s", code, b)
	}
	run(t, ctx, "alert", chromedp.WaitVisible(css("#alert")),
		until(`document.querySelector('#alert-title').textContent === '紧急：井盖缺失'`),
		until(`[...document.querySelectorAll('#case-list tr.case')].some(tr => tr.textContent.includes('紧急：井盖缺失'))`))
	if snd := get(t, ctx, "sound", chromedp.Evaluate[string](`document.querySelector('#alert').dataset.sound`)); snd != "played" {
		t.Fatalf("alert sound %q, want played", snd)
	}
	if n := get(t, ctx, "list fetches", chromedp.Evaluate[int](listFetches)); n-n0 != 1 {
		t.Fatalf("one change caused %d list downloads, want 1", n-n0)
	}
	screenshot(t, ctx, "board-alert")
	// A normal case updates the board without an alert.
	run(t, ctx, "dismiss", chromedp.Click(css("#alert-dismiss")), until(`document.querySelector('#alert').hidden`))
	s.openCase("一般案件", "地址：中山市岐关西路 3 号")
	run(t, ctx, "normal case listed", until(`[...document.querySelectorAll('#case-list tr.case')].some(tr => tr.textContent.includes('一般案件'))`))
	if hidden := get(t, ctx, "alert hidden", chromedp.Evaluate[bool](`document.querySelector('#alert').hidden`)); !hidden {
		t.Fatalf("a normal case raised the urgent alert")
	}

	// Muted: the banner still shows, silently; the choice survives a reload.
	run(t, ctx, "mute", chromedp.Click(css("#mute")), until(`document.querySelector('#mute').getAttribute('aria-pressed') === 'true'`),
		chromedp.Reload(), until(`document.body.dataset.live === 'live'`),
		until(`document.querySelector('#mute').getAttribute('aria-pressed') === 'true'`))
	s.call("POST", "/api/v1/cases", operatorToken, map[string]any{"category": "0101", "urgency": "high", "title": "紧急：树木倒伏", "district": "xiqu"})
	run(t, ctx, "muted alert", until(`document.querySelector('#alert-title')?.textContent === '紧急：树木倒伏'`))
	if snd := get(t, ctx, "sound", chromedp.Evaluate[string](`document.querySelector('#alert').dataset.sound`)); snd != "muted" {
		t.Fatalf("muted alert sound %q", snd)
	}
	// The stream URL carries a short-lived ticket, never the token.
	urls := get(t, ctx, "event urls", chromedp.Evaluate[[]string](`performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/api/v1/events'))`))
	for _, u := range urls {
		if containsAny(u, operatorToken, adminToken) {
			t.Fatalf("a token in a URL: %s", u)
		}
	}
}

func containsAny(s string, subs ...string) bool {
	return slices.ContainsFunc(subs, func(x string) bool { return x != "" && strings.Contains(s, x) })
}
