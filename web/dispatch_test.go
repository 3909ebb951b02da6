package web_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// recordFetch wraps the page's fetch to keep every API call's method, path, body and
// Accept-Language (window.__calls), so a test can check what the console sends.
const recordFetch = `window.__calls = []; const f0 = window.fetch; window.fetch = (url, o = {}) => {
	const hd = o.headers || {};
	window.__calls.push({method: o.method || 'GET', url: String(url), body: typeof o.body === 'string' ? o.body : '', lang: hd['Accept-Language'] || ''});
	return f0(url, o); }`

type call struct {
	Method, URL, Body, Lang string
}

// TestDispatchNamesRoles: dispatch offers the departments by name with routing's proposal
// selected; 催办 and 改派 send exactly {"action":"urge","note"} and {"action":"reassign",
// "department","note"}; names replace ids in both languages and Accept-Language follows the
// UI; camera cases show and filter as 摄像头; tabs a role would get 403 on are hidden.
func TestDispatchNamesRoles(t *testing.T) {
	wd, _ := filepath.Abs("testdata")
	s := startLanewatchWith(t, launch{extra: fmt.Sprintf("dispatch: {routing_file: %q}", filepath.Join(wd, "routing.yaml"))})
	s.seed()
	id := s.openCase("人行道堆放杂物", "地址：中山市岐关西路 5 号")
	if code, b := s.call("POST", "/api/v1/cases/"+id+"/actions", operatorToken, map[string]string{"action": "accept"}); code != 200 {
		t.Fatalf("accept: %d %s", code, b)
	}
	ctx := browser(t)
	run(t, ctx, "open", chromedp.Navigate(s.url+"/"))
	signIn(t, ctx, operatorToken, "operator")
	run(t, ctx, "record fetch", js(recordFetch), goTo("#/board/"+id), chromedp.WaitVisible(css(`#actions button[data-action="dispatch"]`)),
		press(`#actions button[data-action="dispatch"]`, `form.action-form[data-action="dispatch"]`),
		until(`document.querySelector('form.action-form select[name=department]')?.dataset.proposal === 'xiqu-office'`))
	sel := get(t, ctx, "department select", chromedp.Evaluate[[]string](`(() => { const s = document.querySelector('form.action-form select[name=department]');
		return [s.value, s.options[s.selectedIndex].textContent, String(s.options.length)]; })()`))
	if sel[0] != "xiqu-office" || !strings.HasPrefix(sel[1], "西区街道城管办") || !strings.Contains(sel[1], "建议") || sel[2] != "7" {
		t.Fatalf("dispatch department select %v: want xiqu-office by name, proposed, among 6 departments", sel)
	}
	screenshot(t, ctx, "dispatch-departments")
	run(t, ctx, "dispatch", chromedp.Click(css(`form.action-form button[type=submit]`)),
		until(`document.querySelector('#detail-status')?.dataset.status === 'dispatched'`))
	dd := get(t, ctx, "detail", chromedp.Text(css("#detail dl")))
	if !strings.Contains(dd, "西区街道城管办") || !strings.Contains(dd, "西区街道") || strings.Contains(dd, "xiqu") {
		t.Fatalf("the case detail shows ids, not names: %q", dd)
	}

	// 催办 and 改派 send exactly the agreed bodies (the server side may be another branch's).
	send := func(action string, fields map[string]string) call {
		t.Helper()
		steps := []step{js(`window.__calls = []`), press(fmt.Sprintf(`#actions button[data-action=%q]`, action), fmt.Sprintf(`form.action-form[data-action=%q]`, action)),
			chromedp.WaitVisible(css(fmt.Sprintf(`form.action-form[data-action=%q]`, action)))}
		for k, v := range fields {
			steps = append(steps, setValue(fmt.Sprintf(`form.action-form [name=%q]`, k), v))
		}
		steps = append(steps, chromedp.Click(css(`form.action-form button[type=submit]`)),
			// Let the live stream's redraw of the previous action settle (it may replace the form).
			chromedp.Sleep(2*time.Second))
		run(t, ctx, action+" submit", steps...)
		steps = []step{
			until(`window.__calls.some(c => c.method === 'POST' && c.url.endsWith('/actions'))`),
			// The detail is redrawn after the action: the next form opens in the new one.
			until(`!document.querySelector('[data-reloading]')`)}
		run(t, ctx, action, steps...)
		calls := get(t, ctx, "calls", chromedp.Evaluate[[]call](`window.__calls.filter(c => c.method === 'POST')`))
		run(t, ctx, "close form", js(`document.querySelector('form.action-form button[type=button]')?.click()`))
		return calls[0]
	}
	var body map[string]string
	c := send("urge", map[string]string{"note": "请今天内处理"})
	if json.Unmarshal([]byte(c.Body), &body) != nil || len(body) != 2 || body["action"] != "urge" || body["note"] != "请今天内处理" {
		t.Fatalf("urge body %s", c.Body)
	}
	c = send("reassign", map[string]string{"department": "traffic-police", "note": "属交警职责"})
	body = nil
	if json.Unmarshal([]byte(c.Body), &body) != nil || len(body) != 3 || body["action"] != "reassign" || body["department"] != "traffic-police" || body["note"] != "属交警职责" {
		t.Fatalf("reassign body %s", c.Body)
	}
	if c.Lang != "zh-CN" {
		t.Fatalf("Accept-Language %q in Chinese", c.Lang)
	}

	// 缓办 needs a reason; a deferred case offers 恢复办理 only, and resume lifts the deferral.
	c = send("defer", map[string]string{"reason": "道路施工，待竣工后处理"})
	body = nil
	if json.Unmarshal([]byte(c.Body), &body) != nil || len(body) != 2 || body["action"] != "defer" || body["reason"] != "道路施工，待竣工后处理" {
		t.Fatalf("defer body %s", c.Body)
	}
	run(t, ctx, "deferred: resume only", until(`!!document.querySelector('#actions button[data-action="resume"]') && !document.querySelector('#actions button[data-action="urge"]')`))
	if got := get(t, ctx, "resume label", chromedp.Text(css(`#actions button[data-action="resume"]`))); got != "恢复办理" {
		t.Fatalf("resume button reads %q", got)
	}
	c = send("resume", map[string]string{"note": "施工已结束"})
	body = nil
	if json.Unmarshal([]byte(c.Body), &body) != nil || body["action"] != "resume" || body["note"] != "施工已结束" {
		t.Fatalf("resume body %s", c.Body)
	}
	run(t, ctx, "resumed", until(`!!document.querySelector('#actions button[data-action="urge"]') && !document.querySelector('#actions button[data-action="resume"]')`))
	var got struct {
		DeferredAt *string `json:"deferred_at"`
		Timeline   []struct {
			Action string `json:"action"`
		} `json:"timeline"`
	}
	if code, b := s.call("GET", "/api/v1/cases/"+id, operatorToken, nil); code != 200 || json.Unmarshal([]byte(b), &got) != nil {
		t.Fatalf("get case: %d %s", code, b)
	}
	if n := len(got.Timeline); got.DeferredAt != nil || n < 2 || got.Timeline[n-2].Action != "defer" || got.Timeline[n-1].Action != "resume" {
		t.Fatalf("after defer and resume from the console: deferred_at %v, timeline %+v", got.DeferredAt, got.Timeline)
	}

	// Names on the board, in both languages; camera cases are camera cases.
	run(t, ctx, "board", goTo("#/board"), until(`document.querySelectorAll('#case-list tr.case').length >= 5`))
	cells := get(t, ctx, "district cells", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#case-list tr.case td:nth-child(4)')].map(td => td.textContent)`))
	for _, d := range cells {
		if !strings.HasSuffix(d, "街道") {
			t.Fatalf("district cell %q is not a name", d)
		}
	}
	run(t, ctx, "camera filter", setValue("#f-source", "camera"), until(`document.querySelectorAll('#case-list tr.case').length === 1`))
	if src := get(t, ctx, "source cell", chromedp.Text(css(`#case-list tr.case td:nth-child(5)`))); src != "摄像头" {
		t.Fatalf("the camera case's source shows %q", src)
	}
	run(t, ctx, "english", js(`window.__calls = []`), chromedp.Click(css(`#shell .lang-toggle`)), until(`document.documentElement.lang === 'en'`),
		until(`window.__calls.some(c => c.url.includes('/api/v1/cases?'))`),
		until(`/(District|Subdistrict)$/.test(document.querySelector('#case-list tr.case td:nth-child(4)')?.textContent || '')`))
	if l := get(t, ctx, "lang", chromedp.Evaluate[string](`window.__calls.find(c => c.url.includes('/api/v1/cases?')).lang`)); l != "en" {
		t.Fatalf("Accept-Language %q in English", l)
	}
	screenshot(t, ctx, "board-names-en")
	run(t, ctx, "chinese", chromedp.Click(css(`#shell .lang-toggle`)), until(`document.documentElement.lang === 'zh-CN'`))

	// Role-aware tabs.
	signOut(t, ctx)
	signIn(t, ctx, deptToken, "department")
	hidden := get(t, ctx, "tabs", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#nav a')].filter(a => a.hidden).map(a => a.dataset.page)`))
	if strings.Join(hidden, ",") != "rules,devices,deadletters,plaques,shadow" {
		t.Fatalf("department: hidden tabs %v, want rules and the operations pages", hidden)
	}
	run(t, ctx, "department typed the rules address", goTo("#/rules"), until(`document.querySelector('#main').dataset.page === 'board'`))
	signOut(t, ctx)
	signIn(t, ctx, viewerToken, "viewer")
	if n := count(t, ctx, "#nav a[hidden]"); n != 0 {
		t.Fatalf("viewer: %d tabs hidden", n)
	}
}
