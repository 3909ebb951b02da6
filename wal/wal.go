package wal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const segmentSuffix = ".wal"

// segment is one segment file. synced is guarded by Log.mu.
type segment struct {
	firstSeq uint64
	path     string
	base     int64 // logical byte position of the file's first byte, for lag accounting
	synced   int64 // bytes of the file known to be fsynced; readers never read past it
}

func segmentName(firstSeq uint64) string { return fmt.Sprintf("%020d%s", firstSeq, segmentSuffix) }

// cut marks where, in the pending buffer, a new segment starts.
type cut struct {
	at       int
	firstSeq uint64
}

// batch is the set of records written and synced together; durable appenders wait on done.
type batch struct {
	done chan struct{}
	err  error // set before done is closed
}

func newBatch() *batch { return &batch{done: make(chan struct{})} }

// mark is a delivered record: its seq and the logical position just after its frame.
type mark struct {
	seq uint64
	pos int64
}

// maxPendingBytes bounds the records queued in memory for the next sync: beyond it, Append
// waits for the writer, so non-durable appends go at disk speed without unbounded buffering.
const maxPendingBytes = 4 << 20

// markEvery is the spacing, in bytes, of the positions remembered for commits below the last
// record read. It bounds the memory kept per uncommitted byte.
const markEvery = 64 << 10

// Log is a durable, segmented append-only log of opaque records with one consumer.
// Append may be called from any number of goroutines; Next by one consumer at a time; Commit
// from any goroutine.
type Log struct {
	opts    Options
	dir     string
	logger  *slog.Logger
	metrics *metrics
	lock    *os.File

	mu           sync.Mutex
	closed       bool
	failed       error // sticky write or sync error
	nextSeq      uint64
	pend         []byte // frames queued for the next sync
	spare        []byte
	cuts         []cut
	spareCuts    []cut
	pendRecs     int
	segFill      int64 // bytes in the newest segment, pending included
	cur          *batch
	lag          int64         // bytes appended but not committed
	spaceCh      chan struct{} // closed and replaced when lag shrinks
	segs         []*segment    // segments visible to the reader, oldest first
	flushedCh    chan struct{} // closed and replaced after each flush (sync or failure)
	committedPos int64

	committed atomic.Uint64
	handled   atomic.Uint64 // MarkHandled

	kick chan struct{} // wakes the writer
	quit chan struct{} // closed by Close
	done chan struct{} // closed when the writer has exited

	// Owned by the writer goroutine.
	wf       *os.File
	wseg     *segment
	wsize    int64
	lastSync time.Time

	// Reader state, guarded by rmu.
	rmu  sync.Mutex
	rseg *segment
	rf   *os.File
	rsc  *scanner
	rseq uint64 // seq of the next record to return
	rerr error  // sticky read error

	// Commit state.
	cmu       sync.Mutex // serializes Commit
	dmu       sync.Mutex // guards delivered and marks
	delivered mark       // last record returned by Next
	marks     []mark     // sparse earlier deliveries, oldest first
	markPos   int64      // position of the newest mark (or of the reader's start)
}

// Open opens or creates the log in opts.Dir, truncating a torn tail of the last segment, and
// positions the consumer just after the committed sequence number.
func Open(opts Options) (*Log, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("wal options: %w", err)
	}
	opts = opts.withDefaults()
	l := &Log{
		opts:      opts,
		dir:       opts.Dir,
		logger:    opts.Logger.With("component", "wal"),
		cur:       newBatch(),
		spaceCh:   make(chan struct{}),
		flushedCh: make(chan struct{}),
		kick:      make(chan struct{}, 1),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, fmt.Errorf("wal: create dir: %w", err)
	}
	lock, err := lockDir(l.dir)
	if err != nil {
		return nil, err
	}
	l.lock = lock
	if err := l.recover(); err != nil {
		l.closeFiles()
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		l.closeFiles()
		return nil, fmt.Errorf("wal: register metrics: %w", err)
	}
	l.metrics = m
	m.lag.Set(float64(l.lag))
	m.segments.Set(float64(len(l.segs)))
	go l.writer()
	return l, nil
}

// recover reads the directory state: commit file, segments, torn tail and reader position.
func (l *Log) recover() error {
	committed, err := readCommit(l.dir)
	if err != nil {
		return err
	}
	l.committed.Store(committed)
	_ = os.Remove(filepath.Join(l.dir, commitFile+".tmp"))
	handled, err := readSeqFile(l.dir, handledFile)
	if err != nil {
		return err
	}
	l.handled.Store(handled)
	_ = os.Remove(filepath.Join(l.dir, handledFile+".tmp"))

	segs, err := listSegments(l.dir)
	if err != nil {
		return err
	}
	// Drop segments entirely covered by the commit (a crash may have left them).
	for len(segs) > 1 && segs[1].firstSeq <= committed+1 {
		if err := os.Remove(segs[0].path); err != nil {
			return fmt.Errorf("wal: remove committed segment: %w", err)
		}
		segs = segs[1:]
	}

	var lastSeq uint64 // seq of the last record on disk; meaningful when segs is not empty
	if len(segs) > 0 {
		last := segs[len(segs)-1]
		n, size, err := l.recoverTail(last)
		if err != nil {
			return err
		}
		last.synced = size
		lastSeq = last.firstSeq + uint64(n) - 1
		if lastSeq < committed {
			l.logger.Warn("log ends before the committed record; starting a new segment",
				"last_seq", lastSeq, "committed", committed)
			for _, s := range segs {
				if err := os.Remove(s.path); err != nil {
					return fmt.Errorf("wal: remove stale segment: %w", err)
				}
			}
			segs = nil
		}
	}
	if len(segs) == 0 {
		s := &segment{firstSeq: committed + 1, path: filepath.Join(l.dir, segmentName(committed+1))}
		f, err := os.OpenFile(s.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("wal: create segment: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("wal: create segment: %w", err)
		}
		if err := syncDir(l.dir); err != nil {
			return err
		}
		segs = []*segment{s}
		lastSeq = committed
	}
	// Sealed segments are readable in full.
	var base int64
	for _, s := range segs[:len(segs)-1] {
		fi, err := os.Stat(s.path)
		if err != nil {
			return fmt.Errorf("wal: %w", err)
		}
		s.base, s.synced = base, fi.Size()
		base += fi.Size()
	}
	last := segs[len(segs)-1]
	last.base = base
	l.segs = segs
	l.nextSeq = lastSeq + 1
	l.segFill = last.synced

	f, err := os.OpenFile(last.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("wal: open segment: %w", err)
	}
	l.wf, l.wseg, l.wsize = f, last, last.synced

	return l.seekReader(committed + 1)
}

// listSegments returns the segment files in dir, oldest first.
func listSegments(dir string) ([]*segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wal: read dir: %w", err)
	}
	var segs []*segment
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), segmentSuffix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		seq, err := strconv.ParseUint(name, 10, 64)
		if err != nil || seq == 0 {
			return nil, fmt.Errorf("wal: unexpected segment file name %q", e.Name())
		}
		segs = append(segs, &segment{firstSeq: seq, path: filepath.Join(dir, e.Name())})
	}
	slices.SortFunc(segs, func(a, b *segment) int {
		switch {
		case a.firstSeq < b.firstSeq:
			return -1
		case a.firstSeq > b.firstSeq:
			return 1
		}
		return 0
	})
	return segs, nil
}

// recoverTail scans the last segment. A torn or corrupt tail is truncated with a warning; a
// damaged frame followed by an intact one is a *CorruptError. It returns the number of intact
// records and the intact size.
func (l *Log) recoverTail(s *segment) (n int, size int64, err error) {
	f, err := os.OpenFile(s.path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("wal: open segment: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("wal: %w", err)
	}
	sc := newScanner(f, 0, fi.Size())
	for {
		_, at, err := sc.next()
		if err == nil {
			n++
			continue
		}
		if err == io.EOF {
			return n, sc.off, nil
		}
		var bad *badFrame
		if err != errShort && !errors.As(err, &bad) {
			return 0, 0, fmt.Errorf("wal: read segment %s: %w", s.path, err)
		}
		// Damage at "at". If an intact frame follows anywhere, this is not a torn tail.
		tail := make([]byte, fi.Size()-at)
		if _, err := f.ReadAt(tail, at); err != nil && err != io.EOF {
			return 0, 0, fmt.Errorf("wal: read segment %s: %w", s.path, err)
		}
		if p := findFrame(tail); p > 0 {
			return 0, 0, &CorruptError{File: s.path, Offset: at,
				Reason: fmt.Sprintf("%v, followed by an intact record at offset %d", err, at+int64(p))}
		}
		l.logger.Warn("truncating torn tail of the last segment",
			"file", s.path, "offset", at, "dropped_bytes", fi.Size()-at, "reason", err.Error())
		if err := f.Truncate(at); err != nil {
			return 0, 0, fmt.Errorf("wal: truncate segment: %w", err)
		}
		if err := f.Sync(); err != nil {
			return 0, 0, fmt.Errorf("wal: sync segment: %w", err)
		}
		return n, at, nil
	}
}

// Append adds rec to the log and returns its sequence number. With durable set it returns only
// once the record is fsynced; otherwise once it is queued for the next sync. It blocks, while
// respecting ctx, as long as the consumer's uncommitted backlog would exceed MaxLagBytes.
// rec is copied; the caller may reuse it.
//
// If ctx ends while a durable Append waits for its sync, it returns ctx.Err() and the record may
// still be written: it was not acknowledged, so a replay may or may not contain it. After a write
// or sync failure every later Append fails with that error (an fsync error cannot be retried
// safely); reopen the log to recover.
func (l *Log) Append(ctx context.Context, rec []byte, durable bool) (uint64, error) {
	seq, sync, err := l.AppendAsync(ctx, rec)
	if err != nil || !durable {
		return seq, err
	}
	if err := sync.Wait(ctx); err != nil {
		return 0, err
	}
	return seq, nil
}

// Sync is the pending durability of an appended record.
type Sync struct{ b *batch }

// Done is closed once the record's group commit has finished (successfully or not).
func (s Sync) Done() <-chan struct{} { return s.b.done }

// Wait blocks until the record is fsynced and returns the sync's error, or ctx's.
func (s Sync) Wait(ctx context.Context) error {
	select {
	case <-s.b.done:
		return s.b.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// AppendAsync adds rec to the log like Append, returning as soon as the record has its place
// in the sequence (blocking only for back-pressure), with a Sync to wait for its fsync. Callers
// that must acknowledge in order (MQTT PUBACKs) append in order and wait for the Syncs in order.
func (l *Log) AppendAsync(ctx context.Context, rec []byte) (uint64, Sync, error) {
	if err := ctx.Err(); err != nil {
		return 0, Sync{}, err
	}
	if len(rec) > MaxRecordBytes {
		return 0, Sync{}, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(rec))
	}
	size := frameSize(len(rec))
	l.mu.Lock()
	for {
		if l.closed {
			l.mu.Unlock()
			return 0, Sync{}, ErrClosed
		}
		if l.failed != nil {
			err := l.failed
			l.mu.Unlock()
			return 0, Sync{}, err
		}
		var ch chan struct{}
		switch {
		case l.lag > 0 && l.lag+size > l.opts.MaxLagBytes:
			ch = l.spaceCh // wait for the consumer
		case len(l.pend) > 0 && int64(len(l.pend))+size > maxPendingBytes:
			ch = l.flushedCh // wait for the disk
		}
		if ch == nil {
			break
		}
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, Sync{}, ctx.Err()
		case <-l.quit:
			return 0, Sync{}, ErrClosed
		}
		l.mu.Lock()
	}
	seq := l.nextSeq
	l.nextSeq++
	if l.segFill > 0 && l.segFill+size > l.opts.SegmentBytes {
		l.cuts = append(l.cuts, cut{at: len(l.pend), firstSeq: seq})
		l.segFill = 0
	}
	l.segFill += size
	l.pend = appendFrame(l.pend, rec)
	l.pendRecs++
	l.lag += size
	b := l.cur
	l.mu.Unlock()

	select {
	case l.kick <- struct{}{}:
	default:
	}
	return seq, Sync{b: b}, nil
}

// writer is the group-commit goroutine.
func (l *Log) writer() {
	defer close(l.done)
	var timer *time.Timer
	for {
		select {
		case <-l.kick:
		case <-l.quit:
			l.flush()
			return
		}
		if iv := l.opts.SyncInterval; iv > 0 {
			if wait := time.Until(l.lastSync.Add(iv)); wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				select {
				case <-timer.C:
				case <-l.quit:
					timer.Stop()
					l.flush()
					return
				}
			}
		}
		l.flush()
	}
}

// sealed is a segment completed during a batch and its final size.
type sealed struct {
	seg  *segment
	size int64
}

// flush writes and syncs everything pending and wakes its waiters.
func (l *Log) flush() {
	l.mu.Lock()
	if l.pendRecs == 0 {
		l.mu.Unlock()
		return
	}
	buf, cuts, b, nrec := l.pend, l.cuts, l.cur, l.pendRecs
	l.pend, l.cuts, l.cur, l.pendRecs = l.spare[:0], l.spareCuts[:0], newBatch(), 0
	err := l.failed
	l.mu.Unlock()

	var done []sealed // segments sealed in this batch
	var added []*segment
	if err == nil {
		start := time.Now()
		l.lastSync = start
		j := 0
		for _, c := range cuts {
			if err = l.writeActive(buf[j:c.at]); err != nil {
				break
			}
			if err = l.wf.Sync(); err != nil {
				err = fmt.Errorf("wal: sync segment: %w", err)
				break
			}
			done = append(done, sealed{l.wseg, l.wsize})
			if err = l.rollover(c.firstSeq); err != nil {
				break
			}
			added = append(added, l.wseg)
			j = c.at
		}
		if err == nil {
			err = l.writeActive(buf[j:])
		}
		if err == nil {
			if err = l.wf.Sync(); err != nil {
				err = fmt.Errorf("wal: sync segment: %w", err)
			}
		}
		l.metrics.syncSeconds.Observe(time.Since(start).Seconds())
		l.metrics.syncs.Inc()
		l.metrics.appends.Add(float64(nrec))
	}

	l.mu.Lock()
	if err != nil {
		if l.failed == nil {
			l.failed = err
			l.logger.Error("write-ahead log failed; refusing further appends", "err", err)
		}
	} else {
		for _, s := range done {
			s.seg.synced = s.size
		}
		l.wseg.synced = l.wsize
		l.segs = append(l.segs, added...)
		l.metrics.segments.Set(float64(len(l.segs)))
		l.metrics.lag.Set(float64(l.lag))
	}
	close(l.flushedCh)
	l.flushedCh = make(chan struct{})
	if cap(buf) <= 2*maxPendingBytes {
		l.spare = buf[:0]
	} else {
		l.spare = nil // after one huge record
	}
	l.spareCuts = cuts[:0]
	l.mu.Unlock()

	b.err = err
	close(b.done)
}

func (l *Log) writeActive(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	n, err := l.wf.Write(p)
	l.wsize += int64(n)
	if err != nil {
		return fmt.Errorf("wal: write segment: %w", err)
	}
	return nil
}

// rollover closes the active segment and starts a new one whose first record is firstSeq.
func (l *Log) rollover(firstSeq uint64) error {
	err := l.wf.Close()
	l.wf = nil
	if err != nil {
		return fmt.Errorf("wal: close segment: %w", err)
	}
	s := &segment{
		firstSeq: firstSeq,
		path:     filepath.Join(l.dir, segmentName(firstSeq)),
		base:     l.wseg.base + l.wsize,
	}
	f, err := os.OpenFile(s.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("wal: create segment: %w", err)
	}
	l.wf, l.wseg, l.wsize = f, s, 0
	return syncDir(l.dir)
}

// Last returns the sequence number of the newest appended record (0 if none ever was).
func (l *Log) Last() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nextSeq - 1
}

// Close syncs pending records, stops the writer and releases the directory. Appends blocked on
// back-pressure and a blocked Next return ErrClosed. Close is idempotent.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.quit)
	<-l.done

	l.rmu.Lock()
	defer l.rmu.Unlock()
	l.mu.Lock()
	err := l.failed
	l.mu.Unlock()
	if cerr := l.closeFiles(); err == nil {
		err = cerr
	}
	return err
}

func (l *Log) closeFiles() error {
	var errs []error
	if l.wf != nil {
		errs = append(errs, l.wf.Close())
		l.wf = nil
	}
	if l.rf != nil {
		errs = append(errs, l.rf.Close())
		l.rf = nil
	}
	if l.lock != nil {
		errs = append(errs, unlockDir(l.lock))
		l.lock = nil
	}
	return errors.Join(errs...)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("wal: sync dir: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("wal: sync dir: %w", err)
	}
	return nil
}
