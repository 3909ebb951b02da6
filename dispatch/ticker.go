package dispatch

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

var openStatuses = []lanewatch.CaseStatus{lanewatch.StatusReported, lanewatch.StatusRegistered,
	lanewatch.StatusDispatched, lanewatch.StatusSigned, lanewatch.StatusInProgress}

// Run checks deadlines at once (restoring overdue state after a restart) and then every
// tick interval until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	iv := time.Duration(s.o.Routing.Limits.TickInterval)
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("deadline check", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Tick checks every open case against the deadline of its step at the clock's now: at the
// reminder share of the limit the department is reminded; past the deadline the case is
// marked overdue (timeline entry by system) and the department and its supervisor are told.
// A deferred case (缓办) is skipped: its clock is stopped until it is resumed.
// Notifications are idempotent per (case, step, deadline), so ticks may repeat freely; a
// dispatched case's dispatch notice is re-enqueued too (covering a crash between the action
// and its notice).
func (s *Service) Tick(ctx context.Context) error {
	now := s.o.Now().UTC()
	f := store.CaseFilter{Status: openStatuses, Limit: store.MaxLimit}
	for {
		page, next, err := s.o.Store.ListCases(ctx, f)
		if err != nil {
			return fmt.Errorf("tick: %w", err)
		}
		for _, c := range page {
			if err := s.check(ctx, c, now); err != nil {
				s.logger.Warn("deadline check", "case", c.ID, "err", err)
			}
		}
		if next == "" {
			return nil
		}
		f.Cursor = next
	}
}

func (s *Service) check(ctx context.Context, c *lanewatch.Case, now time.Time) error {
	if err := s.resumeAuto(ctx, c); err != nil {
		return fmt.Errorf("resume automatic steps: %w", err)
	}
	if c.DeferredAt != nil {
		return s.clearOverdue(ctx, c, now) // 缓办: the clock is stopped
	}
	deadline, limit, step, ok := s.stepDeadline(c)
	if !ok {
		return nil
	}
	if c.Status == lanewatch.StatusDispatched {
		s.notifyDepartment(ctx, "dispatched", c, c.Department, deadline, "")
	}
	over := !now.Before(deadline)
	if over {
		if !c.Overdue {
			next := *c
			next.Overdue, next.UpdatedAt = true, now
			e := s.noteEntry("overdue", "system", NoteOverdue, map[string]string{"step": step, "deadline": deadline.UTC().Format(time.RFC3339)})
			e.At, e.From, e.To = now, c.Status, c.Status
			if err := s.o.Store.UpdateCase(ctx, &next, c.Status, e); err != nil {
				if lanewatch.ErrorCode(err) == lanewatch.EConflict {
					return nil // moved on meanwhile
				}
				return err
			}
			*c = next
			s.logger.Info("case overdue", "case", c.ID, "step", step, "deadline", deadline)
		}
		dep := c.Department
		if step == "dispatch" || dep == "" {
			dep = s.o.Routing.DefaultDepartment
		}
		s.notifyDepartment(ctx, "overdue", c, dep, deadline, step)
		if d, ok := s.router.Department(dep); ok && d.Supervisor != "" {
			s.notifyDepartment(ctx, "escalate", c, d.Supervisor, deadline, step)
		}
		return nil
	}
	// A new deadline (extension) lifted it.
	if err := s.clearOverdue(ctx, c, now); err != nil {
		return err
	}
	// The reminder share is rounded to the nanosecond once: 1-0.8 in floating point is below
	// 0.2, which put the reminder of a 4h limit a tick after 48 minutes were left.
	remindAt := time.Duration(math.Round(float64(limit.D) * s.o.Routing.Limits.ReminderAt))
	used := limit.D - s.cal.Remaining(now, deadline, limit)
	if limit.D > 0 && used >= remindAt && c.Department != "" && step != "dispatch" {
		s.notifyDepartment(ctx, "remind", c, c.Department, deadline, step)
	}
	return nil
}

// clearOverdue stores c as not overdue if it is marked so (a conflict means it moved on).
func (s *Service) clearOverdue(ctx context.Context, c *lanewatch.Case, now time.Time) error {
	if !c.Overdue {
		return nil
	}
	next := *c
	next.Overdue, next.UpdatedAt = false, now
	if err := s.o.Store.UpdateCase(ctx, &next, c.Status); err != nil && lanewatch.ErrorCode(err) != lanewatch.EConflict {
		return err
	}
	return nil
}
