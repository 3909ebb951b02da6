package ratelimit

import (
	"sync"
	"time"
)

// Failures counts consecutive failures per key: a failure within Window of the key's previous
// one adds to its count, a longer quiet starts again from one, and Reset (a success) forgets
// the key. It is safe for concurrent use.
type Failures struct {
	mu   sync.Mutex
	keys keyed[int]
}

// NewFailures returns a failure counter with the given window, tracking at most maxKeys keys
// (DefaultMaxKeys when maxKeys <= 0).
func NewFailures(window time.Duration, maxKeys int) *Failures {
	return &Failures{keys: newKeyed[int](maxKeys, window)}
}

// Fail records a failure of key at now and returns the number of consecutive failures,
// including this one. A new key when every slot is held by a busy key counts as a first
// failure and is not tracked.
func (f *Failures) Fail(key string, now time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.keys.get(key, now, func() int { return 0 })
	if e == nil {
		return 1
	}
	e.v++
	return e.v
}

// Reset forgets key's failures.
func (f *Failures) Reset(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.keys.m, key)
}

// Len returns the number of keys tracked.
func (f *Failures) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.keys.m)
}
