package influx

import (
	"context"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/internal/testenv"
)

// TestHistoryNeighbours: Before and After return the nearest telemetry point of the device on
// each side, within the window, with the fields coverage needs read back exactly.
func TestHistoryNeighbours(t *testing.T) {
	srv := testenv.Influx(t)
	s, _ := newSink(t, srv, t.TempDir(), nil)
	t0 := time.Now().Add(-30 * time.Minute).Truncate(time.Second)
	var buf []byte
	for i, dev := range []string{"sw-1", "sw-2"} {
		for k := range 5 {
			tel := lanewatch.Telemetry{TS: t0.Add(time.Duration(10*k) * time.Second), Lat: 22.5151234567891 + float64(k)*1e-5,
				Lon: 113.3762003063365 + float64(i), SpeedKmh: 7.25, Heading: 93.5, BrushOn: k%2 == 0,
				Has: lanewatch.FieldSpeed | lanewatch.FieldHeading | lanewatch.FieldBrush}
			buf = AppendTelemetry(buf, DeviceTags{ID: dev, Type: "sweeper"}, &tel, "")
		}
	}
	ctx := ctxT(t, 30*time.Second)
	if err := s.Write(ctx, buf, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	h := NewHistory(srv.URL, srv.Token, srv.Org, srv.Bucket)
	defer h.Close()
	for _, tt := range []struct {
		name   string
		fn     func(context.Context, string, time.Time, time.Duration) (lanewatch.Telemetry, bool, error)
		at     time.Duration
		within time.Duration
		want   int // index of the point, -1 for none
	}{
		{"before, between points", h.Before, 25 * time.Second, time.Minute, 2},
		{"before excludes at", h.Before, 20 * time.Second, time.Minute, 1},
		{"before, outside window", h.Before, 25 * time.Second, 4 * time.Second, -1},
		{"before the first", h.Before, 0, time.Minute, -1},
		{"after, between points", h.After, 25 * time.Second, time.Minute, 3},
		{"after excludes at", h.After, 20 * time.Second, time.Minute, 3},
		{"after includes at+within", h.After, 20 * time.Second, 10 * time.Second, 3},
		{"after, outside window", h.After, 25 * time.Second, 4 * time.Second, -1},
		{"after the last", h.After, 40 * time.Second, time.Minute, -1},
	} {
		p, ok, err := tt.fn(ctx, "sw-1", t0.Add(tt.at), tt.within)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if tt.want < 0 {
			if ok {
				t.Errorf("%s: got a point at %v, want none", tt.name, p.TS)
			}
			continue
		}
		want := lanewatch.Telemetry{TS: t0.Add(time.Duration(10*tt.want) * time.Second), Lat: 22.5151234567891 + float64(tt.want)*1e-5,
			Lon: 113.3762003063365, SpeedKmh: 7.25, Heading: 93.5, BrushOn: tt.want%2 == 0,
			Has: lanewatch.FieldSpeed | lanewatch.FieldHeading | lanewatch.FieldBrush}
		if !ok || !p.TS.Equal(want.TS) || p.Lat != want.Lat || p.Lon != want.Lon || p.SpeedKmh != want.SpeedKmh ||
			p.Heading != want.Heading || p.BrushOn != want.BrushOn || p.Has != want.Has {
			t.Errorf("%s: got %+v (found %v), want %+v", tt.name, p, ok, want)
		}
	}
}
