package ratelimit

import "time"

// DefaultMaxKeys is the bound on keys tracked when none is given.
const DefaultMaxKeys = 100000

// keyed is a map of per-key state bounded to max keys. A key whose last use is idle long ago
// is equivalent to an absent one, so it is evicted when room is needed. Not safe for
// concurrent use: the owner locks.
type keyed[V any] struct {
	max  int
	idle time.Duration // a key unused for longer than idle may be evicted
	m    map[string]*entry[V]
	// noRoomUntil: the last sweep found no idle key; none can be idle before this time.
	noRoomUntil time.Time
}

type entry[V any] struct {
	v    V
	last time.Time
}

func newKeyed[V any](max int, idle time.Duration) keyed[V] {
	if max <= 0 {
		max = DefaultMaxKeys
	}
	return keyed[V]{max: max, idle: idle, m: map[string]*entry[V]{}}
}

// get returns the entry of key, creating it with fresh() when there is room; nil when the key
// is new and every slot is held by a key that is not idle. It marks the entry used at now.
func (k *keyed[V]) get(key string, now time.Time, fresh func() V) *entry[V] {
	if e, ok := k.m[key]; ok {
		if now.Sub(e.last) > k.idle {
			e.v = fresh()
		}
		e.last = now
		return e
	}
	if len(k.m) >= k.max && !k.sweep(now) {
		return nil
	}
	e := &entry[V]{v: fresh(), last: now}
	k.m[key] = e
	return e
}

// sweep evicts idle keys and reports whether there is room. A sweep that frees nothing
// remembers when the oldest key turns idle, so a spray of new keys does not rescan the map on
// every call.
func (k *keyed[V]) sweep(now time.Time) bool {
	if now.Before(k.noRoomUntil) {
		return false
	}
	oldest := now
	for key, e := range k.m {
		if now.Sub(e.last) > k.idle {
			delete(k.m, key)
		} else if e.last.Before(oldest) {
			oldest = e.last
		}
	}
	if len(k.m) < k.max {
		return true
	}
	k.noRoomUntil = oldest.Add(k.idle)
	return false
}
