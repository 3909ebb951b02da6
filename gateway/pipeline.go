package gateway

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/gateway/payload"
)

// LogReader is the consuming side of the journal.
type LogReader interface {
	// Next blocks until the next record is available and returns it; the pipeline does not
	// retain rec after its next call to Next.
	Next(ctx context.Context) (seq uint64, rec []byte, err error)
	// Commit records that every record up to and including seq has been fully processed.
	Commit(seq uint64) error
}

// Handler processes one decoded message of a known device (time-series write, rules,
// coverage). Calls for one device are sequential and in publish order.
type Handler interface {
	Handle(ctx context.Context, msg *lanewatch.Message, dev *lanewatch.Device) error
}

// Flusher makes everything handed to the handlers so far durable (for example the InfluxDB
// sink's buffered points); the pipeline calls it before each commit of the journal.
type Flusher interface {
	Flush(ctx context.Context) error
}

// HandledMarker is a LogReader that also keeps the highest record handled, which may be
// beyond the commit while a Holder holds records (wal.Log).
type HandledMarker interface {
	Handled() uint64
	MarkHandled(seq uint64) error
}

// Holder is a handler step that keeps some of what it was handed pending (coverage credit
// that waits for later points): the journal is not committed past the oldest record it holds,
// so that a restart replays it.
type Holder interface {
	// HeldSeq is the oldest journal record still held, 0 for none.
	HeldSeq() uint64
	// Release finishes, with what it has, what it holds of the records before seq, so that
	// HeldSeq moves past them (the journal's backlog is bounded: MaxHeldRecords).
	Release(seq uint64)
}

// DeadLetterSink keeps rejected payloads.
type DeadLetterSink interface {
	AddDeadLetter(ctx context.Context, dl *lanewatch.DeadLetter, keep int) error
}

// PipelineOptions configure a Pipeline.
type PipelineOptions struct {
	Reader      LogReader
	Handler     Handler
	Flusher     Flusher // may be nil
	Holder      Holder  // may be nil
	DeadLetters DeadLetterSink
	Devices     DeviceLookup
	Decoder     *payload.Decoder

	Workers        int           // partitions; default 4
	QueueSize      int           // per worker; default 256
	CommitInterval time.Duration // default 1s
	DrainTimeout   time.Duration // how long shutdown waits for the workers' queues; default 20s
	DeadLetterKeep int           // default 10000
	// MaxHeldRecords bounds how many records the Holder may keep uncommitted behind the
	// handled ones; beyond it the oldest are released. Default 1,000,000.
	MaxHeldRecords uint64
	// DeadLettersPerMinute bounds how many rejections per device per minute are stored (all are
	// counted and the first of each minute is logged); default 20.
	DeadLettersPerMinute int

	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

// Pipeline reads the journal in order, decodes each record and hands it to the Handler on one of
// Workers goroutines chosen by device id, so each device's messages stay in order. It commits
// the journal up to the oldest record not yet fully handled, after flushing the Flusher.
type Pipeline struct {
	o      PipelineOptions
	logger *slog.Logger
	m      *pipelineMetrics
	seed   maphash.Seed

	workers []*worker
	// replayTo: records up to it were handled before the restart and are replayed for the
	// Holder only (HandledMarker).
	replayTo uint64

	mu      sync.Mutex
	rejects map[string]rejectWindow // by device id
}

type rejectWindow struct {
	start  time.Time
	stored int
}

type item struct {
	seq uint64
	rec record
}

type worker struct {
	ch         chan item
	done       atomic.Uint64 // last seq fully handled
	dispatched atomic.Uint64 // last seq sent; written only by the dispatcher
}

// NewPipeline builds a pipeline; Run drives it.
func NewPipeline(o PipelineOptions) (*Pipeline, error) {
	if o.Reader == nil || o.Handler == nil || o.DeadLetters == nil || o.Devices == nil {
		return nil, errors.New("gateway: pipeline needs Reader, Handler, DeadLetters and Devices")
	}
	if o.Decoder == nil {
		o.Decoder = &payload.Decoder{}
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 256
	}
	if o.CommitInterval <= 0 {
		o.CommitInterval = time.Second
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 20 * time.Second
	}
	if o.DeadLetterKeep <= 0 {
		o.DeadLetterKeep = 10000
	}
	if o.MaxHeldRecords == 0 {
		o.MaxHeldRecords = 1_000_000
	}
	if o.DeadLettersPerMinute <= 0 {
		o.DeadLettersPerMinute = 20
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
	p := &Pipeline{o: o, logger: o.Logger.With("component", "pipeline"), seed: maphash.MakeSeed(),
		rejects: map[string]rejectWindow{}}
	if hm, ok := o.Reader.(HandledMarker); ok {
		p.replayTo = hm.Handled()
	}
	for range o.Workers {
		p.workers = append(p.workers, &worker{ch: make(chan item, o.QueueSize)})
	}
	var err error
	if p.m, err = newPipelineMetrics(o.Registerer, p); err != nil {
		return nil, err
	}
	return p, nil
}

// Run consumes the journal until ctx is cancelled, then lets the workers finish what they have,
// flushes and commits, and returns nil. It returns an error only if the journal fails.
func (p *Pipeline) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	// Workers run on their own context so that a shutdown drains their queues instead of
	// abandoning them; they stop when their channel is closed.
	wctx, wcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer wcancel()
	for _, w := range p.workers {
		wg.Go(func() { p.work(wctx, w) })
	}
	commitDone := make(chan struct{})
	var lastDispatched atomic.Uint64
	go func() {
		defer close(commitDone)
		t := time.NewTicker(p.o.CommitInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				p.commit(ctx, lastDispatched.Load())
			}
		}
	}()

	var runErr error
	for {
		seq, rec, err := p.o.Reader.Next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				runErr = fmt.Errorf("read journal: %w", err)
			}
			break
		}
		var it item
		it.seq = seq
		if err := parseRecord(rec, &it.rec); err != nil {
			p.logger.Error("skip malformed journal record", "seq", seq, "err", err)
			p.m.rejected.WithLabelValues("unknown", "bad_record").Inc()
			lastDispatched.Store(seq)
			continue
		}
		it.rec.Payload = append([]byte(nil), it.rec.Payload...)
		w := p.workers[maphash.String(p.seed, it.rec.DeviceID)%uint64(len(p.workers))]
		// If the worker is idle, everything it had is done and nothing of it lies between its
		// last done seq and this one: advance its watermark so idle partitions do not hold back
		// the commit.
		if d := w.dispatched.Load(); w.done.Load() == d {
			w.done.CompareAndSwap(d, seq-1)
		}
		w.dispatched.Store(seq)
		select {
		case w.ch <- it:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			// Not handed over and not counted as dispatched: the watermark stays below it, so
			// it is replayed from the journal after a restart.
			break
		}
		lastDispatched.Store(seq)
	}
	for _, w := range p.workers {
		close(w.ch)
	}
	// Let the workers finish their queues, but not forever: a handler stuck retrying a down
	// dependency is cancelled after DrainTimeout; what it did not finish is not committed and
	// is replayed after the restart.
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(p.o.DrainTimeout):
		p.logger.Warn("pipeline drain timed out; unfinished records will be replayed", "timeout", p.o.DrainTimeout)
		wcancel()
		<-drained
	}
	<-commitDone
	final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	p.commit(final, lastDispatched.Load())
	return runErr
}

// watermark returns the highest seq such that every record up to it has been handled.
// lastDispatched must have been read before the call: every record of a worker with a seq up to
// it was then already counted in that worker's dispatched.
func (p *Pipeline) watermark(lastDispatched uint64) uint64 {
	wm := lastDispatched
	for _, w := range p.workers {
		sent := w.dispatched.Load()
		if d := w.done.Load(); d != sent {
			// Busy: only what it has reported done is safe.
			wm = min(wm, d)
		}
	}
	return wm
}

func (p *Pipeline) commit(ctx context.Context, lastDispatched uint64) {
	wm := p.watermark(lastDispatched)
	// Before the flush: what is released after this is held now and stays uncommitted.
	handled := wm
	if p.o.Holder != nil {
		h := p.o.Holder.HeldSeq()
		if h > 0 && wm > p.o.MaxHeldRecords && h < wm-p.o.MaxHeldRecords {
			p.o.Holder.Release(wm - p.o.MaxHeldRecords)
			p.m.heldReleases.Inc()
			h = p.o.Holder.HeldSeq()
		}
		held := 0.0
		if h > 0 && h <= wm {
			held, wm = float64(wm-h+1), h-1
		}
		p.m.heldRecords.Set(held)
	}
	if p.o.Flusher != nil {
		if err := p.o.Flusher.Flush(ctx); err != nil {
			p.logger.Warn("flush before journal commit", "err", err)
			return
		}
	}
	if handled == 0 {
		return
	}
	if hm, ok := p.o.Reader.(HandledMarker); ok && handled > wm {
		// Before the commit: a restart replays (wm, handled] for the holder only.
		if err := hm.MarkHandled(handled); err != nil {
			p.logger.Error("mark journal handled", "seq", handled, "err", err)
			return
		}
	}
	if wm == 0 {
		return
	}
	if err := p.o.Reader.Commit(wm); err != nil {
		p.logger.Error("commit journal", "seq", wm, "err", err)
	}
}

func (p *Pipeline) work(ctx context.Context, w *worker) {
	var tbuf []lanewatch.Telemetry
	for it := range w.ch {
		if ctx.Err() != nil {
			continue // cancelled drain: leave it uncommitted, to be replayed
		}
		tbuf = p.process(ctx, &it, tbuf)
		if ctx.Err() == nil {
			w.done.Store(it.seq)
		}
	}
}

func (p *Pipeline) process(ctx context.Context, it *item, tbuf []lanewatch.Telemetry) []lanewatch.Telemetry {
	r := &it.rec
	kind := string(r.Kind)
	replay := it.seq <= p.replayTo
	if replay && r.Kind != lanewatch.KindTelemetry {
		return tbuf // handled before the restart; only telemetry is held (coverage)
	}
	// A replayed record was counted, dead-lettered and its device touched when first handled.
	reject := func(kind string, err error) {
		if !replay {
			p.reject(ctx, r, kind, err)
		}
	}
	if r.Kind == "" {
		reject("unknown", &payload.Error{Reason: "unknown_topic", Msg: "unknown topic " + r.Topic})
		return tbuf
	}
	dev, err := p.o.Devices.Lookup(ctx, r.DeviceID)
	if err != nil {
		if lanewatch.ErrorCode(err) == lanewatch.ENotFound {
			reject(kind, &payload.Error{Reason: "unknown_device", Msg: "device " + r.DeviceID + " is not registered"})
		} else {
			p.logger.Error("look up device", "device", r.DeviceID, "err", err)
		}
		return tbuf
	}
	msg := &lanewatch.Message{Seq: it.seq, Kind: r.Kind, DeviceID: r.DeviceID, Received: r.Received, Replay: replay}
	dec := p.o.Decoder
	switch r.Kind {
	case lanewatch.KindTelemetry:
		tbuf, err = dec.Telemetry(r.Payload, r.Received, tbuf[:0])
		if err == nil {
			msg.Telemetry = append([]lanewatch.Telemetry(nil), tbuf...)
		}
	case lanewatch.KindCamera:
		msg.Camera, err = dec.Camera(r.Payload, r.Received)
	case lanewatch.KindPlaque:
		msg.Scan, err = dec.PlaqueScan(r.Payload, r.Received)
	case lanewatch.KindStatus:
		msg.Status, err = dec.Status(r.Payload, r.Received)
	}
	if err != nil {
		reject(kind, err)
		return tbuf
	}
	if !replay {
		p.m.messages.WithLabelValues(kind).Inc()
		if n := len(msg.Telemetry); n > 0 {
			p.m.points.Add(float64(n))
		}
		if msg.Status != nil {
			p.o.Devices.SetOnline(r.DeviceID, msg.Status.Online, r.Received)
		} else {
			p.o.Devices.Touch(r.DeviceID, r.Received)
		}
	}
	if err := p.o.Handler.Handle(ctx, msg, dev); err != nil {
		p.m.handleErrors.Inc()
		p.logger.Error("handle message", "device", r.DeviceID, "seq", it.seq, "replay", replay, "err", err)
	}
	return tbuf
}

// reject counts, logs (once per device per minute) and stores (bounded) a rejected payload.
func (p *Pipeline) reject(ctx context.Context, r *record, kind string, err error) {
	reason := "invalid"
	var pe *payload.Error
	if errors.As(err, &pe) {
		reason = pe.Reason
	}
	p.m.rejected.WithLabelValues(kind, reason).Inc()
	now := p.o.Now()
	p.mu.Lock()
	w := p.rejects[r.DeviceID]
	fresh := now.Sub(w.start) >= time.Minute
	if fresh {
		w = rejectWindow{start: now}
	}
	store := w.stored < p.o.DeadLettersPerMinute
	if store {
		w.stored++
	}
	p.rejects[r.DeviceID] = w
	if len(p.rejects) > 100000 {
		for k, v := range p.rejects {
			if now.Sub(v.start) >= time.Minute {
				delete(p.rejects, k)
			}
		}
	}
	p.mu.Unlock()
	if fresh {
		p.logger.Warn("payload rejected", "device", r.DeviceID, "kind", kind, "reason", reason, "err", err)
	}
	if !store {
		return
	}
	topic := r.Topic
	if topic == "" {
		topic = topicFor(r.Kind, r.DeviceID)
	}
	dl := &lanewatch.DeadLetter{At: r.Received, DeviceID: r.DeviceID, Topic: topic, Kind: kind,
		Reason: reason, Error: err.Error(), Payload: preview(r.Payload)}
	if err := p.o.DeadLetters.AddDeadLetter(ctx, dl, p.o.DeadLetterKeep); err != nil {
		p.logger.Error("store dead letter", "device", r.DeviceID, "err", err)
	}
}

func topicFor(k lanewatch.Kind, id string) string {
	switch k {
	case lanewatch.KindTelemetry:
		return "vehicles/" + id + "/telemetry"
	case lanewatch.KindCamera:
		return "cameras/" + id + "/events"
	case lanewatch.KindPlaque:
		return "plaques/" + id + "/scans"
	case lanewatch.KindStatus:
		return "devices/" + id + "/status"
	}
	return ""
}

// preview returns at most 4 KiB of b as valid UTF-8 text.
func preview(b []byte) string {
	const max = 4 << 10
	if len(b) > max {
		b = b[:max]
	}
	return strings.ToValidUTF8(string(b), string(utf8.RuneError))
}

// QueueDepth returns the number of records waiting in the workers' queues.
func (p *Pipeline) QueueDepth() int {
	n := 0
	for _, w := range p.workers {
		n += len(w.ch)
	}
	return n
}

type pipelineMetrics struct {
	messages     *prometheus.CounterVec
	points       prometheus.Counter
	rejected     *prometheus.CounterVec
	handleErrors prometheus.Counter
	heldRecords  prometheus.Gauge
	heldReleases prometheus.Counter
}

func newPipelineMetrics(reg prometheus.Registerer, p *Pipeline) (*pipelineMetrics, error) {
	m := &pipelineMetrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanewatch_ingest_messages_total", Help: "Device messages decoded and handled, by kind."}, []string{"kind"}),
		points: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lanewatch_ingest_telemetry_points_total", Help: "Telemetry points decoded (a batch counts each point)."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanewatch_ingest_rejected_total", Help: "Device messages rejected, by kind and reason."}, []string{"kind", "reason"}),
		handleErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lanewatch_pipeline_handle_errors_total", Help: "Messages whose handler returned an error."}),
		heldRecords: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lanewatch_pipeline_held_records", Help: "Handled journal records left uncommitted at the last commit because a step (coverage) still holds them."}),
		heldReleases: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lanewatch_pipeline_held_releases_total", Help: "Commits that made the holder release records beyond max_held_records."}),
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lanewatch_pipeline_queue_depth", Help: "Records waiting in a pipeline stage.",
		ConstLabels: prometheus.Labels{"stage": "workers"}}, func() float64 { return float64(p.QueueDepth()) })
	for _, c := range []prometheus.Collector{m.messages, m.points, m.rejected, m.handleErrors, m.heldRecords, m.heldReleases, depth} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register pipeline metrics: %w", err)
		}
	}
	return m, nil
}
