package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// postVisit records a visit with one problem and a photo of it, as the phone page sends it.
func (s *server) postVisit(t *testing.T, id, place, desc string, pic []byte) string {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	v, _ := json.Marshal(map[string]any{"id": id, "campaign": "test-week", "group": "g1", "place": place,
		"at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "participants": []string{"王建国"}, "result": "problems",
		"problems": []map[string]string{{"category": "0103", "description": desc}}})
	_ = mw.WriteField("visit", string(v))
	fw, _ := mw.CreateFormFile("problem_photo_0", "p.png")
	_, _ = fw.Write(pic)
	mw.Close()
	req, _ := http.NewRequest("POST", s.url+"/api/v1/inspections/visits", &buf)
	req.Header.Set("Authorization", "Bearer "+inspectorToken)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		Problems []struct {
			CaseID string `json:"case_id"`
		} `json:"problems"`
	}
	if resp.StatusCode != 201 || json.Unmarshal(b, &out) != nil || len(out.Problems) != 1 {
		t.Fatalf("visit %s: %d %s", id, resp.StatusCode, b)
	}
	return out.Problems[0].CaseID
}

// pdfPage matches a page object of a PDF (not the /Pages tree).
var pdfPage = regexp.MustCompile(`/Type\s*/Page[^s]`)

func TestCaseFilePrint(t *testing.T) {
	s := startInspections(t)
	pic, err := os.ReadFile(photo(t))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, place := range []string{"alley-yijinfang", "alley-wenrufang", "compound-shiqi-1"} {
		id := s.postVisit(t, fmt.Sprintf("casefile-visit-%d", i), place, fmt.Sprintf("问题 %d：巷内堆放渣土", i), pic)
		ids = append(ids, id)
		for _, a := range []map[string]string{{"action": "accept"}, {"action": "close", "reason": "已现场督促清理"}} {
			if code, body := s.call("POST", "/api/v1/cases/"+id+"/actions", operatorToken, a); code != 200 {
				t.Fatalf("case %s %s: %d %s", id, a["action"], code, body)
			}
		}
	}
	// A review of every closed case (3), as the justice bureau's operator asks for it.
	code, body := s.call("POST", "/api/v1/reviews", operatorToken, map[string]any{"name": "2026 年第三次案卷评查", "seed": 7, "size": 30,
		"filter": map[string]string{"source": "inspection"}})
	var rv struct {
		ID      string   `json:"id"`
		CaseIDs []string `json:"case_ids"`
	}
	if code != 201 || json.Unmarshal(body, &rv) != nil || len(rv.CaseIDs) != 3 {
		t.Fatalf("create review: %d %s", code, body)
	}
	// The reviewer scores one case file.
	items := []map[string]string{{"id": "timeline", "result": "pass"}, {"id": "photos", "result": "fail", "note": "缺少处置后照片"},
		{"id": "limits", "result": "pass"}, {"id": "handling_note", "result": "pass"}, {"id": "reporter_informed", "result": "na"},
		{"id": "legal_basis", "result": "na"}}
	code, body = s.call("PUT", "/api/v1/reviews/"+rv.ID+"/scores/"+rv.CaseIDs[0], reviewerToken, map[string]any{"items": items})
	var sc struct {
		Score    float64
		Reviewer string
	}
	if code != 200 || json.Unmarshal(body, &sc) != nil || sc.Score != 75 || sc.Reviewer != "林审" {
		t.Fatalf("score: %d %s", code, body)
	}
	// A reviewer sees the sampled cases only through the review.
	if code, _ := s.call("GET", "/api/v1/cases/"+ids[0], reviewerToken, nil); code != 403 {
		t.Errorf("reviewer GET /cases/{id} = %d, want 403", code)
	}

	ctx := browser(t)
	run(t, ctx, "open the case files", chromedp.EmulateViewport(1440, 900), chromedp.Navigate(s.url+"/console/casefile.html#"+rv.ID),
		chromedp.WaitVisible(css("#token")), chromedp.SendKeys(css("#token"), reviewerToken), chromedp.Click(css("#signin-submit")),
		until(`document.body.dataset.ready === '3'`),
		until(`[...document.querySelectorAll('.casefile img')].length === 3 && [...document.querySelectorAll('.casefile img')].every((i) => i.complete && i.naturalWidth > 0)`))
	if got := count(t, ctx, ".casefile tbody tr"); got != 9 { // report, accept, close for each
		t.Errorf("timeline rows = %d, want 9", got)
	}
	// The reviewer scores the second case file on the page: photos fail (with a note), the
	// reporter item does not apply: 4 of 5 items pass with weight 1 each -> 80.
	second := rv.CaseIDs[1]
	form := fmt.Sprintf(`form.score[data-case=%q]`, second)
	run(t, ctx, "score a case file on the page",
		js(fmt.Sprintf(`document.querySelector('%s fieldset[data-id=photos] input[value=fail]').click()`, form)),
		js(fmt.Sprintf(`document.querySelector('%s fieldset[data-id=reporter_informed] input[value=na]').click()`, form)),
		js(fmt.Sprintf(`document.querySelector('%s button').click()`, form)),
		until(fmt.Sprintf(`document.querySelector('%s p').textContent.includes('不合格项')`, form)),
		setValue(form+" fieldset[data-id=photos] .note", "缺少处置后照片"),
		js(fmt.Sprintf(`document.querySelector('%s button').click()`, form)),
		until(fmt.Sprintf(`document.querySelector('%s').dataset.score === '80'`, form)))
	code, body = s.call("GET", "/api/v1/reviews/"+rv.ID+"/results", reviewerToken, nil)
	var res struct {
		Scored int     `json:"scored"`
		Mean   float64 `json:"mean"`
	}
	if code != 200 || json.Unmarshal(body, &res) != nil || res.Scored != 2 || res.Mean != (75+80)/2.0 {
		t.Errorf("results after the page's score: %d %s", code, body)
	}
	pdf := get(t, ctx, "print to PDF", chromedp.Action[page.PrintToPDFResult](func(c context.Context, _ *chromedp.Target) (page.PrintToPDFResult, error) {
		return chromedp.Call(c, page.PrintToPDF, page.PrintToPDFParams{PaperWidth: 8.27, PaperHeight: 11.69})
	}))
	if n := len(pdfPage.FindAll(pdf.Data, -1)); n != 3 {
		t.Errorf("PDF has %d pages, want 3 (one per case)", n)
	}
	// An operator draws a new review from the page: 2 of the 3 inspection cases, seed 11; drawing
	// the same filter and seed through the API gives the same sample.
	run(t, ctx, "sign in as operator", js(`sessionStorage.setItem('lanewatch.token', '`+operatorToken+`')`),
		chromedp.Navigate(s.url+"/console/casefile.html"), until(`document.body.dataset.ready === '3'`),
		js(`document.querySelector('#newreview').open = true`),
		setValue("#n-name", "复查抽样"), setValue("#n-seed", "11"), setValue("#n-size", "2"), setValue("#n-source", "inspection"),
		chromedp.Click(css("#new-form button")), until(`document.body.dataset.ready === '2'`))
	pageIDs := get(t, ctx, "sampled ids", chromedp.Evaluate[string](`[...document.querySelectorAll('.casefile')].map((a) => a.dataset.id).join(',')`))
	code, body = s.call("POST", "/api/v1/reviews", operatorToken, map[string]any{"name": "again", "seed": 11, "size": 2, "filter": map[string]string{"source": "inspection"}})
	var again struct {
		CaseIDs []string `json:"case_ids"`
	}
	if code != 201 || json.Unmarshal(body, &again) != nil || strings.Join(again.CaseIDs, ",") != pageIDs {
		t.Errorf("same seed and filter: page %s, API %d %s", pageIDs, code, body)
	}
	if dir := *screenshotDir; dir != "" {
		_ = os.WriteFile(dir+"/casefiles.pdf", pdf.Data, 0o644)
		screenshot(t, ctx, "casefile-1440")
		run(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
		screenshot(t, ctx, "casefile-390")
	}
}
