package dispatch

import "github.com/lanewatch/lanewatch/calendar"

// The working calendar lives in package calendar (shared with the rules engine's schedules);
// these names keep dispatch's API.

// CalendarConfig is the working calendar, the `calendar` section of configs/routing.yaml.
type CalendarConfig = calendar.Config

// Calendar computes working time (see calendar.Calendar).
type Calendar = calendar.Calendar

// Limit is a time limit: an amount of working time, or natural time when Natural.
type Limit = calendar.Limit

// NewCalendar validates c and returns the calendar.
func NewCalendar(c CalendarConfig) (*Calendar, error) { return calendar.New(c) }
