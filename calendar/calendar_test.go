package calendar

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func day(t *testing.T, c *Calendar, s string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation(time.DateOnly, s, c.Location())
	if err != nil {
		t.Fatal(err)
	}
	return d.Add(10 * time.Hour)
}

func TestCovered(t *testing.T) {
	c, err := New(Config{Holidays: []string{"2025-10-01", "2026-01-01"}, MakeupDays: []string{"2026-01-04"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, now string
		days      int
		checkErr  string // CheckCovered(now, 30 days)
	}{
		{"early in a covered year", "2025-03-01", 670, ""},
		{"31 days before the end", "2026-11-30", 31, ""},
		{"30 days before the end", "2026-12-01", 30, ""},
		{"29 days before the end", "2026-12-02", 29, "no holidays for 2027 (from 2027-01-01, in 30 days)"},
		{"last covered day", "2026-12-31", 0, "no holidays for 2027 (from 2027-01-01, in 1 days)"},
		{"beyond", "2027-01-01", -1, "no holidays for 2027 (today, 2027-01-01)"},
		{"before", "2024-06-01", -1, "no holidays for 2024"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := day(t, c, tc.now)
			if got := c.CoveredDays(now); got != tc.days {
				t.Errorf("CoveredDays = %d, want %d", got, tc.days)
			}
			err := c.CheckCovered(now, 30*24*time.Hour)
			switch {
			case tc.checkErr == "" && err != nil:
				t.Errorf("CheckCovered = %v", err)
			case tc.checkErr != "" && (err == nil || !strings.Contains(err.Error(), tc.checkErr)):
				t.Errorf("CheckCovered = %v, want %q", err, tc.checkErr)
			}
		})
	}
	now := day(t, c, "2026-12-02")
	g := CoveredGauge(c, func() time.Time { return now })
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(g)
	if v := testutil.ToFloat64(g); v != 29 {
		t.Errorf("%s = %v, want 29", CoveredUntilMetric, v)
	}
}

// TestWorkdayMakeup: a holiday on a weekday is off, a make-up Saturday is a working day.
func TestWorkdayMakeup(t *testing.T) {
	c, err := New(Config{Holidays: []string{"2026-02-16"}, MakeupDays: []string{"2026-02-14"}})
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{"2026-02-13": true, "2026-02-14": true, "2026-02-15": false, "2026-02-16": false, "2026-02-17": true} {
		if got := c.IsWorkday(day(t, c, s)); got != want {
			t.Errorf("IsWorkday(%s) = %v, want %v", s, got, want)
		}
	}
}
