package notify

import (
	"context"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch/internal/logtest"
	"github.com/lanewatch/lanewatch/store"
)

func TestRetryAfterDoubles(t *testing.T) {
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second,
		320 * time.Second, 640 * time.Second, 1280 * time.Second, 30 * time.Minute, 30 * time.Minute}
	for attempt, w := range want {
		if got := retryAfter(10*time.Second, 30*time.Minute, 0, attempt); got != w {
			t.Errorf("attempt %d: %v, want %v", attempt, got, w)
		}
	}
	if got := retryAfter(10*time.Second, 30*time.Minute, 0, 1000); got != 30*time.Minute {
		t.Errorf("attempt 1000: %v", got)
	}
}

func TestRetryAfterJitterOnlyShortens(t *testing.T) {
	for attempt, nominal := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute} {
		seen := map[time.Duration]bool{}
		for range 200 {
			got := retryAfter(time.Minute, 5*time.Minute, 0.1, attempt)
			if got > nominal || got < nominal*9/10 {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, got, nominal*9/10, nominal)
			}
			seen[got] = true
		}
		if len(seen) < 2 {
			t.Errorf("attempt %d: no jitter (%v)", attempt, seen)
		}
	}
}

func TestJitterOption(t *testing.T) {
	for _, tt := range []struct {
		in, want float64
		err      bool
	}{{0, 0.1, false}, {-1, 0, false}, {0.3, 0.3, false}, {1.5, 0, true}} {
		d, err := New(Options{Outbox: nopOutbox{}, Jitter: tt.in})
		if tt.err {
			if err == nil {
				t.Errorf("Jitter %v accepted", tt.in)
			}
			continue
		}
		if err != nil || d.o.Jitter != tt.want {
			t.Errorf("Jitter %v: %v %v, want %v", tt.in, d.o.Jitter, err, tt.want)
		}
	}
}

type nopOutbox struct{}

func (nopOutbox) ClaimNotifications(context.Context, time.Time, time.Time, int) ([]*store.Notification, error) {
	return nil, nil
}

func (nopOutbox) FinishNotification(context.Context, int64, string, time.Time, time.Time, string) error {
	return nil
}

var _ Outbox = nopOutbox{}

// TestLogsComponentOnce: the dispatcher adds component=notify once to what it logs.
func TestLogsComponentOnce(t *testing.T) {
	logger, rec := logtest.New()
	ob := &failOnce{}
	d, err := New(Options{Outbox: ob, Logger: logger, Notifiers: map[string]Notifier{"sms": NotifierFunc(func(context.Context, Message) (bool, error) {
		return true, context.DeadlineExceeded
	})}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Deliver(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.CheckComponent(t, "notify")
}

// failOnce hands out one pending notification.
type failOnce struct {
	nopOutbox
	done bool
}

func (f *failOnce) ClaimNotifications(context.Context, time.Time, time.Time, int) ([]*store.Notification, error) {
	if f.done {
		return nil, nil
	}
	f.done = true
	return []*store.Notification{{ID: 1, Key: "k", Channel: "sms", Status: store.NotificationPending}}, nil
}
