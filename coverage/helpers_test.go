package coverage

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

const testLat, testLon = 26.085, 119.300

var testProj = NewProjection(testLat, testLon)

// road is a test road in local metres.
type testRoad struct {
	id, class, district, contractor string
	width                           float64
	zones                           []string
	deadline                        string
	oneway                          bool
	pts                             [][2]float64
}

const testDistricts = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":"west","name_zh":"西","name_en":"West"},"geometry":{"type":"Polygon","coordinates":[[[119.2,26.0],[119.3,26.0],[119.3,26.2],[119.2,26.2],[119.2,26.0]]]}},
{"type":"Feature","properties":{"id":"east","name_zh":"东","name_en":"East"},"geometry":{"type":"Polygon","coordinates":[[[119.3,26.0],[119.4,26.0],[119.4,26.2],[119.3,26.2],[119.3,26.0]]]}}]}`

func roadsJSON(roads []testRoad) []byte {
	var feats []map[string]any
	for _, r := range roads {
		coords := make([][2]float64, len(r.pts))
		for i, p := range r.pts {
			lat, lon := testProj.Inverse(p[0], p[1])
			coords[i] = [2]float64{lon, lat}
		}
		props := map[string]any{"id": r.id, "name": "路" + r.id, "class": r.class, "width_m": r.width,
			"district": r.district, "contractor": r.contractor, "zones": r.zones}
		if r.deadline != "" {
			props["plan_deadline"] = r.deadline
		}
		if r.oneway {
			props["oneway"] = true
		}
		feats = append(feats, map[string]any{"type": "Feature", "properties": props,
			"geometry": map[string]any{"type": "LineString", "coordinates": coords}})
	}
	b, _ := json.Marshal(map[string]any{"type": "FeatureCollection", "features": feats})
	return b
}

func road(id string, pts ...[2]float64) testRoad {
	d := "east"
	if pts[0][0] < 0 {
		d = "west"
	}
	return testRoad{id: id, class: ClassMain, district: d, contractor: "lvcheng", width: 10, zones: []string{}, pts: pts}
}

func mustNetwork(t testing.TB, roads ...testRoad) *Network {
	t.Helper()
	n, err := Parse(roadsJSON(roads), []byte(testDistricts), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return n
}

// memStore is an in-memory Store.
type memStore struct {
	mu     sync.Mutex
	recs   map[[2]string]store.SegmentCoverage
	states map[string][]byte
	merges int
}

func newMemStore() *memStore {
	return &memStore{recs: map[[2]string]store.SegmentCoverage{}, states: map[string][]byte{}}
}

func (m *memStore) MergeCoverage(_ context.Context, recs []store.SegmentCoverage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.merges++
	for _, r := range recs {
		k := [2]string{r.Day, r.SegmentID}
		old, ok := m.recs[k]
		if !ok {
			old = store.SegmentCoverage{Day: r.Day, SegmentID: r.SegmentID}
		}
		m.recs[k] = store.MergeSegmentCoverage(old, r)
	}
	return nil
}

func (m *memStore) ListCoverage(_ context.Context, day string) ([]store.SegmentCoverage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.SegmentCoverage
	for k, r := range m.recs {
		if k[0] == day {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memStore) GetState(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.states[key]
	if !ok {
		return nil, lanewatch.Errorf(lanewatch.ENotFound, "state %q not found", key)
	}
	return v, nil
}

func (m *memStore) PutState(_ context.Context, key string, v []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.states[key] = v
	return nil
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

var shanghai = time.FixedZone("CST", 8*3600)

// day0 is 06:00 local on a test day.
var day0 = time.Date(2025, 6, 2, 6, 0, 0, 0, shanghai)

func newTracker(t testing.TB, n *Network, st Store, clock *fakeClock) *Tracker {
	t.Helper()
	tr, err := New(Options{Network: n, Store: st, Location: shanghai, Registerer: prometheus.NewPedanticRegistry(), Now: clock.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := tr.Load(context.Background()); err != nil {
		t.Fatalf("Load: %v", err)
	}
	return tr
}

// drive produces 1 Hz telemetry of a sweeper following path (local metres) at speedMS, with
// uniform GPS noise of ±noise metres on each axis, starting at start.
func drive(path [][2]float64, speedMS, noise float64, start time.Time, rng *rand.Rand) []lanewatch.Telemetry {
	var out []lanewatch.Telemetry
	ts := start
	emit := func(x, y, heading float64) {
		nx, ny := x, y
		if noise > 0 {
			nx += (rng.Float64()*2 - 1) * noise
			ny += (rng.Float64()*2 - 1) * noise
		}
		lat, lon := testProj.Inverse(nx, ny)
		out = append(out, lanewatch.Telemetry{TS: ts, Lat: lat, Lon: lon, SpeedKmh: speedMS * 3.6, Heading: heading, BrushOn: true,
			Has: lanewatch.FieldSpeed | lanewatch.FieldHeading | lanewatch.FieldBrush})
		ts = ts.Add(time.Second)
	}
	carry := 0.0 // distance already travelled into the current leg
	for i := 0; i+1 < len(path); i++ {
		a, b := path[i], path[i+1]
		dx, dy := b[0]-a[0], b[1]-a[1]
		l := math.Hypot(dx, dy)
		h := math.Mod(math.Atan2(dx, dy)*180/math.Pi+360, 360)
		d := carry
		for ; d < l; d += speedMS {
			f := d / l
			emit(a[0]+f*dx, a[1]+f*dy, h)
		}
		carry = d - l
	}
	last := path[len(path)-1]
	prev := path[len(path)-2]
	emit(last[0], last[1], math.Mod(math.Atan2(last[0]-prev[0], last[1]-prev[1])*180/math.Pi+360, 360))
	return out
}

func arc(cx, cy, r, from, to float64, steps int) [][2]float64 {
	var pts [][2]float64
	for i := 0; i <= steps; i++ {
		a := (from + (to-from)*float64(i)/float64(steps)) * math.Pi / 180
		pts = append(pts, [2]float64{cx + r*math.Cos(a), cy + r*math.Sin(a)})
	}
	return pts
}

func ratioOf(t *testing.T, tr *Tracker, day, id string) (float64, float64) {
	t.Helper()
	days, err := tr.Day(context.Background(), day)
	if err != nil {
		t.Fatalf("Day: %v", err)
	}
	for _, sd := range days {
		if sd.Segment.ID == id {
			return sd.CoveredM, sd.Ratio
		}
	}
	t.Fatalf("segment %s not found", id)
	return 0, 0
}

func errContains(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v, want it to contain %q", err, want)
	}
}

// observeSettled observes a sweeper's points and decides them all at once (as a vehicle falling
// silent for lag_timeout would have them decided).
func observeSettled(tr *Tracker, deviceID string, pts []lanewatch.Telemetry) []string {
	ids := tr.Observe(deviceID, "sweeper", pts, nil)
	vi, _ := tr.vehicles.Load(deviceID)
	v := vi.(*vehicle)
	v.mu.Lock()
	tr.settle(deviceID, v)
	v.mu.Unlock()
	return ids
}
