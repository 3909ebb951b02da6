package store

import (
	"context"
	"time"
)

// Notification states in the outbox.
const (
	NotificationPending = "pending" // waiting for (another) delivery attempt
	NotificationSent    = "sent"    // delivered
	NotificationFailed  = "failed"  // given up: permanent error or attempts exhausted
)

// Notification is one message in the outbox: one channel, one recipient.
type Notification struct {
	ID int64
	// Key is the idempotency key: enqueueing a key that exists already does nothing.
	Key       string
	Channel   string // sms | wechat | webhook | ...
	Recipient string // phone number, openid, URL or channel-specific address
	Event     string // dispatched | remind | overdue | escalate | result | duplicate
	CaseID    string
	// Payload is the channel-independent JSON of the message (template variables).
	Payload     []byte
	Status      string
	Attempts    int
	NextAttempt time.Time // when a pending notification may be tried (again)
	LastError   string
	CreatedAt   time.Time
	SentAt      *time.Time
}

// Outbox persists notifications until they are delivered (at least once).
type Outbox interface {
	// EnqueueNotification inserts n as pending (ID written back); if a notification with n.Key
	// exists already nothing changes and created is false.
	EnqueueNotification(ctx context.Context, n *Notification) (created bool, err error)
	// ClaimNotifications returns up to limit pending notifications whose NextAttempt <= now,
	// oldest first, and moves their NextAttempt to leaseUntil so that no other worker takes
	// them meanwhile (oldest = lowest ID first); a crashed worker's claims become due again at leaseUntil.
	ClaimNotifications(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*Notification, error)
	// FinishNotification records the outcome of one attempt: status (pending to retry at next,
	// sent with sentAt = at, or failed), attempts incremented, lastError stored.
	FinishNotification(ctx context.Context, id int64, status string, at, next time.Time, lastError string) error
	// GetNotification returns a notification by idempotency key; ENotFound if absent.
	GetNotification(ctx context.Context, key string) (*Notification, error)
	// CountNotifications returns the number of notifications per status.
	CountNotifications(ctx context.Context) (map[string]int, error)
}
