package inspections

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/lanewatch/lanewatch"
)

// day returns 10:00 local on 2026-11-d.
func day(d int) time.Time { return time.Date(2026, 11, d, 10, 0, 0, 0, shanghai) }

func problems(n int) []ProblemRequest {
	var out []ProblemRequest
	for i := range n {
		out = append(out, ProblemRequest{Category: "0103", Description: fmt.Sprintf("渣土 %d", i)})
	}
	return out
}

func visit(id, group, place string, at time.Time, people []string, nProblems int) VisitRequest {
	r := VisitRequest{ID: id, Campaign: "nov", Group: group, Place: place, At: at, Participants: people, Result: ResultPass}
	if nProblems > 0 {
		r.Result, r.Problems = ResultProblems, problems(nProblems)
	}
	return r
}

func approx(t *testing.T, name string, got *float64, n, d int) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = null, want %d/%d", name, n, d)
		return
	}
	if want := float64(n) / float64(d); math.Abs(*got-want) > 1e-12 {
		t.Errorf("%s = %v, want %d/%d = %v", name, *got, n, d, want)
	}
}

// recordCampaign records the campaign of the test (28 visits over 26 of the 30 places, 9
// problems) and settles the problems' cases; it returns the service.
func recordCampaign(t *testing.T) (*Service, *fakeCases) {
	t.Helper()
	s, fc := newTestService(t, day(20))
	var reqs []VisitRequest
	// Week 1 (Nov 2–8): g1 visits a01..a10 with 王 and 李; a01 has 2 problems, a02 has 1.
	for i := 1; i <= 10; i++ {
		n := map[int]int{1: 2, 2: 1}[i]
		reqs = append(reqs, visit(fmt.Sprintf("w1-g1-a%02d", i), "g1", fmt.Sprintf("a%02d", i), day(2+i%5), []string{"王", "李"}, n))
	}
	// g2 visits a13..a20 with 张 and 刘; a13 has 1 problem.
	for i := 13; i <= 20; i++ {
		n := map[int]int{13: 1}[i]
		reqs = append(reqs, visit(fmt.Sprintf("w1-g2-a%02d", i), "g2", fmt.Sprintf("a%02d", i), day(3), []string{"张", "刘"}, n))
	}
	// Week 2 (Nov 9–15): g1 visits c01..c04 with all three (c01: 3 problems) and revisits a01
	// and a02 with 王 alone (a01: 1 problem); g2 visits c05..c08 (c05: 1 problem).
	for i := 1; i <= 4; i++ {
		n := map[int]int{1: 3}[i]
		reqs = append(reqs, visit(fmt.Sprintf("w2-g1-c%02d", i), "g1", fmt.Sprintf("c%02d", i), day(10), []string{"王", "李", "陈"}, n))
	}
	reqs = append(reqs, visit("w2-g1-a01", "g1", "a01", day(12), []string{"王"}, 1), visit("w2-g1-a02", "g1", "a02", day(12), []string{"王"}, 0))
	for i := 5; i <= 8; i++ {
		n := map[int]int{5: 1}[i]
		// the last visit at 23:59 local on the campaign's last day still counts
		at := day(14)
		if i == 8 {
			at = time.Date(2026, 11, 15, 23, 59, 0, 0, shanghai)
		}
		reqs = append(reqs, visit(fmt.Sprintf("w2-g2-c%02d", i), "g2", fmt.Sprintf("c%02d", i), at, []string{"张", "刘"}, n))
	}
	for _, r := range reqs {
		if _, created, err := s.Record(t.Context(), r, "inspector:李"); err != nil || !created {
			t.Fatalf("Record(%s) = %v, %v", r.ID, created, err)
		}
	}
	// Outcomes: on time a01#0, a02#0 (resolved exactly at the deadline), c01#0, c05#0; late
	// a01#1, c01#1; still open a13#0, c01#2, a01 (week 2) #0.
	fc.settle(t, "w1-g1-a01", 0, false, -time.Hour)
	fc.settle(t, "w1-g1-a02", 0, false, 0)
	fc.settle(t, "w2-g1-c01", 0, false, -5*time.Hour)
	fc.settle(t, "w2-g2-c05", 0, false, -time.Minute)
	fc.settle(t, "w1-g1-a01", 1, false, time.Second)
	fc.settle(t, "w2-g1-c01", 1, false, 26*time.Hour)
	fc.settle(t, "w1-g2-a13", 0, true, 0)
	fc.settle(t, "w2-g1-c01", 2, true, 0)
	fc.settle(t, "w2-g1-a01", 0, true, 0)
	return s, fc
}

func TestCampaignReport(t *testing.T) {
	s, fc := recordCampaign(t)
	r, err := s.Report(t.Context(), "nov")
	if err != nil {
		t.Fatal(err)
	}
	// Hand counts: visits 10 + 8 + 4 + 2 + 4 = 28; person-visits 10×2 + 8×2 + 4×3 + 2×1 + 4×2 = 58;
	// covered a01–a10, a13–a20, c01–c08 = 26 of 30; problems 2+1+1+3+1+1 = 9; rectified 6; on time 4.
	ints := map[string][2]int{
		"places_in_scope": {r.PlacesInScope, 30}, "places_covered": {r.PlacesCovered, 26},
		"visits": {r.Visits, 28}, "pass_visits": {r.PassVisits, 22}, "person_visits": {r.PersonVisits, 58},
		"problems": {r.Problems, 9}, "rectified": {r.Rectified, 6}, "on_time": {r.OnTime, 4},
	}
	for k, v := range ints {
		if v[0] != v[1] {
			t.Errorf("%s = %d, want %d", k, v[0], v[1])
		}
	}
	approx(t, "coverage", r.Coverage, 26, 30)
	approx(t, "rectification_rate", r.RectificationRate, 6, 9)
	approx(t, "on_time_rate", r.OnTimeRate, 4, 6)
	if fc.opens != 9 {
		t.Errorf("cases opened = %d, want 9", fc.opens)
	}

	type counts struct{ scope, covered, visits, persons, problems, rectified, onTime int }
	of := func(x Row) counts {
		return counts{x.PlacesInScope, x.PlacesCovered, x.Visits, x.PersonVisits, x.Problems, x.Rectified, x.OnTime}
	}
	want := map[string]counts{
		// alleys: 20 in scope, 18 covered; visits 10+8+2, persons 20+16+2; problems a01 2+1, a02 1,
		// a13 1; rectified a01#0, a01#1, a02#0; on time a01#0, a02#0.
		"kind/alley":    {20, 18, 20, 38, 5, 3, 2},
		"kind/compound": {10, 8, 8, 20, 4, 3, 2},
		// xiqu: a01–a12 and c01–c04; covered a01–a10, c01–c04.
		"district/xiqu":  {16, 14, 16, 34, 7, 5, 3},
		"district/shiqi": {14, 12, 12, 24, 2, 1, 1},
		"group/g1":       {16, 14, 16, 34, 7, 5, 3},
		"group/g2":       {14, 12, 12, 24, 2, 1, 1},
	}
	got := map[string]counts{}
	for _, x := range r.ByKind {
		got["kind/"+x.Key] = of(x)
	}
	for _, x := range r.ByDistrict {
		got["district/"+x.Key] = of(x)
	}
	for _, x := range r.Groups {
		got["group/"+x.Key] = of(x)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows:\n got %+v\nwant %+v", got, want)
	}
	approx(t, "by_kind[alley].rectification_rate", r.ByKind[0].RectificationRate, 3, 5)
	// Rows are in district id order: shiqi, then xiqu.
	if len(r.ByDistrict) != 2 || r.ByDistrict[1].Key != "xiqu" {
		t.Fatalf("by_district = %+v: want shiqi, xiqu", r.ByDistrict)
	}
	approx(t, "by_district[xiqu].on_time_rate", r.ByDistrict[1].OnTimeRate, 3, 5)

	// Two weekly rounds: week 1 covers 18 places in 18 visits, week 2 covers 10 in 10.
	if len(r.Rounds) != 2 {
		t.Fatalf("rounds = %+v", r.Rounds)
	}
	if r.Rounds[0].PlacesCovered != 18 || r.Rounds[0].Visits != 18 || r.Rounds[1].PlacesCovered != 10 || r.Rounds[1].Visits != 10 {
		t.Errorf("rounds = %+v", r.Rounds)
	}
	if !r.Rounds[0].Start.Equal(time.Date(2026, 11, 2, 0, 0, 0, 0, shanghai)) || !r.Rounds[1].End.Equal(time.Date(2026, 11, 16, 0, 0, 0, 0, shanghai)) {
		t.Errorf("round bounds = %v .. %v", r.Rounds[0].Start, r.Rounds[1].End)
	}
	var uncovered []string
	for _, p := range r.Places {
		if p.Visits == 0 {
			uncovered = append(uncovered, p.ID)
		}
	}
	if strings.Join(uncovered, " ") != "a11 a12 c09 c10" {
		t.Errorf("uncovered = %v", uncovered)
	}

	// CSV: the rows add up to the report's totals.
	var buf bytes.Buffer
	if err := WriteCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 31 || recs[0][0] != "place" {
		t.Fatalf("csv has %d records, header %v", len(recs), recs[0])
	}
	sum := func(col int) int {
		n := 0
		for _, rec := range recs[1:] {
			v, _ := strconv.Atoi(rec[col])
			n += v
		}
		return n
	}
	if sum(6) != 28 || sum(7) != 58 || sum(8) != 9 || sum(9) != 6 || sum(10) != 4 {
		t.Errorf("csv sums visits %d persons %d problems %d rectified %d on time %d", sum(6), sum(7), sum(8), sum(9), sum(10))
	}

	// XLSX, read back with excelize.
	buf.Reset()
	if err := WriteXLSX(&buf, r); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !reflect.DeepEqual(got, []string{"汇总 summary", "按类型 by kind", "按镇街 by district", "小组 groups", "轮次 rounds", "地点 places"}) {
		t.Errorf("sheets = %v", got)
	}
	cells := map[string]string{"B8": "30", "B9": "26", "B10": "86.67%", "B11": "28", "B12": "22", "B13": "58",
		"B14": "9", "B15": "6", "B16": "66.67%", "B17": "4", "B18": "66.67%"}
	for cell, want := range cells {
		if v, _ := f.GetCellValue("汇总 summary", cell); v != want {
			t.Errorf("summary %s = %q, want %q", cell, v, want)
		}
	}
	rows, _ := f.GetRows("地点 places")
	if len(rows) != 31 {
		t.Errorf("places sheet has %d rows", len(rows))
	}
}

func TestRecordIdempotent(t *testing.T) {
	s, fc := newTestService(t, day(20))
	r := visit("phone-0001", "g1", "a03", day(4), []string{"王"}, 2)
	r.Problems[0].Photos = [][]byte{jpeg}
	v1, created, err := s.Record(t.Context(), r, "inspector:王")
	if err != nil || !created {
		t.Fatalf("first Record = %v, %v", created, err)
	}
	// The phone had no answer and sends the same visit again (even with another body).
	r.Note = "again"
	v2, created, err := s.Record(t.Context(), r, "inspector:王")
	if err != nil || created {
		t.Fatalf("second Record = %v, %v", created, err)
	}
	if !reflect.DeepEqual(v1, v2) || v2.Note != "" {
		t.Errorf("second Record returned %+v, want the first %+v", v2, v1)
	}
	if fc.opens != 2 || len(fc.cases) != 2 || fc.photos[v1.Problems[0].CaseID] != 1 {
		t.Errorf("opens %d, cases %d, photos %v", fc.opens, len(fc.cases), fc.photos)
	}
	vs, err := s.Visits(t.Context(), "nov")
	if err != nil || len(vs) != 1 {
		t.Fatalf("Visits = %d, %v", len(vs), err)
	}
	c, _ := fc.Get(t.Context(), v1.Problems[1].CaseID)
	if c.Source != lanewatch.SourceInspection || c.Key != "phone-0001#1" || c.District != "xiqu" || c.Title != "巷3" {
		t.Errorf("case = %+v", c)
	}
}

var jpeg = append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), make([]byte, 64)...)

func TestRecordRefuses(t *testing.T) {
	s, fc := newTestService(t, day(20))
	ok := visit("phone-0002", "g1", "a03", day(4), []string{"王"}, 0)
	tests := []struct {
		name string
		edit func(*VisitRequest)
		want string
	}{
		{"short id", func(r *VisitRequest) { r.ID = "x" }, "id:"},
		{"unknown campaign", func(r *VisitRequest) { r.Campaign = "dec" }, "campaign:"},
		{"unknown group", func(r *VisitRequest) { r.Group = "g9" }, "group:"},
		{"place of the other group", func(r *VisitRequest) { r.Place = "a13" }, `place: "a13" is not assigned to group g1`},
		{"unknown place", func(r *VisitRequest) { r.Place = "zz" }, "place:"},
		{"before the campaign", func(r *VisitRequest) { r.At = time.Date(2026, 11, 1, 23, 59, 0, 0, shanghai) }, "outside the campaign"},
		{"after the campaign", func(r *VisitRequest) { r.At = time.Date(2026, 11, 16, 0, 0, 0, 0, shanghai) }, "outside the campaign"},
		{"no time", func(r *VisitRequest) { r.At = time.Time{} }, "at: required"},
		{"nobody", func(r *VisitRequest) { r.Participants = nil }, "participants:"},
		{"stranger", func(r *VisitRequest) { r.Participants = []string{"王", "张"} }, `participants[1]: "张"`},
		{"twice", func(r *VisitRequest) { r.Participants = []string{"李", "李"} }, "listed twice"},
		{"pass with problems", func(r *VisitRequest) { r.Problems = problems(1) }, "result: pass with 1"},
		{"problems without any", func(r *VisitRequest) { r.Result = ResultProblems }, "problems: result problems"},
		{"bad result", func(r *VisitRequest) { r.Result = "ok" }, "result:"},
		{"no description", func(r *VisitRequest) {
			r.Result, r.Problems = ResultProblems, []ProblemRequest{{Category: "0103"}}
		}, "problems[0].description"},
		{"not an image", func(r *VisitRequest) { r.Photos = [][]byte{[]byte("<svg onload=alert(1)>")} }, "not a JPEG"},
		{"too many photos", func(r *VisitRequest) {
			r.Photos = make([][]byte, 13)
			for i := range r.Photos {
				r.Photos[i] = jpeg
			}
		}, "more than 12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.edit(&r)
			_, _, err := s.Record(t.Context(), r, "inspector:王")
			if err == nil || !strings.Contains(err.Error(), tt.want) || lanewatch.ErrorCode(err) != lanewatch.EInvalid {
				t.Fatalf("err = %v (%s), want invalid containing %q", err, lanewatch.ErrorCode(err), tt.want)
			}
		})
	}
	// A category the case service refuses fails the visit: nothing is stored, so the phone
	// keeps it and the inspector can correct it.
	bad := visit("phone-0003", "g1", "a03", day(4), []string{"王"}, 1)
	bad.Problems[0].Category = "9999"
	if _, _, err := s.Record(t.Context(), bad, "inspector:王"); lanewatch.ErrorCode(err) != lanewatch.EInvalid {
		t.Fatalf("refused category: %v", err)
	}
	if vs, _ := s.Visits(t.Context(), "nov"); len(vs) != 0 || fc.opens != 1 {
		t.Fatalf("after refusals: %d visits, %d opens", len(vs), fc.opens)
	}
	// A future time beyond the clock skew is refused; within it is fine.
	s2, _ := newTestService(t, day(4))
	fut := visit("phone-0004", "g1", "a03", day(4).Add(11*time.Minute), []string{"王"}, 0)
	if _, _, err := s2.Record(t.Context(), fut, "x"); err == nil || !strings.Contains(err.Error(), "future") {
		t.Fatalf("future visit: %v", err)
	}
	fut.At = day(4).Add(9 * time.Minute)
	if _, _, err := s2.Record(t.Context(), fut, "x"); err != nil {
		t.Fatalf("visit within the skew: %v", err)
	}
}

func TestVisitPhotos(t *testing.T) {
	s, _ := newTestService(t, day(20))
	r := visit("phone-0005", "g2", "c06", day(4), []string{"刘"}, 0)
	r.Photos = [][]byte{jpeg, jpeg}
	v, _, err := s.Record(t.Context(), r, "x")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Photos) != 2 || v.Photos[0] != v.Photos[1] || !strings.HasSuffix(v.Photos[0], ".jpg") {
		t.Fatalf("photos = %v", v.Photos)
	}
	b, ct, err := s.Photo(v.Photos[0])
	if err != nil || !bytes.Equal(b, jpeg) || ct != "image/jpeg" {
		t.Fatalf("Photo = %d bytes, %q, %v", len(b), ct, err)
	}
	for _, name := range []string{"../s.db", strings.Repeat("0", 64) + ".jpg", "x"} {
		if _, _, err := s.Photo(name); lanewatch.ErrorCode(err) != lanewatch.ENotFound {
			t.Errorf("Photo(%q) = %v, want not found", name, err)
		}
	}
}
