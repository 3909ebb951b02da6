package influx

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch/internal/logtest"
)

// TestSinkLogsComponentOnce: every record of the sink carries component=influx exactly once
// when it is given a plain logger (the sink adds its component itself; callers must not).
func TestSinkLogsComponentOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	_ = ln.Close() // nothing listens: every write fails and the batch is spooled
	logger, rec := logtest.New()
	s, err := New(context.Background(), Options{URL: url, Bucket: "b", BatchPoints: 10, FlushInterval: 10 * time.Millisecond,
		SpoolDir: t.TempDir(), RequestTimeout: time.Second, Registerer: prometheus.NewPedanticRegistry(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 30*time.Second)
	if err := s.Write(ctx, encode(nil, "SW-1", 0, 5), 5); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the drainer to log the outage", func() bool {
		for _, r := range rec.Records() {
			if r.Message == "influxdb unavailable; spool kept for retry" {
				return true
			}
		}
		return false
	})
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rec.CheckComponent(t, "influx")
}
