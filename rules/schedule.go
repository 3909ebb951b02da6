package rules

import (
	"fmt"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch/calendar"
)

// Schedule is a compiled `active:` block: when a rule applies, in its time zone.
type Schedule struct {
	loc    *time.Location
	days   [7]bool // by time.Weekday; all false means every day
	anyDay bool
	// workdays / restdays: `days` names the working calendar's working days (workdays) or
	// its days off (holidays: weekends and public holidays, make-up working days excluded).
	workdays, restdays bool
	cal                *calendar.Calendar // nil: working days are mon..fri
	windows            []window           // minutes of the day; none means all day
	dates              []dateRange
	holidays           []dateRange
	workdayList        []dateRange
}

type window struct{ start, end int } // minutes since midnight; end <= start runs past midnight

type dateRange struct{ from, to civilDate }

type civilDate struct {
	y int
	m time.Month
	d int
}

func (c civilDate) before(o civilDate) bool {
	if c.y != o.y {
		return c.y < o.y
	}
	if c.m != o.m {
		return c.m < o.m
	}
	return c.d < o.d
}

func (r dateRange) contains(c civilDate) bool { return !c.before(r.from) && !r.to.before(c) }

type scheduleError struct{ field, msg string }

var dayNames = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// compileSchedule validates a schedule without a working calendar (workdays are mon..fri).
func compileSchedule(s *ScheduleSpec, loc *time.Location) (*Schedule, []scheduleError) {
	return compileScheduleCal(s, loc, nil)
}

// compileScheduleCal validates a schedule; each error names the field it is about. cal (may
// be nil) is the working calendar of the `workdays` and `holidays` day names.
func compileScheduleCal(s *ScheduleSpec, loc *time.Location, cal *calendar.Calendar) (*Schedule, []scheduleError) {
	sc := &Schedule{loc: loc, cal: cal}
	var errs []scheduleError
	for i, d := range s.Days {
		f := fmt.Sprintf("days[%d]", i)
		switch v := strings.ToLower(strings.TrimSpace(d)); v {
		case "workdays":
			sc.workdays = true
		case "holidays":
			sc.restdays = true
		case "weekend":
			sc.days[time.Saturday], sc.days[time.Sunday] = true, true
		default:
			wd, ok := dayNames[v]
			if !ok {
				errs = append(errs, scheduleError{f, fmt.Sprintf("day %q is not one of mon, tue, wed, thu, fri, sat, sun, workdays, weekend", d)})
				continue
			}
			sc.days[wd] = true
		}
	}
	sc.anyDay = len(s.Days) == 0
	for i, h := range s.Hours {
		w, err := parseWindow(h)
		if err != nil {
			errs = append(errs, scheduleError{fmt.Sprintf("hours[%d]", i), err.Error()})
			continue
		}
		sc.windows = append(sc.windows, w)
	}
	for _, list := range []struct {
		name string
		in   []string
		out  *[]dateRange
	}{{"dates", s.Dates, &sc.dates}, {"holidays", s.Holidays, &sc.holidays}, {"workdays", s.Workdays, &sc.workdayList}} {
		for i, v := range list.in {
			r, err := parseDateRange(v)
			if err != nil {
				errs = append(errs, scheduleError{fmt.Sprintf("%s[%d]", list.name, i), err.Error()})
				continue
			}
			*list.out = append(*list.out, r)
		}
	}
	return sc, errs
}

func parseWindow(s string) (window, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return window{}, fmt.Errorf("hours %q: want HH:MM-HH:MM", s)
	}
	start, err1 := parseClock(a)
	end, err2 := parseClock(b)
	if err1 != nil || err2 != nil {
		return window{}, fmt.Errorf("hours %q: want HH:MM-HH:MM with 00:00 <= HH:MM <= 24:00", s)
	}
	if start == end {
		return window{}, fmt.Errorf("hours %q: empty window (start equals end)", s)
	}
	return window{start, end}, nil
}

func parseClock(s string) (int, error) {
	var h, m int
	s = strings.TrimSpace(s)
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("bad clock %q", s)
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("bad clock %q", s)
	}
	return h*60 + m, nil
}

func parseDateRange(s string) (dateRange, error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(s), "..")
	from, err := parseDate(a)
	if err != nil {
		return dateRange{}, fmt.Errorf("date %q: want YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD", s)
	}
	to := from
	if isRange {
		if to, err = parseDate(b); err != nil {
			return dateRange{}, fmt.Errorf("date %q: want YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD", s)
		}
		if to.before(from) {
			return dateRange{}, fmt.Errorf("date range %q ends before it starts", s)
		}
	}
	return dateRange{from, to}, nil
}

func parseDate(s string) (civilDate, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return civilDate{}, err
	}
	return civilDate{t.Year(), t.Month(), t.Day()}, nil
}

// Active reports whether the schedule applies at t.
func (s *Schedule) Active(t time.Time) bool {
	if s == nil {
		return true
	}
	lt := t.In(s.loc)
	if len(s.windows) == 0 {
		return s.dayOK(lt)
	}
	min := lt.Hour()*60 + lt.Minute()
	for _, w := range s.windows {
		if w.start < w.end {
			if min >= w.start && min < w.end && s.dayOK(lt) {
				return true
			}
			continue
		}
		// Across midnight: the window belongs to the day it starts on.
		if min >= w.start && s.dayOK(lt) {
			return true
		}
		if min < w.end && s.dayOK(lt.AddDate(0, 0, -1)) {
			return true
		}
	}
	return false
}

// ActiveThroughout reports whether the schedule applies during all of [from, to], checked
// at minute resolution (the granularity of schedules).
func (s *Schedule) ActiveThroughout(from, to time.Time) bool {
	if s == nil {
		return true
	}
	if !s.Active(to) {
		return false
	}
	const maxSteps = 7 * 24 * 60
	n := 0
	for t := from; t.Before(to) && n < maxSteps; t = t.Add(time.Minute) {
		if !s.Active(t) {
			return false
		}
		n++
	}
	return true
}

func (s *Schedule) dayOK(lt time.Time) bool {
	c := civilDate{lt.Year(), lt.Month(), lt.Day()}
	if len(s.dates) > 0 && !inRanges(s.dates, c) {
		return false
	}
	if inRanges(s.holidays, c) {
		return false
	}
	if s.anyDay || s.days[lt.Weekday()] || inRanges(s.workdayList, c) {
		return true
	}
	if s.workdays || s.restdays {
		w := s.isWorkday(lt)
		return (s.workdays && w) || (s.restdays && !w)
	}
	return false
}

// isWorkday reports whether lt's date is a working day of the calendar (mon..fri without one).
func (s *Schedule) isWorkday(lt time.Time) bool {
	if s.cal != nil {
		return s.cal.IsWorkday(lt)
	}
	wd := lt.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

func inRanges(rs []dateRange, c civilDate) bool {
	for _, r := range rs {
		if r.contains(c) {
			return true
		}
	}
	return false
}
