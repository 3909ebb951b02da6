package simulators

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image/jpeg"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
)

var t0 = time.Date(2026, 3, 2, 1, 30, 0, 0, time.UTC)

// run calls g.Next n times, one step apart from t0, and returns the payloads (nil ones too).
func run(g Generator, n int, step time.Duration, now func(i int) time.Time) (topics []string, payloads [][]byte) {
	for i := range n {
		t := t0.Add(time.Duration(i) * step)
		if now != nil {
			t = now(i)
		}
		topic, p := g.Next(t)
		topics = append(topics, topic)
		payloads = append(payloads, p)
	}
	return topics, payloads
}

var tsPattern = regexp.MustCompile(`"ts":"[^"]*"`)

// stripTS removes the timestamps, the only part that may depend on the wall clock.
func stripTS(ps [][]byte) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = tsPattern.ReplaceAllString(string(p), `"ts":""`)
	}
	return out
}

func allGenerators(seed uint64, index int) map[string]func() Generator {
	return map[string]func() Generator{
		"sweeper": func() Generator {
			return NewVehicleSim(VehicleConfig{ID: "sw-001", Type: lanewatch.DeviceSweeper, District: "xiqu", Seed: seed, Index: index})
		},
		"sprinkler": func() Generator {
			return NewVehicleSim(VehicleConfig{ID: "sp-001", Type: lanewatch.DeviceSprinkler, District: "nanqu", Seed: seed, Index: index})
		},
		"camera": func() Generator {
			return NewCameraSim(CameraConfig{ID: "cam-001", District: "dongqu", Seed: seed, Index: index})
		},
		"plaque": func() Generator {
			return NewPlaqueSim(PlaqueConfig{ID: "pl-001", District: "shiqi", Seed: seed, Index: index})
		},
	}
}

func TestDeterministic(t *testing.T) {
	for name, mk := range allGenerators(42, 3) {
		t.Run(name, func(t *testing.T) {
			_, a := run(mk(), 600, DefaultStep, nil)
			// Same seed and index, different wall clock: same contents.
			_, b := run(mk(), 600, DefaultStep, func(i int) time.Time { return time.Now().Add(time.Duration(i) * time.Millisecond) })
			sa, sb := stripTS(a), stripTS(b)
			sent := 0
			for i := range sa {
				if sa[i] != sb[i] {
					t.Fatalf("tick %d differs:\n%s\n%s", i, sa[i], sb[i])
				}
				if a[i] != nil {
					sent++
				}
			}
			if sent == 0 {
				t.Fatal("nothing published in 600 ticks")
			}
		})
	}
	for name, mk := range allGenerators(43, 3) {
		t.Run(name+"/other seed", func(t *testing.T) {
			_, a := run(mk(), 600, DefaultStep, nil)
			_, b := run(allGenerators(42, 3)[name](), 600, DefaultStep, nil)
			if strings.Join(stripTS(a), "\n") == strings.Join(stripTS(b), "\n") {
				t.Fatal("seeds 42 and 43 gave the same payloads")
			}
		})
	}
}

func TestDistrictsAdjacent(t *testing.T) {
	for name, b := range Districts {
		if !OldTown.Contains(b.Center()) {
			t.Errorf("%s: centre outside the old town", name)
		}
		w, h := distanceKm(Point{b.MinLat, b.MinLon}, Point{b.MinLat, b.MaxLon}), distanceKm(Point{b.MinLat, b.MinLon}, Point{b.MaxLat, b.MinLon})
		if w < 1.3 || w > 1.7 || h < 1.3 || h > 1.7 {
			t.Errorf("%s: %.2f × %.2f km, want about 1.5 km", name, w, h)
		}
	}
	if _, ok := DistrictBox("nowhere"); ok {
		t.Error("unknown district reported as known")
	}
}

// telemetryPoints decodes a telemetry payload: one object or an array.
func telemetryPoints(t *testing.T, p []byte) []map[string]any {
	t.Helper()
	if len(p) > 0 && p[0] == '[' {
		var pts []map[string]any
		if err := json.Unmarshal(p, &pts); err != nil {
			t.Fatalf("batch: %v: %s", err, p)
		}
		if len(pts) < 2 {
			t.Fatalf("batch of %d points", len(pts))
		}
		return pts
	}
	var pt map[string]any
	if err := json.Unmarshal(p, &pt); err != nil {
		t.Fatalf("object: %v: %s", err, p)
	}
	return []map[string]any{pt}
}

func checkTS(t *testing.T, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("ts %v is not a string", v)
	}
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil || !strings.HasSuffix(s, "Z") || len(s) != len("2006-01-02T15:04:05.000Z") {
		t.Fatalf("ts %q is not RFC 3339 with milliseconds in UTC (%v)", s, err)
	}
	return ts
}

func TestVehicleTelemetry(t *testing.T) {
	types := []lanewatch.DeviceType{lanewatch.DeviceSweeper, lanewatch.DeviceWasher, lanewatch.DeviceSprinkler}
	districts := []string{"xiqu", "dongqu", "shiqi", "nanqu"}
	const ticks = 1800 // one hour at 2 s
	sawSpeeding, sawLowFuel, sawSilence := false, false, false
	for index := range 12 {
		typ := types[index%3]
		if index%6 == 0 {
			typ = lanewatch.DeviceSweeper
		}
		district := districts[index%4]
		v := NewVehicleSim(VehicleConfig{ID: "v-1", Type: typ, District: district, Seed: 7, Index: index})
		box := Districts[district]
		lo, hi := SpeedBand(typ)
		topics, payloads := run(v, ticks, DefaultStep, nil)
		var lastOdo float64
		batches, objects, maxGap, gap := 0, 0, 0, 0
		for i, p := range payloads {
			if topics[i] != "vehicles/v-1/telemetry" {
				t.Fatalf("topic %q", topics[i])
			}
			if p == nil {
				gap++
				maxGap = max(maxGap, gap)
				continue
			}
			gap = 0
			if p[0] == '[' {
				batches++
			} else {
				objects++
			}
			for _, pt := range telemetryPoints(t, p) {
				checkTS(t, pt["ts"])
				lat, lon := pt["lat"].(float64), pt["lon"].(float64)
				if !box.Contains(Point{lat, lon}) {
					t.Fatalf("vehicle %d (%s): %v,%v outside %s", index, typ, lat, lon, district)
				}
				speed := pt["speed_kmh"].(float64)
				switch {
				case speed == 0: // waiting at a crossing
				case speed >= lo && speed <= hi:
				case speed > 20 && typ == lanewatch.DeviceSweeper && v.Misbehaviour().Speeding:
					if pt["brush_on"] != true {
						t.Fatalf("speeding without brushes: %v", pt)
					}
					sawSpeeding = true
				default:
					t.Fatalf("vehicle %d (%s): speed %v outside %v..%v", index, typ, speed, lo, hi)
				}
				if h := pt["heading"].(float64); h < 0 || h >= 360.05 {
					t.Fatalf("heading %v", h)
				}
				wantBrush := typ == lanewatch.DeviceSweeper
				if pt["brush_on"] != wantBrush || pt["water_on"] != true {
					t.Fatalf("%s working flags: %v", typ, pt)
				}
				for _, k := range []string{"water_level_pct", "fuel_pct"} {
					if x := pt[k].(float64); x < 0 || x > 100 {
						t.Fatalf("%s %v", k, x)
					}
				}
				if f := pt["fuel_pct"].(float64); f < 5 && i < 300 && v.Misbehaviour().LowFuel {
					sawLowFuel = true
				}
				odo := pt["odometer_km"].(float64)
				if odo < lastOdo {
					t.Fatalf("odometer went back: %v < %v", odo, lastOdo)
				}
				lastOdo = odo
			}
		}
		if objects == 0 || batches == 0 || float64(batches)/float64(batches+objects) > 0.2 {
			t.Errorf("vehicle %d: %d objects, %d batches; want about one batch in ten", index, objects, batches)
		}
		if v.Misbehaviour().Silent && maxGap*2 >= 90 {
			sawSilence = true
		}
		if !v.Misbehaviour().Silent && maxGap > 8 {
			t.Errorf("vehicle %d: silent for %d ticks without being the silent one", index, maxGap)
		}
	}
	if !sawSpeeding || !sawLowFuel || !sawSilence {
		t.Errorf("misbehaviour seen: speeding %v, low fuel within 10 min %v, silence %v", sawSpeeding, sawLowFuel, sawSilence)
	}
}

func TestVehicleMisbehaviourShare(t *testing.T) {
	speeders := 0
	for i := range 12 {
		if VehicleMisbehaviour(lanewatch.DeviceSweeper, i).Speeding {
			speeders++
		}
	}
	if speeders != 2 {
		t.Errorf("%d of 12 sweepers speed, want 2", speeders)
	}
	if VehicleMisbehaviour(lanewatch.DeviceWasher, 0).Speeding {
		t.Error("a washer speeds")
	}
}

func TestVehicleMoves(t *testing.T) {
	v := NewVehicleSim(VehicleConfig{ID: "ws-1", Type: lanewatch.DeviceWasher, District: "shiqi", Seed: 1, Index: 4})
	start := v.Position()
	var total float64
	prev := start
	for i := range 900 {
		v.Next(t0.Add(time.Duration(i) * DefaultStep))
		total += distanceKm(prev, v.Position())
		prev = v.Position()
	}
	// 30 minutes at 3–15 km/h with some stops.
	if total < 1 || total > 7.5 {
		t.Errorf("drove %.2f km in 30 min", total)
	}
}

func TestCameraEvents(t *testing.T) {
	const ticks = 3600 // two hours
	known := map[string]bool{HeartbeatType: true}
	for _, typ := range CameraEventTypes {
		known[typ] = true
	}
	seenTypes := map[string]int{}
	for index := range 4 {
		c := NewCameraSim(CameraConfig{ID: "cam-9", District: "xiqu", Seed: 3, Index: index, RunID: "r1"})
		loc := c.Location()
		if !Districts["xiqu"].Contains(loc) {
			t.Fatalf("camera at %v outside xiqu", loc)
		}
		ids := map[string]bool{}
		var prevBox *[4]float64
		var prevType string
		for i, p := range stripNil(run(c, ticks, DefaultStep, nil)) {
			if p.topic != "cameras/cam-9/events" {
				t.Fatalf("topic %q", p.topic)
			}
			var ev CameraPayload
			if err := json.Unmarshal(p.payload, &ev); err != nil {
				t.Fatalf("%v: %s", err, p.payload)
			}
			checkTS(t, mustMap(t, p.payload)["ts"])
			if ev.EventID == "" || ids[ev.EventID] || !strings.HasPrefix(ev.EventID, "r1-cam-9-") {
				t.Fatalf("event_id %q empty, repeated or without run prefix", ev.EventID)
			}
			ids[ev.EventID] = true
			if !known[ev.Type] {
				t.Fatalf("type %q", ev.Type)
			}
			seenTypes[ev.Type]++
			if distanceKm(loc, Point{ev.Lat, ev.Lon}) > 0.1 {
				t.Fatalf("event %d at %v,%v, over 100 m from the camera", i, ev.Lat, ev.Lon)
			}
			if ev.Type == HeartbeatType {
				if ev.BBox != nil || ev.Confidence != nil {
					t.Fatalf("heartbeat with a detection: %s", p.payload)
				}
				continue
			}
			if ev.Confidence == nil || *ev.Confidence < 0.5 || *ev.Confidence > 0.98 {
				t.Fatalf("confidence %v", ev.Confidence)
			}
			b := ev.BBox
			if b == nil {
				t.Fatalf("detection without bbox: %s", p.payload)
			}
			for _, x := range b {
				if x < 0 || x > 1 {
					t.Fatalf("bbox %v", *b)
				}
			}
			if b[0]+b[2] > 1+1e-9 || b[1]+b[3] > 1+1e-9 || b[2] <= 0 || b[3] <= 0 {
				t.Fatalf("bbox %v leaves the frame", *b)
			}
			if ev.Snapshot != "" {
				t.Fatal("snapshot without Snapshots")
			}
			// Consecutive detections of the same incident drift only slightly.
			if prevBox != nil && prevType == ev.Type && iou(*prevBox, *b) < 0.3 && abs(prevBox[0]-b[0]) < 0.05 {
				t.Fatalf("box jumped: %v -> %v", *prevBox, *b)
			}
			prevBox, prevType = b, ev.Type
		}
	}
	if seenTypes[HeartbeatType] == 0 || len(seenTypes) < 5 {
		t.Errorf("types seen: %v", seenTypes)
	}
}

func TestCameraIncidentPersists(t *testing.T) {
	c := NewCameraSim(CameraConfig{ID: "cam-1", District: "nanqu", Seed: 11})
	var first *CameraPayload
	var firstAt time.Time
	persisted := time.Duration(0)
	for i := range 2000 {
		now := t0.Add(time.Duration(i) * DefaultStep)
		_, p := c.Next(now)
		if p == nil {
			continue
		}
		var ev CameraPayload
		if err := json.Unmarshal(p, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type == HeartbeatType {
			continue
		}
		if first == nil {
			first, firstAt = &ev, now
			continue
		}
		if ev.Type != first.Type || iou(*first.BBox, *ev.BBox) < 0.3 {
			break
		}
		persisted = now.Sub(firstAt)
	}
	if persisted < 90*time.Second || persisted > 7*time.Minute {
		t.Errorf("first incident persisted %s, want a few minutes", persisted)
	}
}

func TestCameraSnapshot(t *testing.T) {
	c := NewCameraSim(CameraConfig{ID: "cam-1", District: "nanqu", Seed: 11, Snapshots: true})
	for i := range 2000 {
		_, p := c.Next(t0.Add(time.Duration(i) * DefaultStep))
		if p == nil {
			continue
		}
		var ev CameraPayload
		if err := json.Unmarshal(p, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type == HeartbeatType {
			continue
		}
		img, err := base64.StdEncoding.DecodeString(ev.Snapshot)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := jpeg.Decode(bytes.NewReader(img)); err != nil {
			t.Fatalf("snapshot is not a JPEG: %v", err)
		}
		if len(p) > 2048 {
			t.Errorf("payload with snapshot is %d bytes", len(p))
		}
		return
	}
	t.Fatal("no detection")
}

var phonePattern = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

func TestPlaqueScans(t *testing.T) {
	views, reports := 0, 0
	ids := map[string]bool{}
	for index := range 6 {
		p := NewPlaqueSim(PlaqueConfig{ID: "pl-3", District: "dongqu", Seed: 5, Index: index, Photos: index == 0})
		for _, m := range stripNil(run(p, 3600, DefaultStep, nil)) {
			if m.topic != "plaques/pl-3/scans" {
				t.Fatalf("topic %q", m.topic)
			}
			var s ScanPayload
			if err := json.Unmarshal(m.payload, &s); err != nil {
				t.Fatal(err)
			}
			checkTS(t, mustMap(t, m.payload)["ts"])
			if s.ScanID == "" || ids[s.ScanID] {
				t.Fatalf("scan_id %q empty or repeated", s.ScanID)
			}
			ids[s.ScanID] = true
			switch s.Action {
			case ActionView:
				views++
				if s.Category != "" || s.Reporter != nil {
					t.Fatalf("view with a report: %s", m.payload)
				}
			case ActionReport:
				reports++
				if _, ok := PlaqueReportCategories[s.Category]; !ok {
					t.Fatalf("category %q", s.Category)
				}
				if s.Description == "" || s.Reporter == nil || s.Reporter.Name == "" || !phonePattern.MatchString(s.Reporter.Phone) {
					t.Fatalf("report fields: %s", m.payload)
				}
				if (s.Photo != "") != (index == 0) {
					t.Fatalf("photo %q with Photos %v", s.Photo, index == 0)
				}
			default:
				t.Fatalf("action %q", s.Action)
			}
		}
		ids = map[string]bool{} // ids are unique per plaque; plaques share the prefix here
	}
	if views == 0 || reports == 0 || reports*2 > views {
		t.Errorf("%d views, %d reports: want mostly views", views, reports)
	}
}

type msg struct {
	topic   string
	payload []byte
}

func stripNil(topics []string, payloads [][]byte) []msg {
	var out []msg
	for i, p := range payloads {
		if p != nil {
			out = append(out, msg{topics[i], p})
		}
	}
	return out
}

func mustMap(t *testing.T, p []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func iou(a, b [4]float64) float64 {
	ix := max(0, min(a[0]+a[2], b[0]+b[2])-max(a[0], b[0]))
	iy := max(0, min(a[1]+a[3], b[1]+b[3])-max(a[1], b[1]))
	inter := ix * iy
	union := a[2]*a[3] + b[2]*b[3] - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

func abs(x float64) float64 { return max(x, -x) }

// TestWarmStart: a warm camera reports a street-vending incident on its first tick and keeps
// reporting it for longer than the camera rules' `for` (2 minutes at most); a warm plaque's
// first scan is a report.
func TestWarmStart(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	cam := NewCameraSim(CameraConfig{ID: "cam-001", District: "xiqu", Seed: 7, WarmStart: true})
	var first CameraPayload
	_, b := cam.Next(t0)
	if err := json.Unmarshal(b, &first); err != nil || first.Type != "street_vending" || first.Confidence == nil || *first.Confidence < 0.8 {
		t.Fatalf("first tick: %s (%v): want a street_vending detection with confidence >= 0.8", b, err)
	}
	lastSeen := t0
	for i := 1; i < 300; i++ {
		now := t0.Add(time.Duration(i) * DefaultStep)
		if _, b := cam.Next(now); b != nil {
			var ev CameraPayload
			if json.Unmarshal(b, &ev) == nil && ev.Type == "street_vending" {
				lastSeen = now
			}
		}
	}
	if d := lastSeen.Sub(t0); d < 3*time.Minute {
		t.Errorf("the warm incident was reported for %s, want >= 3m", d)
	}
	pl := NewPlaqueSim(PlaqueConfig{ID: "pl-001", District: "xiqu", Seed: 7, WarmStart: true})
	var scan ScanPayload
	if _, b := pl.Next(t0); json.Unmarshal(b, &scan) != nil || scan.Action != ActionReport || scan.Reporter == nil || scan.Category == "" {
		t.Fatalf("warm plaque's first tick: %s: want a report with category and reporter", b)
	}
}
