package gateway

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/lanewatch/lanewatch"
)

// memLog is an in-memory LogReader.
type memLog struct {
	mu        sync.Mutex
	recs      [][]byte
	next      int
	committed uint64
	avail     chan struct{}
}

func newMemLog() *memLog { return &memLog{avail: make(chan struct{}, 1)} }

func (l *memLog) add(b []byte) {
	l.mu.Lock()
	l.recs = append(l.recs, b)
	l.mu.Unlock()
	select {
	case l.avail <- struct{}{}:
	default:
	}
}

func (l *memLog) Next(ctx context.Context) (uint64, []byte, error) {
	for {
		l.mu.Lock()
		if l.next < len(l.recs) {
			l.next++
			seq, rec := uint64(l.next), l.recs[l.next-1]
			l.mu.Unlock()
			return seq, rec, nil
		}
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-l.avail:
		}
	}
}

func (l *memLog) Commit(seq uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq < l.committed {
		return fmt.Errorf("commit went backwards: %d < %d", seq, l.committed)
	}
	l.committed = seq
	return nil
}

type recHandler struct {
	mu   sync.Mutex
	seen map[string][]time.Time
	n    int
}

func (h *recHandler) Handle(_ context.Context, m *lanewatch.Message, _ *lanewatch.Device) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range m.Telemetry {
		h.seen[m.DeviceID] = append(h.seen[m.DeviceID], t.TS)
	}
	h.n++
	return nil
}

type memDead struct {
	mu  sync.Mutex
	dls []*lanewatch.DeadLetter
}

func (d *memDead) AddDeadLetter(_ context.Context, dl *lanewatch.DeadLetter, _ int) error {
	d.mu.Lock()
	d.dls = append(d.dls, dl)
	d.mu.Unlock()
	return nil
}

func TestPipelineOrderDeadLettersAndCommit(t *testing.T) {
	defer goleak.VerifyNone(t)
	devs := fakeDevices{types: map[string]lanewatch.DeviceType{}}
	for i := range 8 {
		devs.types[fmt.Sprintf("sw-%d", i)] = lanewatch.DeviceSweeper
	}
	log := newMemLog()
	h := &recHandler{seen: map[string][]time.Time{}}
	dead := &memDead{}
	p, err := NewPipeline(PipelineOptions{Reader: log, Handler: h, DeadLetters: dead, Devices: devs,
		Workers: 3, QueueSize: 4, CommitInterval: 10 * time.Millisecond, Registerer: prometheus.NewPedanticRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	const perDevice = 50
	total := 0
	for i := range perDevice {
		for d := range 8 {
			id := fmt.Sprintf("sw-%d", d)
			payload := fmt.Sprintf(`{"ts":%q,"lat":26.1,"lon":119.3}`, base.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano))
			log.add(appendRecord(nil, &record{Kind: lanewatch.KindTelemetry, Received: time.Now(), DeviceID: id, Payload: []byte(payload)}))
			total++
		}
	}
	log.add(appendRecord(nil, &record{Kind: lanewatch.KindTelemetry, Received: time.Now(), DeviceID: "sw-1", Payload: []byte(`{"lat":1}`)}))
	log.add(appendRecord(nil, &record{Kind: lanewatch.KindTelemetry, Received: time.Now(), DeviceID: "ghost", Payload: []byte(`{}`)}))
	total += 2

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		log.mu.Lock()
		c := log.committed
		log.mu.Unlock()
		if c == uint64(total) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("committed %d of %d", c, total)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for id, ts := range h.seen {
		if len(ts) != perDevice {
			t.Errorf("%s: %d points, want %d", id, len(ts), perDevice)
		}
		for i := 1; i < len(ts); i++ {
			if ts[i].Before(ts[i-1]) {
				t.Fatalf("%s: out of order at %d", id, i)
			}
		}
	}
	if len(dead.dls) != 2 {
		t.Fatalf("dead letters = %d, want 2", len(dead.dls))
	}
	reasons := map[string]bool{dead.dls[0].Reason: true, dead.dls[1].Reason: true}
	if !reasons["unknown_device"] || !reasons["missing_field"] {
		t.Errorf("dead letter reasons = %v", reasons)
	}
}

func TestWatermark(t *testing.T) {
	p := &Pipeline{workers: []*worker{{ch: make(chan item, 2)}, {ch: make(chan item, 2)}}}
	// Worker 0 finished 5, worker 1 is busy after 3; 7 dispatched overall.
	p.workers[0].done.Store(5)
	p.workers[1].done.Store(3)
	p.workers[0].dispatched.Store(5)
	p.workers[1].dispatched.Store(7)
	if got := p.watermark(7); got != 3 {
		t.Fatalf("watermark = %d, want 3", got)
	}
	p.workers[1].done.Store(7)
	if got := p.watermark(7); got != 7 {
		t.Fatalf("watermark idle = %d, want 7", got)
	}
}

// seqHolder holds the records from first on (a handler step that waits for later records).
type seqHolder struct {
	first    atomic.Uint64
	released atomic.Uint64
}

func (h *seqHolder) HeldSeq() uint64 { return h.first.Load() }

func (h *seqHolder) Release(seq uint64) {
	h.released.Store(seq)
	if h.first.Load() < seq {
		h.first.Store(seq)
	}
}

// heldRun starts a pipeline over 20 telemetry records of sw-0 in log (those whose index is in
// bad have a payload that is rejected) and returns a stop function that waits for Run.
func heldRun(t *testing.T, log LogReader, add func([]byte), o PipelineOptions, bad ...int) (*Pipeline, func()) {
	t.Helper()
	o.Reader, o.Devices = log, fakeDevices{types: map[string]lanewatch.DeviceType{"sw-0": lanewatch.DeviceSweeper}}
	o.CommitInterval, o.Registerer = 5*time.Millisecond, prometheus.NewPedanticRegistry()
	if o.DeadLetters == nil {
		o.DeadLetters = &memDead{}
	}
	p, err := NewPipeline(o)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).UTC()
	for i := range 20 {
		payload := fmt.Sprintf(`{"ts":%q,"lat":26.1,"lon":119.3}`, base.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano))
		if slices.Contains(bad, i) {
			payload = `{"lat":1}`
		}
		add(appendRecord(nil, &record{Kind: lanewatch.KindTelemetry, Received: time.Now(), DeviceID: "sw-0", Payload: []byte(payload)}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	return p, func() {
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// waitUntil polls cond for up to 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (l *memLog) committedSeq() uint64 { l.mu.Lock(); defer l.mu.Unlock(); return l.committed }

// TestPipelineCommitStopsBeforeHeld: the journal is committed up to just before the oldest
// record a Holder still holds, and all the way once it holds nothing.
func TestPipelineCommitStopsBeforeHeld(t *testing.T) {
	defer goleak.VerifyNone(t)
	log := newMemLog()
	hold := &seqHolder{}
	hold.first.Store(7)
	_, stop := heldRun(t, log, log.add, PipelineOptions{Handler: &recHandler{seen: map[string][]time.Time{}}, Holder: hold})
	defer stop()
	waitUntil(t, "commit 6", func() bool { return log.committedSeq() == 6 })
	time.Sleep(30 * time.Millisecond) // several commit intervals: it stays there
	if c := log.committedSeq(); c != 6 {
		t.Fatalf("committed %d while record 7 is held, want 6", c)
	}
	hold.first.Store(0)
	waitUntil(t, "commit 20", func() bool { return log.committedSeq() == 20 })
}

// TestPipelineReleasesBeyondMaxHeld: a holder that would keep more than MaxHeldRecords
// records uncommitted is told to release the oldest, and the journal is committed past them.
func TestPipelineReleasesBeyondMaxHeld(t *testing.T) {
	defer goleak.VerifyNone(t)
	log := newMemLog()
	hold := &seqHolder{}
	hold.first.Store(2)
	_, stop := heldRun(t, log, log.add, PipelineOptions{Handler: &recHandler{seen: map[string][]time.Time{}}, Holder: hold, MaxHeldRecords: 5})
	defer stop()
	// 20 handled: the holder released up to 15 and holds 15..20.
	waitUntil(t, "commit 14", func() bool { return log.committedSeq() == 14 })
	if r := hold.released.Load(); r != 15 {
		t.Errorf("released before %d, want 15", r)
	}
}

// markedLog is a memLog that keeps the handled mark (HandledMarker).
type markedLog struct {
	*memLog
	handled atomic.Uint64
}

func (l *markedLog) Handled() uint64 { return l.handled.Load() }
func (l *markedLog) MarkHandled(seq uint64) error {
	if seq > l.handled.Load() {
		l.handled.Store(seq)
	}
	return nil
}

type replayHandler struct {
	mu     sync.Mutex
	replay map[uint64]bool
}

func (h *replayHandler) Handle(_ context.Context, m *lanewatch.Message, _ *lanewatch.Device) error {
	h.mu.Lock()
	h.replay[m.Seq] = m.Replay
	h.mu.Unlock()
	return nil
}

// TestPipelineReplaysHandledForHolderOnly: after a restart, the records up to the handled mark
// (handled before, kept uncommitted for a holder) reach the handler marked Replay, are not
// counted again and leave no second dead letter; the later ones are handled in full; and the
// mark is written beyond the commit while the holder holds records.
func TestPipelineReplaysHandledForHolderOnly(t *testing.T) {
	defer goleak.VerifyNone(t)
	log := &markedLog{memLog: newMemLog()}
	log.handled.Store(10)
	h := &replayHandler{replay: map[uint64]bool{}}
	dead := &memDead{}
	hold := &seqHolder{}
	hold.first.Store(15)
	// Records 5 and 15 are rejected: dead-lettered when first handled (5) and now (15).
	p, stop := heldRun(t, log, log.add, PipelineOptions{Handler: h, Holder: hold, DeadLetters: dead}, 4, 14)
	waitUntil(t, "the handled mark at 20", func() bool { return log.handled.Load() == 20 })
	stop()
	if c := log.committedSeq(); c != 14 {
		t.Errorf("committed %d, want 14 (record 15 is held)", c)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for seq := uint64(1); seq <= 20; seq++ {
		if seq == 5 || seq == 15 {
			continue
		}
		if r, ok := h.replay[seq]; !ok || r != (seq <= 10) {
			t.Errorf("record %d: handled %v, Replay %v; want Replay %v", seq, ok, r, seq <= 10)
		}
	}
	if len(dead.dls) != 1 {
		t.Errorf("%d dead letters, want 1 (record 15; record 5 was kept when first handled)", len(dead.dls))
	}
	if got := testutil.ToFloat64(p.m.messages.WithLabelValues("telemetry")); got != 9 {
		t.Errorf("messages counted %v, want 9 (records 11-20 but 15)", got)
	}
}
