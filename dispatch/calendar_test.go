package dispatch

import (
	"testing"
	"time"
)

func sh(s string) time.Time {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

func testCalendar(t *testing.T) *Calendar {
	t.Helper()
	c, err := NewCalendar(CalendarConfig{Holidays: []string{"2025-10-01", "2025-10-02", "2025-10-03"}, MakeupDays: []string{"2025-09-28"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCalendarAdd(t *testing.T) {
	c := testCalendar(t)
	if c.DayLength() != 7*time.Hour {
		t.Fatalf("day length = %v", c.DayLength())
	}
	tests := []struct {
		name, start string
		d           time.Duration
		want        string
	}{
		{"inside morning", "2025-03-12 09:00", time.Hour, "2025-03-12 10:00"},
		{"across lunch", "2025-03-12 11:30", time.Hour, "2025-03-12 15:00"},
		{"ends exactly at noon", "2025-03-12 11:00", time.Hour, "2025-03-12 12:00"},
		{"during lunch starts at 14:30", "2025-03-12 12:30", time.Hour, "2025-03-12 15:30"},
		{"before work", "2025-03-12 07:00", 30 * time.Minute, "2025-03-12 09:00"},
		{"evening to next morning", "2025-03-12 17:30", time.Hour, "2025-03-13 09:00"},
		{"friday evening to monday", "2025-03-14 17:45", time.Hour, "2025-03-17 09:15"},
		{"weekend start", "2025-03-15 10:00", 4 * time.Hour, "2025-03-17 15:00"},
		{"two working days", "2025-03-12 10:00", 14 * time.Hour, "2025-03-14 10:00"},
		{"holiday week skipped", "2025-09-30 17:00", 2 * time.Hour, "2025-10-06 09:30"},
		{"make-up sunday works", "2025-09-27 10:00", time.Hour, "2025-09-28 09:30"},
		{"zero", "2025-03-12 13:00", 0, "2025-03-12 13:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Add(sh(tt.start), tt.d)
			if want := sh(tt.want); !got.Equal(want) {
				t.Errorf("Add(%s, %v) = %s, want %s", tt.start, tt.d, got.In(c.Location()).Format("2006-01-02 15:04"), tt.want)
			}
			if tt.d > 0 {
				if b := c.Between(sh(tt.start), got); b != tt.d {
					t.Errorf("Between(start, Add) = %v, want %v", b, tt.d)
				}
			}
		})
	}
}

func TestCalendarBetween(t *testing.T) {
	c := testCalendar(t)
	if got := c.Between(sh("2025-03-14 16:00"), sh("2025-03-17 10:00")); got != 3*time.Hour+30*time.Minute {
		t.Errorf("friday 16:00 → monday 10:00 = %v, want 3h30m", got)
	}
	if got := c.Between(sh("2025-03-12 12:00"), sh("2025-03-12 14:30")); got != 0 {
		t.Errorf("lunch = %v, want 0", got)
	}
	if got := c.Between(sh("2025-03-12 12:00"), sh("2025-03-12 11:00")); got != 0 {
		t.Errorf("reversed = %v, want 0", got)
	}
}

func TestCalendarBad(t *testing.T) {
	for _, c := range []CalendarConfig{
		{Hours: []string{"14:00-12:00"}},
		{Hours: []string{"08:30-12:00", "11:00-13:00"}},
		{Hours: []string{"8-12"}},
		{Weekdays: []string{"monday"}},
		{Holidays: []string{"2025-13-01"}},
		{Holidays: []string{"2025-10-01"}, MakeupDays: []string{"2025-10-01"}},
		{TimeZone: "Mars/Olympus"},
	} {
		if _, err := NewCalendar(c); err == nil {
			t.Errorf("NewCalendar(%+v) accepted", c)
		}
	}
}
