package plaques

import (
	"sync"
	"time"
)

// limiter is a fixed-window counter per key with a bounded key set.
type limiter struct {
	mu   sync.Mutex
	n    int
	per  time.Duration
	max  int
	wins map[string]window
}

type window struct {
	start time.Time
	n     int
}

func newLimiter(n int, per time.Duration) *limiter {
	return &limiter{n: n, per: per, max: 100000, wins: map[string]window{}}
}

// allow counts one event for key at now and reports whether it is within the limit, and if not,
// how long until it would be.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.wins[key]
	if now.Sub(w.start) >= l.per || now.Before(w.start) {
		w = window{start: now}
	}
	if w.n >= l.n {
		return false, w.start.Add(l.per).Sub(now)
	}
	w.n++
	if len(l.wins) >= l.max {
		for k, v := range l.wins {
			if now.Sub(v.start) >= l.per {
				delete(l.wins, k)
			}
		}
	}
	if len(l.wins) < l.max {
		l.wins[key] = w
	}
	return true, 0
}
