package casereview

import (
	"context"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

// fakeCases serves cases from memory with the store's filter semantics for the fields the
// review uses, newest (highest id) first, in pages of 7 to exercise the cursor.
type fakeCases struct{ cases []*lanewatch.Case }

func (f *fakeCases) List(_ context.Context, fl store.CaseFilter) ([]*lanewatch.Case, string, error) {
	var match []*lanewatch.Case
	for i := len(f.cases) - 1; i >= 0; i-- {
		c := f.cases[i]
		if len(fl.Status) > 0 && !slices.Contains(fl.Status, c.Status) || fl.District != "" && c.District != fl.District ||
			fl.Department != "" && c.Department != fl.Department || fl.Source != "" && c.Source != fl.Source ||
			!fl.Since.IsZero() && c.CreatedAt.Before(fl.Since) || !fl.Until.IsZero() && !c.CreatedAt.Before(fl.Until) {
			continue
		}
		match = append(match, c)
	}
	start, _ := strconv.Atoi(fl.Cursor)
	end := min(start+7, len(match))
	next := ""
	if end < len(match) {
		next = strconv.Itoa(end)
	}
	return match[start:end], next, nil
}

func (f *fakeCases) Get(_ context.Context, id string) (*lanewatch.Case, error) {
	for _, c := range f.cases {
		if c.ID == id {
			return c, nil
		}
	}
	return nil, lanewatch.Errorf(lanewatch.ENotFound, "no case %s", id)
}

var (
	cst  = time.FixedZone("CST", 8*3600)
	july = time.Date(2026, 7, 1, 9, 0, 0, 0, cst)
)

// cases: 60 cases, id 1..60, one a day from July 1. Odd ids are closed. District: xiqu for
// id%3==0, shiqi otherwise. Department dep-a for id <= 30, dep-b after. Category 0505 for
// id%4==1, 0103 otherwise. Source citizen, inspection for id%5==0. Ids 1..10 lie on the alley
// road (lon 113.3652775), the rest 500 m east of any road.
func testCases() *fakeCases {
	f := &fakeCases{}
	for i := 1; i <= 60; i++ {
		c := &lanewatch.Case{ID: strconv.Itoa(i), Status: lanewatch.StatusResolved, District: "shiqi", Department: "dep-a",
			Category: "0103", Source: "citizen", CreatedAt: july.AddDate(0, 0, i-1), Location: lanewatch.Location{Lat: 22.51, Lon: 113.375}}
		if i%2 == 1 {
			c.Status = lanewatch.StatusClosed
		}
		if i%3 == 0 {
			c.District = "xiqu"
		}
		if i > 30 {
			c.Department = "dep-b"
		}
		if i%4 == 1 {
			c.Category = "0505"
		}
		if i%5 == 0 {
			c.Source = "inspection"
		}
		if i <= 10 {
			c.Location.Lon = 113.3652775
		}
		f.cases = append(f.cases, c)
	}
	return f
}

func newService(t *testing.T, cfg Config) (*Service, *fakeCases) {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), sqlstore.Config{Driver: "sqlite", Path: t.TempDir() + "/s.db"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fc := testCases()
	now := time.Date(2026, 10, 15, 10, 0, 0, 0, cst)
	s, err := New(Options{Store: st, Cases: fc, Config: cfg, Location: cst, Now: func() time.Time { return now },
		Roads: []Road{{Class: "alley", Coords: [][2]float64{{113.3652775, 22.5}, {113.3652775, 22.52}}}, {Class: "main", Coords: [][2]float64{{113.355555, 22.43}, {113.355555, 22.63}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return s, fc
}

func TestSampleReproducible(t *testing.T) {
	s, _ := newService(t, Config{})
	ctx := t.Context()
	a, popA, err := s.Sample(ctx, Filter{}, 42, 10)
	if err != nil {
		t.Fatal(err)
	}
	b, popB, _ := s.Sample(ctx, Filter{}, 42, 10)
	if !reflect.DeepEqual(a, b) || popA != 30 || popB != 30 || len(a) != 10 {
		t.Fatalf("same seed: %v (%d) vs %v (%d)", a, popA, b, popB)
	}
	for _, id := range a {
		n, _ := strconv.Atoi(id)
		if n%2 == 0 {
			t.Errorf("sample has case %s, which is not closed", id)
		}
	}
	if u := slices.Compact(slices.Sorted(slices.Values(a))); len(u) != 10 {
		t.Errorf("sample repeats a case: %v", a)
	}
	c, _, _ := s.Sample(ctx, Filter{}, 43, 10)
	if reflect.DeepEqual(a, c) {
		t.Errorf("seeds 42 and 43 drew the same sample %v", a)
	}
	// A sample as large as the population is all of it.
	all, pop, _ := s.Sample(ctx, Filter{}, 7, 100)
	if len(all) != 30 || pop != 30 {
		t.Errorf("size 100 of 30: %d (%d)", len(all), pop)
	}
	// Through a stored review: the review keeps its seed, and drawing again gives its sample.
	seed := int64(2026)
	rv, err := s.Create(ctx, CreateRequest{Name: "2026 第三次评查", Seed: &seed, Size: 5, Filter: Filter{District: "shiqi"}}, "operator:li")
	if err != nil {
		t.Fatal(err)
	}
	again, _, _ := s.Sample(ctx, rv.Filter, rv.Seed, rv.Size)
	if !reflect.DeepEqual(again, rv.CaseIDs) || len(rv.CaseIDs) != 5 || len(rv.Checklist) != 6 {
		t.Fatalf("review %+v; drawn again %v", rv, again)
	}
	got, err := s.Get(ctx, rv.ID)
	if err != nil || !reflect.DeepEqual(got, rv) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
}

func TestSampleFilters(t *testing.T) {
	s, _ := newService(t, Config{})
	// Closed = odd ids 1..59 (30). Hand counts per filter:
	tests := []struct {
		name string
		f    Filter
		want []int
	}{
		{"xiqu: odd multiples of 3", Filter{District: "xiqu"}, []int{3, 9, 15, 21, 27, 33, 39, 45, 51, 57}},
		{"dep-b and 05 大类", Filter{Department: "dep-b", Category: "05"}, []int{33, 37, 41, 45, 49, 53, 57}},
		{"inspection source", Filter{Source: "inspection"}, []int{5, 15, 25, 35, 45, 55}},
		{"alley road class", Filter{RoadClass: "alley"}, []int{1, 3, 5, 7, 9}},
		{"main road class (nothing within 30 m)", Filter{RoadClass: "main"}, nil},
		// created July 1 + (id-1) days: July 10..July 20 is ids 10..20.
		{"period", Filter{From: "2026-07-10", To: "2026-07-20"}, []int{11, 13, 15, 17, 19}},
		{"code", Filter{Category: "0505", District: "shiqi"}, []int{1, 5, 13, 17, 25, 29, 37, 41, 49, 53}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, pop, err := s.Sample(t.Context(), tt.f, 1, 500)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, id := range ids {
				n, _ := strconv.Atoi(id)
				got = append(got, n)
			}
			slices.Sort(got)
			if !reflect.DeepEqual(got, tt.want) || pop != len(tt.want) {
				t.Fatalf("got %v (population %d), want %v", got, pop, tt.want)
			}
		})
	}
	for _, bad := range []struct {
		f    Filter
		want string
	}{
		{Filter{From: "2026-7-1"}, "filter.from"},
		{Filter{From: "2026-07-10", To: "2026-07-01"}, "filter.to: 2026-07-01 is before"},
		{Filter{Category: "5"}, "filter.category"},
		{Filter{Category: "05a1"}, "filter.category"},
	} {
		if _, _, err := s.Sample(t.Context(), bad.f, 1, 5); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: err = %v, want %q", bad.f, err, bad.want)
		}
	}
	if _, err := s.Create(t.Context(), CreateRequest{Name: "x", Size: 501}, "a"); err == nil || !strings.Contains(err.Error(), "size:") {
		t.Errorf("size 501: %v", err)
	}
}

func judge(results ...string) []ItemResult {
	ids := []string{"timeline", "photos", "limits", "handling_note", "reporter_informed", "legal_basis"}
	var out []ItemResult
	for i, r := range results {
		out = append(out, ItemResult{ID: ids[i], Result: r, Note: map[string]string{Fail: "缺少"}[r]})
	}
	return out
}

func TestScoresAndResults(t *testing.T) {
	// legal_basis weighs 2; the others 1.
	cl := append([]Item(nil), DefaultChecklist...)
	cl[5].Weight = 2
	s, _ := newService(t, Config{Checklist: cl, IndexWeight: 10})
	ctx := t.Context()
	seed := int64(9)
	rv, err := s.Create(ctx, CreateRequest{Name: "r", Seed: &seed, Size: 30}, "operator:li")
	if err != nil {
		t.Fatal(err)
	}
	// Cases 3 (xiqu, dep-a), 5 (shiqi, dep-a), 33 (xiqu, dep-b).
	// 3 by li: all pass but legal_basis na -> 5/5 = 100; by wang: photos fail, legal na -> 4/5 = 80. Mean 90.
	// 5 by li: timeline and legal_basis fail -> (1+1+1+1)/(5+2) = 4/7 = 57.142857...
	// 33 by wang: only legal_basis passes, others na -> 2/2 = 100.
	must := func(_ *Score, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SetScore(ctx, rv.ID, "3", "li", judge(Pass, Pass, Pass, Pass, Pass, NA)))
	must(s.SetScore(ctx, rv.ID, "3", "wang", judge(Pass, Fail, Pass, Pass, Pass, NA)))
	must(s.SetScore(ctx, rv.ID, "5", "li", judge(Fail, Pass, Pass, Pass, Pass, Fail)))
	must(s.SetScore(ctx, rv.ID, "33", "wang", judge(NA, NA, NA, NA, NA, Pass)))
	// wang first scored 33 lower, then changed it: the last score counts.
	res, err := s.Results(ctx, rv.ID)
	if err != nil {
		t.Fatal(err)
	}
	close := func(name string, got *float64, want float64) {
		t.Helper()
		if got == nil || math.Abs(*got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	byCase := map[string]CaseResult{}
	for _, c := range res.Cases {
		byCase[c.CaseID] = c
	}
	close("case 3", byCase["3"].Mean, 90)
	close("case 5", byCase["5"].Mean, 400.0/7)
	close("case 33", byCase["33"].Mean, 100)
	if res.Scored != 3 || len(res.Cases) != 30 || byCase["7"].Mean != nil {
		t.Errorf("scored %d of %d; case 7 mean %v", res.Scored, len(res.Cases), byCase["7"].Mean)
	}
	close("mean", res.Mean, (90+400.0/7+100)/3)
	groups := map[string]Group{}
	for _, g := range res.ByDepartment {
		groups["dep/"+g.Key] = g
	}
	for _, g := range res.ByDistrict {
		groups["dist/"+g.Key] = g
	}
	// dep-a: cases 1..29 odd = 15 sampled, scored 3 and 5: (90 + 57.14)/2; fails 1 + 2 = 3.
	close("dep-a", groups["dep/dep-a"].Mean, (90+400.0/7)/2)
	if g := groups["dep/dep-a"]; g.Cases != 15 || g.Scored != 2 || g.Fails != 3 {
		t.Errorf("dep-a = %+v", g)
	}
	close("dep-b", groups["dep/dep-b"].Mean, 100)
	// xiqu: 3 and 33 -> (90 + 100) / 2; shiqi: 5 -> 57.14.
	close("xiqu", groups["dist/xiqu"].Mean, 95)
	close("shiqi", groups["dist/shiqi"].Mean, 400.0/7)
	if g := groups["dist/xiqu"]; g.Cases != 10 || g.Scored != 2 {
		t.Errorf("xiqu = %+v", g)
	}
	want := []ItemCount{{"timeline", 2, 1, 1}, {"photos", 2, 1, 1}, {"limits", 3, 0, 1}, {"handling_note", 3, 0, 1},
		{"reporter_informed", 3, 0, 1}, {"legal_basis", 1, 1, 2}}
	if !reflect.DeepEqual(res.Items, want) {
		t.Errorf("items = %+v", res.Items)
	}
	// For the 综合指数: scores made this month, per district on 0..1.
	ds, err := s.DistrictScores(ctx, time.Date(2026, 10, 1, 0, 0, 0, 0, cst), time.Date(2026, 11, 1, 0, 0, 0, 0, cst))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(ds["xiqu"]-0.95) > 1e-9 || math.Abs(ds["shiqi"]-4.0/7) > 1e-9 || len(ds) != 2 {
		t.Errorf("district scores = %v", ds)
	}
	if ds, _ := s.DistrictScores(ctx, time.Date(2026, 9, 1, 0, 0, 0, 0, cst), time.Date(2026, 10, 1, 0, 0, 0, 0, cst)); len(ds) != 0 {
		t.Errorf("September district scores = %v", ds)
	}

	for _, bad := range []struct {
		caseID string
		items  []ItemResult
		want   string
	}{
		{"4", judge(Pass, Pass, Pass, Pass, Pass, Pass), "not in review"},
		{"3", judge(Pass, Pass, Pass, Pass, Pass), `"legal_basis" is not judged`},
		{"3", judge(NA, NA, NA, NA, NA, NA), "every item is na"},
		{"3", append(judge(Pass, Pass, Pass, Pass, Pass, Pass), ItemResult{ID: "timeline", Result: Pass}), "judged twice"},
		{"3", []ItemResult{{ID: "colour", Result: Pass}}, "not a checklist item"},
		{"3", []ItemResult{{ID: "timeline", Result: "ok"}}, "result:"},
		{"3", []ItemResult{{ID: "timeline", Result: Fail}}, "a fail says what is wrong"},
	} {
		if _, err := s.SetScore(ctx, rv.ID, bad.caseID, "li", bad.items); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("case %s: err = %v, want %q", bad.caseID, err, bad.want)
		}
	}
	if _, err := s.SetScore(ctx, "rv-none", "3", "li", judge(Pass)); lanewatch.ErrorCode(err) != lanewatch.ENotFound {
		t.Errorf("unknown review: %v", err)
	}
	files, err := s.CaseFiles(ctx, rv.ID)
	if err != nil || len(files) != 30 || files[0].ID != rv.CaseIDs[0] {
		t.Errorf("case files: %d, %v", len(files), err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		c    Config
		want string
	}{
		{Config{Checklist: []Item{{ID: "A", NameZH: "x"}}}, "review.checklist[0].id"},
		{Config{Checklist: []Item{{ID: "a", NameZH: "x"}, {ID: "a", NameZH: "y"}}}, "used by an earlier item"},
		{Config{Checklist: []Item{{ID: "a"}}}, "name_zh or name_en"},
		{Config{Checklist: []Item{{ID: "a", NameZH: "x", Weight: -1}}}, "weight"},
		{Config{IndexWeight: 101}, "review.index_weight"},
		{Config{IndexWeight: math.NaN()}, "review.index_weight"},
		{Config{Checklist: []Item{{ID: "a", NameZH: "x", Weight: math.NaN()}}}, "weight"},
		{Config{DefaultSize: 501}, "review.default_size"},
	} {
		c := tt.c
		c.SetDefaults()
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.c, err, tt.want)
		}
	}
	var c Config
	c.SetDefaults()
	if err := c.Validate(); err != nil || len(c.Checklist) != 6 || c.DefaultSize != 30 {
		t.Errorf("defaults: %v %+v", err, c)
	}
}
