package dispatch

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
)

func tp(s string) *time.Time { t := sh(s); return &t }

func entry(action, at string) lanewatch.TimelineEntry {
	return lanewatch.TimelineEntry{Action: action, At: sh(at)}
}

// TestAssessMonth checks the DOMAIN.md section 5 formulas on a hand-computed month.
func TestAssessMonth(t *testing.T) {
	f := newFixture(t, sh("2025-04-01 09:00"))
	a := &lanewatch.Case{ID: "A", District: "xiqu", Status: lanewatch.StatusClosed,
		Deadlines: lanewatch.Deadlines{SignBy: tp("2025-03-10 10:00"), HandleBy: tp("2025-03-10 16:00")},
		Rating:    &lanewatch.Rating{Score: 5},
		Timeline: []lanewatch.TimelineEntry{entry("report", "2025-03-10 08:40"), entry("dispatch", "2025-03-10 09:00"),
			entry("sign", "2025-03-10 09:50"), entry("start", "2025-03-10 10:00"), entry("resolve", "2025-03-10 15:00"),
			entry("verify", "2025-03-10 17:00")}}
	b := &lanewatch.Case{ID: "B", District: "xiqu", Status: lanewatch.StatusClosed,
		Deadlines: lanewatch.Deadlines{SignBy: tp("2025-03-12 10:00"), HandleBy: tp("2025-03-12 17:00")},
		Rating:    &lanewatch.Rating{Score: 3},
		Timeline: []lanewatch.TimelineEntry{entry("dispatch", "2025-03-12 09:00"), entry("sign", "2025-03-12 10:30"),
			entry("extend", "2025-03-12 11:00"), entry("resolve", "2025-03-12 16:00"), entry("rework", "2025-03-12 16:30"),
			entry("sign", "2025-03-12 16:40"), entry("resolve", "2025-03-12 17:30"), entry("verify", "2025-03-13 09:00")}}
	c := &lanewatch.Case{ID: "C", District: "xiqu", Status: lanewatch.StatusDispatched,
		Deadlines: lanewatch.Deadlines{SignBy: tp("2025-03-14 10:00")},
		Timeline:  []lanewatch.TimelineEntry{entry("dispatch", "2025-03-14 09:00")}}
	april := &lanewatch.Case{ID: "D", District: "dongqu", Status: lanewatch.StatusSigned,
		Deadlines: lanewatch.Deadlines{SignBy: tp("2025-04-02 10:00"), HandleBy: tp("2025-04-02 16:00")}}
	start := sh("2025-03-01 00:00")
	got := f.svc.assess("2025-03", start, start.AddDate(0, 1, 0), sh("2025-04-01 09:00"), []*lanewatch.Case{a, b, c, april})

	if len(got.Districts) != 4 {
		t.Fatalf("districts = %+v", got.Districts)
	}
	var gd DistrictScore
	for _, d := range got.Districts {
		if d.District == "xiqu" {
			gd = d
			continue
		}
		if d.Index != nil || d.Cases != 0 || d.Rates.SignOnTime != nil || d.Rates.Satisfaction != nil || d.MeanScore != nil {
			t.Errorf("district %s without cases has data: %+v", d.District, d)
		}
	}
	if gd.Cases != 3 {
		t.Fatalf("xiqu cases = %d", gd.Cases)
	}
	near := func(name string, got *float64, want float64) {
		t.Helper()
		if got == nil || math.Abs(*got-want) > 1e-9 {
			if got == nil {
				t.Errorf("%s = null, want %v", name, want)
			} else {
				t.Errorf("%s = %v, want %v", name, *got, want)
			}
		}
	}
	r := gd.Rates
	near("sign_on_time", r.SignOnTime, 1.0/3)
	near("handle_on_time", r.HandleOnTime, 0.5)
	near("handled", r.Handled, 1)
	near("close_on_time", r.CloseOnTime, 1)
	near("rework", r.Rework, 0.5)
	near("extension", r.Extension, 0.5)
	near("satisfaction", r.Satisfaction, 0.5)
	near("mean_score", gd.MeanScore, 4)
	near("mean_handle_hours", gd.MeanHandleHours, 1.75) // (2h40m + 50m) / 2
	near("index", gd.Index, 25.0/3+35*0.5+15*0.5+25*0.5)
}

func TestIndexNullParts(t *testing.T) {
	half := 0.5
	one := 1.0
	// Only sign_on_time and handle_on_time measurable: weights 25 and 35 rescaled.
	got := index(Weights{SignOnTime: 25, HandleOnTime: 35, NoRework: 15, Satisfaction: 25}, Rates{SignOnTime: &one, HandleOnTime: &half})
	if want := 100 * (25 + 35*0.5) / 60; got == nil || math.Abs(*got-want) > 1e-9 {
		t.Fatalf("index = %v, want %v", got, want)
	}
	if index(Weights{SignOnTime: 25}, Rates{}) != nil {
		t.Fatal("index with nothing measurable is not null")
	}
}

// TestAssessReadsTheStore: Assess over stored cases (timelines and ratings listed with the
// pages) scores exactly as assess over the same cases in memory.
func TestAssessReadsTheStore(t *testing.T) {
	f := newFixture(t, sh("2025-04-01 09:00"))
	ctx := context.Background()
	var mem []*lanewatch.Case
	for i := range 30 {
		day := sh("2025-03-01 08:00").Add(time.Duration(i) * 23 * time.Hour)
		c := &lanewatch.Case{Category: "0101", Source: lanewatch.SourceCitizen, District: []string{"xiqu", "dongqu", "shiqi"}[i%3],
			Status: lanewatch.StatusReported, Title: "x", CreatedAt: day, UpdatedAt: day,
			Deadlines: lanewatch.Deadlines{SignBy: tp(day.Add(time.Hour).Format("2006-01-02 15:04")), HandleBy: tp(day.Add(6 * time.Hour).Format("2006-01-02 15:04"))},
			Timeline:  []lanewatch.TimelineEntry{{Action: "report", Actor: "citizen", At: day, To: lanewatch.StatusReported}}}
		if _, _, err := f.st.CreateCase(ctx, c); err != nil {
			t.Fatal(err)
		}
		// Cases differ in how far and how fast they went, so every rate has hits and misses.
		steps := []string{"dispatch", "sign", "extend", "resolve", "rework", "sign", "resolve", "verify"}[:i%9]
		for k, a := range steps {
			from := c.Status
			e := entry(a, day.Add(time.Duration((k+1)*(1+i%4)*20)*time.Minute).Format("2006-01-02 15:04"))
			e.From, e.To = from, from
			if err := f.st.UpdateCase(ctx, c, from, e); err != nil {
				t.Fatal(err)
			}
			c.Timeline = append(c.Timeline, e)
		}
		if i%4 == 0 {
			r := lanewatch.Rating{Score: 1 + i%5, At: day.Add(9 * time.Hour)}
			if err := f.st.SetRating(ctx, c.ID, r); err != nil {
				t.Fatal(err)
			}
			c.Rating = &r
		}
		mem = append(mem, c)
	}
	got, err := f.svc.Assess(ctx, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	start := sh("2025-03-01 00:00")
	want := f.svc.assess("2025-03", start, start.AddDate(0, 1, 0), f.clk.Now(), mem)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Assess from the store:\n got %+v\nwant %+v", got.Districts, want.Districts)
	}
	if want.Districts[0].Cases == 0 {
		t.Fatal("nothing assessed")
	}
}

// BenchmarkAssessMonth: the monthly assessment over 2,000 cases with timelines and ratings in
// SQLite (the store read dominates).
func BenchmarkAssessMonth(b *testing.B) {
	f := newFixture(b, sh("2025-04-01 09:00"))
	ctx := context.Background()
	for i := range 2000 {
		day := sh("2025-03-01 08:00").Add(time.Duration(i%28) * 24 * time.Hour)
		c := &lanewatch.Case{Category: "0101", Source: lanewatch.SourceCitizen, District: []string{"xiqu", "dongqu"}[i%2],
			Status: lanewatch.StatusReported, Title: "x", CreatedAt: day, UpdatedAt: day,
			Deadlines: lanewatch.Deadlines{SignBy: tp(day.Add(2 * time.Hour).Format("2006-01-02 15:04")), HandleBy: tp(day.Add(8 * time.Hour).Format("2006-01-02 15:04"))},
			Timeline:  []lanewatch.TimelineEntry{{Action: "report", Actor: "citizen", At: day, To: lanewatch.StatusReported}}}
		if _, _, err := f.st.CreateCase(ctx, c); err != nil {
			b.Fatal(err)
		}
		for k, a := range []string{"dispatch", "sign", "resolve"} {
			from := c.Status
			c.Status = []lanewatch.CaseStatus{lanewatch.StatusDispatched, lanewatch.StatusSigned, lanewatch.StatusResolved}[k]
			e := entry(a, day.Add(time.Duration(k+1)*time.Hour).Format("2006-01-02 15:04"))
			e.From, e.To = from, c.Status
			if err := f.st.UpdateCase(ctx, c, from, e); err != nil {
				b.Fatal(err)
			}
		}
		if i%3 == 0 {
			if err := f.st.SetRating(ctx, c.ID, lanewatch.Rating{Score: 4, At: day.Add(9 * time.Hour)}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		a, err := f.svc.Assess(ctx, "2025-03")
		if err != nil {
			b.Fatal(err)
		}
		if n := a.Districts[0].Cases + a.Districts[1].Cases; n == 0 {
			b.Fatal("no cases assessed")
		}
	}
}
