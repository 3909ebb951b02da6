package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestOperationsPages: devices (online state, last seen, type, district name, commands or a
// clear "not available" when the commands API is absent), dead letters from a bad payload,
// plaques and shadow rules, each checked with axe-core.
func TestOperationsPages(t *testing.T) {
	s := startLanewatch(t)
	s.seed() // sw-101..103 and cam-101 connect and publish
	s.publish("sw-102", "console-sw-102-pass", "vehicles/sw-102/telemetry", `{"ts":"soon","lat":"north"}`)
	waitFor(t, 15*time.Second, "a dead letter", func() bool {
		code, b := s.call("GET", "/api/v1/deadletters", adminToken, nil)
		return code == 200 && strings.Contains(string(b), "sw-102")
	})
	ctx := browser(t)
	run(t, ctx, "open", chromedp.Navigate(s.url+"/"))
	signIn(t, ctx, adminToken, "admin")

	run(t, ctx, "devices", goTo("#/devices"), until(`document.querySelectorAll('#devices tbody tr').length === 4`))
	row := get(t, ctx, "sw-101 row", chromedp.Evaluate[[]string](`[...document.querySelector('#devices tr[data-id="sw-101"]').cells].map(c => c.textContent)`))
	if row[1] != "扫路车" || row[4] != "西区街道" || row[6] != "粤T·S0101" || row[3] == "—" {
		t.Fatalf("sw-101 row %q: want type, district name, plate and a last-seen time", row)
	}
	checkA11y(t, ctx, "devices")
	run(t, ctx, "device commands by keyboard", js(`document.querySelector('#devices tr[data-id="sw-101"]').focus()`), chromedp.KeyEvent(kb.Enter),
		until(`document.querySelector('#commands table, #commands .na, #commands #commands-table-empty') !== null`))
	hasCommands := s.has("GET", "/api/v1/devices/sw-101/commands")
	if na := count(t, ctx, "#commands .na"); hasCommands == (na == 1) {
		t.Fatalf("commands API present=%v, the panel shows not-available=%v", hasCommands, na == 1)
	}
	// Sending: a bad JSON is caught in the page; a good one is sent or gracefully refused.
	run(t, ctx, "bad params", setValue(`#command-form [name=name]`, "route"), setValue(`#command-form [name=params]`, "{oops"),
		chromedp.Click(css(`#command-form button[type=submit]`)), until(`!document.querySelector('#command-error').hidden`))
	run(t, ctx, "send", setValue(`#command-form [name=params]`, `{"route":"r-7"}`), chromedp.Click(css(`#command-form button[type=submit]`)),
		until(`!document.querySelector('#command-error').hidden || !document.querySelector('#toast').hidden`))
	if !hasCommands {
		if msg := get(t, ctx, "command error", chromedp.Text(css("#command-error"))); !strings.Contains(msg, "暂不可用") {
			t.Fatalf("without the commands API the form says %q", msg)
		}
	}
	screenshot(t, ctx, "devices")

	run(t, ctx, "dead letters", goTo("#/deadletters"), until(`[...document.querySelectorAll('#deadletters tbody tr')].some(tr => tr.textContent.includes('sw-102'))`))
	if text := get(t, ctx, "payload", chromedp.Text(css("#deadletters tbody tr code.payload"))); !strings.Contains(text, "north") {
		t.Fatalf("dead letter payload %q", text)
	}
	if cells := get(t, ctx, "dead letter cells", chromedp.Evaluate[[]string](`[...document.querySelector('#deadletters tbody tr').cells].map(c => c.textContent)`)); cells[3] != "车辆数据" || strings.ContainsAny(cells[4], "abcdefghijklmnopqrstuvwxyz_") {
		t.Fatalf("dead letter kind and reason as codes: %q", cells)
	}
	checkA11y(t, ctx, "dead letters")
	screenshot(t, ctx, "deadletters")

	run(t, ctx, "plaques", goTo("#/plaques"), until(`document.querySelector('#plaques-list table, #plaques-list .na, #plaques-list .muted:not(:empty), #plaques-list .error') !== null && !document.querySelector('#plaques-list').textContent.includes('加载中')`))
	checkA11y(t, ctx, "plaques")
	run(t, ctx, "shadow", goTo("#/shadow"), until(`!document.querySelector('#shadow-list').textContent.includes('加载中')`))
	checkA11y(t, ctx, "shadow rules")
	screenshot(t, ctx, "shadow")

	// English labels.
	run(t, ctx, "english", goTo("#/devices"), chromedp.Click(css(`#shell .lang-toggle`)), until(`document.documentElement.lang === 'en'`),
		until(`document.querySelector('#devices tr[data-id="sw-101"]')?.cells[1].textContent === 'sweeper'`))
	run(t, ctx, "chinese", chromedp.Click(css(`#shell .lang-toggle`)), until(`document.documentElement.lang === 'zh-CN'`))
	signOut(t, ctx)
	signIn(t, ctx, deptToken, "department")
	if n := count(t, ctx, `#nav a[data-page="devices"]:not([hidden]), #nav a[data-page="deadletters"]:not([hidden])`); n != 0 {
		t.Fatalf("a department sees %d operations tabs it would get 403 on", n)
	}
}
