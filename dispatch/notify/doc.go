// Package notify delivers the notifications that dispatch writes to the store outbox: it
// claims due rows, hands each to the notifier of its channel (subpackages sms, wechat,
// webhook), records the outcome and retries with exponential backoff, so each is delivered at
// least once; the outbox key travels as the idempotency key. Modelled on alertmanager's
// notify package: a notifier returns (retry bool, err error).
//
// It must not know cases or their lifecycle: messages are channel, recipient and variables.
package notify
