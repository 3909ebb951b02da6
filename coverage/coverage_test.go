package coverage

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
)

func TestAccuracy(t *testing.T) {
	const day = "2025-06-02"
	curve := arc(0, 0, 150, 0, 120, 24) // ~314 m
	tests := []struct {
		name  string
		roads []testRoad
		// tracks are driven one after the other, each starting 5 minutes after the previous.
		tracks [][][2]float64
		noise  float64
		want   map[string]float64 // segment id -> covered metres (truth)
	}{
		{"straight partial", []testRoad{road("a", [2]float64{10, 0}, [2]float64{510, 0})},
			[][][2]float64{{{10, 0}, {410, 0}}}, 0, map[string]float64{"a": 400}},
		{"straight noisy", []testRoad{road("a", [2]float64{10, 0}, [2]float64{510, 0})},
			[][][2]float64{{{10, 0}, {510, 0}}}, 5, map[string]float64{"a": 500}},
		{"curved noisy", []testRoad{road("c", curve...)},
			[][][2]float64{curve}, 5, map[string]float64{"c": arcLen(150, 120)}},
		{"parallel roads 15 m apart", []testRoad{road("north", [2]float64{10, 15}, [2]float64{610, 15}), road("south", [2]float64{10, 0}, [2]float64{610, 0})},
			[][][2]float64{{{10, 0}, {610, 0}}}, 5, map[string]float64{"south": 600, "north": 0}},
		{"u-turn counts once", []testRoad{road("a", [2]float64{10, 0}, [2]float64{510, 0})},
			[][][2]float64{{{10, 0}, {310, 0}, {110, 0}}}, 5, map[string]float64{"a": 300}},
		{"two passes count once", []testRoad{road("a", [2]float64{10, 0}, [2]float64{510, 0})},
			[][][2]float64{{{10, 0}, {310, 0}}, {{210, 0}, {510, 0}}}, 5, map[string]float64{"a": 500}},
		{"intersection turn", []testRoad{road("ab", [2]float64{10, 0}, [2]float64{310, 0}), road("bc", [2]float64{310, 0}, [2]float64{310, 300}),
			road("cross", [2]float64{310, -200}, [2]float64{310, 0}), road("east", [2]float64{310, 0}, [2]float64{610, 0})},
			[][][2]float64{{{10, 0}, {310, 0}, {310, 300}}}, 5, map[string]float64{"ab": 300, "bc": 300, "cross": 0, "east": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := mustNetwork(t, tt.roads...)
			clock := &fakeClock{t: day0}
			tr := newTracker(t, n, newMemStore(), clock)
			rng := rand.New(rand.NewPCG(1, 2))
			start := day0
			for _, path := range tt.tracks {
				pts := drive(path, 2.5, tt.noise, start, rng)
				observeSettled(tr, "sw-1", pts)
				start = pts[len(pts)-1].TS.Add(5 * time.Minute)
			}
			for id, want := range tt.want {
				got, _ := ratioOf(t, tr, day, id)
				seg, _ := n.Segment(id)
				t.Logf("%s: covered %.1f m, truth %.1f m, error %.2f%% of %.0f m", id, got, want, 100*math.Abs(got-want)/seg.LengthM, seg.LengthM)
				if math.Abs(got-want) > 0.02*seg.LengthM {
					t.Errorf("%s: covered %.1f m, want %.1f m (±2%% of %.0f m)", id, got, want, seg.LengthM)
				}
			}
		})
	}
}

func arcLen(r, deg float64) float64 { return r * deg * math.Pi / 180 }

func TestGapsAreNotCredited(t *testing.T) {
	n := mustNetwork(t, road("a", [2]float64{10, 0}, [2]float64{610, 0}))
	tr := newTracker(t, n, newMemStore(), &fakeClock{t: day0})
	pts := drive([][2]float64{{10, 0}, {610, 0}}, 2.5, 0, day0, nil)
	// Drop the points between 210 m and 310 m (40 s of silence at 2.5 m/s is > 60 s? no: make it 100 s).
	var kept []lanewatch.Telemetry
	for i, p := range pts {
		if i >= 80 && i < 160 { // 200 m .. 400 m missing; the time gap is 80 s > 60 s
			continue
		}
		kept = append(kept, p)
	}
	observeSettled(tr, "sw-1", kept)
	got, _ := ratioOf(t, tr, "2025-06-02", "a")
	if want := 600.0 - 200; math.Abs(got-want) > 12 {
		t.Fatalf("covered %.1f m, want %.1f m", got, want)
	}
}

func TestWorkingState(t *testing.T) {
	var c Config
	c.SetDefaults()
	p := func(speed float64, brush, water bool) *lanewatch.Telemetry {
		return &lanewatch.Telemetry{SpeedKmh: speed, BrushOn: brush, WaterOn: water,
			Has: lanewatch.FieldSpeed | lanewatch.FieldBrush | lanewatch.FieldWater}
	}
	tests := []struct {
		typ  string
		pt   *lanewatch.Telemetry
		want bool
	}{
		{"sweeper", p(8, true, false), true},
		{"sweeper", p(8, false, true), false},
		{"sweeper", p(13, true, false), false},
		{"sweeper", p(2, true, false), false},
		{"washer", p(15, false, true), true},
		{"washer", p(16, false, true), false},
		{"sprinkler", p(4, false, true), false},
		{"sprinkler", p(20, false, true), true},
		{"camera", p(8, true, true), false},
		{"sweeper", &lanewatch.Telemetry{BrushOn: true, Has: lanewatch.FieldBrush}, false}, // no speed
	}
	for _, tt := range tests {
		if got := c.IsWorking(tt.typ, tt.pt); got != tt.want {
			t.Errorf("IsWorking(%s, speed %v brush %v water %v) = %v, want %v", tt.typ, tt.pt.SpeedKmh, tt.pt.BrushOn, tt.pt.WaterOn, got, tt.want)
		}
	}
}

func TestNotWorkingIsNotCredited(t *testing.T) {
	n := mustNetwork(t, road("a", [2]float64{10, 0}, [2]float64{510, 0}))
	tr := newTracker(t, n, newMemStore(), &fakeClock{t: day0})
	pts := drive([][2]float64{{10, 0}, {510, 0}}, 2.5, 0, day0, nil)
	for i := range pts {
		pts[i].BrushOn = false
	}
	ids := observeSettled(tr, "sw-1", pts)
	if ids[10] != "a" {
		t.Fatalf("matched %q, want a (matching does not depend on working)", ids[10])
	}
	if got, _ := ratioOf(t, tr, "2025-06-02", "a"); got != 0 {
		t.Fatalf("covered %.1f m with brushes off", got)
	}
}

func TestHeading(t *testing.T) {
	n := mustNetwork(t, road("ew", [2]float64{-100, 0}, [2]float64{100, 0}), road("ns", [2]float64{0, -100}, [2]float64{0, 100}))
	one := func(heading float64, has uint16, speed float64) int32 {
		x, y := 3.0, 3.0 // near the crossing: both within 20 m
		q := matchQuery{p: vec{x, y}, heading: heading, prev: -1, maxDist: 20, tolDeg: 45}
		q.useHeading = has&lanewatch.FieldHeading != 0 && speed >= 1
		return n.match(&q).seg
	}
	ew, ns := int32(n.byID["ew"]), int32(n.byID["ns"])
	if got := one(90, lanewatch.FieldHeading, 10); got != ew {
		t.Errorf("heading east matched %d, want ew", got)
	}
	if got := one(270, lanewatch.FieldHeading, 10); got != ew {
		t.Errorf("heading west (two-way) matched %d, want ew", got)
	}
	if got := one(180, lanewatch.FieldHeading, 10); got != ns {
		t.Errorf("heading south matched %d, want ns", got)
	}
	// One-way: driving against it does not match.
	n2 := mustNetwork(t, func() testRoad { r := road("ow", [2]float64{10, 0}, [2]float64{200, 0}); r.oneway = true; return r }())
	q := matchQuery{p: vec{50, 2}, heading: 270, useHeading: true, prev: -1, maxDist: 20, tolDeg: 45}
	if got := n2.match(&q).seg; got != -1 {
		t.Errorf("against a one-way road matched %d", got)
	}
	q.heading = 90
	if got := n2.match(&q).seg; got != 0 {
		t.Errorf("along a one-way road matched %d", got)
	}
	q.p = vec{50, 25}
	if got := n2.match(&q).seg; got != -1 {
		t.Errorf("25 m away matched %d", got)
	}
}

func TestRatesHandComputed(t *testing.T) {
	// Three segments: a 100 m × 10 m main, 50% covered; b 200 m × 5 m main, 100% covered;
	// c 300 m × 4 m alley, 0% covered, in zone "central" with a.
	mk := func(id, class, district string, l, w float64, zones ...string) *Segment {
		return &Segment{ID: id, Class: class, District: district, Contractor: "lvcheng", LengthM: l, WidthM: w, Zones: zones}
	}
	days := []SegmentDay{
		{Segment: mk("a", "main", "west", 100, 10, "central"), Ratio: 0.5},
		{Segment: mk("b", "main", "east", 200, 5), Ratio: 1},
		{Segment: mk("c", "alley", "west", 300, 4, "central"), Ratio: 0},
	}
	// Area: a 1000 m² (500 covered), b 1000 m² (1000), c 1200 m² (0).
	g, err := Rates(days, ByContractor, BasisArea)
	if err != nil {
		t.Fatal(err)
	}
	if len(g) != 1 || g[0].Covered != 1500 || g[0].Total != 3200 || math.Abs(g[0].Rate-1500.0/3200) > 1e-12 || g[0].Segments != 3 {
		t.Fatalf("area by contractor = %+v, want 1500/3200", g)
	}
	// Length: 50 + 200 + 0 of 600.
	g, _ = Rates(days, ByContractor, BasisLength)
	if g[0].Covered != 250 || g[0].Total != 600 {
		t.Fatalf("length by contractor = %+v, want 250/600", g)
	}
	g, _ = Rates(days, ByRoadClass, BasisArea)
	if len(g) != 2 || g[0].Key != "alley" || g[0].Rate != 0 || g[1].Key != "main" || g[1].Rate != 0.75 {
		t.Fatalf("by class = %+v, want alley 0, main 0.75", g)
	}
	g, _ = Rates(days, ByDistrict, BasisLength)
	if len(g) != 2 || g[0].Key != "east" || g[0].Rate != 1 || g[1].Key != "west" || g[1].Rate != 50.0/400 {
		t.Fatalf("by district = %+v", g)
	}
	g, _ = Rates(days, ByZone, BasisArea)
	if len(g) != 1 || g[0].Key != "central" || g[0].Covered != 500 || g[0].Total != 2200 {
		t.Fatalf("by zone = %+v, want central 500/2200", g)
	}
	if _, err := Rates(days, "street", ""); lanewatch.ErrorCode(err) != lanewatch.EInvalid {
		t.Fatalf("bad group_by: %v", err)
	}
	if _, err := Rates(days, "", "volume"); lanewatch.ErrorCode(err) != lanewatch.EInvalid {
		t.Fatalf("bad basis: %v", err)
	}
}

func TestRestartLosesNothingAndLateData(t *testing.T) {
	ctx := context.Background()
	n := mustNetwork(t, road("a", [2]float64{10, 0}, [2]float64{510, 0}))
	st := newMemStore()
	clock := &fakeClock{t: day0.Add(24 * time.Hour)} // the next day
	tr := newTracker(t, n, st, clock)
	// Live points today over 0..200, then yesterday's backlog over 200..500 arrives late.
	today := drive([][2]float64{{10, 0}, {210, 0}}, 2.5, 0, clock.Now(), nil)
	observeSettled(tr, "sw-1", today)
	backlog := drive([][2]float64{{210, 0}, {510, 0}}, 2.5, 0, day0, nil)
	observeSettled(tr, "sw-1", backlog)
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Replaying the same input (journal replay) changes nothing.
	observeSettled(tr, "sw-1", backlog)
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	tr2 := newTracker(t, n, st, clock) // restart
	if got, _ := ratioOf(t, tr2, "2025-06-03", "a"); math.Abs(got-200) > 3 {
		t.Errorf("today after restart: %.1f m, want 200", got)
	}
	if got, _ := ratioOf(t, tr2, "2025-06-02", "a"); math.Abs(got-300) > 3 {
		t.Errorf("yesterday (late backlog) after restart: %.1f m, want 300", got)
	}
}

func TestShortfalls(t *testing.T) {
	ctx := context.Background()
	planned := road("m", [2]float64{10, 0}, [2]float64{410, 0})
	planned.deadline = "09:00"
	done := road("d", [2]float64{10, 100}, [2]float64{410, 100})
	done.deadline = "09:00"
	unplanned := road("u", [2]float64{10, 200}, [2]float64{410, 200})
	n := mustNetwork(t, planned, done, unplanned)
	st := newMemStore()
	clock := &fakeClock{t: day0}
	tr := newTracker(t, n, st, clock)
	observeSettled(tr, "sw-1", drive([][2]float64{{10, 0}, {210, 0}}, 2.5, 0, day0, nil))     // 50%
	observeSettled(tr, "sw-2", drive([][2]float64{{10, 100}, {410, 100}}, 2.5, 0, day0, nil)) // 100%
	if sf, _ := tr.DueShortfalls(ctx, day0.Add(2*time.Hour+59*time.Minute)); len(sf) != 0 {
		t.Fatalf("before the deadline: %+v", sf)
	}
	sf, err := tr.DueShortfalls(ctx, day0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(sf) != 1 || sf[0].Segment.ID != "m" || math.Abs(sf[0].Ratio-0.5) > 0.02 || sf[0].DedupeKey != "m@2025-06-02" {
		t.Fatalf("shortfalls = %+v, want m at 50%%", sf)
	}
	if sf, _ := tr.DueShortfalls(ctx, day0.Add(4*time.Hour)); len(sf) != 0 {
		t.Fatalf("emitted twice: %+v", sf)
	}
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	tr2 := newTracker(t, n, st, clock)
	if sf, _ := tr2.DueShortfalls(ctx, day0.Add(4*time.Hour)); len(sf) != 0 {
		t.Fatalf("emitted again after restart: %+v", sf)
	}
}

func TestReportAndAPI(t *testing.T) {
	ctx := context.Background()
	n := mustNetwork(t, road("a", [2]float64{10, 0}, [2]float64{510, 0}), road("w", [2]float64{-510, 0}, [2]float64{-10, 0}))
	clock := &fakeClock{t: day0}
	w := &lineWriter{}
	tr, err := New(Options{Network: n, Store: newMemStore(), Points: w, Location: shanghai, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	observeSettled(tr, "sw-1", drive([][2]float64{{10, 0}, {260, 0}}, 2.5, 0, day0, nil))
	if err := tr.Report(ctx); err != nil {
		t.Fatal(err)
	}
	if w.points != 3 { // one segment_coverage, two mechanization_rate (east/main, west/main)
		t.Fatalf("wrote %d points:\n%s", w.points, w.buf)
	}
	m, err := tr.Mechanization(ctx, "", "district", "length")
	if err != nil {
		t.Fatal(err)
	}
	if m.Date != "2025-06-02" || len(m.Groups) != 2 || m.Groups[0].Key != "east" || math.Abs(m.Groups[0].Rate-0.5) > 0.01 || m.Groups[1].Rate != 0 {
		t.Fatalf("mechanization = %+v", m)
	}
	fc, err := tr.Coverage(ctx, "2025-06-02", "east")
	if err != nil {
		t.Fatal(err)
	}
	if len(fc.Features) != 1 || fc.Features[0].Properties.ID != "a" || fc.Features[0].Properties.FirstCovered == nil {
		t.Fatalf("coverage = %+v", fc)
	}
	if _, err := tr.Coverage(ctx, "2025-13-02", ""); lanewatch.ErrorCode(err) != lanewatch.EInvalid {
		t.Fatalf("bad date: %v", err)
	}
	if _, err := tr.Coverage(ctx, "", "nowhere"); lanewatch.ErrorCode(err) != lanewatch.EInvalid {
		t.Fatalf("bad district: %v", err)
	}
}

type lineWriter struct {
	buf    []byte
	points int
}

func (w *lineWriter) Write(_ context.Context, lines []byte, n int) error {
	w.buf = append(w.buf, lines...)
	w.points += n
	return nil
}

func TestExampleNetwork(t *testing.T) {
	n, err := LoadFiles(Files{Roads: "../configs/roads.geojson", Districts: "../configs/districts.geojson", Zones: "../configs/zones.geojson"})
	if err != nil {
		t.Fatalf("example network: %v", err)
	}
	if len(n.Segments) < 200 || len(n.Districts) != 4 {
		t.Fatalf("%d segments, %d districts", len(n.Segments), len(n.Districts))
	}
	classes := map[string]int{}
	for i := range n.Segments {
		s := &n.Segments[i]
		classes[s.Class]++
		mid := s.pointAt(s.LengthM / 2)
		lat, lon := n.proj.Inverse(mid.x, mid.y)
		if d := n.DistrictOf(lat, lon); d != s.District {
			t.Errorf("segment %s: district %s, but its midpoint is in %q", s.ID, s.District, d)
		}
	}
	for _, c := range Classes {
		if classes[c] == 0 {
			t.Errorf("no %s segments", c)
		}
	}
	if !n.InZone("central", 22.515, 113.375) || n.InZone("central", 26.085, 119.3) {
		t.Error("InZone central is wrong")
	}
	b, _ := os.ReadFile("../configs/districts.geojson")
	if len(b) == 0 {
		t.Fatal("no districts file")
	}
}

func TestParseErrors(t *testing.T) {
	good := road("a", [2]float64{10, 0}, [2]float64{510, 0})
	tests := []struct {
		name string
		mod  func(r *testRoad)
		raw  string
		want string
	}{
		{"bad class", func(r *testRoad) { r.class = "highway" }, "", `feature 0 (id "a"): class "highway"`},
		{"bad width", func(r *testRoad) { r.width = 0 }, "", `width_m 0`},
		{"unknown district", func(r *testRoad) { r.district = "north" }, "", `district "north" is not in the districts file`},
		{"bad contractor", func(r *testRoad) { r.contractor = "" }, "", `contractor ""`},
		{"bad deadline", func(r *testRoad) { r.deadline = "9am" }, "", `plan_deadline: "9am"`},
		{"one point", func(r *testRoad) { r.pts = r.pts[:1] }, "", `1 positions, want at least 2`},
		{"not a collection", nil, `{"type":"Feature"}`, `want FeatureCollection`},
		{"unknown property", nil, `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"x","colour":"red"},"geometry":null}]}`, `unknown field "colour"`},
		{"point geometry", nil, `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"x","name":"n","class":"main","width_m":3,"district":"east","contractor":"c","zones":[]},"geometry":{"type":"Point","coordinates":[119.3,26]}}]}`, `feature 0 (id "x"): geometry type "Point"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.raw)
			if tt.mod != nil {
				r := good
				r.pts = append([][2]float64(nil), good.pts...)
				tt.mod(&r)
				raw = roadsJSON([]testRoad{r})
			}
			_, err := Parse(raw, []byte(testDistricts), nil)
			errContains(t, err, tt.want)
		})
	}
	_, err := Parse(roadsJSON([]testRoad{good, good}), []byte(testDistricts), nil)
	errContains(t, err, `feature 1 (id "a"): duplicate id (also feature 0)`)
	z := good
	z.zones = []string{"central"}
	_, err = Parse(roadsJSON([]testRoad{z}), []byte(testDistricts), []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"old"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}`))
	errContains(t, err, `zone "central" is not in the zones file`)
}

func TestIntervals(t *testing.T) {
	var iv []interval
	for _, x := range [][2]float64{{10, 20}, {30, 40}, {15, 32}, {50, 45}, {0, 1}} {
		iv = addInterval(iv, x[0], x[1])
	}
	want := []interval{{0, 1}, {10, 40}, {45, 50}}
	if len(iv) != len(want) {
		t.Fatalf("intervals = %v, want %v", iv, want)
	}
	for i := range want {
		if iv[i] != want[i] {
			t.Fatalf("intervals = %v, want %v", iv, want)
		}
	}
	if got := covered(iv, 48); got != 1+30+3 {
		t.Fatalf("covered = %v", got)
	}
}

func FuzzParse(f *testing.F) {
	b, err := os.ReadFile("../configs/roads.geojson")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(roadsJSON([]testRoad{road("a", [2]float64{10, 0}, [2]float64{510, 0})}))
	f.Add(b[:2000])
	f.Add([]byte(`{"type":"FeatureCollection","features":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Parse(data, []byte(testDistricts), nil)
		if err == nil && len(n.Segments) == 0 {
			t.Fatal("a network without segments was accepted")
		}
	})
}

// TestShortfallsNotJudgedBeforeWatching: a deadline that passed before the tracker started
// watching opens no 9003 and is not asked again that day; the next day's deadline is judged.
func TestShortfallsNotJudgedBeforeWatching(t *testing.T) {
	ctx := context.Background()
	planned := road("m", [2]float64{10, 0}, [2]float64{410, 0})
	planned.deadline = "09:00"
	n := mustNetwork(t, planned)
	clock := &fakeClock{t: day0.Add(6 * time.Hour)} // started at noon, after the 09:00 deadline
	tr, err := New(Options{Network: n, Store: newMemStore(), Location: shanghai, Now: clock.Now, JudgeFrom: clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if sf, err := tr.DueShortfalls(ctx, day0.Add(6*time.Hour)); err != nil || len(sf) != 0 {
		t.Fatalf("a deadline before watching was judged: %+v %v", sf, err)
	}
	if sf, _ := tr.DueShortfalls(ctx, day0.Add(27*time.Hour)); len(sf) != 1 {
		t.Fatalf("the next day's deadline: %+v, want one shortfall", sf)
	}
}

func TestDistrictAreas(t *testing.T) {
	n := mustNetwork(t, road("a", [2]float64{10, 0}, [2]float64{510, 0}))
	if ids := n.DistrictAreas().IDs(); len(ids) != len(n.Districts) || ids[0] != n.Districts[0].ID {
		t.Fatalf("district areas %v, districts %+v", ids, n.Districts)
	}
}

// TestBacklogChunksJoined: chunks of 60 points delivered out of order (0, 2, 1, 3) cover what
// the points in order cover: the chunk after the backlog starts a minute after the backlog's
// last point, but its predecessor is the last point of chunk 2, observed before the backlog.
func TestBacklogChunksJoined(t *testing.T) {
	ctx := context.Background()
	n := mustNetwork(t, road("a", [2]float64{10, 0}, [2]float64{610, 0}))
	pts := drive([][2]float64{{10, 0}, {610, 0}}, 2.5, 0, day0, nil)
	covered := func(order ...int) float64 {
		clock := &fakeClock{t: day0}
		tr := newTracker(t, n, newMemStore(), clock)
		for _, c := range order {
			for i := c * 60; i < min(len(pts), (c+1)*60); i++ {
				clock.Set(pts[i].TS)
				tr.Observe("sw-1", "sweeper", pts[i:i+1], nil)
			}
		}
		clock.Set(pts[len(pts)-1].TS.Add(time.Minute))
		if err := tr.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		m, _ := ratioOf(t, tr, "2025-06-02", "a")
		return m
	}
	want := covered(0, 1, 2, 3, 4)
	if got := covered(0, 2, 1, 3, 4); math.Abs(got-want) > 0.5 {
		t.Fatalf("chunks out of order cover %.2f m, in order %.2f m", got, want)
	}
}
