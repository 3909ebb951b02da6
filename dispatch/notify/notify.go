package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch/store"
)

// Message is one notification to deliver.
type Message struct {
	// Key is the idempotency key; gateways that support one get it.
	Key       string
	Channel   string
	Recipient string
	Event     string
	CaseID    string
	Vars      map[string]string
}

// Notifier delivers messages of one channel. retry tells whether a failed attempt may
// succeed later (network errors, 5xx, 429, throttling) or is permanent.
type Notifier interface {
	Notify(ctx context.Context, m Message) (retry bool, err error)
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, m Message) (bool, error)

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, m Message) (bool, error) { return f(ctx, m) }

// Outbox is the part of the store the dispatcher uses.
type Outbox interface {
	ClaimNotifications(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*store.Notification, error)
	FinishNotification(ctx context.Context, id int64, status string, at, next time.Time, lastError string) error
}

// Options configure a Dispatcher.
type Options struct {
	Outbox    Outbox
	Notifiers map[string]Notifier
	// Interval between outbox polls; default 2s.
	Interval time.Duration
	// Lease is how long a claimed notification is reserved for one attempt; default 2m.
	Lease time.Duration
	// Backoff after the first failure, doubled per attempt up to MaxBackoff; defaults 10s, 30m.
	Backoff, MaxBackoff time.Duration
	// Jitter is the share of each wait taken off at random, so notifications that failed
	// together do not all come back at once; the wait stays within (1-Jitter)×..1× the doubled
	// backoff, never longer. Default 0.1; negative means none (exact doubling).
	Jitter float64
	// MaxAttempts before giving up; default 12.
	MaxAttempts int
	// Timeout of one attempt; default 15s.
	Timeout    time.Duration
	Batch      int
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

// Dispatcher moves notifications from the outbox to their channels.
type Dispatcher struct {
	o       Options
	logger  *slog.Logger
	results *prometheus.CounterVec
	lastErr map[string]string // channel -> last error logged (log only when it changes)
}

// Results of delivery attempts, the `result` label of lanewatch_notifications_total.
const (
	ResultSent   = "sent"
	ResultRetry  = "retry"
	ResultFailed = "failed"
)

// New returns a Dispatcher.
func New(o Options) (*Dispatcher, error) {
	if o.Outbox == nil {
		return nil, fmt.Errorf("notify: Outbox is required")
	}
	if o.Interval <= 0 {
		o.Interval = 2 * time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.Backoff <= 0 {
		o.Backoff = 10 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Minute
	}
	switch {
	case o.Jitter == 0:
		o.Jitter = 0.1
	case o.Jitter < 0:
		o.Jitter = 0
	case o.Jitter > 1:
		return nil, fmt.Errorf("notify: Jitter %v is more than 1", o.Jitter)
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 12
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	d := &Dispatcher{o: o, logger: o.Logger.With("component", "notify"), lastErr: map[string]string{},
		results: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lanewatch_notifications_total",
			Help: "Notification delivery attempts, by channel and result (sent, retry, failed)."}, []string{"channel", "result"})}
	if err := o.Registerer.Register(d.results); err != nil {
		return nil, fmt.Errorf("register notify metrics: %w", err)
	}
	return d, nil
}

// Run delivers due notifications every interval until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(d.o.Interval)
	defer t.Stop()
	for {
		if _, err := d.Deliver(ctx); err != nil && ctx.Err() == nil {
			d.logger.Warn("deliver notifications", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Deliver makes one pass: it claims the due notifications and attempts each once, returning
// how many were attempted.
func (d *Dispatcher) Deliver(ctx context.Context) (int, error) {
	now := d.o.Now().UTC()
	leaseUntil := now.Add(d.o.Lease)
	due, err := d.o.Outbox.ClaimNotifications(ctx, now, leaseUntil, d.o.Batch)
	if err != nil {
		return 0, err
	}
	for i, n := range due {
		// An attempt must end inside its lease: after the lease another node may claim the same
		// notification and send it too. What is left stays claimed until the lease ends and is
		// then delivered by whichever node claims it.
		left := leaseUntil.Sub(d.o.Now())
		if left < min(d.o.Timeout, d.o.Lease/2) {
			return i, nil
		}
		if err := d.attempt(ctx, n, min(d.o.Timeout, left)); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

func (d *Dispatcher) attempt(ctx context.Context, n *store.Notification, timeout time.Duration) error {
	m := Message{Key: n.Key, Channel: n.Channel, Recipient: n.Recipient, Event: n.Event, CaseID: n.CaseID}
	var (
		retry   bool
		sendErr error
	)
	if err := json.Unmarshal(n.Payload, &m.Vars); err != nil && len(n.Payload) > 0 {
		sendErr = fmt.Errorf("payload: %w", err)
	} else if nf := d.o.Notifiers[n.Channel]; nf == nil {
		sendErr = fmt.Errorf("channel %q is not configured", n.Channel)
	} else {
		actx, cancel := context.WithTimeout(ctx, timeout)
		retry, sendErr = nf.Notify(actx, m)
		cancel()
	}
	now := d.o.Now().UTC()
	status, next, result, msg := store.NotificationSent, now, ResultSent, ""
	if sendErr != nil {
		msg = sendErr.Error()
		status, result = store.NotificationFailed, ResultFailed
		if retry && n.Attempts+1 < d.o.MaxAttempts {
			status, result = store.NotificationPending, ResultRetry
			next = now.Add(retryAfter(d.o.Backoff, d.o.MaxBackoff, d.o.Jitter, n.Attempts))
		}
		if d.lastErr[n.Channel] != msg {
			d.lastErr[n.Channel] = msg
			d.logger.Warn("notification not delivered", "channel", n.Channel, "key", n.Key, "attempt", n.Attempts+1, "retry", status == store.NotificationPending, "err", sendErr)
		}
	} else {
		delete(d.lastErr, n.Channel)
	}
	d.results.WithLabelValues(n.Channel, result).Inc()
	if err := d.o.Outbox.FinishNotification(ctx, n.ID, status, now, next, msg); err != nil {
		return fmt.Errorf("record notification %q: %w", n.Key, err)
	}
	return nil
}
