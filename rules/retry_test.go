package rules

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lanewatch/lanewatch"
)

// openerFunc is an Opener from a function.
type openerFunc func(ctx context.Context, f Firing) error

func (fn openerFunc) OpenRuleCase(ctx context.Context, f Firing) error { return fn(ctx, f) }

func TestRetryingOpener(t *testing.T) {
	down := lanewatch.Errorf(lanewatch.EInternal, "store unavailable")
	tests := []struct {
		name      string
		fails     int   // internal errors before success
		permanent error // returned instead of success
		wantCalls int
		wantErr   error
	}{
		{"first try", 0, nil, 1, nil},
		{"store back after 5 failures", 5, nil, 6, nil},
		{"domain error at once", 0, lanewatch.Errorf(lanewatch.EInvalid, "no category"), 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				calls := 0
				o := NewRetryingOpener(openerFunc(func(context.Context, Firing) error {
					calls++
					if calls <= tt.fails {
						return down
					}
					return tt.permanent
				}), RetryOptions{})
				start := time.Now()
				err := o.OpenRuleCase(t.Context(), Firing{Rule: "r", Key: "k"})
				if calls != tt.wantCalls {
					t.Fatalf("calls = %d, want %d", calls, tt.wantCalls)
				}
				if tt.permanent != nil {
					if !errors.Is(err, tt.permanent) {
						t.Fatalf("err = %v, want %v", err, tt.permanent)
					}
					return
				}
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				// 5 delays from 100ms doubling with ±50 % jitter, capped at 5s.
				if el := time.Since(start); tt.fails == 5 && (el < 1500*time.Millisecond || el > 5*time.Second) {
					t.Fatalf("retried for %v", el)
				}
			})
		})
	}
}

func TestRetryingOpenerGivesUpWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down := lanewatch.Errorf(lanewatch.EInternal, "store unavailable")
		o := NewRetryingOpener(openerFunc(func(context.Context, Firing) error { return down }), RetryOptions{})
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		err := o.OpenRuleCase(ctx, Firing{})
		if !errors.Is(err, down) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the store error and the deadline", err)
		}
	})
}
