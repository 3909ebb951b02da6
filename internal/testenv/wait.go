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
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ok() {
		return
	}
	t.Fatalf("timed out after %v waiting for %s", d, what)
}

// Poll is WaitFor without failing: it polls ok every 500 ms and returns an error naming the
// duration when ok is still false after d, so the caller can report what differs.
func Poll(d time.Duration, ok func() bool) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok() {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	if ok() {
		return nil
	}
	return fmt.Errorf("still not so after %v", d)
}
