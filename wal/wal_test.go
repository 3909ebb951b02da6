package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func openT(t testing.TB, opts Options) *Log {
	t.Helper()
	l, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func payload(seq int) []byte {
	return fmt.Appendf(nil, "record-%d-%s", seq, bytes.Repeat([]byte{byte('a' + seq%26)}, seq%40))
}

func appendN(t testing.TB, l *Log, from, n int, durable bool) {
	t.Helper()
	ctx := ctxT(t)
	for i := from; i < from+n; i++ {
		seq, err := l.Append(ctx, payload(i), durable)
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		if seq != uint64(i) {
			t.Fatalf("Append %d got seq %d", i, seq)
		}
	}
}

// readExpect reads n records and checks they are from..from+n-1 with the payloads of payload().
func readExpect(t testing.TB, l *Log, from, n int) {
	t.Helper()
	ctx := ctxT(t)
	for i := from; i < from+n; i++ {
		seq, rec, err := l.Next(ctx)
		if err != nil {
			t.Fatalf("Next (want %d): %v", i, err)
		}
		if seq != uint64(i) || !bytes.Equal(rec, payload(i)) {
			t.Fatalf("Next = %d %q, want %d %q", seq, rec, i, payload(i))
		}
	}
}

func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func metricValue(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"minimal", Options{Dir: "x"}, true},
		{"no dir", Options{}, false},
		{"negative segment", Options{Dir: "x", SegmentBytes: -1}, false},
		{"negative lag", Options{Dir: "x", MaxLagBytes: -1}, false},
		{"negative interval", Options{Dir: "x", SyncInterval: -time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.opts.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestAppendReadAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewPedanticRegistry()
	l := openT(t, Options{Dir: dir, SegmentBytes: 256, Registerer: reg})
	ctx := ctxT(t)
	// Mixed durable and non-durable appends; a reader running concurrently.
	const n = 300
	var wg sync.WaitGroup
	wg.Go(func() { readExpect(t, l, 1, n) })
	for i := 1; i <= n; i++ {
		seq, err := l.Append(ctx, payload(i), i%3 == 0)
		if err != nil || seq != uint64(i) {
			t.Fatalf("Append %d = %d, %v", i, seq, err)
		}
	}
	if _, err := l.Append(ctx, nil, true); err != nil { // flush; an empty record is valid
		t.Fatal(err)
	}
	wg.Wait()
	seq, rec, err := l.Next(ctx)
	if err != nil || seq != n+1 || len(rec) != 0 {
		t.Fatalf("Next = %d %q %v, want empty record %d", seq, rec, err, n+1)
	}
	if got := len(segmentFiles(t, dir)); got < 10 {
		t.Fatalf("%d segment files, want many", got)
	}
	if got := metricValue(t, reg, "lanewatch_wal_segments"); int(got) != len(segmentFiles(t, dir)) {
		t.Fatalf("segments gauge %v, files %d", got, len(segmentFiles(t, dir)))
	}
	if got := metricValue(t, reg, "lanewatch_wal_appends_total"); got != n+1 {
		t.Fatalf("appends_total %v, want %d", got, n+1)
	}
}

func TestSequenceContinuesAfterReopen(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, Options{Dir: dir, SegmentBytes: 200})
	appendN(t, l, 1, 25, false)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openT(t, Options{Dir: dir, SegmentBytes: 200})
	if got := l.Last(); got != 25 {
		t.Fatalf("Last() = %d, want 25", got)
	}
	appendN(t, l, 26, 5, true)
	// Nothing was committed: the reader replays from the start.
	readExpect(t, l, 1, 30)
}

func TestReaderStartsAfterCommit(t *testing.T) {
	dir := t.TempDir()
	for _, segBytes := range []int64{0, 150} {
		t.Run(fmt.Sprint("segment_bytes_", segBytes), func(t *testing.T) {
			dir := filepath.Join(dir, fmt.Sprint(segBytes))
			l := openT(t, Options{Dir: dir, SegmentBytes: segBytes})
			appendN(t, l, 1, 40, true)
			readExpect(t, l, 1, 17)
			if err := l.Commit(17); err != nil {
				t.Fatal(err)
			}
			if err := l.Commit(5); err != nil { // older: no-op
				t.Fatal(err)
			}
			if got := l.Committed(); got != 17 {
				t.Fatalf("Committed() = %d", got)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = openT(t, Options{Dir: dir, SegmentBytes: segBytes})
			if got := l.Committed(); got != 17 {
				t.Fatalf("Committed() after reopen = %d", got)
			}
			readExpect(t, l, 18, 23)
			readExpect(t, l, 41, 0)
			if err := l.Commit(40); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			// Everything committed: the reader waits at the end; appends continue.
			l = openT(t, Options{Dir: dir, SegmentBytes: segBytes})
			appendN(t, l, 41, 3, true)
			readExpect(t, l, 41, 3)
		})
	}
}

func TestCommitDeletesSegments(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewPedanticRegistry()
	l := openT(t, Options{Dir: dir, SegmentBytes: 100, Registerer: reg})
	appendN(t, l, 1, 60, true)
	before := len(segmentFiles(t, dir))
	readExpect(t, l, 1, 30)
	if err := l.Commit(30); err != nil {
		t.Fatal(err)
	}
	after := segmentFiles(t, dir)
	if len(after) >= before {
		t.Fatalf("segments %d -> %d, want fewer", before, len(after))
	}
	// The oldest remaining segment must still hold record 31; none may start after 31 and
	// be missing it.
	segs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if segs[0].firstSeq > 31 || (len(segs) > 1 && segs[1].firstSeq <= 31) {
		t.Fatalf("oldest segments start at %d, %d; want the one holding 31 first", segs[0].firstSeq, segs[1].firstSeq)
	}
	if got := metricValue(t, reg, "lanewatch_wal_segments"); int(got) != len(after) {
		t.Fatalf("segments gauge %v, files %d", got, len(after))
	}
	readExpect(t, l, 31, 30)
	if err := l.Commit(60); err != nil {
		t.Fatal(err)
	}
	if got := len(segmentFiles(t, dir)); got != 1 {
		t.Fatalf("%d segments after committing everything, want 1 (the active one)", got)
	}
	if got := metricValue(t, reg, "lanewatch_wal_lag_bytes"); got != 0 {
		t.Fatalf("lag %v after committing everything", got)
	}
}

func TestCommitNotRead(t *testing.T) {
	l := openT(t, Options{Dir: t.TempDir()})
	appendN(t, l, 1, 3, true)
	readExpect(t, l, 1, 1)
	if err := l.Commit(2); !errors.Is(err, ErrNotRead) {
		t.Fatalf("Commit(2) = %v, want ErrNotRead", err)
	}
}

func TestGroupCommit(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	l := openT(t, Options{Dir: t.TempDir(), Registerer: reg})
	ctx := ctxT(t)
	const writers, each = 100, 30
	var mu sync.Mutex
	acked := map[uint64][]byte{}
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				rec := fmt.Appendf(nil, "g%d-i%d", g, i)
				seq, err := l.Append(ctx, rec, true)
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				mu.Lock()
				if _, dup := acked[seq]; dup {
					t.Errorf("seq %d assigned twice", seq)
				}
				acked[seq] = rec
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	const total = writers * each
	if len(acked) != total {
		t.Fatalf("%d acked, want %d", len(acked), total)
	}
	for want := uint64(1); want <= total; want++ {
		seq, rec, err := l.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if seq != want || !bytes.Equal(rec, acked[seq]) {
			t.Fatalf("Next = %d %q, want %d %q", seq, rec, want, acked[want])
		}
	}
	syncs := metricValue(t, reg, "lanewatch_wal_syncs_total")
	appends := metricValue(t, reg, "lanewatch_wal_appends_total")
	t.Logf("%v appends in %v syncs", appends, syncs)
	if appends != total || syncs >= appends/2 {
		t.Fatalf("%v appends in %v syncs, want appends=%d and syncs < appends/2", appends, syncs, total)
	}
	if got := metricValue(t, reg, "lanewatch_wal_sync_seconds"); got != syncs {
		t.Fatalf("sync_seconds count %v, syncs %v", got, syncs)
	}
}

func TestSyncInterval(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	l := openT(t, Options{Dir: t.TempDir(), SyncInterval: 2 * time.Millisecond, Registerer: reg})
	ctx := ctxT(t)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for range 10 {
				if _, err := l.Append(ctx, []byte("x"), true); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got := metricValue(t, reg, "lanewatch_wal_appends_total"); got != 200 {
		t.Fatalf("appends %v", got)
	}
}

// damage describes how a test garbles the end of the last segment.
type damage struct {
	name string
	do   func(t *testing.T, path string, lastFrame int64)
	keep int // records expected to survive out of 10
}

func TestTornTail(t *testing.T) {
	size := func(t *testing.T, p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	tests := []damage{
		{"truncated payload", func(t *testing.T, p string, _ int64) {
			if err := os.Truncate(p, size(t, p)-3); err != nil {
				t.Fatal(err)
			}
		}, 9},
		{"truncated header", func(t *testing.T, p string, last int64) {
			if err := os.Truncate(p, last+5); err != nil {
				t.Fatal(err)
			}
		}, 9},
		{"garbled last byte", func(t *testing.T, p string, _ int64) {
			garble(t, p, size(t, p)-1)
		}, 9},
		{"garbled length of last record", func(t *testing.T, p string, last int64) {
			garble(t, p, last+3)
		}, 9},
		{"zeros appended", func(t *testing.T, p string, _ int64) {
			appendBytes(t, p, make([]byte, 4096))
		}, 10},
		{"partial frame appended", func(t *testing.T, p string, _ int64) {
			appendBytes(t, p, appendFrame(nil, []byte("never acknowledged"))[:12])
		}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openT(t, Options{Dir: dir, SegmentBytes: 400})
			appendN(t, l, 1, 10, true)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			files := segmentFiles(t, dir)
			lastFile := files[len(files)-1]
			// Offset of the last frame in the last segment.
			segs, _ := listSegments(dir)
			first := int(segs[len(segs)-1].firstSeq)
			var last int64
			for i := first; i < 10; i++ {
				last += frameSize(len(payload(i)))
			}
			tt.do(t, lastFile, last)

			l = openT(t, Options{Dir: dir, SegmentBytes: 400})
			if got := l.Last(); got != uint64(tt.keep) {
				t.Fatalf("Last() = %d, want %d", got, tt.keep)
			}
			appendN(t, l, tt.keep+1, 5, true)
			readExpect(t, l, 1, tt.keep+5)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = openT(t, Options{Dir: dir, SegmentBytes: 400})
			readExpect(t, l, 1, tt.keep+5)
		})
	}
}

func garble(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptionInMiddleOfLastSegment(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, Options{Dir: dir})
	appendN(t, l, 1, 10, true)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	path := segmentFiles(t, dir)[0]
	off := frameSize(len(payload(1))) + frameSize(len(payload(2))) // record 3
	garble(t, path, off+headerSize+2)
	_, err := Open(Options{Dir: dir})
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open = %v, want *CorruptError", err)
	}
	if ce.File != path || ce.Offset != off {
		t.Fatalf("CorruptError at %s:%d, want %s:%d", ce.File, ce.Offset, path, off)
	}
}

func TestCorruptionInSealedSegment(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, Options{Dir: dir, SegmentBytes: 100})
	appendN(t, l, 1, 20, true)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files := segmentFiles(t, dir)
	// Garble the first record of the second segment.
	garble(t, files[1], headerSize)
	l = openT(t, Options{Dir: dir, SegmentBytes: 100})
	ctx := ctxT(t)
	var err error
	for range 20 {
		if _, _, err = l.Next(ctx); err != nil {
			break
		}
	}
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.File != files[1] || ce.Offset != 0 {
		t.Fatalf("Next = %v, want corruption at %s:0", err, files[1])
	}
	if _, _, err2 := l.Next(ctx); !errors.Is(err2, ErrCorrupt) {
		t.Fatalf("second Next = %v, want sticky corruption", err2)
	}
}

func TestBackPressure(t *testing.T) {
	const recSize = 100
	frame := frameSize(recSize)
	l := openT(t, Options{Dir: t.TempDir(), MaxLagBytes: 10 * frame})
	ctx := ctxT(t)
	rec := make([]byte, recSize)
	for range 10 {
		if _, err := l.Append(ctx, rec, false); err != nil {
			t.Fatal(err)
		}
	}
	// Full: an Append with a done context fails with its error and does not append.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Append(cctx, rec, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append(cancelled) = %v", err)
	}
	dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := l.Append(dctx, rec, true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Append on a full log = %v, want it to block until the deadline", err)
	}
	// A blocked Append proceeds once the consumer commits.
	type result struct {
		seq uint64
		err error
	}
	res := make(chan result, 1)
	go func() {
		seq, err := l.Append(ctx, rec, true)
		res <- result{seq, err}
	}()
	for range 3 {
		if _, _, err := l.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Commit(3); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-res:
		if r.err != nil || r.seq != 11 {
			t.Fatalf("blocked Append = %d, %v; want 11", r.seq, r.err)
		}
	case <-ctx.Done():
		t.Fatal("Append still blocked after Commit")
	}
}

func TestAppendCancelledContext(t *testing.T) {
	l := openT(t, Options{Dir: t.TempDir()})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Append(ctx, []byte("x"), true); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append = %v, want context.Canceled", err)
	}
	if got := l.Last(); got != 0 {
		t.Fatalf("Last() = %d after a cancelled Append", got)
	}
}

func TestAppendTooLarge(t *testing.T) {
	l := openT(t, Options{Dir: t.TempDir()})
	if _, err := l.Append(ctxT(t), make([]byte, MaxRecordBytes+1), false); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Append = %v, want ErrTooLarge", err)
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, Options{Dir: dir})
	ctx := ctxT(t)
	appendN(t, l, 1, 100, false) // queued, synced by Close
	readExpect(t, l, 1, 100)
	nextErr := make(chan error, 1)
	go func() {
		_, _, err := l.Next(ctx) // blocks until Close
		nextErr <- err
	}()
	_, err := Open(Options{Dir: dir})
	if err == nil {
		t.Fatal("second Open of a directory in use succeeded")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-nextErr; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked Next = %v, want ErrClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := l.Append(ctx, []byte("x"), false); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
	if err := l.Commit(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Commit after Close = %v", err)
	}
	l = openT(t, Options{Dir: dir})
	if got := l.Last(); got != 100 {
		t.Fatalf("Last() = %d after Close and reopen, want 100", got)
	}
}

func TestCloseUnblocksBackPressure(t *testing.T) {
	l := openT(t, Options{Dir: t.TempDir(), MaxLagBytes: 1})
	ctx := ctxT(t)
	if _, err := l.Append(ctx, []byte("first"), false); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := l.Append(ctx, []byte("second"), true)
		errc <- err
	}()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked Append = %v, want ErrClosed", err)
	}
}

func TestRegisterTwiceFails(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	openT(t, Options{Dir: t.TempDir(), Registerer: reg})
	if _, err := Open(Options{Dir: t.TempDir(), Registerer: reg}); err == nil {
		t.Fatal("Open with a registry that already has the metrics succeeded")
	}
}

func TestFrameRoundTrip(t *testing.T) {
	for _, rec := range [][]byte{nil, []byte("a"), bytes.Repeat([]byte("xyz"), 1000)} {
		b := appendFrame(nil, rec)
		if n := checkFrame(b); n != len(b) {
			t.Fatalf("checkFrame = %d, want %d", n, len(b))
		}
		b[len(b)-1] ^= 1
		if n := checkFrame(b); n != 0 {
			t.Fatalf("checkFrame of a damaged frame = %d", n)
		}
	}
	if n := checkFrame(make([]byte, 64)); n != 0 {
		t.Fatal("zeros pass as a frame")
	}
}

func TestBackPressureSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentBytes: 300, MaxLagBytes: 10 * frameSize(100)}
	l := openT(t, opts)
	ctx := ctxT(t)
	rec := make([]byte, 100)
	for range 10 {
		if _, err := l.Append(ctx, rec, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openT(t, opts)
	dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := l.Append(dctx, rec, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Append after reopen with a full backlog = %v, want it to block", err)
	}
	for range 10 {
		if _, _, err := l.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Commit(10); err != nil {
		t.Fatal(err)
	}
	if seq, err := l.Append(ctx, rec, true); err != nil || seq != 11 {
		t.Fatalf("Append after Commit = %d, %v", seq, err)
	}
}

// TestHandledKeptAcrossReopen: the handled mark (beyond the commit while a holder keeps
// records) survives a restart, never goes back, and a damaged mark is an error naming its file.
func TestHandledKeptAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, Options{Dir: dir})
	appendN(t, l, 1, 30, true)
	readExpect(t, l, 1, 30)
	if err := l.MarkHandled(25); err != nil {
		t.Fatal(err)
	}
	if err := l.MarkHandled(20); err != nil { // older: no-op
		t.Fatal(err)
	}
	if err := l.Commit(10); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openT(t, Options{Dir: dir})
	if got := l.Handled(); got != 25 {
		t.Fatalf("Handled() after reopen = %d, want 25", got)
	}
	readExpect(t, l, 11, 20) // the records after the commit are read again
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "handled"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "handled") {
		t.Fatalf("Open with a damaged handled file: %v, want an error naming it", err)
	}
	rep, err := Check(dir)
	if err != nil || rep.HandledErr == nil || rep.OK() {
		t.Fatalf("Check: %v, HandledErr %v, OK %v; want the damage reported", err, rep.HandledErr, rep.OK())
	}
	if _, err := Salvage(dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	l = openT(t, Options{Dir: dir})
	if got := l.Handled(); got != 0 {
		t.Fatalf("Handled() after salvage = %d, want 0 (handled again in full)", got)
	}
}
