package sqlstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// BenchmarkCaseBoard measures the board's queries over 10,000 cases: the first and second page
// (keyset cursor) of 200 in the urgent order (overdue first, then the current step's
// deadline), the first page by last update, and the counts of the whole filter; unfiltered,
// for one district and for a search.
func BenchmarkCaseBoard(b *testing.B) {
	for _, e := range engines() {
		b.Run(e.name, func(b *testing.B) {
			s := openFresh(b, e)
			base := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
			statuses := []lanewatch.CaseStatus{lanewatch.StatusReported, lanewatch.StatusDispatched, lanewatch.StatusSigned, lanewatch.StatusClosed}
			for i := range 10000 {
				due := base.Add(time.Duration((i*7919)%10000) * time.Minute)
				c := &lanewatch.Case{Status: statuses[i%4], Category: "0101", District: fmt.Sprintf("d%d", i%8), Source: lanewatch.SourceCitizen,
					Title: fmt.Sprintf("case %d", i), Overdue: i%97 == 0, CreatedAt: base.Add(time.Duration(i) * time.Second),
					UpdatedAt: base.Add(time.Duration(i) * time.Second), Deadlines: lanewatch.Deadlines{DispatchBy: &due, SignBy: &due, HandleBy: &due}}
				if _, _, err := s.CreateCase(b.Context(), c); err != nil {
					b.Fatal(err)
				}
			}
			for _, f := range []struct {
				name string
				f    store.CaseFilter
			}{{"all", store.CaseFilter{}}, {"district", store.CaseFilter{District: "d3"}}, {"search", store.CaseFilter{Query: "case 12"}}} {
				firstPage := func(sort store.CaseSort) func(*testing.B) {
					return func(b *testing.B) {
						q := f.f
						q.Sort, q.Limit = sort, 200
						for b.Loop() {
							if _, _, err := s.ListCases(b.Context(), q); err != nil {
								b.Fatal(err)
							}
						}
					}
				}
				b.Run("urgent-page/"+f.name, firstPage(store.SortUrgent))
				b.Run("urgent-page2/"+f.name, func(b *testing.B) { // the second page, by keyset cursor
					q := f.f
					q.Sort, q.Limit = store.SortUrgent, 200
					_, next, err := s.ListCases(b.Context(), q)
					if err != nil || next == "" {
						b.Fatalf("first page: next %q, %v", next, err)
					}
					q.Cursor = next
					for b.Loop() {
						if _, _, err := s.ListCases(b.Context(), q); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run("updated-page/"+f.name, firstPage(store.SortUpdated))
				b.Run("counts/"+f.name, func(b *testing.B) {
					for b.Loop() {
						if _, err := s.CaseCounts(b.Context(), f.f); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
