package influx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/internal/testenv"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var base = time.Now().Add(-time.Hour).Truncate(time.Second)

func newSink(t *testing.T, srv *testenv.InfluxServer, dir string, mod func(*Options)) (*Sink, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	opts := Options{
		URL: srv.URL, Token: srv.Token, Org: srv.Org, Bucket: srv.Bucket,
		BatchPoints: 500, FlushInterval: 50 * time.Millisecond, SpoolDir: dir,
		RequestTimeout: 5 * time.Second, Registerer: reg,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	if mod != nil {
		mod(&opts)
	}
	s, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("close: %v", err)
		}
	})
	return s, reg
}

// encode returns n telemetry lines of device dev with indexes from..from+n-1 (one second
// apart, so every point is distinct).
func encode(buf []byte, dev string, from, n int) []byte {
	tags := DeviceTags{ID: dev, Type: "sweeper", District: "xuhui", Contractor: "acme"}
	for i := from; i < from+n; i++ {
		tel := lanewatch.Telemetry{TS: base.Add(time.Duration(i) * time.Millisecond), Lat: 31 + float64(i)*1e-6, Lon: 121,
			SpeedKmh: float64(i % 50), Has: lanewatch.FieldSpeed | lanewatch.FieldBrush, BrushOn: i%2 == 0}
		buf = AppendTelemetry(buf, tags, &tel, fmt.Sprintf("seg-%d", i%7))
	}
	return buf
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSinkRoundTrip(t *testing.T) {
	srv := testenv.Influx(t)
	s, reg := newSink(t, srv, t.TempDir(), nil)
	ctx := ctxT(t, 60*time.Second)
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	const devices, perDevice, perWrite = 8, 2500, 100
	var wg sync.WaitGroup
	for d := range devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for i := 0; i < perDevice; i += perWrite {
				buf = encode(buf[:0], fmt.Sprintf("SW-%d", d), i, perWrite)
				if err := s.Write(ctx, buf, perWrite); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := srv.Count(t, MeasurementTelemetry), devices*perDevice; got != want {
		t.Fatalf("count = %d, want %d", got, want)
	}
	if got := metric(t, reg, "lanewatch_influx_points_written_total"); got != devices*perDevice {
		t.Errorf("points written metric = %v", got)
	}
	for _, name := range []string{"lanewatch_influx_spool_bytes", "lanewatch_influx_write_errors_total",
		"lanewatch_influx_batches_written_total", "lanewatch_influx_write_seconds"} {
		metric(t, reg, name)
	}

	rows, err := s.QueryTelemetry(ctx, "SW-3", base, base.Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 10 {
		t.Fatalf("query returned %d rows, want 10: %v", len(rows), rows)
	}
	r := rows[3]
	if r["device"] != "SW-3" || r["district"] != "xuhui" || r["speed_kmh"] != 3.0 || r["brush_on"] != false ||
		r["segment"] != "seg-3" || !r["time"].(time.Time).Equal(base.Add(3*time.Millisecond)) {
		t.Errorf("row 3 = %v", r)
	}
	all, err := s.QueryTelemetry(ctx, "SW-3", base, base.Add(time.Hour), 100000)
	if err != nil || len(all) != perDevice {
		t.Fatalf("query all: %d rows, %v", len(all), err)
	}
	t.Run("escaping", func(t *testing.T) { testEscapingRoundTrip(t, s) })
	t.Run("write larger than a request", func(t *testing.T) {
		const n = 40000
		lines := encode(nil, "BIG", 0, n)
		if len(lines) <= maxBatchBytes {
			t.Fatalf("test write is only %d bytes", len(lines))
		}
		before := metric(t, reg, "lanewatch_influx_batches_written_total")
		if err := s.Write(ctx, lines, n); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if got := metric(t, reg, "lanewatch_influx_batches_written_total") - before; got < 2 {
			t.Errorf("%d bytes sent in %v requests", len(lines), got)
		}
		rows, err := s.QueryTelemetry(ctx, "BIG", base, base.Add(time.Hour), n+1)
		if err != nil || len(rows) != n {
			t.Fatalf("query: %d rows, %v", len(rows), err)
		}
	})
}

// testEscapingRoundTrip checks that InfluxDB reads back exactly what was escaped.
func testEscapingRoundTrip(t *testing.T, s *Sink) {
	ctx := ctxT(t, 60*time.Second)
	dev := DeviceTags{ID: `odd id,x=y z`, Type: "swe=eper", District: "dis trict", Contractor: `con\tr`}
	tel := lanewatch.Telemetry{TS: base, Lat: 1e-7, Lon: 2.5e-5,
		Extra: []lanewatch.ExtraField{{Name: "key with space,comma=eq", Num: 7}}}
	seg := `quote " and backslash \ and comma, and = sign`
	if err := s.Write(ctx, AppendTelemetry(nil, dev, &tel, seg), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := s.QueryTelemetry(ctx, dev.ID, base.Add(-time.Second), base.Add(time.Second), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("rows = %v", rows)
	}
	r := rows[0]
	want := map[string]any{"device": dev.ID, "type": dev.Type, "district": dev.District, "contractor": dev.Contractor,
		"lat": 1e-7, "lon": 2.5e-5, "key with space,comma=eq": 7.0, "segment": seg}
	for k, v := range want {
		if r[k] != v {
			t.Errorf("%s = %#v, want %#v", k, r[k], v)
		}
	}
}

func TestSinkOutage(t *testing.T) {
	srv := testenv.Influx(t)
	s, reg := newSink(t, srv, t.TempDir(), func(o *Options) { o.RequestTimeout = 2 * time.Second })
	ctx := ctxT(t, 120*time.Second)
	sent := 0
	write := func(rounds int) {
		t.Helper()
		var buf []byte
		for range rounds {
			buf = encode(buf[:0], "SW-1", sent, 250)
			if err := s.Write(ctx, buf, 250); err != nil {
				t.Fatal(err)
			}
			sent += 250
		}
	}
	write(20)
	srv.Stop()
	write(40)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if b := metric(t, reg, "lanewatch_influx_spool_bytes"); b <= 0 {
		t.Fatalf("spool bytes = %v after flush during outage", b)
	}
	if metric(t, reg, "lanewatch_influx_write_errors_total") == 0 {
		t.Error("no write error counted")
	}
	write(20) // these go behind the spool
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Start()
	waitFor(t, 60*time.Second, "spool to drain", func() bool { return s.SpoolBytes() == 0 })
	if b := metric(t, reg, "lanewatch_influx_spool_bytes"); b != 0 {
		t.Errorf("spool bytes metric = %v after drain", b)
	}
	if got := srv.Count(t, MeasurementTelemetry); got != sent {
		t.Fatalf("count = %d, want %d", got, sent)
	}
	if got := metric(t, reg, "lanewatch_influx_points_written_total"); got < float64(sent) {
		t.Errorf("points written = %v, want >= %d", got, sent)
	}
	segs, _ := filepath.Glob(filepath.Join(s.opts.SpoolDir, "*"+segmentSuffix))
	if len(segs) != 0 {
		t.Errorf("spool files left: %v", segs)
	}
}

func TestSinkRestartDrainsSpool(t *testing.T) {
	srv := testenv.Influx(t)
	dir := t.TempDir()
	srv.Stop()
	s1, _ := newSink(t, srv, dir, func(o *Options) { o.MaxSpoolBytes = 2 << 20 }) // small segments: several files
	ctx := ctxT(t, 120*time.Second)
	var buf []byte
	const n = 4000
	for i := 0; i < n; i += 200 {
		buf = encode(buf[:0], "SW-9", i, 200)
		if err := s1.Write(ctx, buf, 200); err != nil {
			t.Fatal(err)
		}
	}
	if err := s1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	if len(segs) < 2 {
		t.Fatalf("spool segments after close = %v", segs)
	}
	// A crash in the middle of an append leaves a torn line: it must be cut, not sent.
	f, err := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("vehicle_telemetry,device=torn lat=1"); err != nil {
		t.Fatal(err)
	}
	f.Close()

	srv.Start()
	s2, reg := newSink(t, srv, dir, nil)
	waitFor(t, 60*time.Second, "spool to drain", func() bool { return s2.SpoolBytes() == 0 })
	if got := srv.Count(t, MeasurementTelemetry); got != n {
		t.Fatalf("count = %d, want %d", got, n)
	}
	if v := metric(t, reg, "lanewatch_influx_points_written_total"); v != n {
		t.Errorf("points written = %v", v)
	}
}

func TestSinkRejectsBadBatch(t *testing.T) {
	srv := testenv.Influx(t)
	dir := t.TempDir()
	s, reg := newSink(t, srv, dir, nil)
	ctx := ctxT(t, 60*time.Second)
	if err := s.Write(ctx, []byte("vehicle_telemetry,device=x lat=\"unterminated\n"), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// A bad batch in the spool must not block what is behind it either.
	srv.Stop()
	if err := s.Write(ctx, []byte("bad line\n"), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, encode(nil, "SW-2", 0, 10), 10); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Start()
	waitFor(t, 60*time.Second, "spool to drain", func() bool { return s.SpoolBytes() == 0 })
	if got := srv.Count(t, MeasurementTelemetry); got != 10 {
		t.Fatalf("count = %d, want 10", got)
	}
	rej, _ := filepath.Glob(filepath.Join(dir, "rejected", "*"))
	if len(rej) != 2 {
		t.Errorf("rejected files = %v", rej)
	}
	if got := metric(t, reg, "lanewatch_influx_points_rejected_total"); got != 2 {
		t.Errorf("rejected points = %v", got)
	}
}

// TestSinkRejectsOnlyBadLines sends one batch with two unparseable lines among good ones,
// directly and through the spool: only the two bad lines are counted and kept as rejected,
// every good point is stored. (Before, the whole batch was counted and kept as rejected.)
func TestSinkRejectsOnlyBadLines(t *testing.T) {
	srv := testenv.Influx(t)
	for _, spooled := range []bool{false, true} {
		dir := t.TempDir()
		s, reg := newSink(t, srv, dir, nil)
		ctx := ctxT(t, 60*time.Second)
		dev := fmt.Sprintf("SW-bad-%v", spooled)
		var buf []byte
		buf = encode(buf, dev, 0, 7)
		buf = append(buf, "bad line one\n"...)
		buf = encode(buf, dev, 7, 5)
		buf = append(buf, "vehicle_telemetry,device=x lat=\"unterminated\n"...)
		buf = encode(buf, dev, 12, 3)
		if spooled {
			srv.Stop()
		}
		if err := s.Write(ctx, buf, 17); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if spooled {
			srv.Start()
			waitFor(t, 60*time.Second, "spool to drain", func() bool { return s.SpoolBytes() == 0 })
		}
		q := fmt.Sprintf(`SELECT count("lat") FROM %s WHERE "device" = '%s'`, MeasurementTelemetry, dev)
		if got := srv.Query(t, q); !strings.Contains(got, `,15]`) {
			t.Errorf("spooled=%v: stored points: %s, want 15", spooled, got)
		}
		if got := metric(t, reg, "lanewatch_influx_points_rejected_total"); got != 2 {
			t.Errorf("spooled=%v: rejected points = %v, want 2", spooled, got)
		}
		rej, _ := filepath.Glob(filepath.Join(dir, "rejected", "*"))
		var kept []byte
		for _, f := range rej {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			kept = append(kept, b...)
		}
		if want := "bad line one\nvehicle_telemetry,device=x lat=\"unterminated\n"; string(kept) != want {
			t.Errorf("spooled=%v: rejected files hold %q, want %q", spooled, kept, want)
		}
	}
}

// TestSinkBackpressure fills a small spool during an outage: Write blocks instead of
// dropping, and every accepted point arrives once InfluxDB is back.
func TestSinkBackpressure(t *testing.T) {
	srv := testenv.Influx(t)
	srv.Stop()
	s, _ := newSink(t, srv, t.TempDir(), func(o *Options) {
		o.MaxSpoolBytes = 64 << 10
		o.BatchPoints = 100
		o.MaxBufferedBatches = 2
	})
	accepted := 0
	var buf []byte
	for {
		wctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		buf = encode(buf[:0], "SW-5", accepted, 50)
		err := s.Write(wctx, buf, 50)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		accepted += 50
		if accepted > 100000 {
			t.Fatal("Write never blocked with a full spool")
		}
	}
	if sb := s.SpoolBytes(); sb == 0 || sb > 64<<10 {
		t.Errorf("spool bytes = %d, want in (0, 64 KiB]", sb)
	}
	srv.Start()
	ctx := ctxT(t, 60*time.Second)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "spool to drain", func() bool { return s.SpoolBytes() == 0 })
	if got := srv.Count(t, MeasurementTelemetry); got != accepted {
		t.Fatalf("count = %d, want %d accepted", got, accepted)
	}
}

func TestSinkWriteAfterClose(t *testing.T) {
	// Nothing listens on port 1: New must not need the server.
	s, _ := newSink(t, &testenv.InfluxServer{URL: "http://127.0.0.1:1", Bucket: "lanewatch/autogen"}, t.TempDir(), nil)
	ctx := ctxT(t, 10*time.Second)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, []byte("m v=1\n"), 1); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
	if err := s.Flush(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("flush after close: %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for name, o := range map[string]Options{
		"no url":    {Bucket: "b", SpoolDir: "d"},
		"no bucket": {URL: "u", SpoolDir: "d"},
		"no spool":  {URL: "u", Bucket: "b"},
		"negative":  {URL: "u", Bucket: "b", SpoolDir: "d", Writers: -1},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// metric returns the value of the unlabelled counter, gauge or histogram (its count) name.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.Metric) != 1 {
			continue
		}
		m := mf.Metric[0]
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}
