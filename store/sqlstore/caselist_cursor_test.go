package sqlstore

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// TestCaseCursorRoundTrip: a cursor gives back its key exactly, to the nanosecond, with or
// without a deadline, in and out of UTC, and in URL-safe characters only.
func TestCaseCursorRoundTrip(t *testing.T) {
	due := time.Date(2026, 12, 7, 8, 30, 0, 123456789, time.FixedZone("CST", 8*3600))
	keys := []caseKey{
		{overdue: true, due: &due, updated: due, id: 1},
		{overdue: false, due: nil, updated: time.Time{}, id: 9_007_199_254_740_993},
		{due: &time.Time{}, updated: time.Unix(0, 1).UTC(), id: 42},
	}
	for _, sort := range []store.CaseSort{store.SortOldest, store.SortUrgent, store.SortDeadline, store.SortUpdated, store.SortUpdatedAsc} {
		for _, k := range keys {
			c := caseCursor(sort, k)
			if strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
				t.Fatalf("sort %q: cursor %q is not URL-safe", sort, c)
			}
			got, err := parseCaseCursor(sort, c)
			if err != nil {
				t.Fatalf("sort %q: parse own cursor %q: %v", sort, c, err)
			}
			if got.id != k.id {
				t.Fatalf("sort %q: id %d, want %d", sort, got.id, k.id)
			}
			switch sort {
			case store.SortUrgent, store.SortDeadline:
				if (got.due == nil) != (k.due == nil) || (got.due != nil && !got.due.Equal(*k.due)) {
					t.Fatalf("sort %q: deadline %v, want %v", sort, got.due, k.due)
				}
				if sort == store.SortUrgent && got.overdue != k.overdue {
					t.Fatalf("sort %q: overdue %v, want %v", sort, got.overdue, k.overdue)
				}
			case store.SortUpdated, store.SortUpdatedAsc:
				if !got.updated.Equal(k.updated) {
					t.Fatalf("sort %q: updated %v, want %v", sort, got.updated, k.updated)
				}
			}
		}
	}
}

// TestCaseCursorMalformed: a payload that is not the sort's key is EInvalid naming the cursor.
func TestCaseCursorMalformed(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		sort   store.CaseSort
		cursor string
		why    string
	}{
		{store.SortUrgent, "", "not a case list cursor"},
		{store.SortUrgent, "o12", "not a case list cursor"},
		{store.SortUrgent, enc("deadline,-,3"), `cursor of sort "deadline"`},
		{store.SortUrgent, enc(",true,-,3"), "not a case list cursor"},
		{store.SortUrgent, enc("urgent,true,-"), "3 fields, want 4"},
		{store.SortUrgent, enc("urgent,true,-,3,4"), "5 fields, want 4"},
		{store.SortUrgent, enc("urgent,1,-,3"), "overdue"},
		{store.SortUrgent, enc("urgent,true,monday,3"), "deadline"},
		{store.SortUrgent, enc("urgent,true,,3"), "deadline"},
		{store.SortDeadline, enc("deadline,-,0"), "case id"},
		{store.SortDeadline, enc("deadline,-,-4"), "case id"},
		{store.SortDeadline, enc("deadline,-,x"), "case id"},
		{store.SortUpdated, enc("updated,-,3"), "updated_at"},
		{store.SortUpdatedAsc, enc("updated_asc,2026-12-07,3"), "updated_at"},
		{store.SortUpdated, enc("updated,0001-01-02T00:00:00Z,3"), "out of range"},
		{store.SortDeadline, enc("deadline,9999-01-02T00:00:00Z,3"), "out of range"},
		{store.SortOldest, enc("oldest,99999999999999999999"), "case id"},
		{store.SortOldest, enc("oldest,\xff"), "not a case list cursor"},
		{store.SortOldest, strings.Repeat("b2xk", 100), "too long"},
	}
	for _, tt := range tests {
		_, err := parseCaseCursor(tt.sort, tt.cursor)
		if lanewatch.ErrorCode(err) != lanewatch.EInvalid || !strings.Contains(err.Error(), tt.why) ||
			!strings.Contains(err.Error(), "cursor: "+`"`+tt.cursor) {
			t.Errorf("sort %q cursor %q: %v, want %s naming the cursor and %q", tt.sort, tt.cursor, err, lanewatch.EInvalid, tt.why)
		}
	}
}

// FuzzParseCaseCursor: no input panics, and an accepted one encodes back to itself.
func FuzzParseCaseCursor(f *testing.F) {
	due := time.Date(2026, 12, 7, 0, 0, 0, 5, time.UTC)
	for _, s := range []store.CaseSort{store.SortOldest, store.SortUrgent, store.SortDeadline, store.SortUpdated} {
		f.Add(string(s), caseCursor(s, caseKey{overdue: true, due: &due, updated: due, id: 7}))
	}
	f.Add("urgent", "o3")
	f.Fuzz(func(t *testing.T, sort, cursor string) {
		s := store.CaseSort(sort)
		if !s.Valid() || s == store.SortNewest {
			return
		}
		k, err := parseCaseCursor(s, cursor)
		if err != nil {
			if lanewatch.ErrorCode(err) != lanewatch.EInvalid {
				t.Fatalf("%q: %v is not %s", cursor, err, lanewatch.EInvalid)
			}
			return
		}
		if _, err := parseCaseCursor(s, caseCursor(s, k)); err != nil {
			t.Fatalf("%q parsed to %+v, whose cursor does not parse: %v", cursor, k, err)
		}
	})
}
