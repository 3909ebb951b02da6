package dispatch

import (
	"testing"
	"time"
)

// TestShippedCalendar checks configs/routing.yaml against the published schedules (国务院办公厅
// notices for 2025 and 2026): holidays are off, make-up days are working days, and the
// calendar reaches to the end of 2026.
func TestShippedCalendar(t *testing.T) {
	r, err := LoadRouting("../configs/routing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCalendar(r.Calendar)
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{
		"2025-01-28": false, "2025-01-26": true, "2025-10-08": false, "2025-10-11": true, "2025-10-09": true,
		"2026-01-01": false, "2026-01-02": false, "2026-01-04": true, // 元旦; Sunday 1/4 worked
		"2026-02-14": true, "2026-02-16": false, "2026-02-20": false, "2026-02-23": false, "2026-02-24": true, "2026-02-28": true,
		"2026-04-06": false, "2026-05-01": false, "2026-05-05": false, "2026-05-06": true, "2026-05-09": true,
		"2026-06-19": false, "2026-09-20": true, "2026-09-25": false,
		"2026-10-01": false, "2026-10-07": false, "2026-10-08": true, "2026-10-10": true, "2026-10-11": false,
	} {
		d, _ := time.ParseInLocation(time.DateOnly, s, c.Location())
		if got := c.IsWorkday(d.Add(10 * time.Hour)); got != want {
			t.Errorf("IsWorkday(%s) = %v, want %v", s, got, want)
		}
	}
	last, ok := c.CoveredUntil(time.Date(2026, 6, 1, 0, 0, 0, 0, c.Location()))
	if !ok || last.Format(time.DateOnly) != "2026-12-31" {
		t.Errorf("CoveredUntil = %v %v, want 2026-12-31", last, ok)
	}
}
