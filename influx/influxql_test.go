package influx

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/internal/testenv"
)

func TestQuoteInfluxQL(t *testing.T) {
	for _, tt := range []struct{ in, ident, str string }{
		{"sw-1", `"sw-1"`, `'sw-1'`},
		{`a"b'c\d`, `"a\"b'c\\d"`, `'a"b\'c\\d'`},
		{"x\ny", `"x\ny"`, `'x\ny'`},
	} {
		if got := quoteIdent(tt.in); got != tt.ident {
			t.Errorf("quoteIdent(%q) = %s, want %s", tt.in, got, tt.ident)
		}
		if got := quoteString(tt.in); got != tt.str {
			t.Errorf("quoteString(%q) = %s, want %s", tt.in, got, tt.str)
		}
	}
}

// TestQueryTelemetryInfluxQL: on a stock InfluxDB 1.8 (Flux disabled) the telemetry history
// reads back each device's points with their types, and a device id with quotes and
// backslashes neither fails nor reads another device's points.
func TestQueryTelemetryInfluxQL(t *testing.T) {
	srv := testenv.Influx(t)
	s, _ := newSink(t, srv, t.TempDir(), nil)
	t0 := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	tricky := []string{`a"b'c\d`, `x' OR "device" =~ /.*/ OR 'y`, `z\y`}
	var buf []byte
	for i, dev := range append([]string{"sw-1"}, tricky...) {
		for k := range 3 {
			tel := lanewatch.Telemetry{TS: t0.Add(time.Duration(k) * time.Second), Lat: 22.51 + float64(i), Lon: 113.375,
				SpeedKmh: 7.5, BrushOn: true, Has: lanewatch.FieldSpeed | lanewatch.FieldBrush}
			buf = AppendTelemetry(buf, DeviceTags{ID: dev, Type: "sweeper", District: "gulou"}, &tel, "seg-9")
		}
	}
	ctx := ctxT(t, 30*time.Second)
	if err := s.Write(ctx, buf, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := s.QueryTelemetry(ctx, "sw-1", t0, t0.Add(2*time.Second), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("got %d rows, want 2 (to is exclusive): %v", len(rows), rows)
	}
	r := rows[0]
	if ts, _ := r["time"].(time.Time); !ts.Equal(t0) || r["device"] != "sw-1" || r["type"] != "sweeper" || r["district"] != "gulou" ||
		r["lat"] != 22.51 || r["speed_kmh"] != 7.5 || r["brush_on"] != true || r["segment"] != "seg-9" {
		t.Errorf("row = %#v", r)
	}
	if _, ok := r["contractor"]; ok {
		t.Errorf("absent tag contractor in row %v", r)
	}
	for i, dev := range tricky {
		rows, err := s.QueryTelemetry(ctx, dev, t0, t0.Add(time.Minute), 0)
		if err != nil {
			t.Fatalf("%q: %v", dev, err)
		}
		if len(rows) != 3 {
			t.Fatalf("%q: %d rows, want 3", dev, len(rows))
		}
		for _, r := range rows {
			if r["device"] != dev || r["lat"] != 22.51+float64(i+1) {
				t.Errorf("%q: row of another device: %v", dev, r)
			}
		}
	}
	h := NewHistory(srv.URL, srv.Token, srv.Org, srv.Bucket)
	defer h.Close()
	p, ok, err := h.After(ctx, tricky[0], t0, time.Minute)
	if err != nil || !ok || !p.TS.Equal(t0.Add(time.Second)) {
		t.Errorf("After(%q) = %v, %v, %v", tricky[0], p, ok, err)
	}
}

// TestSinkCreatesDatabase: pointed at a fresh InfluxDB without the database (nor the named
// retention policy), the sink creates both and its points arrive; /readyz's probe passes.
func TestSinkCreatesDatabase(t *testing.T) {
	srv := testenv.InfluxWith(t, testenv.InfluxOptions{NoDatabase: true})
	s, _ := newSink(t, srv, t.TempDir(), func(o *Options) { o.Bucket = "lanewatch/week" })
	ctx := ctxT(t, 60*time.Second)
	if err := s.Write(ctx, encode(nil, "sw-1", 0, 10), 10); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "10 points in lanewatch/week", func() bool {
		body := srv.Query(t, `SELECT count("lat") FROM "lanewatch"."week"."vehicle_telemetry"`)
		return strings.Contains(body, `,10]`)
	})
	waitFor(t, 30*time.Second, "sink ready", func() bool { return s.Ready(ctx) == nil })
}

// TestReadyReportsWriteFailure: a server that answers /ping but has no database and refuses to
// create one is not ready, and the reason says why; Ping alone said it was fine.
func TestReadyReportsWriteFailure(t *testing.T) {
	var writes atomic.Int32
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v2/write" {
			writes.Add(1)
		}
		w.Header().Set("X-Influxdb-Version", "1.8.10")
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/ping", "/health":
			w.WriteHeader(http.StatusNoContent)
		case "/api/v2/write":
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"code":"not found","message":"database not found: \"lanewatch\""}`))
		case "/query":
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":"user is not authorized to create database"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer fake.Close()
	s, err := New(context.Background(), Options{URL: fake.URL, Bucket: "lanewatch/autogen", SpoolDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	ctx := ctxT(t, 10*time.Second)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	waitFor(t, 5*time.Second, "provisioner tried", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.ensureErr != nil
	})
	err = s.Ready(ctx)
	if err == nil || !strings.Contains(err.Error(), "database not found") || !strings.Contains(err.Error(), "not authorized") {
		t.Fatalf("Ready = %v, want the write failure and the refusal", err)
	}
	n := writes.Load()
	if err2 := s.Ready(ctx); err2 == nil || err2.Error() != err.Error() || writes.Load() != n {
		t.Errorf("second Ready within 5 s = %v with %d more writes, want the cached result and none", err2, writes.Load()-n)
	}
}

// TestSinkCreatesBucketV2: against InfluxDB 2.x the missing bucket is created through
// /api/v2/buckets in the configured org.
func TestSinkCreatesBucketV2(t *testing.T) {
	created := make(chan string, 1)
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Influxdb-Version", "v2.7.10")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/ping":
			w.WriteHeader(http.StatusNoContent)
		case r.URL.Path == "/api/v2/buckets" && r.Method == http.MethodGet:
			_, _ = w.Write([]byte(`{"buckets":[]}`))
		case r.URL.Path == "/api/v2/orgs":
			_, _ = w.Write([]byte(`{"orgs":[{"id":"0123456789abcdef","name":"city"}]}`))
		case r.URL.Path == "/api/v2/buckets" && r.Method == http.MethodPost:
			b, _ := io.ReadAll(r.Body)
			created <- string(b)
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"id":"fedcba9876543210","name":"lanewatch","orgID":"0123456789abcdef"}`))
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer fake.Close()
	s, err := New(context.Background(), Options{URL: fake.URL, Token: "t", Org: "city", Bucket: "lanewatch", SpoolDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	select {
	case body := <-created:
		if !strings.Contains(body, `"name":"lanewatch"`) || !strings.Contains(body, `"orgID":"0123456789abcdef"`) {
			t.Errorf("create bucket body = %s", body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("bucket not created")
	}
}
