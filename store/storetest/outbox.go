package storetest

import (
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// testOutbox checks the notification outbox: idempotent enqueue, leases, outcomes, counts.
func testOutbox(t *testing.T, s store.Store) {
	ctx := t.Context()
	mk := func(key string, due time.Time) *store.Notification {
		return &store.Notification{Key: key, Channel: "sms", Recipient: "13800000000", Event: "dispatched",
			CaseID: "7", Payload: []byte(`{"a":1}`), NextAttempt: due, CreatedAt: at(0)}
	}
	a := mk("k1", at(0))
	created, err := s.EnqueueNotification(ctx, a)
	must(t, err)
	if !created || a.ID == 0 {
		t.Fatalf("first enqueue: created=%v id=%d", created, a.ID)
	}
	dup := mk("k1", at(0))
	dup.Recipient = "other"
	if created, err := s.EnqueueNotification(ctx, dup); err != nil || created {
		t.Fatalf("duplicate key: created=%v err=%v, want false, nil", created, err)
	}
	b := mk("k2", at(time.Minute))
	if _, err := s.EnqueueNotification(ctx, b); err != nil {
		t.Fatal(err)
	}
	_, err = s.EnqueueNotification(ctx, &store.Notification{Key: "", Channel: "sms"})
	wantCode(t, err, lanewatch.EInvalid)

	// Only k1 is due at base; the claim leases it.
	got, err := s.ClaimNotifications(ctx, at(0), at(time.Hour), 10)
	must(t, err)
	if len(got) != 1 || got[0].Key != "k1" || string(got[0].Payload) != `{"a":1}` || got[0].Recipient != "13800000000" {
		t.Fatalf("claim at base = %+v, want k1", got)
	}
	if again, err := s.ClaimNotifications(ctx, at(0), at(time.Hour), 10); err != nil || len(again) != 0 {
		t.Fatalf("claim while leased = %d rows (err %v), want 0", len(again), err)
	}
	// After the lease and k2's time, both are due, oldest first.
	got, err = s.ClaimNotifications(ctx, at(2*time.Hour), at(3*time.Hour), 10)
	must(t, err)
	if len(got) != 2 || got[0].Key != "k1" || got[1].Key != "k2" {
		t.Fatalf("claim after lease = %v, want k1, k2", keys(got))
	}
	must(t, s.FinishNotification(ctx, got[0].ID, store.NotificationPending, at(2*time.Hour), at(4*time.Hour), "gateway 503"))
	must(t, s.FinishNotification(ctx, got[1].ID, store.NotificationSent, at(2*time.Hour), at(2*time.Hour), ""))
	n, err := s.GetNotification(ctx, "k1")
	must(t, err)
	if n.Status != store.NotificationPending || n.Attempts != 1 || n.LastError != "gateway 503" || !n.NextAttempt.Equal(at(4*time.Hour)) {
		t.Fatalf("k1 after retry = %+v", n)
	}
	n, err = s.GetNotification(ctx, "k2")
	must(t, err)
	if n.Status != store.NotificationSent || n.SentAt == nil || !n.SentAt.Equal(at(2*time.Hour)) || n.Attempts != 1 {
		t.Fatalf("k2 after send = %+v", n)
	}
	must(t, s.FinishNotification(ctx, got[0].ID, store.NotificationFailed, at(5*time.Hour), at(5*time.Hour), "gave up"))
	if got, err := s.ClaimNotifications(ctx, at(100*time.Hour), at(101*time.Hour), 10); err != nil || len(got) != 0 {
		t.Fatalf("claim after outcomes = %v (err %v), want none", keys(got), err)
	}
	counts, err := s.CountNotifications(ctx)
	must(t, err)
	if counts[store.NotificationSent] != 1 || counts[store.NotificationFailed] != 1 || counts[store.NotificationPending] != 0 {
		t.Fatalf("counts = %v", counts)
	}
	_, err = s.GetNotification(ctx, "nope")
	wantCode(t, err, lanewatch.ENotFound)
	wantCode(t, s.FinishNotification(ctx, 999999, store.NotificationSent, at(0), at(0), ""), lanewatch.ENotFound)
	wantCode(t, s.FinishNotification(ctx, got0(got), "bogus", at(0), at(0), ""), lanewatch.EInvalid)
}

func got0(ns []*store.Notification) int64 {
	if len(ns) == 0 {
		return 1
	}
	return ns[0].ID
}

func keys(ns []*store.Notification) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Key
	}
	return out
}
