package gateway

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
