package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// stepDue is the deadline of a case's current step, worked out here independently of the store.
func stepDue(c *lanewatch.Case) *time.Time {
	switch c.Status {
	case lanewatch.StatusReported, lanewatch.StatusRegistered:
		return c.Deadlines.DispatchBy
	case lanewatch.StatusDispatched:
		return c.Deadlines.SignBy
	case lanewatch.StatusSigned, lanewatch.StatusInProgress:
		return c.Deadlines.HandleBy
	}
	return nil
}

// boardCases creates 40 cases over every status, some overdue, with deadlines spread around
// base in an order unrelated to their ids, and returns them as created.
func boardCases(t *testing.T, s store.Store) []*lanewatch.Case {
	statuses := []lanewatch.CaseStatus{lanewatch.StatusReported, lanewatch.StatusRegistered, lanewatch.StatusDispatched,
		lanewatch.StatusSigned, lanewatch.StatusInProgress, lanewatch.StatusResolved, lanewatch.StatusClosed, lanewatch.StatusRejected}
	var all []*lanewatch.Case
	for i := range 40 {
		// (i*17)%40 visits 0..39 in a scrambled order: deadlines do not follow ids.
		d := func(k int) *time.Time { return ptr(at(time.Duration((i*17)%40+k) * time.Minute)) }
		c := &lanewatch.Case{
			Status: statuses[i%8], Category: []string{"litter", "snow"}[i%2], District: []string{"xuhui", "minhang"}[(i/3)%2],
			Source: lanewatch.SourceCitizen, Overdue: i%5 == 1, CreatedAt: at(time.Duration(i) * time.Hour),
			UpdatedAt: at(time.Duration((i*7)%40) * time.Hour),
			Deadlines: lanewatch.Deadlines{DispatchBy: d(0), SignBy: d(100), HandleBy: d(200)},
			Timeline:  []lanewatch.TimelineEntry{{Action: "report", At: at(0)}},
		}
		if i%6 == 0 {
			c.Deadlines = lanewatch.Deadlines{} // no deadline at all
		}
		create(t, s, c)
		all = append(all, c)
	}
	return all
}

func ids(cs []*lanewatch.Case) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// testCaseSorts: every order lists every case once across pages, in the order computed here.
func testCaseSorts(t *testing.T, s store.Store) {
	all := boardCases(t, s)
	newerFirst := func(a, b *lanewatch.Case) int { return cmp.Compare(b.CreatedAt.UnixNano(), a.CreatedAt.UnixNano()) }
	orders := sortOrders(newerFirst)
	for sort, order := range orders {
		for _, f := range []store.CaseFilter{{}, {Category: "snow"}, {Status: []lanewatch.CaseStatus{lanewatch.StatusReported, lanewatch.StatusSigned}}} {
			t.Run(fmt.Sprintf("%s/%s%v", sort, f.Category, f.Status), func(t *testing.T) {
				var want []*lanewatch.Case
				for _, c := range all {
					if matches(c, f) {
						want = append(want, c)
					}
				}
				slices.SortStableFunc(want, order)
				for _, limit := range []int{3, 1000} {
					f.Sort, f.Limit = sort, limit
					if got := listAllCases(t, s, f); !slices.Equal(got, ids(want)) {
						t.Fatalf("limit %d: %v\nwant      %v", limit, got, ids(want))
					}
				}
			})
		}
	}
	// The urgent order's head is the overdue cases, then the nearest deadline.
	page, _, err := s.ListCases(t.Context(), store.CaseFilter{Sort: store.SortUrgent, Limit: 10})
	must(t, err)
	if !page[0].Overdue {
		t.Fatalf("urgent order starts with a case that is not overdue: %+v", page[0])
	}
	_, _, err = s.ListCases(t.Context(), store.CaseFilter{Sort: "sideways"})
	wantCode(t, err, lanewatch.EInvalid)
	_, _, err = s.ListCases(t.Context(), store.CaseFilter{Sort: store.SortUrgent, Cursor: "12"})
	wantCode(t, err, lanewatch.EInvalid)
	// Cursors that are not this sort's: offset cursors of earlier versions, another sort's, a
	// newest id, garbage, a cursor cut short or grown.
	cursors := map[store.CaseSort]string{}
	for _, sort := range []store.CaseSort{store.SortNewest, store.SortOldest, store.SortUrgent, store.SortDeadline, store.SortUpdated, store.SortUpdatedAsc} {
		_, next, err := s.ListCases(t.Context(), store.CaseFilter{Sort: sort, Limit: 2})
		must(t, err)
		if next == "" {
			t.Fatalf("sort %q: no next cursor after 2 of 40 cases", sort)
		}
		cursors[sort] = next
	}
	for sort := range cursors {
		bad := []string{"o-3", "o3", "o0", "!!", "%", strings.Repeat("A", 5000), cursors[sort] + "!", "~" + cursors[sort]}
		if sort != store.SortNewest {
			bad = append(bad, "12", cursors[store.SortNewest], cursors[sort][:len(cursors[sort])/2])
		}
		for other, c := range cursors {
			if other != sort {
				bad = append(bad, c)
			}
		}
		for _, c := range bad {
			_, _, err := s.ListCases(t.Context(), store.CaseFilter{Sort: sort, Cursor: c})
			if lanewatch.ErrorCode(err) != lanewatch.EInvalid || !strings.Contains(err.Error(), "cursor") {
				t.Fatalf("sort %q, cursor %q: error %v, want %s naming the cursor", sort, c, err, lanewatch.EInvalid)
			}
		}
	}
}

// testCaseCounts: counts cover the whole filter, not a page; by_status ignores the status part.
func testCaseCounts(t *testing.T, s store.Store) {
	all := boardCases(t, s)
	filters := map[string]store.CaseFilter{
		"none":     {Limit: 2},
		"category": {Category: "litter", Limit: 1},
		"status":   {Status: []lanewatch.CaseStatus{lanewatch.StatusReported, lanewatch.StatusDispatched}},
		"district": {District: "minhang", Status: []lanewatch.CaseStatus{lanewatch.StatusSigned}},
		"overdue":  {Overdue: ptr(true)},
		"since":    {Since: at(20 * time.Hour), Until: at(30 * time.Hour)},
		"nothing":  {Category: "nothing"},
	}
	for name, f := range filters {
		t.Run(name, func(t *testing.T) {
			want := store.CaseCounts{ByStatus: map[lanewatch.CaseStatus]int{}}
			noStatus := f
			noStatus.Status = nil
			for _, c := range all {
				if matches(c, noStatus) {
					want.ByStatus[c.Status]++
				}
				if matches(c, f) {
					want.Total++
					if c.Overdue {
						want.Overdue++
					}
				}
			}
			got, err := s.CaseCounts(t.Context(), f)
			must(t, err)
			if got.Total != want.Total || got.Overdue != want.Overdue || !sameCounts(got.ByStatus, want.ByStatus) {
				t.Fatalf("counts %+v, want %+v", *got, want)
			}
		})
	}
}

func sameCounts(a, b map[lanewatch.CaseStatus]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// testCaseSearch: the search term finds a case by id, device, plate, reporter phone, title or
// address in the description, case-insensitively, with LIKE wildcards taken literally.
func testCaseSearch(t *testing.T, s store.Store) {
	ctx := t.Context()
	dev := device("sw-777")
	dev.Plate = "粤T·K2391"
	must(t, s.CreateDevice(ctx, dev))
	mk := func(title, desc, devID, phone string) *lanewatch.Case {
		c := &lanewatch.Case{Status: lanewatch.StatusReported, Category: "litter", Source: lanewatch.SourceCitizen,
			Title: title, Description: desc, DeviceID: devID, CreatedAt: at(0), UpdatedAt: at(0)}
		if phone != "" {
			c.Reporter = &lanewatch.Reporter{Name: "王女士", Phone: phone}
		}
		return create(t, s, c)
	}
	speeding := mk("Sweeper too fast", "作业超速", "sw-777", "")
	litter := mk("暴露垃圾", "地址：中山市富华道 88 号门口", "", "13800138000")
	percent := mk("100% full bin", "垃圾桶满溢", "", "13911112222")
	mk("其他", "no match here", "sw-778", "")
	// By id: the case with that id, and the cases whose text holds those digits (newest first).
	byID := []*lanewatch.Case{}
	for _, c := range []*lanewatch.Case{percent, litter} {
		if strings.Contains(c.Title+c.Description+c.Reporter.Phone, speeding.ID) {
			byID = append(byID, c)
		}
	}
	byID = append(byID, speeding)
	tests := []struct {
		q    string
		want []*lanewatch.Case
	}{
		{speeding.ID, byID},
		{"k2391", []*lanewatch.Case{speeding}}, // plate, lower case
		{"sw-777", []*lanewatch.Case{speeding}},
		{"0013", []*lanewatch.Case{litter}}, // part of a phone
		{"富华道", []*lanewatch.Case{litter}},
		{"SWEEPER", []*lanewatch.Case{speeding}},
		{"100%", []*lanewatch.Case{percent}},
		{"%", []*lanewatch.Case{percent}}, // literal, not "anything"
		{"_", nil},
		{"  垃圾 ", []*lanewatch.Case{percent, litter}},
		{"nobody", nil},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			got := listAllCases(t, s, store.CaseFilter{Query: tt.q})
			if want := ids(tt.want); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("q=%q: %v, want %v", tt.q, got, want)
			}
			n, err := s.CaseCounts(ctx, store.CaseFilter{Query: tt.q})
			must(t, err)
			if n.Total != len(tt.want) {
				t.Fatalf("q=%q counts %d, want %d", tt.q, n.Total, len(tt.want))
			}
		})
	}
}

// testCaseUpdatedSince: UpdatedSince keeps the cases changed at or after the time.
func testCaseUpdatedSince(t *testing.T, s store.Store) {
	all := boardCases(t, s)
	since := at(25 * time.Hour)
	var want []*lanewatch.Case
	for _, c := range all {
		if !c.UpdatedAt.Before(since) {
			want = append(want, c)
		}
	}
	slices.SortStableFunc(want, func(a, b *lanewatch.Case) int {
		return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt), cmp.Compare(a.CreatedAt.UnixNano(), b.CreatedAt.UnixNano()))
	})
	got := listAllCases(t, s, store.CaseFilter{UpdatedSince: since, Sort: store.SortUpdatedAsc, Limit: 4})
	if !slices.Equal(got, ids(want)) || len(want) == 0 || len(want) == len(all) {
		t.Fatalf("updated since: %v, want %v (of %d)", got, ids(want), len(all))
	}
}

// testCaseSourceCamera: the camera source keeps camera cases and rule cases a camera opened.
func testCaseSourceCamera(t *testing.T, s store.Store) {
	cam := device("cam-9")
	cam.Type = lanewatch.DeviceCamera
	must(t, s.CreateDevice(t.Context(), cam))
	mk := func(source, devID, rule string) *lanewatch.Case {
		c := &lanewatch.Case{Status: lanewatch.StatusReported, Category: "0504", Source: source, DeviceID: devID,
			Rule: rule, Key: devID, CreatedAt: at(0), UpdatedAt: at(0)}
		return create(t, s, c)
	}
	pushed := mk(lanewatch.SourceCamera, "cam-9", "")
	byRule := mk(lanewatch.SourceRule, "cam-9", "vending")
	mk(lanewatch.SourceRule, "sw-1", "speeding")
	mk(lanewatch.SourceCitizen, "", "")
	got := listAllCases(t, s, store.CaseFilter{Source: lanewatch.SourceCamera})
	if want := []string{byRule.ID, pushed.ID}; !slices.Equal(got, want) {
		t.Fatalf("source camera: %v, want %v", got, want)
	}
	if got := listAllCases(t, s, store.CaseFilter{Source: lanewatch.SourceRule}); len(got) != 2 {
		t.Fatalf("source rule: %v, want the two rule cases", got)
	}
}

// idOrder compares case ids as the store assigns them: higher id first.
func idOrder(a, b *lanewatch.Case) int {
	ia, erra := strconv.ParseInt(a.ID, 10, 64)
	ib, errb := strconv.ParseInt(b.ID, 10, 64)
	if erra != nil || errb != nil {
		panic(fmt.Sprintf("case ids %q, %q are not numbers", a.ID, b.ID))
	}
	return cmp.Compare(ib, ia)
}

// sortOrders is each case order worked out here from the cases' fields; newerFirst breaks ties.
func sortOrders(newerFirst func(a, b *lanewatch.Case) int) map[store.CaseSort]func(a, b *lanewatch.Case) int {
	byDue := func(a, b *lanewatch.Case) int {
		da, db := stepDue(a), stepDue(b)
		switch {
		case da == nil && db == nil:
			return 0
		case da == nil:
			return 1
		case db == nil:
			return -1
		}
		return da.Compare(*db)
	}
	overdueFirst := func(a, b *lanewatch.Case) int {
		if a.Overdue != b.Overdue {
			if a.Overdue {
				return -1
			}
			return 1
		}
		return 0
	}
	return map[store.CaseSort]func(a, b *lanewatch.Case) int{
		store.SortNewest: newerFirst,
		store.SortOldest: func(a, b *lanewatch.Case) int { return -newerFirst(a, b) },
		store.SortUrgent: func(a, b *lanewatch.Case) int {
			return cmp.Or(overdueFirst(a, b), byDue(a, b), newerFirst(a, b))
		},
		store.SortDeadline: func(a, b *lanewatch.Case) int { return cmp.Or(byDue(a, b), newerFirst(a, b)) },
		store.SortUpdated: func(a, b *lanewatch.Case) int {
			return cmp.Or(b.UpdatedAt.Compare(a.UpdatedAt), newerFirst(a, b))
		},
		store.SortUpdatedAsc: func(a, b *lanewatch.Case) int {
			return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt), -newerFirst(a, b))
		},
	}
}

// testCaseListInserts: walking an order's pages (of 3) while new cases are created between the
// fetches, some sorting before the page already read and some sharing its key, returns every
// case that existed at the start exactly once, in the order, and never goes backwards.
func testCaseListInserts(t *testing.T, s store.Store) {
	statuses := []lanewatch.CaseStatus{lanewatch.StatusReported, lanewatch.StatusDispatched, lanewatch.StatusSigned,
		lanewatch.StatusRegistered, lanewatch.StatusInProgress, lanewatch.StatusClosed}
	// Few distinct deadlines and update times: most cases share their key with others (a
	// weekend's cases all fall due on Monday morning).
	dues := []time.Duration{62 * time.Hour, 62 * time.Hour, 86 * time.Hour, 62 * time.Hour, 110 * time.Hour}
	updates := []time.Duration{time.Hour, 2 * time.Hour, time.Hour, 3 * time.Hour}
	for sort, order := range sortOrders(idOrder) {
		t.Run(string(cmp.Or(sort, "newest")), func(t *testing.T) {
			category := "keyset-" + string(cmp.Or(sort, "newest"))
			byID := map[string]*lanewatch.Case{}
			n := 0
			mk := func(mod func(c *lanewatch.Case)) *lanewatch.Case {
				i := n
				n++
				due := func(k time.Duration) *time.Time { return ptr(at(dues[i%len(dues)] + k)) }
				c := &lanewatch.Case{Status: statuses[i%len(statuses)], Category: category, Source: lanewatch.SourceCitizen,
					Overdue: i%4 == 1, CreatedAt: at(time.Duration(i) * time.Minute), UpdatedAt: at(updates[i%len(updates)]),
					// The three steps' deadlines are equal so the current step's does not depend on
					// the status alone.
					Deadlines: lanewatch.Deadlines{DispatchBy: due(0), SignBy: due(0), HandleBy: due(0)}}
				if i%7 == 3 {
					c.Deadlines = lanewatch.Deadlines{}
				}
				if mod != nil {
					mod(c)
				}
				create(t, s, c)
				byID[c.ID] = c
				return c
			}
			var want []*lanewatch.Case
			for range 30 {
				want = append(want, mk(nil))
			}
			slices.SortStableFunc(want, order)
			// front sorts before every case of the order but oldest (where a new case is always last).
			front := func(c *lanewatch.Case) {
				c.Status, c.Overdue = lanewatch.StatusReported, true
				c.Deadlines = lanewatch.Deadlines{DispatchBy: ptr(at(dues[0]))}
				c.UpdatedAt = at(updates[3])
				if sort == store.SortUpdatedAsc {
					c.UpdatedAt = at(0)
				}
			}
			f := store.CaseFilter{Category: category, Sort: sort, Limit: 3}
			var got []string
			seen := map[string]bool{}
			for page := 0; ; page++ {
				if page > 100 {
					t.Fatal("pagination does not end")
				}
				items, next, err := s.ListCases(t.Context(), f)
				must(t, err)
				if len(items) > 3 {
					t.Fatalf("page of %d > limit 3", len(items))
				}
				for _, c := range items {
					if seen[c.ID] {
						t.Fatalf("page %d (cursor %q): case %s listed twice", page, f.Cursor, c.ID)
					}
					seen[c.ID] = true
					if len(got) > 0 {
						if prev := byID[got[len(got)-1]]; order(prev, byID[c.ID]) >= 0 {
							t.Fatalf("page %d (cursor %q): case %s after %s, against the order", page, f.Cursor, c.ID, prev.ID)
						}
					}
					got = append(got, c.ID)
				}
				if next == "" {
					break
				}
				f.Cursor = next
				if page < 12 {
					mk(front) // before the cursor
					mk(nil)   // most likely sharing a key with cases already listed
				}
			}
			var walked []string
			for _, id := range got {
				if slices.Contains(ids(want), id) {
					walked = append(walked, id)
				}
			}
			if !slices.Equal(walked, ids(want)) {
				t.Fatalf("walk with inserts listed the first cases as\n%v\nwant\n%v", walked, ids(want))
			}
		})
	}
}
