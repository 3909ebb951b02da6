package calendar

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is the working calendar (DOMAIN.md section 2), the `calendar` section of
// configs/routing.yaml.
type Config struct {
	// TimeZone of the calendar; default Asia/Shanghai.
	TimeZone string `yaml:"time_zone"`
	// Weekdays that are working days: mon..sun; default mon-fri.
	Weekdays []string `yaml:"weekdays"`
	// Hours are the working periods of a working day, "HH:MM-HH:MM", ascending and disjoint;
	// default 08:30-12:00 and 14:30-18:00.
	Hours []string `yaml:"hours"`
	// Holidays are dates (YYYY-MM-DD) that are not working days.
	Holidays []string `yaml:"holidays"`
	// MakeupDays are dates (YYYY-MM-DD) that are working days although on a weekend (调休).
	MakeupDays []string `yaml:"makeup_days"`
}

type period struct{ start, end int } // minutes after midnight

// Calendar computes working time. It is immutable and safe for concurrent use.
type Calendar struct {
	loc      *time.Location
	weekdays [7]bool
	periods  []period
	holidays map[string]bool
	makeup   map[string]bool
	day      time.Duration
	// years are the years that have at least one holiday or make-up day: the years whose
	// published schedule the calendar carries.
	years map[int]bool
}

var weekdayNames = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// New validates c and returns the calendar.
func New(c Config) (*Calendar, error) {
	if c.TimeZone == "" {
		c.TimeZone = "Asia/Shanghai"
	}
	if len(c.Weekdays) == 0 {
		c.Weekdays = []string{"mon", "tue", "wed", "thu", "fri"}
	}
	if len(c.Hours) == 0 {
		c.Hours = []string{"08:30-12:00", "14:30-18:00"}
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("calendar.time_zone: %w", err)
	}
	cal := &Calendar{loc: loc, holidays: map[string]bool{}, makeup: map[string]bool{}, years: map[int]bool{}}
	for i, w := range c.Weekdays {
		d, ok := weekdayNames[strings.ToLower(w)]
		if !ok {
			return nil, fmt.Errorf("calendar.weekdays[%d]: %q is not one of mon, tue, wed, thu, fri, sat, sun", i, w)
		}
		cal.weekdays[d] = true
	}
	last := -1
	for i, h := range c.Hours {
		a, b, ok := strings.Cut(h, "-")
		s, err1 := parseClock(a)
		e, err2 := parseClock(b)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("calendar.hours[%d]: %q is not HH:MM-HH:MM", i, h)
		}
		if e <= s || s < last {
			return nil, fmt.Errorf("calendar.hours[%d]: %q: periods must be non-empty, ascending and disjoint", i, h)
		}
		last = e
		cal.periods = append(cal.periods, period{s, e})
		cal.day += time.Duration(e-s) * time.Minute
	}
	for _, l := range []struct {
		name string
		in   []string
		out  map[string]bool
	}{{"holidays", c.Holidays, cal.holidays}, {"makeup_days", c.MakeupDays, cal.makeup}} {
		for i, d := range l.in {
			day, err := time.Parse(time.DateOnly, d)
			if err != nil {
				return nil, fmt.Errorf("calendar.%s[%d]: %q is not a date YYYY-MM-DD", l.name, i, d)
			}
			l.out[d] = true
			cal.years[day.Year()] = true
		}
	}
	for d := range cal.holidays {
		if cal.makeup[d] {
			return nil, fmt.Errorf("calendar: %s is both a holiday and a make-up day", d)
		}
	}
	return cal, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || hh*60+mm > 24*60 {
		return 0, fmt.Errorf("bad clock %q", s)
	}
	return hh*60 + mm, nil
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// DayLength is the working time of one working day (7h for the default hours).
func (c *Calendar) DayLength() time.Duration { return c.day }

// IsWorkday reports whether the local date of t is a working day.
func (c *Calendar) IsWorkday(t time.Time) bool {
	d := t.In(c.loc).Format(time.DateOnly)
	switch {
	case c.holidays[d]:
		return false
	case c.makeup[d]:
		return true
	}
	return c.weekdays[t.In(c.loc).Weekday()]
}

// maxDays bounds the calendar walks (a calendar with almost no working days cannot loop forever).
const maxDays = 3660

// Add returns the instant when d of working time has elapsed after t. A deadline that falls
// exactly at the end of a working period is that end (12:00, not 14:30).
func (c *Calendar) Add(t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return t
	}
	lt := t.In(c.loc)
	y, m, dd := lt.Date()
	for i := 0; i < maxDays; i++ {
		day := time.Date(y, m, dd+i, 0, 0, 0, 0, c.loc)
		if !c.IsWorkday(day) {
			continue
		}
		for _, p := range c.periods {
			ps := time.Date(y, m, dd+i, 0, p.start, 0, 0, c.loc)
			pe := time.Date(y, m, dd+i, 0, p.end, 0, 0, c.loc)
			if !pe.After(t) {
				continue
			}
			s := ps
			if t.After(s) {
				s = t
			}
			if avail := pe.Sub(s); d <= avail {
				return s.Add(d).UTC()
			} else {
				d -= avail
			}
		}
	}
	return t.Add(time.Duration(maxDays) * 24 * time.Hour).UTC()
}

// Between returns the working time in [a, b); zero when b is not after a.
func (c *Calendar) Between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	var sum time.Duration
	la := a.In(c.loc)
	y, m, dd := la.Date()
	for i := 0; i < maxDays; i++ {
		day := time.Date(y, m, dd+i, 0, 0, 0, 0, c.loc)
		if !day.Before(b) {
			break
		}
		if !c.IsWorkday(day) {
			continue
		}
		for _, p := range c.periods {
			s := time.Date(y, m, dd+i, 0, p.start, 0, 0, c.loc)
			e := time.Date(y, m, dd+i, 0, p.end, 0, 0, c.loc)
			if s.Before(a) {
				s = a
			}
			if e.After(b) {
				e = b
			}
			if e.After(s) {
				sum += e.Sub(s)
			}
		}
	}
	return sum
}

// Limit is a time limit: an amount of working time, or natural time when Natural.
type Limit struct {
	D       time.Duration
	Natural bool
}

// Deadline returns the end of limit l started at t.
func (c *Calendar) Deadline(t time.Time, l Limit) time.Time {
	if l.Natural {
		return t.Add(l.D).UTC()
	}
	return c.Add(t, l.D)
}

// Remaining returns the part of limit l still left at now before deadline (negative past it).
func (c *Calendar) Remaining(now, deadline time.Time, l Limit) time.Duration {
	if l.Natural || !now.Before(deadline) {
		return deadline.Sub(now)
	}
	return c.Between(now, deadline)
}

// ParseLimit parses a category handle limit: "4h" working hours, "2d" working days (each the
// calendar's working-day length), "90m" working minutes.
func (c *Calendar) ParseLimit(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("limit %q: want e.g. 4h, 2d or 90m", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 0 {
		return 0, fmt.Errorf("limit %q: want e.g. 4h, 2d or 90m", s)
	}
	switch s[len(s)-1] {
	case 'h':
		return time.Duration(n) * time.Hour, nil
	case 'd':
		return time.Duration(n) * c.day, nil
	case 'm':
		return time.Duration(n) * time.Minute, nil
	}
	return 0, fmt.Errorf("limit %q: unit must be h, d or m", s)
}

// CoveredUntil returns the last day (00:00 in the calendar's zone) of the last year up to which
// every year has a published holiday schedule in the calendar, counting back from the year of
// now; ok is false when the year of now itself has none. Past that day IsWorkday knows only the
// weekdays: a national holiday would be taken for a working day.
func (c *Calendar) CoveredUntil(now time.Time) (last time.Time, ok bool) {
	y := now.In(c.loc).Year()
	if !c.years[y] {
		return time.Time{}, false
	}
	for c.years[y+1] {
		y++
	}
	return time.Date(y, time.December, 31, 0, 0, 0, 0, c.loc), true
}

// CoveredDays returns how many days after now's date the calendar's holiday schedule still
// covers (0 on the last covered day), or -1 when the year of now is not covered at all.
func (c *Calendar) CoveredDays(now time.Time) int {
	last, ok := c.CoveredUntil(now)
	if !ok {
		return -1
	}
	lt := now.In(c.loc)
	today := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, c.loc)
	return int(last.Sub(today).Hours()/24 + 0.5)
}

// CheckCovered returns an error naming the first uncovered date when some day from now through
// now+ahead lies in a year the calendar has no holiday schedule for (nil when all are covered).
// The app logs it at start-up: deadlines and `workdays` rules would miss that year's holidays.
func (c *Calendar) CheckCovered(now time.Time, ahead time.Duration) error {
	n := c.CoveredDays(now)
	lt := now.In(c.loc)
	if n < 0 {
		return fmt.Errorf("working calendar has no holidays for %d (today, %s): add the published schedule to calendar.holidays and makeup_days", lt.Year(), lt.Format(time.DateOnly))
	}
	if need := int(ahead.Hours() / 24); n < need {
		first := time.Date(lt.Year(), lt.Month(), lt.Day()+n+1, 0, 0, 0, 0, c.loc)
		return fmt.Errorf("working calendar has no holidays for %d (from %s, in %d days): add the published schedule to calendar.holidays and makeup_days", first.Year(), first.Format(time.DateOnly), n+1)
	}
	return nil
}
