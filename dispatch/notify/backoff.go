package notify

import (
	"time"

	"github.com/cenkalti/backoff/v5"
)

// retryAfter returns the wait after the attempt-th failed attempt (0-based): the attempt-th
// interval of cenkalti/backoff's ExponentialBackOff from first doubling up to max, then
// shortened at random by up to jitter of it. The outbox stores the next attempt time, so the
// schedule is computed from the attempt count instead of kept in a sleeping loop; jitter only
// shortens, so a notification is never later than the doubled backoff promises.
func retryAfter(first, max time.Duration, jitter float64, attempt int) time.Duration {
	exp := &backoff.ExponentialBackOff{InitialInterval: first, Multiplier: 2, MaxInterval: max}
	wait := exp.NextBackOff()
	for i := 0; i < attempt && wait < max; i++ {
		wait = exp.NextBackOff()
	}
	wait = min(wait, max)
	if jitter <= 0 {
		return wait
	}
	// The library randomises symmetrically (interval × (1 ± factor)): centre it on the middle of
	// [wait×(1-jitter), wait] so the result stays inside that range.
	centre := time.Duration(float64(wait) * (1 - jitter/2))
	r := &backoff.ExponentialBackOff{InitialInterval: centre, RandomizationFactor: (jitter / 2) / (1 - jitter/2),
		Multiplier: 1, MaxInterval: centre}
	return min(r.NextBackOff(), wait)
}
