package storetest

import (
	"context"
	"encoding/json"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

func newCommand(dev, name string, created time.Time, ttl time.Duration) *store.Command {
	return &store.Command{DeviceID: dev, Name: name, Params: []byte(`{"route":"R-7","speed":12}`),
		Status: store.CommandQueued, Actor: "operator:ops", CreatedAt: created, UpdatedAt: created,
		ExpiresAt: created.Add(ttl), History: []store.CommandEvent{{Status: store.CommandQueued, At: created}}}
}

// testCommands checks the command queue: round trip, per-device listing newest first with
// cursors, pending selection, conditional transitions with history and attempts, expiry.
func testCommands(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newCommand("V-1", "set_route", at(0), 10*time.Minute)
	must(t, s.CreateCommand(ctx, a))
	if a.ID == "" {
		t.Fatal("CreateCommand assigned no id")
	}
	got, err := s.GetCommand(ctx, a.ID)
	must(t, err)
	var params map[string]any
	if err := json.Unmarshal(got.Params, &params); err != nil || params["route"] != "R-7" {
		t.Errorf("params = %s (%v)", got.Params, err)
	}
	got.Params = a.Params
	if !reflect.DeepEqual(got, a) || got.CreatedAt.Location() != time.UTC || got.History[0].At.Location() != time.UTC {
		t.Errorf("GetCommand = %+v, want %+v", got, a)
	}
	_, err = s.GetCommand(ctx, "999999")
	wantCode(t, err, lanewatch.ENotFound)
	_, err = s.GetCommand(ctx, "not-a-number")
	wantCode(t, err, lanewatch.ENotFound)

	b := newCommand("V-1", "text", at(time.Second), time.Minute)
	c := newCommand("V-2", "text", at(2*time.Second), time.Minute)
	must(t, s.CreateCommand(ctx, b))
	must(t, s.CreateCommand(ctx, c))

	// Listing: one device only, newest first, paged.
	page1, next, err := s.ListCommands(ctx, "V-1", 1, "")
	must(t, err)
	if len(page1) != 1 || page1[0].ID != b.ID || next == "" {
		t.Fatalf("page 1 = %v, next %q", commandIDs(page1), next)
	}
	page2, next, err := s.ListCommands(ctx, "V-1", 1, next)
	must(t, err)
	if len(page2) != 1 || page2[0].ID != a.ID || next != "" {
		t.Fatalf("page 2 = %v, next %q", commandIDs(page2), next)
	}
	if none, _, err := s.ListCommands(ctx, "V-9", 0, ""); err != nil || len(none) != 0 {
		t.Errorf("ListCommands of an unknown device = %v, %v", none, err)
	}
	_, _, err = s.ListCommands(ctx, "V-1", 0, "x")
	wantCode(t, err, lanewatch.EInvalid)

	// Pending: queued and sent, not expired at now, oldest first.
	pend, err := s.PendingCommands(ctx, "V-1", at(30*time.Second))
	must(t, err)
	if len(pend) != 2 || pend[0].ID != a.ID || pend[1].ID != b.ID {
		t.Fatalf("pending = %v", commandIDs(pend))
	}
	if pend, _ := s.PendingCommands(ctx, "V-1", at(2*time.Minute)); len(pend) != 1 || pend[0].ID != a.ID {
		t.Errorf("pending after b's expiry = %v", commandIDs(pend))
	}
	// The devices with pending commands, each once, in id order (the delivery sweep).
	if devs, err := s.PendingCommandDevices(ctx, at(30*time.Second)); err != nil || !reflect.DeepEqual(devs, []string{"V-1", "V-2"}) {
		t.Errorf("PendingCommandDevices = %v, %v; want [V-1 V-2]", devs, err)
	}
	if devs, err := s.PendingCommandDevices(ctx, at(2*time.Minute)); err != nil || !reflect.DeepEqual(devs, []string{"V-1"}) {
		t.Errorf("PendingCommandDevices after b's and c's expiry = %v, %v; want [V-1]", devs, err)
	}

	// Transitions: sent twice (redelivery), then acknowledged with a result; then nothing more.
	sent := []string{store.CommandQueued, store.CommandSent}
	for i := 1; i <= 2; i++ {
		up, err := s.UpdateCommand(ctx, a.ID, sent, store.CommandChange{Status: store.CommandSent, At: at(time.Duration(i) * time.Second)})
		must(t, err)
		if up.Status != store.CommandSent || up.Attempts != i || len(up.History) != i+1 {
			t.Fatalf("after send %d: %+v", i, up)
		}
	}
	res := []byte(`{"ok":true,"result":{"applied":true}}`)
	up, err := s.UpdateCommand(ctx, a.ID, []string{store.CommandSent}, store.CommandChange{Status: store.CommandAcknowledged, At: at(5 * time.Second), Result: res})
	must(t, err)
	if up.Status != store.CommandAcknowledged || string(up.Result) != string(res) || up.Attempts != 2 {
		t.Errorf("acknowledged = %+v", up)
	}
	_, err = s.UpdateCommand(ctx, a.ID, sent, store.CommandChange{Status: store.CommandSent, At: at(6 * time.Second)})
	wantCode(t, err, lanewatch.EConflict)
	_, err = s.UpdateCommand(ctx, "424242", sent, store.CommandChange{Status: store.CommandSent, At: at(6 * time.Second)})
	wantCode(t, err, lanewatch.ENotFound)
	got, err = s.GetCommand(ctx, a.ID)
	must(t, err)
	wantHist := []store.CommandEvent{{Status: store.CommandQueued, At: at(0)}, {Status: store.CommandSent, At: at(time.Second)},
		{Status: store.CommandSent, At: at(2 * time.Second)}, {Status: store.CommandAcknowledged, At: at(5 * time.Second)}}
	if !reflect.DeepEqual(got.History, wantHist) || !got.UpdatedAt.Equal(at(5*time.Second)) {
		t.Errorf("history = %+v, updated %v", got.History, got.UpdatedAt)
	}

	// Expiry: b and c (1 minute TTL) expire at 61 s; the acknowledged a stays.
	if exp, err := s.ExpireCommands(ctx, at(59*time.Second), 0); err != nil || len(exp) != 0 {
		t.Errorf("early ExpireCommands = %v, %v", commandIDs(exp), err)
	}
	exp, err := s.ExpireCommands(ctx, at(90*time.Second), 0)
	must(t, err)
	if len(exp) != 2 || exp[0].ID != b.ID || exp[1].ID != c.ID || exp[0].Status != store.CommandExpired {
		t.Fatalf("ExpireCommands = %v", commandIDs(exp))
	}
	got, _ = s.GetCommand(ctx, c.ID)
	if got.Status != store.CommandExpired || len(got.History) != 2 || !got.History[1].At.Equal(at(90*time.Second)) {
		t.Errorf("expired c = %+v", got)
	}
	if exp, _ := s.ExpireCommands(ctx, at(time.Hour), 0); len(exp) != 0 {
		t.Errorf("second ExpireCommands = %v", commandIDs(exp))
	}
	if got, _ := s.GetCommand(ctx, a.ID); got.Status != store.CommandAcknowledged {
		t.Errorf("a after expiry = %s", got.Status)
	}
}

// testCommandRace checks that of concurrent answers to one command exactly one wins.
func testCommandRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := newCommand("V-1", "x", at(0), time.Hour)
	must(t, s.CreateCommand(ctx, c))
	if _, err := s.UpdateCommand(ctx, c.ID, []string{store.CommandQueued}, store.CommandChange{Status: store.CommandSent, At: at(time.Second)}); err != nil {
		t.Fatal(err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for i := range 8 {
		wg.Go(func() {
			status := store.CommandAcknowledged
			if i%2 == 1 {
				status = store.CommandFailed
			}
			_, err := s.UpdateCommand(ctx, c.ID, []string{store.CommandSent}, store.CommandChange{Status: status, At: at(2 * time.Second)})
			mu.Lock()
			defer mu.Unlock()
			switch lanewatch.ErrorCode(err) {
			case "":
				wins++
			case lanewatch.EConflict:
			default:
				t.Errorf("UpdateCommand: %v", err)
			}
		})
	}
	wg.Wait()
	got, err := s.GetCommand(ctx, c.ID)
	must(t, err)
	if wins != 1 || len(got.History) != 3 {
		t.Errorf("wins = %d, history %+v", wins, got.History)
	}
}

func commandIDs(cs []*store.Command) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}
