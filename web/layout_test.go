package web_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestLayoutsKeyboardA11y: the board and a case at 390 (phone), 820 (tablet) and 1440 px;
// keyboard use with visible focus; axe-core's WCAG A/AA rules (contrast included) on each page.
func TestLayoutsKeyboardA11y(t *testing.T) {
	s := startLanewatch(t)
	s.seed()
	for i := range 6 {
		s.openCase(fmt.Sprintf("占道经营投诉，长标题用于检查换行 %d", i), "地址：中山市岐关西路 8 号")
	}
	ctx := browser(t)
	run(t, ctx, "open", chromedp.Navigate(s.url+"/"))
	signIn(t, ctx, operatorToken, "operator")

	for _, vp := range []struct {
		name string
		w, h int64
	}{{"phone", 390, 844}, {"tablet", 820, 1180}, {"desktop", 1440, 900}} {
		t.Run(vp.name, func(t *testing.T) {
			run(t, ctx, "viewport", chromedp.EmulateViewport(vp.w, vp.h), goTo("#/board"),
				until(`document.querySelectorAll('#case-list tr.case').length >= 10`))
			if w := get(t, ctx, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > int(vp.w) {
				t.Fatalf("page is %d px wide at %d px", w, vp.w)
			}
			// Titles keep a readable width (no one character per line); the deadline shows whole.
			narrow := get(t, ctx, "title widths", chromedp.Evaluate[int](`Math.round(Math.min(...[...document.querySelectorAll('#case-list tr.case td.title-cell')].map(td => td.getBoundingClientRect().width)))`))
			if narrow < 140 {
				t.Fatalf("a title cell is %d px wide", narrow)
			}
			cut := get(t, ctx, "cut deadlines", chromedp.Evaluate[int](`[...document.querySelectorAll('#case-list .due')].filter(e => { const r = e.getBoundingClientRect(); return r.right > innerWidth || e.scrollWidth > e.clientWidth + 1; }).length`))
			if cut > 0 {
				t.Fatalf("%d deadlines are cut off", cut)
			}
			if vp.w == 390 {
				if hgt := get(t, ctx, "top bar", chromedp.Evaluate[int](`Math.round(document.querySelector('.topbar').getBoundingClientRect().height)`)); hgt > 56 {
					t.Fatalf("the top bar is %d px high on a phone", hgt)
				}
				// The filters fold behind 筛选 so the first case shows in the first half of the screen;
				// the button opens them (and says so to a screen reader).
				if top := get(t, ctx, "first card", chromedp.Evaluate[float64](`document.querySelector('#case-list tr.case').getBoundingClientRect().top`)); top > float64(vp.h)/2 {
					t.Fatalf("the first case starts at y=%v of %d: the filters fill the screen", top, vp.h)
				}
				if get(t, ctx, "status filter hidden", chromedp.Evaluate[bool](`document.querySelector('#f-status').offsetParent !== null`)) {
					t.Fatal("the status filter shows before 筛选 is tapped")
				}
				run(t, ctx, "open filters", chromedp.Click(css("#filters-toggle")), chromedp.WaitVisible(css("#f-status")))
				if e := get(t, ctx, "expanded", chromedp.Evaluate[string](`document.querySelector("#filters-toggle").getAttribute("aria-expanded")`)); e != "true" {
					t.Fatalf("aria-expanded = %q after opening", e)
				}
				checkA11y(t, ctx, "board filters open at "+vp.name)
				screenshot(t, ctx, "board-phone-filters")
				run(t, ctx, "close filters", chromedp.Click(css("#filters-toggle")), chromedp.WaitNotVisible(css("#f-status")))
			} else if get(t, ctx, "toggle hidden", chromedp.Evaluate[bool](`document.querySelector('#filters-toggle').offsetParent !== null`)) {
				t.Fatalf("the phone's filter button shows at %d px", vp.w)
			}
			checkA11y(t, ctx, "board at "+vp.name)
			screenshot(t, ctx, "board-"+vp.name)

			// Tapping a case shows it in view, not far below the list.
			run(t, ctx, "tap a case", chromedp.Click(css(`#case-list tr.case:nth-child(2)`)), chromedp.WaitVisible(css("#detail-title")))
			top := get(t, ctx, "detail top", chromedp.Evaluate[float64](`document.querySelector('#detail-title').getBoundingClientRect().top`))
			if top < 0 || top > float64(vp.h)/2 {
				t.Fatalf("the opened case's title is at y=%v of a %d px high screen", top, vp.h)
			}
			if w := get(t, ctx, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > int(vp.w) {
				t.Fatalf("with a case open the page is %d px wide at %d px", w, vp.w)
			}
			checkA11y(t, ctx, "case at "+vp.name)
			screenshot(t, ctx, "case-"+vp.name)
			if vp.w < 1200 {
				run(t, ctx, "back to the list", chromedp.Click(css("#detail-back")), until(`!document.querySelector('.board').classList.contains('has-detail')`))
			}
		})
	}

	// Keyboard only (desktop): Tab reaches the rows, arrows move between them, Enter opens one;
	// the focused row shows a visible outline.
	run(t, ctx, "desktop", chromedp.EmulateViewport(1440, 900), goTo("#/board"), until(`document.querySelectorAll('#case-list tr.case').length >= 10`),
		js(`document.activeElement?.blur()`))
	for i := 0; i < 60; i++ {
		run(t, ctx, "tab", chromedp.KeyEvent(kb.Tab))
		if get(t, ctx, "focus", chromedp.Evaluate[bool](`document.activeElement?.matches('tr.case') || false`)) {
			break
		}
	}
	first := get(t, ctx, "focused row", chromedp.Evaluate[string](`document.activeElement.matches('tr.case') ? document.activeElement.dataset.id : ''`))
	if first == "" {
		t.Fatalf("60 tabs never reached a case row")
	}
	outline := get(t, ctx, "outline", chromedp.Evaluate[string](`(() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle + ' ' + parseFloat(s.outlineWidth); })()`))
	if outline == "none 0" || outline[len(outline)-1] == '0' {
		t.Fatalf("the focused row has no visible outline: %q", outline)
	}
	run(t, ctx, "arrow down and enter", chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(css("#detail-title")))
	second := get(t, ctx, "second row", chromedp.Evaluate[string](`document.querySelectorAll('#case-list tr.case')[1].dataset.id`))
	if got := get(t, ctx, "opened", chromedp.Evaluate[string](`location.hash`)); got != "#/board/"+second {
		t.Fatalf("Enter on the second row opened %q, want #/board/%s", got, second)
	}
	screenshot(t, ctx, "board-keyboard")

	// Print: the list and the open case on paper, without the top bar, filters or buttons.
	run(t, ctx, "print media", media("print"))
	shown := get(t, ctx, "print", chromedp.Evaluate[[]bool](`['.topbar', '.filters', '#actions', '#case-list table', '#detail-title'].map(q => { const e = document.querySelector(q); return !!e && getComputedStyle(e).display !== 'none' && e.getClientRects().length > 0; })`))
	if want := []bool{false, false, false, true, true}; fmt.Sprint(shown) != fmt.Sprint(want) {
		t.Fatalf("printed: top bar, filters, actions, list, case shown = %v, want %v", shown, want)
	}
	run(t, ctx, "screen media", media(""))

	// Map pins take focus and open with Enter.
	run(t, ctx, "map", goTo("#/map"), until(`document.querySelectorAll('#pins circle.pin').length >= 1`),
		js(`document.querySelector('#pins circle.pin').focus()`),
		until(`document.activeElement?.matches('#pins circle.pin') || false`),
		chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(css("#map-open-case")))
	checkA11y(t, ctx, "map")
}

// media emulates a CSS media type ("print"; "" for the screen again).
func media(m string) step {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
		return err
	})
}
