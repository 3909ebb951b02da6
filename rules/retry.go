package rules

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/lanewatch/lanewatch"
)

// RetryOptions configure a RetryingOpener.
type RetryOptions struct {
	// Initial is the first delay; default 100ms. Delays double (±50 % jitter) up to Max.
	Initial time.Duration
	// Max is the longest delay; default 5s.
	Max    time.Duration
	Logger *slog.Logger
}

// RetryingOpener is an Opener that retries its inner Opener while the error is internal (the
// store is unavailable, a database restart), so a firing is not lost: the caller (a pipeline
// worker) waits, which back-pressures the journal instead of dropping. Domain errors (bad
// category, conflict) are returned at once; it gives up only when ctx ends.
type RetryingOpener struct {
	next   Opener
	o      RetryOptions
	logger *slog.Logger
}

var _ Opener = (*RetryingOpener)(nil)

// NewRetryingOpener wraps next.
func NewRetryingOpener(next Opener, o RetryOptions) *RetryingOpener {
	if o.Initial <= 0 {
		o.Initial = 100 * time.Millisecond
	}
	if o.Max <= 0 {
		o.Max = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &RetryingOpener{next: next, o: o, logger: o.Logger.With("component", "rules-opener")}
}

// OpenRuleCase calls the inner Opener until it succeeds, fails with a non-internal error, or
// ctx ends.
func (r *RetryingOpener) OpenRuleCase(ctx context.Context, f Firing) error {
	b := &backoff.ExponentialBackOff{InitialInterval: r.o.Initial, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: r.o.Max}
	attempt := 0
	var last error
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		attempt++
		err := r.next.OpenRuleCase(ctx, f)
		if err == nil {
			return struct{}{}, nil
		}
		last = err
		if lanewatch.ErrorCode(err) != lanewatch.EInternal || ctx.Err() != nil {
			return struct{}{}, backoff.Permanent(err)
		}
		if attempt == 1 || attempt%10 == 0 {
			r.logger.Warn("open case failed; retrying", "rule", f.Rule, "key", f.Key, "attempt", attempt, "err", err)
		}
		return struct{}{}, err
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0))
	if err != nil && last != nil && err != last {
		return fmt.Errorf("open case: %w (gave up: %w)", last, err)
	}
	return err
}
