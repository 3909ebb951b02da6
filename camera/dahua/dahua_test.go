package dahua

import (
	"os"
	"testing"
	"time"
)

// decodeFile decodes a fixture, which holds three events.
func decodeFile(t *testing.T, path string) []Event {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("%d events: %+v", len(evs), evs)
	}
	return evs
}

func TestDecodeFixture(t *testing.T) {
	evs := decodeFile(t, "testdata/crossregion.txt")
	e := evs[0]
	want := [4]float64{2048.0 / 8191, 4096.0 / 8191, 2048.0 / 8191, 4095.0 / 8191}
	if e.Code != "CrossRegionDetection" || e.Action != "Start" || e.Index != 0 || e.EventID != "10452" ||
		!e.UTC.Equal(time.Unix(1748768400, 0)) || e.Confidence != 0.87 || e.ObjectType != "Human" || e.RegionName != "Rule1" ||
		!e.HasBBox || e.BBox != want {
		t.Fatalf("event 1 = %+v", e)
	}
	if e := evs[1]; e.Code != "VideoMotion" || e.Action != "Stop" || e.Index != 1 || e.HasBBox {
		t.Fatalf("event 2 = %+v", e)
	}
	if e := evs[2]; e.Code != "ParkingDetection" || e.Action != "Pulse" || e.Index != 2 || !e.UTC.Equal(time.Unix(1748768460, 0)) {
		t.Fatalf("event 3 = %+v", e)
	}
}

// TestDecodeEventStreamQuirks: what eventManager.cgi?action=attach streams look like in the
// field: CRLF line ends, "Content-Length:NN" without a space and without the blank line before
// the body, a plain (non-JSON) data value, and JSON data whose strings contain '='.
func TestDecodeEventStreamQuirks(t *testing.T) {
	evs := decodeFile(t, "testdata/eventstream_crlf.txt")
	if e := evs[0]; e.Code != "AudioMutation" || e.Action != "Start" || e.Index != 0 {
		t.Fatalf("event 1 = %+v", e)
	}
	if e := evs[1]; e.Code != "VideoMotion" || e.Index != 1 || e.HasBBox {
		t.Fatalf("event 2 (plain data) = %+v", e)
	}
	e := evs[2]
	want := [4]float64{1024.0 / 8191, 2048.0 / 8191, 2048.0 / 8191, 4096.0 / 8191}
	if e.Code != "CrossRegionDetection" || e.Index != 2 || e.EventID != "2201" || !e.UTC.Equal(time.Unix(1757893510, 0)) ||
		e.Confidence != 0.64 || e.ObjectType != "Vehicle" || e.RegionName != "ShopFront" || !e.HasBBox {
		t.Fatalf("event 3 = %+v", e)
	}
	for i := range want {
		if d := e.BBox[i] - want[i]; d > 1e-9 || d < -1e-9 {
			t.Fatalf("event 3 box = %v, want %v", e.BBox, want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for name, body := range map[string]string{
		"empty":       "",
		"no code":     "hello\nworld",
		"bad action":  "Code=X;action=Maybe;index=0",
		"no action":   "Code=X;index=0",
		"bad index":   "Code=X;action=Start;index=-3",
		"bad data":    "Code=X;action=Start;index=0;data={nope",
		"off grid":    `Code=X;action=Start;index=0;data={"Object":{"BoundingBox":[0,0,9000,10]}}`,
		"short box":   `Code=X;action=Start;index=0;data={"Object":{"BoundingBox":[0,0,10]}}`,
		"twice":       "Code=X;Code=Y;action=Start",
		"bad conf":    `Code=X;action=Start;data={"Object":{"Confidence":400}}`,
		"empty field": "Code=X;action=Start;;index=0",
	} {
		if _, err := Decode([]byte(body)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	b, _ := os.ReadFile("testdata/crossregion.txt")
	f.Add(b)
	b, _ = os.ReadFile("testdata/eventstream_crlf.txt")
	f.Add(b)
	f.Add([]byte("Code=VideoMotion;action=Start;index=0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := Decode(b)
		if err != nil {
			return
		}
		if len(evs) == 0 || len(evs) > MaxEvents {
			t.Fatalf("%d events", len(evs))
		}
		for _, e := range evs {
			for _, v := range e.BBox {
				if v < 0 || v > 1 || v != v {
					t.Fatalf("bbox %v out of 0..1", e.BBox)
				}
			}
		}
	})
}
