package web_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

//go:embed testdata/axe-core/axe.min.js
var axeSource string

// axeViolation is one failed rule of an axe-core run, with the first nodes it failed on.
type axeViolation struct {
	ID    string `json:"id"`
	Help  string `json:"help"`
	Nodes []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// checkA11y runs axe-core's WCAG 2.x A and AA rules on the page as it is and fails the test
// with every violation (contrast included).
func checkA11y(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	run(t, ctx, "inject axe-core", js(`if (!window.axe) { (0, eval)(`+jsonString(axeSource)+`) }`))
	c, cancel := context.WithTimeout(ctx, 60e9)
	defer cancel()
	out, err := chromedp.Run(c, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})
		.then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", what, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("axe result: %v", err)
	}
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "\n- %s: %s (%d nodes)", v.ID, v.Help, len(v.Nodes))
		for i, n := range v.Nodes {
			if i == 3 {
				break
			}
			fmt.Fprintf(&b, "\n    %v: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " "))
		}
	}
	if len(vs) > 0 {
		t.Errorf("accessibility violations on %s:%s", what, b.String())
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
