package notify

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lanewatch/lanewatch/store"
)

// memOutbox is an in-memory Outbox.
type memOutbox struct {
	mu sync.Mutex
	ns []*store.Notification
}

func (m *memOutbox) ClaimNotifications(_ context.Context, now, lease time.Time, limit int) ([]*store.Notification, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*store.Notification
	for _, n := range m.ns {
		if n.Status == store.NotificationPending && !n.NextAttempt.After(now) && len(out) < limit {
			n.NextAttempt = lease
			c := *n
			out = append(out, &c)
		}
	}
	return out, nil
}

func (m *memOutbox) FinishNotification(_ context.Context, id int64, status string, at, next time.Time, msg string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range m.ns {
		if n.ID == id {
			n.Status, n.NextAttempt, n.LastError = status, next, msg
			n.Attempts++
		}
	}
	return nil
}

// TestRunRetriesOnVirtualTime runs the loop in a synctest bubble: a notifier failing twice is
// retried after 10s and 20s of (virtual) backoff and then delivered.
func TestRunRetriesOnVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ob := &memOutbox{ns: []*store.Notification{{ID: 1, Key: "k", Channel: "sms", Status: store.NotificationPending,
			NextAttempt: time.Now()}}}
		var mu sync.Mutex
		var calls []time.Time
		start := time.Now()
		n := NotifierFunc(func(context.Context, Message) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, time.Now())
			if len(calls) < 3 {
				return true, context.DeadlineExceeded
			}
			return false, nil
		})
		d, err := New(Options{Outbox: ob, Notifiers: map[string]Notifier{"sms": n}, Interval: time.Second, Backoff: 10 * time.Second,
			Jitter: -1}) // exact doubling: the attempts are asserted to the second
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = d.Run(ctx); close(done) }()
		time.Sleep(time.Minute)
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		if len(calls) != 3 {
			t.Fatalf("calls = %d", len(calls))
		}
		if d1, d2 := calls[1].Sub(start), calls[2].Sub(start); d1 != 10*time.Second || d2 != 30*time.Second {
			t.Fatalf("attempts at %v and %v, want 10s and 30s", d1, d2)
		}
		if ob.ns[0].Status != store.NotificationSent {
			t.Fatalf("status %s", ob.ns[0].Status)
		}
	})
}
