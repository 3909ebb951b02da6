package ratelimit

import (
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func TestLimiterAllowsNPerWindow(t *testing.T) {
	l := New(3, time.Minute, 0)
	for i := range 3 {
		if ok, _ := l.Allow("a", t0); !ok {
			t.Fatalf("event %d refused", i)
		}
	}
	ok, wait := l.Allow("a", t0)
	if ok || wait != 20*time.Second {
		t.Fatalf("4th event: ok %v wait %v, want refused for 20s (one token per minute/3)", ok, wait)
	}
	if ok, _ := l.Allow("b", t0); !ok {
		t.Fatal("another key is limited")
	}
	if ok, _ := l.Allow("a", t0.Add(20*time.Second)); !ok {
		t.Fatal("refused after a token came back")
	}
	if ok, _ := l.Allow("a", t0.Add(20*time.Second)); ok {
		t.Fatal("a second event on one token")
	}
	// After a whole window the key is as good as new: N at once again.
	for i := range 3 {
		if ok, _ := l.Allow("a", t0.Add(2*time.Minute)); !ok {
			t.Fatalf("next window: event %d refused", i)
		}
	}
}

func TestLimiterDisabled(t *testing.T) {
	for _, l := range []*Limiter{New(-1, time.Minute, 0), New(0, time.Minute, 0), New(5, 0, 0)} {
		for range 100 {
			if ok, _ := l.Allow("a", t0); !ok {
				t.Fatal("a disabled limiter refused")
			}
		}
		if l.Len() != 0 {
			t.Fatal("a disabled limiter tracks keys")
		}
	}
}

// TestLimiterBoundedMemory: a spray of many addresses never holds more than maxKeys; keys go
// untracked (allowed) while every slot is busy and are evicted once idle.
func TestLimiterBoundedMemory(t *testing.T) {
	const max = 1000
	l := New(1, time.Minute, max)
	for i := range 50 * max {
		if ok, _ := l.Allow("10.0."+strconv.Itoa(i), t0.Add(time.Duration(i)*time.Microsecond)); !ok {
			t.Fatalf("new key %d refused", i)
		}
		if n := l.Len(); n > max {
			t.Fatalf("%d keys tracked, bound %d", n, max)
		}
	}
	// A tracked key stays limited while the map is full.
	if ok, _ := l.Allow("10.0.0", t0.Add(time.Second)); ok {
		t.Fatal("a tracked key was let through while full")
	}
	// Once the window has passed, old keys are evicted and new ones tracked again.
	later := t0.Add(2 * time.Minute)
	if ok, _ := l.Allow("fresh", later); !ok {
		t.Fatal("fresh key refused")
	}
	if ok, _ := l.Allow("fresh", later); ok {
		t.Fatal("fresh key not tracked after eviction")
	}
	if n := l.Len(); n != 1 {
		t.Fatalf("%d keys after eviction, want 1", n)
	}
}

// TestLimiterVirtualTime runs the limiter on the clock of a synctest bubble: sleeping moves
// virtual time, and the refill follows it.
func TestLimiterVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(2, 10*time.Minute, 0)
		l.Allow("pl-1", time.Now())
		l.Allow("pl-1", time.Now())
		ok, wait := l.Allow("pl-1", time.Now())
		if ok || wait != 5*time.Minute {
			t.Fatalf("3rd: ok %v wait %v", ok, wait)
		}
		time.Sleep(wait - time.Second)
		if ok, _ := l.Allow("pl-1", time.Now()); ok {
			t.Fatal("allowed before the token came back")
		}
		time.Sleep(time.Second)
		if ok, _ := l.Allow("pl-1", time.Now()); !ok {
			t.Fatal("refused after the wait it gave")
		}
	})
}

func TestLimiterConcurrent(t *testing.T) {
	l := New(100, time.Hour, 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if ok, _ := l.Allow("k", t0); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 100 {
		t.Fatalf("%d allowed, want 100", allowed)
	}
}

func TestFailures(t *testing.T) {
	f := NewFailures(time.Minute, 0)
	now := t0
	for want := 1; want <= 4; want++ {
		if n := f.Fail("a", now); n != want {
			t.Fatalf("failure %d counted %d", want, n)
		}
		now = now.Add(time.Second)
	}
	if n := f.Fail("b", now); n != 1 {
		t.Fatalf("another key: %d", n)
	}
	f.Reset("a")
	if n := f.Fail("a", now); n != 1 {
		t.Fatalf("after reset: %d", n)
	}
	// Just inside the window adds; a longer quiet starts again.
	now = now.Add(time.Minute)
	if n := f.Fail("a", now); n != 2 {
		t.Fatalf("inside the window: %d", n)
	}
	now = now.Add(time.Minute + time.Nanosecond)
	if n := f.Fail("a", now); n != 1 {
		t.Fatalf("after the window: %d", n)
	}
}

func TestFailuresBoundedMemory(t *testing.T) {
	const max = 500
	f := NewFailures(time.Minute, max)
	for i := range 20 * max {
		f.Fail(strconv.Itoa(i), t0)
		if f.Len() > max {
			t.Fatalf("%d keys, bound %d", f.Len(), max)
		}
	}
	if n := f.Fail("0", t0); n != 2 {
		t.Fatalf("a tracked key: %d", n)
	}
	if n := f.Fail("untracked", t0); n != 1 {
		t.Fatalf("an untracked key while full: %d", n)
	}
	if n := f.Fail("new", t0.Add(2*time.Minute)); n != 1 || f.Len() != 1 {
		t.Fatalf("after the window: %d, %d keys", n, f.Len())
	}
}

func BenchmarkLimiterAllow(b *testing.B) {
	l := New(1000, time.Second, 0)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.Allow(keys[i%len(keys)], t0.Add(time.Duration(i)*time.Microsecond))
	}
}
