// Package calendar owns the working calendar (DOMAIN.md section 2): working weekdays and hours,
// national holidays and make-up working days (调休), working-time arithmetic for deadlines, and
// how far ahead the configured holiday schedule reaches. Dispatch computes deadlines with it and
// the rules engine's `active: {days: [workdays]}` asks it which days are working days.
//
// It must not import any other lanewatch package: it is the small neutral piece both sides share.
package calendar
