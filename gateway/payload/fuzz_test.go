package payload

import (
	"bytes"
	"errors"
	"math"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lanewatch/lanewatch"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/; f.Add adds a few more inline.

// checkErr checks the invariants of a rejection: an *Error with a Reason from the fixed set.
func checkErr(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if !slices.Contains(Reasons, e.Reason) {
		t.Fatalf("reason %q not in the fixed set (err: %v)", e.Reason, err)
	}
	if e.Error() == "" || e.Field == "" {
		t.Fatalf("empty message or field: %#v", e)
	}
}

// checkTS checks that a decoded time is UTC and within the default window around now.
func checkTS(t *testing.T, ts time.Time) {
	t.Helper()
	if ts.Location() != time.UTC {
		t.Fatalf("ts %v not UTC", ts)
	}
	if ts.After(now.Add(DefaultMaxFuture)) || ts.Before(now.Add(-DefaultMaxPast)) {
		t.Fatalf("ts %v outside the window", ts)
	}
}

// checkPosition checks a decoded position.
func checkPosition(t *testing.T, lat, lon float64) {
	t.Helper()
	if !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) || lat == 0 && lon == 0 {
		t.Fatalf("position (%v, %v) out of range", lat, lon)
	}
}

func within(f, lo, hi float64) bool { return f >= lo && f <= hi }

func FuzzTelemetry(f *testing.F) {
	f.Add([]byte(obj(`"speed_kmh":12`, `"rpm":3`)))
	f.Add([]byte(`[` + obj() + `,` + obj(`"brush_on":true`) + `]`))
	var d Decoder
	f.Fuzz(func(t *testing.T, p []byte) {
		sentinel := lanewatch.Telemetry{Lat: 1234}
		dst := []lanewatch.Telemetry{sentinel}
		got, err := d.Telemetry(p, now, dst)
		if len(got) == 0 || got[0].Lat != 1234 {
			t.Fatalf("dst prefix not kept: %v", got)
		}
		if err != nil {
			checkErr(t, err)
			if len(got) != 1 {
				t.Fatalf("points returned with the error")
			}
			return
		}
		if len(got) < 2 || len(got)-1 > DefaultMaxBatch {
			t.Fatalf("%d points on success", len(got)-1)
		}
		for _, pt := range got[1:] {
			checkTS(t, pt.TS)
			checkPosition(t, pt.Lat, pt.Lon)
			type opt struct {
				bit    uint16
				v      float64
				lo, hi float64
			}
			for _, o := range []opt{
				{lanewatch.FieldSpeed, pt.SpeedKmh, 0, 200},
				{lanewatch.FieldHeading, pt.Heading, 0, 360},
				{lanewatch.FieldWaterLevel, pt.WaterLevelPct, 0, 100},
				{lanewatch.FieldFuel, pt.FuelPct, 0, 100},
				{lanewatch.FieldOdometer, pt.OdometerKm, 0, math.MaxFloat64},
			} {
				if pt.Has&o.bit == 0 && o.v != 0 || !within(o.v, o.lo, o.hi) {
					t.Fatalf("field %b = %v (has %b)", o.bit, o.v, pt.Has)
				}
			}
			if pt.Has&lanewatch.FieldBrush == 0 && pt.BrushOn || pt.Has&lanewatch.FieldWater == 0 && pt.WaterOn {
				t.Fatalf("bool set without its Has bit: %+v", pt)
			}
			if len(pt.Extra) > DefaultMaxExtra {
				t.Fatalf("%d extras", len(pt.Extra))
			}
			seen := map[string]bool{}
			for _, x := range pt.Extra {
				if x.Name == "" || len(x.Name) > maxExtraNameLen || !utf8.ValidString(x.Name) || seen[x.Name] {
					t.Fatalf("bad extra name %q", x.Name)
				}
				seen[x.Name] = true
				if math.IsNaN(x.Num) || math.IsInf(x.Num, 0) || x.IsBool && x.Num != 0 || !x.IsBool && x.Bool {
					t.Fatalf("bad extra %+v", x)
				}
				switch x.Name {
				case "ts", "lat", "lon", "speed_kmh", "heading", "brush_on", "water_on", "water_level_pct", "fuel_pct", "odometer_km":
					t.Fatalf("standard field %q in Extra", x.Name)
				}
			}
		}
	})
}

func FuzzCamera(f *testing.F) {
	f.Add([]byte(cam(`"confidence":0.5`, `"bbox":[0,0,1,1]`)))
	var d Decoder
	f.Fuzz(func(t *testing.T, p []byte) {
		ev, err := d.Camera(p, now)
		if err != nil {
			checkErr(t, err)
			if ev != nil {
				t.Fatal("event returned with the error")
			}
			return
		}
		checkTS(t, ev.TS)
		if ev.EventID == "" || utf8.RuneCountInString(ev.EventID) > maxIDLen || !utf8.ValidString(ev.EventID) {
			t.Fatalf("event_id %q", ev.EventID)
		}
		if _, ok := CameraTypes[ev.Type]; !ok {
			t.Fatalf("type %q", ev.Type)
		}
		if !within(ev.Confidence, 0, 1) {
			t.Fatalf("confidence %v", ev.Confidence)
		}
		if ev.HasBBox {
			for _, v := range ev.BBox {
				if !within(v, 0, 1) {
					t.Fatalf("bbox %v", ev.BBox)
				}
			}
			if ev.BBox[0]+ev.BBox[2] > 1+bboxEpsilon || ev.BBox[1]+ev.BBox[3] > 1+bboxEpsilon {
				t.Fatalf("bbox %v outside the frame", ev.BBox)
			}
		} else if ev.BBox != [4]float64{} {
			t.Fatalf("bbox without HasBBox")
		}
		if ev.HasLocation {
			checkPosition(t, ev.Lat, ev.Lon)
		} else if ev.Lat != 0 || ev.Lon != 0 {
			t.Fatalf("location without HasLocation")
		}
		if ev.Snapshot != nil && (!bytes.HasPrefix(ev.Snapshot, jpegMagic) || len(ev.Snapshot) > DefaultMaxImage) {
			t.Fatalf("snapshot %x…", ev.Snapshot[:min(8, len(ev.Snapshot))])
		}
		if ev.SnapshotURL != "" {
			u, err := url.Parse(ev.SnapshotURL)
			if err != nil || u.Host == "" || !strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https") {
				t.Fatalf("snapshot_url %q", ev.SnapshotURL)
			}
		}
	})
}

func FuzzPlaqueScan(f *testing.F) {
	f.Add([]byte(scan(`"action":"report"`, `"category":"9101"`)))
	var d Decoder
	f.Fuzz(func(t *testing.T, p []byte) {
		s, err := d.PlaqueScan(p, now)
		if err != nil {
			checkErr(t, err)
			if s != nil {
				t.Fatal("scan returned with the error")
			}
			return
		}
		checkTS(t, s.TS)
		if s.ScanID == "" || utf8.RuneCountInString(s.ScanID) > maxIDLen {
			t.Fatalf("scan_id %q", s.ScanID)
		}
		if s.Action != ActionView && s.Action != ActionReport {
			t.Fatalf("action %q", s.Action)
		}
		if s.Category != "" {
			if _, ok := digits([]byte(s.Category)); !ok || len(s.Category) != 4 {
				t.Fatalf("category %q", s.Category)
			}
		}
		for _, str := range []string{s.ScanID, s.Description, s.Reporter.Name, s.Reporter.Phone} {
			if !utf8.ValidString(str) || strings.IndexByte(str, 0) >= 0 {
				t.Fatalf("bad string %q", str)
			}
		}
		if utf8.RuneCountInString(s.Description) > maxDescriptionLen {
			t.Fatal("description too long")
		}
		if s.Photo != nil && !bytes.HasPrefix(s.Photo, jpegMagic) && !bytes.HasPrefix(s.Photo, pngMagic) {
			t.Fatalf("photo %x…", s.Photo[:min(8, len(s.Photo))])
		}
	})
}

func FuzzStatus(f *testing.F) {
	f.Add([]byte(`{"online":true,"fw":"1.0"}`))
	var d Decoder
	f.Fuzz(func(t *testing.T, p []byte) {
		s, err := d.Status(p, now)
		if err != nil {
			checkErr(t, err)
			if s != nil {
				t.Fatal("status returned with the error")
			}
			return
		}
		checkTS(t, s.TS)
		if len(s.Fields) > DefaultMaxFields {
			t.Fatalf("%d fields", len(s.Fields))
		}
		if _, ok := s.Fields["online"]; ok {
			t.Fatal("online in Fields")
		}
		if _, ok := s.Fields["ts"]; ok {
			t.Fatal("ts in Fields")
		}
	})
}

// FuzzRFC3339 checks that the timestamp fast path agrees with time.Parse.
func FuzzRFC3339(f *testing.F) {
	f.Add("2024-06-10T07:59:00.123Z")
	f.Add("2024-06-10T07:59:00+08:00")
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := parseRFC3339([]byte(s))
		if !ok {
			return
		}
		slow, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || !fast.Equal(slow) || fast.Location() != time.UTC {
			t.Fatalf("%q: fast %v, time.Parse %v, %v", s, fast, slow, err)
		}
	})
}
