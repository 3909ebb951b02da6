package camera

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/gateway/payload"
)

type fakeInjector struct{ got [][]byte }

func (f *fakeInjector) Inject(_ context.Context, kind lanewatch.Kind, id string, p []byte) error {
	if kind != lanewatch.KindCamera {
		panic("kind " + kind)
	}
	f.got = append(f.got, p)
	return nil
}

func newPusher(t *testing.T) (*Pusher, *fakeInjector, *Config) {
	t.Helper()
	cfg, err := LoadConfig("../configs/cameras.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inj := &fakeInjector{}
	p, err := NewPusher(PushOptions{Config: cfg, Injector: inj, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return p, inj, cfg
}

func TestPushAuth(t *testing.T) {
	p, _, _ := newPusher(t)
	for name, tc := range map[string]struct{ id, vendor, user, pass, code string }{
		"ok":             {"cam-001", "hikvision", "cam-001", "demo-cam-001-push", ""},
		"wrong password": {"cam-001", "hikvision", "cam-001", "nope", lanewatch.EUnauthorized},
		"unknown camera": {"cam-999", "hikvision", "cam-999", "x", lanewatch.EUnauthorized},
		"mqtt only":      {"cam-003", "hikvision", "", "", lanewatch.EUnauthorized},
		"wrong vendor":   {"cam-001", "dahua", "cam-001", "demo-cam-001-push", lanewatch.EInvalid},
	} {
		_, err := p.Authenticate(tc.id, tc.vendor, tc.user, tc.pass)
		if lanewatch.ErrorCode(err) != tc.code {
			t.Errorf("%s: err = %v, want %q", name, err, tc.code)
		}
	}
}

// decode runs an injected payload through the pipeline's own decoder.
func decode(t *testing.T, b []byte) *lanewatch.CameraEvent {
	t.Helper()
	ev, err := (&payload.Decoder{}).Camera(b, t0.Add(time.Hour))
	if err != nil {
		t.Fatalf("pipeline decoder refused the injected event: %v\n%s", err, b)
	}
	return ev
}

func TestPushHikvision(t *testing.T) {
	p, inj, cfg := newPusher(t)
	cam, _ := cfg.Camera("cam-001")
	body, _ := os.ReadFile("hikvision/testdata/fielddetection.xml")
	res, err := p.Push(context.Background(), cam, "application/xml", bytes.NewReader(body))
	if err != nil || res.Accepted != 2 {
		t.Fatalf("push: %+v %v", res, err)
	}
	ev := decode(t, inj.got[0])
	if ev.Type != "street_vending" || ev.Confidence != 0.8 || !ev.HasBBox || !ev.HasLocation || ev.Lat != 22.5155 ||
		!ev.TS.Equal(time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("event = %+v", ev)
	}
	// Heartbeat: videoloss inactive stays a heartbeat.
	body, _ = os.ReadFile("hikvision/testdata/videoloss_heartbeat.xml")
	if _, err := p.Push(context.Background(), cam, "text/xml", bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if ev := decode(t, inj.got[2]); ev.Type != "heartbeat" {
		t.Fatalf("heartbeat = %+v", ev)
	}
	// Bad XML: a clear 400.
	if _, err := p.Push(context.Background(), cam, "application/xml", bytes.NewReader([]byte("<nope"))); lanewatch.ErrorCode(err) != lanewatch.EInvalid {
		t.Fatalf("bad xml: %v", err)
	}
}

func TestPushDahua(t *testing.T) {
	p, inj, cfg := newPusher(t)
	cam, _ := cfg.Camera("cam-002")
	body, _ := os.ReadFile("dahua/testdata/crossregion.txt")
	res, err := p.Push(context.Background(), cam, "text/plain", bytes.NewReader(body))
	if err != nil || res.Accepted != 3 || res.Ignored != 0 {
		t.Fatalf("push: %+v %v", res, err)
	}
	if ev := decode(t, inj.got[0]); ev.Type != "street_vending" || ev.Confidence != 0.87 || !ev.HasBBox || ev.BBox[0] != 2048.0/8191 {
		t.Fatalf("event 1 = %+v", ev)
	}
	if ev := decode(t, inj.got[1]); ev.Type != "heartbeat" {
		t.Fatalf("event 2 (VideoMotion Stop) = %+v", ev)
	}
	if ev := decode(t, inj.got[2]); ev.Type != "illegal_parking" || !ev.TS.Equal(time.Unix(1748768460, 0)) {
		t.Fatalf("event 3 = %+v", ev)
	}
	res, err = p.Push(context.Background(), cam, "text/plain", bytes.NewReader([]byte("Code=FaceDetection;action=Start;index=0\nCode=CrossRegionDetection;action=Stop;index=0")))
	if err != nil || res.Accepted != 1 || res.Ignored != 1 {
		t.Fatalf("unmapped: %+v %v", res, err)
	}
	if ev := decode(t, inj.got[3]); ev.Type != "inactive" {
		t.Fatalf("Stop must be inactive: %+v", ev)
	}
}
