package commands_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/commands"
	"github.com/lanewatch/lanewatch/gateway"
	"github.com/lanewatch/lanewatch/internal/testenv"
	"github.com/lanewatch/lanewatch/store"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

// devices accepts every device whose password is "pw-" + its id; all are sweepers.
type devices struct{}

func (devices) Authenticate(_ context.Context, id, pw string) (*lanewatch.Device, error) {
	if pw != "pw-"+id {
		return nil, lanewatch.Errorf(lanewatch.EUnauthorized, "bad password")
	}
	return &lanewatch.Device{ID: id, Type: lanewatch.DeviceSweeper}, nil
}
func (devices) Lookup(_ context.Context, id string) (*lanewatch.Device, error) {
	return &lanewatch.Device{ID: id, Type: lanewatch.DeviceSweeper}, nil
}
func (devices) Touch(string, time.Time)           {}
func (devices) SetOnline(string, bool, time.Time) {}

type journal struct{}

func (journal) Append(context.Context, []byte, bool) (uint64, error) { return 0, nil }

// sink forwards the broker's command callbacks to the service built after the broker.
type sink struct {
	s atomic.Pointer[commands.Service]
}

func (k *sink) CommandsSubscribed(id string) { k.s.Load().CommandsSubscribed(id) }
func (k *sink) CommandResponse(ctx context.Context, id, cmd string, p []byte) error {
	return k.s.Load().CommandResponse(ctx, id, cmd, p)
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type rig struct {
	addr  string
	st    *sqlstore.Store
	svc   *commands.Service
	reg   *prometheus.Registry
	clock *clock
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, sqlstore.SQLiteOptions{Path: filepath.Join(t.TempDir(), "lw.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &rig{addr: testenv.FreeAddr(t), st: st, reg: prometheus.NewPedanticRegistry(),
		clock: &clock{t: time.Now().UTC().Truncate(time.Millisecond)}}
	k := &sink{}
	b, err := gateway.NewBroker(gateway.Options{TCPAddr: r.addr, Auth: devices{}, Devices: devices{}, Journal: journal{}, Commands: k})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	r.svc, err = commands.New(commands.Options{Store: st, Publisher: b, Presence: b, Registerer: r.reg, Now: r.clock.Now,
		ExpireInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	k.s.Store(r.svc)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = r.svc.Run(rctx) }()
	t.Cleanup(func() { cancel(); <-done; b.Close() })
	return r
}

// device is a paho client of one device that collects the commands it receives.
type device struct {
	t   *testing.T
	id  string
	c   paho.Client
	got chan commands.Delivery
}

func (r *rig) connect(t *testing.T, id string) *device {
	t.Helper()
	d := &device{t: t, id: id, got: make(chan commands.Delivery, 16)}
	o := paho.NewClientOptions().AddBroker("tcp://" + r.addr).SetClientID(id).SetUsername(id).SetPassword("pw-" + id).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	d.c = paho.NewClient(o)
	if tok := d.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	tok := d.c.Subscribe("devices/"+id+"/commands/#", 1, func(_ paho.Client, m paho.Message) {
		var dl commands.Delivery
		if err := json.Unmarshal(m.Payload(), &dl); err != nil {
			t.Errorf("command payload %s: %v", m.Payload(), err)
		}
		if want := "devices/" + id + "/commands/" + dl.Name; m.Topic() != want || m.Qos() != 1 {
			t.Errorf("command on %s qos %d, want %s qos 1", m.Topic(), m.Qos(), want)
		}
		d.got <- dl
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", id, tok.Error())
	}
	return d
}

func (d *device) next() commands.Delivery {
	d.t.Helper()
	select {
	case dl := <-d.got:
		return dl
	case <-time.After(10 * time.Second):
		d.t.Fatalf("%s received no command", d.id)
	}
	return commands.Delivery{}
}

func (d *device) answer(cmdID, body string) {
	d.t.Helper()
	tok := d.c.Publish("devices/"+d.id+"/responses/"+cmdID, 1, false, body)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		d.t.Fatalf("answer %s: %v", cmdID, tok.Error())
	}
}

func (d *device) close() { d.c.Disconnect(100) }

func (r *rig) status(t *testing.T, id string) *store.Command {
	t.Helper()
	c, err := r.st.GetCommand(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (r *rig) waitStatus(t *testing.T, id, status string) *store.Command {
	t.Helper()
	var c *store.Command
	testenv.WaitFor(t, 10*time.Second, "command "+id+" "+status, func() bool {
		c = r.status(t, id)
		return c.Status == status
	})
	return c
}

func statuses(c *store.Command) string {
	var s []string
	for _, h := range c.History {
		s = append(s, h.Status)
	}
	return strings.Join(s, ",")
}

// TestDeliveryRedeliveryResponse: a command queued while the device is offline reaches it when
// it subscribes; not answered, it comes again after a reconnect; the answer acknowledges it and
// it never comes again. A failed answer, a stranger's answer and a malformed one are handled.
func TestDeliveryRedeliveryResponse(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	c, err := r.svc.Send(ctx, "V-1", "set_route", json.RawMessage(`{"route": "R-7"}`), 0, "operator:ops")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != store.CommandQueued || !c.ExpiresAt.Equal(c.CreatedAt.Add(commands.DefaultTTL)) {
		t.Fatalf("queued = %+v", c)
	}

	d := r.connect(t, "V-1")
	got := d.next()
	if got.ID != c.ID || got.Name != "set_route" || string(got.Params) != `{"route":"R-7"}` || got.TS.IsZero() {
		t.Fatalf("delivery = %+v", got)
	}
	r.waitStatus(t, c.ID, store.CommandSent)
	d.close() // gone without answering

	r.clock.Add(time.Minute)
	d = r.connect(t, "V-1")
	if again := d.next(); again.ID != c.ID {
		t.Fatalf("redelivery = %+v, want command %s", again, c.ID)
	}
	sent := r.waitStatus(t, c.ID, store.CommandSent)
	testenv.WaitFor(t, 10*time.Second, "second attempt recorded", func() bool { return r.status(t, c.ID).Attempts == 2 })
	_ = sent

	d.answer(c.ID, `{"ok": true, "result": {"route": "R-7", "eta_s": 40}}`)
	done := r.waitStatus(t, c.ID, store.CommandAcknowledged)
	if statuses(done) != "queued,sent,sent,acknowledged" || !strings.Contains(string(done.Result), `"eta_s":40`) {
		t.Errorf("history %s, result %s", statuses(done), done.Result)
	}
	for i := 1; i < len(done.History); i++ {
		if done.History[i].At.Before(done.History[i-1].At) {
			t.Errorf("history out of order: %+v", done.History)
		}
	}
	// A resent answer changes nothing.
	d.answer(c.ID, `{"ok": false}`)
	if got := r.status(t, c.ID); got.Status != store.CommandAcknowledged || len(got.History) != 4 {
		t.Errorf("after a second answer: %s %s", got.Status, statuses(got))
	}
	d.close()

	// Reconnecting, the device gets only the new command, not the acknowledged one.
	c2, err := r.svc.Send(ctx, "V-1", "text", json.RawMessage(`{"text":"请靠边停车"}`), time.Minute, "rule:x")
	if err != nil {
		t.Fatal(err)
	}
	d = r.connect(t, "V-1")
	if got := d.next(); got.ID != c2.ID || !strings.Contains(string(got.Params), "请靠边停车") {
		t.Fatalf("after reconnect got %+v, want only %s", got, c2.ID)
	}

	// Another device cannot answer V-1's command: its own response topic does not reach it.
	other := r.connect(t, "V-2")
	other.answer(c2.ID, `{"ok": true}`)
	// A malformed answer is refused; the command stays sent.
	d.answer(c2.ID, `not json`)
	d.answer(c2.ID, `{"result": {}}`)
	if got := r.status(t, c2.ID); got.Status != store.CommandSent {
		t.Errorf("after stranger's and malformed answers: %s", got.Status)
	}
	d.answer(c2.ID, `{"ok": false, "result": {"error": "no screen"}}`)
	failed := r.waitStatus(t, c2.ID, store.CommandFailed)
	// Sent once, or twice when the old connection was still open as it was queued.
	if h := statuses(failed); h != "queued,sent,failed" && h != "queued,sent,sent,failed" {
		t.Errorf("failed history %s", h)
	}
	// While connected, a new command goes out at once.
	c3, err := r.svc.Send(ctx, "V-1", "locate", nil, 0, "admin")
	if err != nil {
		t.Fatal(err)
	}
	// c2 may have gone out twice (the old connection was still open as it was queued); the
	// device dedupes by id (docs/COMMANDS.md), so a late copy of c2 is skipped here.
	got = d.next()
	for got.ID == c2.ID {
		got = d.next()
	}
	if got.ID != c3.ID || string(got.Params) != "{}" {
		t.Errorf("live delivery = %+v", got)
	}
	r.waitStatus(t, c3.ID, store.CommandSent)

	attempts := 0
	for _, id := range []string{c.ID, c2.ID, c3.ID} {
		attempts += r.status(t, id).Attempts
	}
	for status, want := range map[string]float64{"queued": 3, "sent": float64(attempts), "acknowledged": 1, "failed": 1, "expired": 0} {
		if got := testutil.ToFloat64(metric(t, r.reg, status)); got != want {
			t.Errorf("lanewatch_commands_total{status=%q} = %v, want %v", status, got, want)
		}
	}
}

// TestExpiry: a command whose TTL passes before the device connects is expired, with the time
// of expiry in its history, and is never delivered.
func TestExpiry(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	old, err := r.svc.Send(ctx, "V-3", "set_route", json.RawMessage(`{"route":"R-1"}`), 30*time.Second, "operator:ops")
	if err != nil {
		t.Fatal(err)
	}
	r.clock.Add(29 * time.Second)
	if n, err := r.svc.Expire(ctx); err != nil || n != 0 {
		t.Fatalf("Expire before the TTL = %d, %v", n, err)
	}
	r.clock.Add(2 * time.Second)
	if n, err := r.svc.Expire(ctx); err != nil || n != 1 {
		t.Fatalf("Expire after the TTL = %d, %v", n, err)
	}
	got := r.status(t, old.ID)
	if got.Status != store.CommandExpired || statuses(got) != "queued,expired" ||
		!got.History[1].At.Equal(old.CreatedAt.Add(31*time.Second)) {
		t.Fatalf("expired = %s %+v", got.Status, got.History)
	}
	fresh, err := r.svc.Send(ctx, "V-3", "text", json.RawMessage(`{"text":"hi"}`), time.Minute, "operator:ops")
	if err != nil {
		t.Fatal(err)
	}
	d := r.connect(t, "V-3")
	if dl := d.next(); dl.ID != fresh.ID {
		t.Fatalf("delivered %+v, want only the unexpired %s", dl, fresh.ID)
	}
	// An answer to the expired command does not revive it.
	d.answer(old.ID, `{"ok": true}`)
	d.answer(fresh.ID, `{"ok": true}`)
	r.waitStatus(t, fresh.ID, store.CommandAcknowledged)
	if got := r.status(t, old.ID); got.Status != store.CommandExpired {
		t.Errorf("expired command after an answer: %s", got.Status)
	}
	if got := testutil.ToFloat64(metric(t, r.reg, "expired")); got != 1 {
		t.Errorf("expired metric = %v", got)
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		name, params string
		ttl          time.Duration
		field        string
	}{
		{"", "{}", 0, "name"},
		{"a/b", "{}", 0, "name"},
		{"a+", "{}", 0, "name"},
		{"#", "{}", 0, "name"},
		{strings.Repeat("x", 65), "{}", 0, "name"},
		{"ok", "[1]", 0, "params"},
		{"ok", `"s"`, 0, "params"},
		{"ok", "{", 0, "params"},
		{"ok", `{"a":` + strings.Repeat(`"x`, 1) + `}`, 0, "params"},
		{"ok", "{}", time.Millisecond, "ttl"},
		{"ok", "{}", 8 * 24 * time.Hour, "ttl"},
		{"ok", "{}", -time.Minute, "ttl"},
	} {
		_, _, err := commands.Validate(tt.name, json.RawMessage(tt.params), tt.ttl)
		if lanewatch.ErrorCode(err) != lanewatch.EInvalid || !strings.HasPrefix(lanewatch.ErrorMessage(err), tt.field+":") {
			t.Errorf("Validate(%q, %s, %v) = %v, want an invalid %s", tt.name, tt.params, tt.ttl, err, tt.field)
		}
	}
	p, ttl, err := commands.Validate("set_route", json.RawMessage(" { \"a\" : 1 } "), 0)
	if err != nil || string(p) != `{"a":1}` || ttl != commands.DefaultTTL {
		t.Errorf("Validate ok = %s, %v, %v", p, ttl, err)
	}
}

func metric(t *testing.T, g prometheus.Gatherer, status string) prometheus.Collector {
	t.Helper()
	return gathered{g: g, status: status}
}

// gathered exposes one series of lanewatch_commands_total for testutil.ToFloat64.
type gathered struct {
	g      prometheus.Gatherer
	status string
}

func (x gathered) Describe(ch chan<- *prometheus.Desc) {}
func (x gathered) Collect(ch chan<- prometheus.Metric) {
	mfs, _ := x.g.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "lanewatch_commands_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == x.status {
				ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("v", "", nil, nil), prometheus.CounterValue, m.GetCounter().GetValue())
			}
		}
	}
}

// flakyTransport is a terminal transport whose first deliveries fail.
type flakyTransport struct {
	mu    sync.Mutex
	fails int
	got   []string
}

func (*flakyTransport) CommandSubscriber(string) bool { return true }
func (f *flakyTransport) DeliverCommand(_, id, _ string, _ json.RawMessage, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return errors.New("write: broken pipe")
	}
	f.got = append(f.got, id)
	return nil
}

type noMQTT struct{}

func (noMQTT) Publish(string, []byte, bool, byte) error { return errors.New("not used") }
func (noMQTT) CommandSubscriber(string) bool            { return false }

// TestFailedPublishDeliveredAgain: a delivery whose publish failed (the command is recorded
// sent first) is made again by the next Deliver on the same subscription (Run's retry), not
// left until the device reconnects; one that went out is not repeated.
func TestFailedPublishDeliveredAgain(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, sqlstore.SQLiteOptions{Path: filepath.Join(t.TempDir(), "lw.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tr := &flakyTransport{fails: 1}
	svc, err := commands.New(commands.Options{Store: st, Publisher: noMQTT{}, Presence: noMQTT{},
		Transports: []commands.Transport{tr}, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := svc.Send(ctx, "T-1", "text", json.RawMessage(`{"text":"hi"}`), time.Hour, "operator:ops")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := svc.Deliver(ctx, "T-1", false); err == nil || n != 0 {
		t.Fatalf("first delivery: %d, %v; want the transport's error", n, err)
	}
	if n, err := svc.Deliver(ctx, "T-1", false); err != nil || n != 1 {
		t.Fatalf("retry: %d, %v; want the command delivered", n, err)
	}
	if n, err := svc.Deliver(ctx, "T-1", false); err != nil || n != 0 {
		t.Fatalf("third: %d, %v; want nothing (delivered on this subscription)", n, err)
	}
	got, err := st.GetCommand(ctx, c.ID)
	if err != nil || got.Status != store.CommandSent || got.Attempts != 2 || len(tr.got) != 1 || tr.got[0] != c.ID {
		t.Fatalf("command %+v (%v), delivered %v", got, err, tr.got)
	}
}

// holds is a transport connected to one device only.
type holds struct {
	flakyTransport
	dev string
}

func (h *holds) CommandSubscriber(id string) bool { return id == h.dev }

// TestSweepDeliversUnannounced: a command queued through another node whose announcement
// never arrived (no bus here: as when NOTIFY was lost) reaches the device connected to this
// node by Run's sweep, without a reconnect; a device not connected here is left alone.
func TestSweepDeliversUnannounced(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, sqlstore.SQLiteOptions{Path: filepath.Join(t.TempDir(), "lw.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	other, err := commands.New(commands.Options{Store: st, Publisher: noMQTT{}, Presence: noMQTT{}, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := other.Send(ctx, "T-1", "text", json.RawMessage(`{"text":"hi"}`), time.Hour, "operator:ops")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Send(ctx, "T-2", "text", json.RawMessage(`{"text":"elsewhere"}`), time.Hour, "operator:ops"); err != nil {
		t.Fatal(err)
	}
	tr := &holds{dev: "T-1"}
	here, err := commands.New(commands.Options{Store: st, Publisher: noMQTT{}, Presence: noMQTT{},
		Transports: []commands.Transport{tr}, Connected: func() []string { return []string{"T-1"} },
		SweepInterval: 20 * time.Millisecond, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := here.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v: want the one connected device woken", n, err)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- here.Run(rctx) }()
	for {
		tr.mu.Lock()
		got := slices.Clone(tr.got)
		tr.mu.Unlock()
		if len(got) > 0 {
			if len(got) != 1 || got[0] != c.ID {
				t.Fatalf("delivered %v, want only %s", got, c.ID)
			}
			break
		}
		if rctx.Err() != nil {
			t.Fatal("the unannounced command never reached the device connected here")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if got, _ := st.GetCommand(ctx, c.ID); got.Status != store.CommandSent {
		t.Errorf("command status %s, want sent", got.Status)
	}
}
