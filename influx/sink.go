package influx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	http2 "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/prometheus/client_golang/prometheus"
)

// ErrClosed is returned by Write and Flush after Close.
var ErrClosed = errors.New("influx sink closed")

// maxBatchBytes seals a batch early when its lines are long, well below InfluxDB 1.8's
// default 25 MB request body limit.
const maxBatchBytes = 4 << 20

// Backoff of the spool drainer and of spool appends that fail: exponential from minBackoff,
// doubling up to maxBackoff, each wait randomised by ±backoffJitter so that nodes and writers
// failing together do not retry in step.
const (
	minBackoff    = 100 * time.Millisecond
	maxBackoff    = 5 * time.Second
	backoffJitter = 0.2
)

// newBackOff returns the retry schedule of minBackoff, maxBackoff and backoffJitter.
func newBackOff() *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{InitialInterval: minBackoff, RandomizationFactor: backoffJitter,
		Multiplier: 2, MaxInterval: maxBackoff}
}

// Options configures a Sink. Zero values take the defaults named on each field.
type Options struct {
	// URL of the InfluxDB server, e.g. http://127.0.0.1:8086.
	URL string
	// Token for InfluxDB 2.x/3.x; for 1.8 empty, or "user:password" when auth is enabled.
	Token string
	// Org is the organisation (ignored by 1.8, may be empty).
	Org string
	// Bucket is the bucket to write to; with 1.8 "database/retention-policy", e.g. "lanewatch/autogen".
	Bucket string
	// BatchPoints is the number of points per write request (default 5000).
	BatchPoints int
	// FlushInterval is the longest a point waits in memory before its batch is sent (default 1s).
	FlushInterval time.Duration
	// Writers is the number of goroutines sending batches (default 2).
	Writers int
	// MaxBufferedBatches bounds the sealed batches waiting in memory for a writer; Write blocks
	// beyond it (default 4).
	MaxBufferedBatches int
	// RequestTimeout bounds one write request (default 10s); a timeout spools the batch.
	RequestTimeout time.Duration
	// SpoolDir is the directory of the on-disk spool (required).
	SpoolDir string
	// MaxSpoolBytes bounds the spool (default 1 GiB); when it is full, Write blocks.
	MaxSpoolBytes int64
	// Registerer receives the sink's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Logger (default slog.Default()). The sink adds component=influx itself: pass a logger
	// without a component attribute, or records carry it twice.
	Logger *slog.Logger
}

// Validate reports the first invalid option.
func (o *Options) Validate() error {
	switch {
	case o.URL == "":
		return errors.New("influx: url is required")
	case o.Bucket == "":
		return errors.New("influx: bucket is required")
	case o.SpoolDir == "":
		return errors.New("influx: spool dir is required")
	case o.BatchPoints < 0, o.Writers < 0, o.MaxBufferedBatches < 0, o.FlushInterval < 0,
		o.RequestTimeout < 0, o.MaxSpoolBytes < 0:
		return errors.New("influx: batch points, writers, buffered batches, intervals and spool size must not be negative")
	}
	return nil
}

func (o *Options) setDefaults() {
	if o.BatchPoints == 0 {
		o.BatchPoints = 5000
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = time.Second
	}
	if o.Writers == 0 {
		o.Writers = 2
	}
	if o.MaxBufferedBatches == 0 {
		o.MaxBufferedBatches = 4
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 10 * time.Second
	}
	if o.MaxSpoolBytes == 0 {
		o.MaxSpoolBytes = 1 << 30
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Sink batches encoded line protocol and writes it to InfluxDB from its own writer
// goroutines, spooling to disk while InfluxDB is unavailable. It is safe for concurrent use.
type Sink struct {
	opts     Options
	log      *slog.Logger
	m        *metrics
	client   influxdb2.Client
	writeAPI api.WriteAPIBlocking
	hc       *http.Client
	v1       *v1 // InfluxQL reads and 1.x database creation
	spool    *spool

	ensureKick chan struct{} // a write found the database missing
	readyMu    sync.Mutex    // one readiness probe at a time; guards readyAt, readyErr
	readyAt    time.Time
	readyErr   error

	ctx    context.Context // the sink's lifetime; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	cond     *sync.Cond
	cur      *batch
	queue    []*batch
	sealed   uint64          // sequence number of the last sealed batch
	done     uint64          // every batch with seq <= done is written, spooled or rejected
	finished map[uint64]bool // finished batches above done
	free     []*batch
	closed   bool  // Close was called: Write refuses
	stopping bool  // writers exit once the queue is empty
	stopped  bool  // goroutines have exited
	err      error // a batch that could be neither written nor spooled (only when Close times out)
	// ensureErr is why the database could not be created (nil: it exists or was created).
	ensureErr error
}

type batch struct {
	seq    uint64
	data   []byte
	points int
}

// New creates a Sink and starts its goroutines. It does not wait for InfluxDB: while the
// server is unreachable, batches go to the spool. Spool files left by an earlier run are
// drained in order as soon as InfluxDB answers. ctx is used only for values; the sink lives
// until Close.
func New(ctx context.Context, opts Options) (*Sink, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("influx: register metrics: %w", err)
	}
	sp, err := openSpool(opts.SpoolDir, opts.MaxSpoolBytes, func(n int64) { m.spoolBytes.Set(float64(n)) })
	if err != nil {
		return nil, fmt.Errorf("influx: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = opts.Writers + 2
	hc := &http.Client{Transport: tr}
	copts := influxdb2.DefaultOptions().
		SetHTTPClient(hc).
		SetLogLevel(0)
	client := influxdb2.NewClientWithOptions(opts.URL, opts.Token, copts)
	s := &Sink{
		opts:     opts,
		log:      opts.Logger.With("component", "influx"),
		m:        m,
		client:   client,
		writeAPI: client.WriteAPIBlocking(opts.Org, opts.Bucket),
		hc:       hc,
		v1:       newV1(opts.URL, opts.Token, opts.Bucket, hc),
		spool:    sp,
		finished: make(map[uint64]bool),

		ensureKick: make(chan struct{}, 1),
	}
	s.cond = sync.NewCond(&s.mu)
	s.cur = s.newBatchLocked()
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if n := sp.size(); n > 0 {
		s.log.Info("draining spool left by an earlier run", "bytes", n, "dir", opts.SpoolDir)
	}
	s.wg.Add(opts.Writers + 3)
	for range opts.Writers {
		go s.writer()
	}
	go s.provisioner()
	go s.drainer()
	go s.ticker()
	return s, nil
}

// Write copies lines (complete line-protocol lines, each ending in '\n', holding points
// points; points <= 0 counts the lines) into the current batch. It blocks, until ctx is done,
// while too much is buffered in memory or the spool is full; it never drops lines. Once
// Write returned nil the lines are the sink's: they will be written or spooled.
func (s *Sink) Write(ctx context.Context, lines []byte, points int) error {
	if len(lines) == 0 {
		return nil
	}
	if points <= 0 {
		points = bytes.Count(lines, []byte{'\n'})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var stop func() bool
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	for {
		if s.closed {
			return ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.cur.points < s.opts.BatchPoints && len(s.cur.data) < maxBatchBytes {
			s.cur.data = append(s.cur.data, lines...)
			s.cur.points += points
			if s.cur.points >= s.opts.BatchPoints || len(s.cur.data) >= maxBatchBytes {
				s.trySealLocked()
			}
			return nil
		}
		if s.trySealLocked() {
			continue
		}
		if stop == nil {
			stop = context.AfterFunc(ctx, s.broadcast)
		}
		s.cond.Wait()
	}
}

// Flush returns once every line passed to Write before the call is written to InfluxDB, in
// the fsynced spool, or (refused by InfluxDB for good) in the spool's rejected/ directory.
func (s *Sink) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var stop func() bool
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	wait := func() error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("influx flush: %w", err)
		}
		if stop == nil {
			stop = context.AfterFunc(ctx, s.broadcast)
		}
		s.cond.Wait()
		return nil
	}
	for {
		if s.stopped {
			return ErrClosed
		}
		if s.trySealLocked() {
			break
		}
		if err := wait(); err != nil {
			return err
		}
	}
	target := s.sealed
	for s.done < target {
		if s.stopped {
			return ErrClosed
		}
		if err := wait(); err != nil {
			return err
		}
	}
	return s.err
}

// Close flushes (bounded by ctx), stops the sink's goroutines and closes the client. What is
// still in the spool stays there for the next New. If ctx ends first, batches still in memory
// are spooled if the spool has room; any that cannot be are reported in the error (the
// caller's durable log must replay them).
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()

	err := s.Flush(ctx)

	s.mu.Lock()
	s.stopping = true
	s.cond.Broadcast()
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()

	s.mu.Lock()
	s.stopped = true
	lost := s.cur.points
	for _, b := range s.queue {
		lost += b.points
	}
	if err == nil {
		err = s.err
	}
	if lost > 0 && err != nil {
		err = fmt.Errorf("%w (%d points neither written nor spooled)", err, lost)
	}
	s.cond.Broadcast()
	s.mu.Unlock()
	s.spool.close()
	s.client.Close()
	return err
}

// Ping checks that InfluxDB answers. It says nothing about the database: readiness probes use
// Ready.
func (s *Sink) Ping(ctx context.Context) error {
	ok, err := s.client.Ping(ctx)
	if err != nil {
		return fmt.Errorf("influx ping: %w", err)
	}
	if !ok {
		return errors.New("influx ping: server not ready")
	}
	return nil
}

// SpoolBytes returns the bytes waiting in the on-disk spool.
func (s *Sink) SpoolBytes() int64 { return s.spool.size() }

func (s *Sink) broadcast() {
	s.mu.Lock()
	s.cond.Broadcast()
	s.mu.Unlock()
}

func (s *Sink) newBatchLocked() *batch {
	if n := len(s.free); n > 0 {
		b := s.free[n-1]
		s.free = s.free[:n-1]
		return b
	}
	return &batch{data: make([]byte, 0, 64<<10)}
}

// trySealLocked moves the current batch to the queue. It reports false when the queue is
// full; an empty current batch counts as sealed.
func (s *Sink) trySealLocked() bool {
	if len(s.cur.data) == 0 {
		return true
	}
	if len(s.queue) >= s.opts.MaxBufferedBatches {
		return false
	}
	s.sealed++
	s.cur.seq = s.sealed
	s.queue = append(s.queue, s.cur)
	s.cur = s.newBatchLocked()
	s.m.bufferedBatches.Set(float64(len(s.queue)))
	s.cond.Broadcast()
	return true
}

func (s *Sink) ticker() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.mu.Lock()
			s.trySealLocked()
			s.mu.Unlock()
		}
	}
}

func (s *Sink) writer() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.stopping {
			s.cond.Wait()
		}
		if len(s.queue) == 0 {
			s.trySealLocked() // closing: what Flush could not seal in time goes to the spool
		}
		if len(s.queue) == 0 {
			s.mu.Unlock()
			return
		}
		b := s.queue[0]
		copy(s.queue, s.queue[1:])
		s.queue[len(s.queue)-1] = nil
		s.queue = s.queue[:len(s.queue)-1]
		s.m.bufferedBatches.Set(float64(len(s.queue)))
		s.cond.Broadcast()
		s.mu.Unlock()

		s.handle(b)

		s.mu.Lock()
		s.finishLocked(b.seq)
		b.data, b.points, b.seq = b.data[:0], 0, 0
		if len(s.free) < s.opts.MaxBufferedBatches+s.opts.Writers+1 {
			s.free = append(s.free, b)
		}
		s.cond.Broadcast()
		s.mu.Unlock()
	}
}

func (s *Sink) finishLocked(seq uint64) {
	if seq != s.done+1 {
		s.finished[seq] = true
		return
	}
	s.done = seq
	for s.finished[s.done+1] {
		delete(s.finished, s.done+1)
		s.done++
	}
}

// handle writes one batch: directly while the spool is empty, else (or when the write fails
// with an error worth retrying) to the spool, behind what is already there.
func (s *Sink) handle(b *batch) {
	data, points := b.data, b.points
	if s.ctx.Err() == nil && s.spool.empty() {
		// A batch is normally one request; one grown past the limits by a very large Write is
		// sent in pieces.
		for len(data) > 0 {
			end, n := chunk(data, 0, max(s.opts.BatchPoints, points), maxBatchBytes)
			if end == len(data) {
				n = points // trust the caller's count for the whole (or last) piece
			}
			if err := s.sendOrReject(s.ctx, data[:end], n); err != nil {
				if s.ctx.Err() == nil {
					s.log.Warn("influxdb write failed, spooling batch", "err", err, "points", points)
				}
				break
			}
			data, points = data[end:], max(points-n, 0)
		}
		if len(data) == 0 {
			return
		}
	}
	retry := newBackOff()
	for {
		err := s.spool.append(s.ctx, data)
		if err == nil {
			s.m.pointsSpooled.Add(float64(points))
			return
		}
		if s.ctx.Err() != nil {
			s.log.Error("batch neither written nor spooled at close", "err", err, "points", points)
			s.mu.Lock()
			if s.err == nil {
				s.err = fmt.Errorf("influx: batch of %d points neither written nor spooled: %w", points, err)
			}
			s.mu.Unlock()
			return
		}
		s.log.Error("spool append failed, retrying", "err", err, "points", points)
		_ = sleep(s.ctx, retry.NextBackOff()) // cancelled: the next append sees it and gives up
	}
}

// send writes data with the client's blocking write API.
func (s *Sink) send(ctx context.Context, data []byte, points int) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	start := time.Now()
	err := s.writeAPI.WriteRecord(ctx, string(data))
	s.m.writeSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		s.m.writeErrors.Inc()
		if notFound(err) {
			s.kickEnsure()
		}
		return err
	}
	s.m.pointsWritten.Add(float64(points))
	s.m.batchesWritten.Inc()
	return nil
}

// sendOrReject writes data (points of line protocol). When InfluxDB refuses it for good (a
// line it cannot parse, a type conflict, a body too large), it halves the batch until the
// refused lines are found: those are set aside (rejectLines) and every other line is written,
// so one bad line costs only itself whichever batch it shares. Writing a point again is
// harmless (same series and timestamp overwrite). It returns only errors worth retrying.
func (s *Sink) sendOrReject(ctx context.Context, data []byte, points int) error {
	err := s.send(ctx, data, points)
	if err == nil || !permanent(err) {
		return err
	}
	lines := bytes.Count(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) + 1
	if lines <= 1 {
		s.rejectLines(data, points, err)
		return nil
	}
	half := lines / 2
	mid, _ := chunk(data, 0, half, len(data))
	if err := s.sendOrReject(ctx, data[:mid], half); err != nil {
		return err
	}
	return s.sendOrReject(ctx, data[mid:], lines-half)
}

// permanent reports whether a write error can never succeed on retry (bad line protocol,
// field type conflicts, a body too large): the batch is set aside instead of blocking the
// spool. 401, 403 and 404 (a missing database) are retried: fixing the configuration or
// creating the database makes them succeed.
func permanent(err error) bool {
	var he *http2.Error
	if errors.As(err, &he) {
		switch he.StatusCode {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
			return true
		}
	}
	return false
}

func (s *Sink) rejectLines(data []byte, points int, cause error) {
	s.m.pointsRejected.Add(float64(points))
	path, err := s.spool.reject(data)
	if err != nil {
		s.log.Error("influxdb rejected batch and it could not be kept", "cause", cause.Error(), "err", err, "points", points)
		return
	}
	s.log.Error("influxdb rejected batch; kept for inspection", "err", cause, "points", points, "file", path)
}

// drainer writes spooled segments to InfluxDB in order, retrying with backoff.
func (s *Sink) drainer() {
	defer s.wg.Done()
	for {
		seg := s.spool.oldest()
		if seg == nil {
			select {
			case <-s.spool.kick:
				continue
			case <-s.ctx.Done():
				return
			}
		}
		if !s.drainSegment(seg) {
			return
		}
	}
}

// drainSegment writes one segment in chunks of BatchPoints lines and removes it. It reports
// false when the sink is closing.
func (s *Sink) drainSegment(seg *segment) bool {
	data, err := os.ReadFile(seg.path)
	if err != nil {
		s.log.Error("read spool segment", "err", err, "file", seg.path)
		if errors.Is(err, os.ErrNotExist) {
			_ = s.spool.remove(seg)
			return true
		}
		return sleep(s.ctx, maxBackoff)
	}
	retry := newBackOff()
	failing := false
	for off := 0; off < len(data); {
		end, n := chunk(data, off, s.opts.BatchPoints, maxBatchBytes)
		err := s.sendOrReject(s.ctx, data[off:end], n)
		switch {
		case err == nil:
			if failing {
				s.log.Info("influxdb answers again; draining spool", "spool_bytes", s.spool.size())
				failing = false
			}
			off = end
			retry.Reset()
		default:
			if s.ctx.Err() != nil {
				return false
			}
			if !failing {
				s.log.Warn("influxdb unavailable; spool kept for retry", "err", err, "spool_bytes", s.spool.size())
				failing = true
			}
			if !sleep(s.ctx, retry.NextBackOff()) {
				return false
			}
		}
	}
	if err := s.spool.remove(seg); err != nil {
		s.log.Error("remove drained spool segment", "err", err, "file", seg.path)
	}
	return true
}

// chunk returns the end of the chunk of data starting at off holding at most maxLines lines
// and (unless one line is longer) maxBytes bytes, and its number of lines.
func chunk(data []byte, off, maxLines, maxBytes int) (end, lines int) {
	end = off
	for end < len(data) && lines < maxLines {
		i := bytes.IndexByte(data[end:], '\n')
		next := len(data)
		if i >= 0 {
			next = end + i + 1
		}
		if lines > 0 && next-off > maxBytes {
			break
		}
		end = next
		lines++
	}
	return end, lines
}

// sleep waits for d or until ctx is done, reporting whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
