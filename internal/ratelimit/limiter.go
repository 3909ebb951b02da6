package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter allows at most N events per Per for each key: a token bucket per key holding N
// tokens and refilled at N per Per (golang.org/x/time/rate), so N events may come at once and
// then one every Per/N. It is safe for concurrent use.
type Limiter struct {
	n   int
	per time.Duration
	r   rate.Limit

	mu   sync.Mutex
	keys keyed[*rate.Limiter]
}

// New returns a limiter of n events per per for each key, tracking at most maxKeys keys
// (DefaultMaxKeys when maxKeys <= 0). n < 1 or per <= 0 means no limit.
func New(n int, per time.Duration, maxKeys int) *Limiter {
	l := &Limiter{n: n, per: per}
	if n >= 1 && per > 0 {
		l.r = rate.Limit(float64(n) / per.Seconds())
	}
	// A bucket refills completely within per: after that a key is as good as new.
	l.keys = newKeyed[*rate.Limiter](maxKeys, per)
	return l
}

// Allow counts one event of key at now and reports whether it is within the limit; if it is
// not, wait is how long until it would be. A new key when every slot is held by a busy key is
// allowed and not tracked (the bound on memory wins over the limit).
func (l *Limiter) Allow(key string, now time.Time) (ok bool, wait time.Duration) {
	if l.r == 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.keys.get(key, now, func() *rate.Limiter { return rate.NewLimiter(l.r, l.n) })
	if e == nil {
		return true, 0
	}
	if e.v.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - e.v.TokensAt(now)
	return false, time.Duration(math.Ceil(missing / float64(l.r) * float64(time.Second)))
}

// Len returns the number of keys tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys.m)
}
