package testenv

import (
	"fmt"
	"testing"
	"time"
)

// WaitFor polls ok every 50 ms until it returns true, failing t with what after d. It is for
// waiting on another process or goroutine to reach a state, never for asserting how fast.
func WaitFor(t testing.TB, d time.Duration, what string, ok func() bool) {
	t.Helper()
	if !poll(d, 50*time.Millisecond, ok) {
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

// Poll is WaitFor without failing: it polls ok every 500 ms and returns an error naming the
// duration when ok is still false after d, so the caller can report what differs.
func Poll(d time.Duration, ok func() bool) error {
	if !poll(d, 500*time.Millisecond, ok) {
		return fmt.Errorf("still not so after %v", d)
	}
	return nil
}

// poll calls ok every interval until it returns true (true) or d has passed and a last call
// still says false (false).
func poll(d, every time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok() {
			return true
		}
		time.Sleep(every)
	}
	return ok()
}
