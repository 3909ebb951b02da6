package rules

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lanewatch/lanewatch/calendar"
)

// TestActiveWorkdaysFromCalendar: `days: [workdays]` ignored the working calendar: it applied
// on a public holiday (Monday 2026-02-16, 春节) and not on a make-up working Saturday
// (2026-02-14). With the calendar given at load it follows it; `holidays` is the complement.
func TestActiveWorkdaysFromCalendar(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatalf("time zone Asia/Shanghai: %v (install tzdata)", err)
	}
	cal, err := calendar.New(calendar.Config{Holidays: []string{"2026-02-16"}, MakeupDays: []string{"2026-02-14"}})
	if err != nil {
		t.Fatal(err)
	}
	const src = `groups:
  - name: g
    on: telemetry
    rules:
      - name: on_workdays
        when: "true"
        active: {days: [workdays], hours: ["08:00-18:00"]}
        case: {category: "9001"}
      - name: on_days_off
        when: "true"
        active: {days: [holidays]}
        case: {category: "9001"}
`
	rs, err := Parse("t.yaml", []byte(src), LoadOptions{Location: loc, Calendar: cal})
	if err != nil {
		t.Fatal(err)
	}
	at := func(d string) time.Time {
		t0, _ := time.ParseInLocation("2006-01-02 15:04", d+" 10:00", loc)
		return t0
	}
	for _, tc := range []struct {
		day              string
		workday, daysOff bool
	}{
		{"2026-02-13", true, false}, // Friday
		{"2026-02-14", true, false}, // make-up Saturday
		{"2026-02-15", false, true}, // Sunday in the break
		{"2026-02-16", false, true}, // Monday, public holiday
		{"2026-02-21", false, true}, // ordinary Saturday
		{"2026-02-24", true, false}, // Tuesday after the break
	} {
		if got := rs[0].Schedule().Active(at(tc.day)); got != tc.workday {
			t.Errorf("%s: workdays active = %v, want %v", tc.day, got, tc.workday)
		}
		if got := rs[1].Schedule().Active(at(tc.day)); got != tc.daysOff {
			t.Errorf("%s: holidays active = %v, want %v", tc.day, got, tc.daysOff)
		}
	}
	// Without a calendar, workdays are mon..fri, as before.
	plain := mustRules(t, src)
	if !plain[0].Schedule().Active(time.Date(2026, 2, 16, 10, 0, 0, 0, time.UTC)) {
		t.Error("without a calendar a Monday is a workday")
	}

	// The manager exports how far the calendar reaches.
	reg := prometheus.NewPedanticRegistry()
	e, err := NewEngine(EngineOptions{Opener: &fakeOpener{}, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)
	_, err = NewManager(ManagerOptions{Engine: e, Registerer: reg, Load: LoadOptions{Location: loc, Calendar: cal}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, calendar.CoveredUntilMetric); err != nil || n != 1 {
		t.Fatalf("%s: %d series, %v", calendar.CoveredUntilMetric, n, err)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == calendar.CoveredUntilMetric && mf.GetMetric()[0].GetGauge().GetValue() != 29 {
			t.Errorf("covered days = %v, want 29", mf.GetMetric()[0].GetGauge().GetValue())
		}
	}
}
