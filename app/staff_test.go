package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch/simulators"
)

// TestSimulatedStaff drives the demo staff of `make run` (simulators.Staff) against the real
// case endpoints: the operator's and the office's steps must take every case of a district
// with a desk from reported to closed (or rejected), with an "after" photo, while a case of a
// district without a desk waits in dispatched.
func TestSimulatedStaff(t *testing.T) {
	h := newDispatchHarness(t)
	var ids []string
	for i := range 6 {
		var c caseJSON
		body := map[string]any{"category": "0102", "source": "inspection", "title": fmt.Sprintf("路面不洁 %d", i),
			"location": map[string]float64{"lat": 22.52 + float64(i)*1e-3, "lon": 113.3652775}}
		if code := h.json("operator", "POST", "/api/v1/cases", body, &c); code != 201 {
			t.Fatalf("create case: %d", code)
		}
		ids = append(ids, c.ID)
	}
	var other caseJSON
	if code := h.json("operator", "POST", "/api/v1/cases", map[string]any{"category": "0102", "source": "inspection",
		"location": map[string]float64{"lat": 22.52, "lon": 113.3847225}}, &other); code != 201 || other.District != "dongqu" {
		t.Fatalf("create case in dongqu: %d %+v", code, other)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	staff := &simulators.Staff{BaseURL: h.srv.URL, OperatorToken: roleTokens["operator"],
		Desks: map[string]string{"xiqu-office": roleTokens["department"]}, Every: 20 * time.Millisecond, StepChance: 1, Seed: 3, Logger: testLogger(t)}
	done := make(chan error, 1)
	go func() { done <- staff.Run(ctx) }()

	final := func(id string) (caseFull, bool) {
		var c caseFull
		h.json("operator", "GET", "/api/v1/cases/"+id, nil, &c)
		return c, c.Status == "closed" || c.Status == "rejected"
	}
	for {
		n := 0
		for _, id := range ids {
			if _, ok := final(id); ok {
				n++
			}
		}
		if n == len(ids) {
			break
		}
		if ctx.Err() != nil {
			for _, id := range ids {
				c, _ := final(id)
				t.Logf("case %s: %s %+v", id, c.Status, c.Timeline)
			}
			t.Fatalf("%d of %d cases reached closed or rejected before the deadline", n, len(ids))
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	closed := 0
	for _, id := range ids {
		c, _ := final(id)
		if c.Status == "rejected" {
			continue
		}
		closed++
		var actions []string
		for _, e := range c.Timeline {
			actions = append(actions, e.Action+"@"+e.Actor)
		}
		tl := strings.Join(actions, " ")
		for _, want := range []string{"accept@operator", "dispatch@operator", "sign@department:xiqu-office", "start@department:xiqu-office", "resolve@department:xiqu-office", "verify@operator"} {
			if !strings.Contains(tl, want) {
				t.Errorf("case %s timeline %q lacks %s", id, tl, want)
			}
		}
		hasAfter := false
		for _, a := range c.Attachments {
			hasAfter = hasAfter || a.Kind == "after"
		}
		if !hasAfter {
			t.Errorf("case %s closed without an after photo", id)
		}
	}
	if closed == 0 {
		t.Fatal("every case was rejected: the staff never worked one through")
	}
	if c, _ := final(other.ID); c.Status != "dispatched" {
		t.Errorf("the dongqu case (no desk) is %s, want dispatched", c.Status)
	}
	if staff.Steps() == 0 {
		t.Error("staff counted no steps")
	}
}

// caseFull is a case with its timeline, as GET /api/v1/cases/{id} answers.
type caseFull struct {
	Status   string `json:"status"`
	Timeline []struct {
		Action string `json:"action"`
		Actor  string `json:"actor"`
	} `json:"timeline"`
	Attachments []struct {
		Kind string `json:"kind"`
	} `json:"attachments"`
}
