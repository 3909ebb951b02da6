package coverage

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch/coverage/internal/gen/scenario"
)

// boundPP is the largest error allowed on any segment and any rate (DOMAIN 6, issue 16).
const boundPP = 2.0

// knownLimit holds families that do not meet boundPP, each at its measured error rounded up
// (segments, rates), so that they cannot get worse unseen. None is left: every family meets
// the bound. A family put here is the target not met, not a target.
var knownLimit = map[string][2]float64{}

// familyResult is the error of one ground-truth family.
type familyResult struct {
	name          string
	segPP, ratePP float64
	worst         string // segment (and day) of the largest segment error
}

// runFamily feeds a family's delivery through a tracker and compares every segment's ratio
// and the area-basis rates (whole network and per road class) of every day with the truth.
func runFamily(t testing.TB, f *scenario.Family) familyResult {
	t.Helper()
	n, err := Parse(f.Net.RoadsGeoJSON(), scenario.DistrictsGeoJSON(), nil)
	if err != nil {
		t.Fatalf("%s: Parse: %v", f.Name, err)
	}
	clock := &fakeClock{t: f.Vehicles[0].Start}
	cfg := Config{MatchRadiusM: f.RadiusM, SigmaM: f.SigmaM, Lag: f.Lag}
	tr, err := New(Options{Network: n, Config: cfg, Store: newMemStore(), Location: scenario.Local,
		Registerer: prometheus.NewPedanticRegistry(), Now: clock.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if name := os.Getenv("LANEWATCH_TRUTH_TRACE"); name != "" && strings.Contains(f.Name, name) {
		tr.trace = func(a, b tail, ps []piece) {
			var parts []string
			for _, p := range ps {
				if p.seg < 0 {
					parts = append(parts, fmt.Sprintf("[est %.1f→%.1f s %.1f]", p.a, p.b, p.u))
					continue
				}
				parts = append(parts, fmt.Sprintf("%s %.1f→%.1f", n.Segments[p.seg].ID, p.a, p.b))
			}
			t.Logf("%s %s/%d %.1f (%.0f,%.0f) → %s/%d %.1f (%.0f,%.0f) w%v%v: %s", b.ts.Format("15:04:05"), n.Segments[a.seg].ID, a.dir, a.along, a.p.x, a.p.y,
				n.Segments[b.seg].ID, b.dir, b.along, b.p.x, b.p.y, a.working, b.working, strings.Join(parts, ", "))
		}
	}
	ctx := context.Background()
	var last time.Time
	for _, b := range f.Delivery() {
		ts := b.Points[0].TS
		if ts.After(last) {
			last = ts
			clock.Set(ts)
		}
		tr.Observe(b.Device, "sweeper", b.Points, nil)
	}
	// Everything decided: the vehicles have been quiet for a minute.
	clock.Set(last.Add(time.Minute))
	if err := tr.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	truth := f.Truth(scenario.Local)
	days := map[string]bool{}
	for d := range truth {
		days[d] = true
	}
	for _, v := range f.Vehicles {
		days[v.Start.In(scenario.Local).Format(time.DateOnly)] = true
		days[v.Start.Add(f.Duration(&v)).In(scenario.Local).Format(time.DateOnly)] = true
	}
	res := familyResult{name: f.Name}
	for day := range days {
		sds, err := tr.Day(ctx, day)
		if err != nil {
			t.Fatalf("Day: %v", err)
		}
		// Rates: Σ area × ratio / Σ area over all segments and per class, from the truth
		// computed here and from coverage.Rates.
		type acc struct{ cov, tot float64 }
		want := map[string]*acc{}
		for _, sd := range sds {
			r := f.Net.Road(sd.Segment.ID)
			l := r.Length()
			tm := truth[day][r.ID]
			ratio := min(1, tm/l)
			if e := math.Abs(sd.Ratio-ratio) * 100; e > boundPP && os.Getenv("LANEWATCH_TRUTH_DEBUG") != "" {
				var iv []interval
				tr.mu.Lock()
				if d := tr.days[day]; d != nil {
					if c := d.segs[int32(n.byID[r.ID])]; c != nil {
						iv = append(iv, c.iv...)
					}
				}
				tr.mu.Unlock()
				t.Logf("%s %s %s: %.1f%% want %.1f%% %v", f.Name, day, r.ID, sd.Ratio*100, ratio*100, iv)
			}
			if e := math.Abs(sd.Ratio-ratio) * 100; e > res.segPP {
				res.segPP, res.worst = e, fmt.Sprintf("%s %s: %.1f%% want %.1f%%", day, r.ID, sd.Ratio*100, ratio*100)
			}
			for _, k := range []string{"all", r.Class} {
				if want[k] == nil {
					want[k] = &acc{}
				}
				want[k].cov += l * r.WidthM * ratio
				want[k].tot += l * r.WidthM
			}
		}
		for _, g := range []string{ByDistrict, ByRoadClass} {
			groups, err := Rates(sds, g, BasisArea)
			if err != nil {
				t.Fatalf("Rates: %v", err)
			}
			for _, gr := range groups {
				k := gr.Key
				if g == ByDistrict {
					k = "all"
				}
				w := want[k]
				if w == nil {
					t.Fatalf("%s: rate group %q not in the network", f.Name, gr.Key)
				}
				if e := math.Abs(gr.Rate-w.cov/w.tot) * 100; e > res.ratePP {
					res.ratePP = e
				}
			}
		}
	}
	return res
}

// TestGroundTruth runs every family of coverage/internal/gen/scenario and holds each segment
// and each rate within boundPP percentage points of the truth. With LANEWATCH_TRUTH_TABLE set
// to a file name it writes the results as a Markdown table there (docs/COVERAGE.md). With
// LANEWATCH_TRUTH_SEEDS=n it also runs each family again with n other noise seeds and adds to
// the table how many of them are within the bound and their mean and 90th-percentile
// segment error: one seed's error at a brush change is one draw of the noise, so a change
// that helps one seed may not help the family (the bound is held on the family's own seed).
func TestGroundTruth(t *testing.T) {
	fams := scenario.Families()
	seeds := 0
	if s := os.Getenv("LANEWATCH_TRUTH_SEEDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			t.Fatalf("LANEWATCH_TRUTH_SEEDS=%q: want a count", s)
		}
		seeds = n
	}
	var rows []familyResult
	var spread []seedSpread
	for i := range fams {
		f := &fams[i]
		t.Run(f.Name, func(t *testing.T) {
			r := runFamily(t, f)
			rows = append(rows, r)
			t.Logf("segments max error %.2f pp (%s), rates max error %.2f pp", r.segPP, r.worst, r.ratePP)
			segB, rateB := boundPP, boundPP
			if l, ok := knownLimit[f.Name]; ok {
				segB, rateB = l[0], l[1]
			}
			if r.segPP > segB || r.ratePP > rateB {
				t.Errorf("%s: segment error %.2f pp (%s), rate error %.2f pp: want <= %.1f and <= %.1f", f.Name, r.segPP, r.worst, r.ratePP, segB, rateB)
			}
			if seeds > 0 {
				sp := runSeeds(t, f, seeds)
				t.Logf("%d other seeds: %d within ±%g pp, segment error mean %.2f, p90 %.2f, rate error p90 %.2f", seeds, sp.ok, boundPP, sp.segMean, sp.segP90, sp.rateP90)
				spread = append(spread, sp)
			}
		})
	}
	if p := os.Getenv("LANEWATCH_TRUTH_TABLE"); p != "" {
		var b strings.Builder
		b.WriteString("| family | max segment error (pp) | max rate error (pp) | worst segment |")
		if seeds > 0 {
			fmt.Fprintf(&b, " %d other seeds: within ±%g pp | segment error mean | p90 | rate error p90 |", seeds, boundPP)
		}
		b.WriteString("\n|---|---|---|---|")
		if seeds > 0 {
			b.WriteString("---|---|---|---|")
		}
		b.WriteString("\n")
		for i, r := range rows {
			fmt.Fprintf(&b, "| %s | %.2f | %.2f | %s |", r.name, r.segPP, r.ratePP, r.worst)
			if seeds > 0 {
				sp := spread[i]
				fmt.Fprintf(&b, " %d | %.2f | %.2f | %.2f |", sp.ok, sp.segMean, sp.segP90, sp.rateP90)
			}
			b.WriteString("\n")
		}
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// seedSpread is a family's error over other noise seeds.
type seedSpread struct {
	ok                       int // runs within boundPP on every segment and rate
	segMean, segP90, rateP90 float64
}

// runSeeds runs family f again with n other seeds of every vehicle's noise (seed + 1000 k).
func runSeeds(t *testing.T, f *scenario.Family, n int) seedSpread {
	t.Helper()
	var sp seedSpread
	seg, rate := make([]float64, 0, n), make([]float64, 0, n)
	for k := 1; k <= n; k++ {
		g := *f
		g.Vehicles = slices.Clone(f.Vehicles)
		for j := range g.Vehicles {
			g.Vehicles[j].Seed += uint64(1000 * k)
		}
		r := runFamily(t, &g)
		if r.segPP <= boundPP && r.ratePP <= boundPP {
			sp.ok++
		}
		seg, rate = append(seg, r.segPP), append(rate, r.ratePP)
		sp.segMean += r.segPP / float64(n)
	}
	slices.Sort(seg)
	slices.Sort(rate)
	p90 := (9*n+9)/10 - 1 // nearest rank: ⌈0.9 n⌉
	sp.segP90, sp.rateP90 = seg[p90], rate[p90]
	return sp
}

// TestTruthGenerator checks the generator itself on a case computed by hand: 150 m driven at
// 9 km/h on a 200 m road with the brush down for the middle 20 s is 50 m.
func TestTruthGenerator(t *testing.T) {
	var n scenario.Net
	n.Add("a", "main", false, [2]float64{0, 0}, [2]float64{200, 0})
	start := time.Date(2025, 6, 2, 6, 0, 0, 0, scenario.Local)
	f := scenario.Family{Net: n, Vehicles: []scenario.Vehicle{{ID: "v", Start: start, SpeedKmh: 9, Every: time.Second, Seed: 1,
		Legs:    []scenario.Leg{{Road: "a", From: 0, To: 150}},
		Working: func(s time.Duration) bool { return s >= 20*time.Second && s < 40*time.Second }}}}
	got := f.Truth(scenario.Local)["2025-06-02"]["a"]
	if math.Abs(got-50) > 0.01 {
		t.Fatalf("truth = %v m, want 50", got)
	}
	s := f.Samples(&f.Vehicles[0])
	if len(s) != 61 || !s[60].TS.Equal(start.Add(60*time.Second)) {
		t.Fatalf("%d samples, last at %v; want 61, the last at +60s", len(s), s[len(s)-1].TS)
	}
}
