// Package scenario generates road networks and vehicle tracks with exact per-segment truth
// for the coverage ground-truth suite (coverage/groundtruth_test.go): each Family is a network
// in local metres, vehicles driving known legs at known speeds with a known working state,
// their GPS samples (noise independent or correlated, any sampling interval) in delivery
// order, and the covered metres per segment per day computed from the true motion, in
// continuous time, without any map matching.
//
// It must not import coverage (the suite in package coverage imports it); it knows nothing of
// how coverage matches.
package scenario

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/lanewatch/lanewatch"
)

// Centre of the local metric frame (Zhongshan city centre); x metres east, y metres north.
const (
	CentreLat = 22.515
	CentreLon = 113.375
)

const earthRadiusM = 6371008.8

// ToLatLon converts local metres to WGS-84 (equirectangular around the centre).
func ToLatLon(x, y float64) (lat, lon float64) {
	ky := earthRadiusM * math.Pi / 180
	kx := ky * math.Cos(CentreLat*math.Pi/180)
	return CentreLat + y/ky, CentreLon + x/kx
}

// Road is one segment of a generated network, in local metres.
type Road struct {
	ID     string
	Class  string
	WidthM float64
	OneWay bool
	Pts    [][2]float64
}

// Length is the road's length in metres.
func (r *Road) Length() float64 {
	var l float64
	for i := 1; i < len(r.Pts); i++ {
		l += math.Hypot(r.Pts[i][0]-r.Pts[i-1][0], r.Pts[i][1]-r.Pts[i-1][1])
	}
	return l
}

// at returns the position and unit direction at along metres from the road's start.
func (r *Road) at(along float64) (x, y, dx, dy float64) {
	for i := 1; i < len(r.Pts); i++ {
		a, b := r.Pts[i-1], r.Pts[i]
		l := math.Hypot(b[0]-a[0], b[1]-a[1])
		if along <= l || i == len(r.Pts)-1 {
			f := math.Max(0, math.Min(1, along/l))
			return a[0] + f*(b[0]-a[0]), a[1] + f*(b[1]-a[1]), (b[0] - a[0]) / l, (b[1] - a[1]) / l
		}
		along -= l
	}
	return r.Pts[0][0], r.Pts[0][1], 1, 0
}

// Net is a generated network.
type Net struct {
	Roads []Road
}

// Road returns the road with id (nil when none).
func (n *Net) Road(id string) *Road {
	for i := range n.Roads {
		if n.Roads[i].ID == id {
			return &n.Roads[i]
		}
	}
	return nil
}

// Add appends a road and returns its id.
func (n *Net) Add(id, class string, oneway bool, pts ...[2]float64) string {
	n.Roads = append(n.Roads, Road{ID: id, Class: class, WidthM: widthOf(class), OneWay: oneway, Pts: pts})
	return id
}

func widthOf(class string) float64 {
	switch class {
	case "main":
		return 12
	case "secondary":
		return 9
	case "branch":
		return 7
	}
	return 4
}

// District is the one district of every generated network (a box of ±5 km).
const District = "truth"

// RoadsGeoJSON renders the network as a roads.geojson document (all in District, contractor
// "c1", zone none).
func (n *Net) RoadsGeoJSON() []byte {
	feats := make([]map[string]any, 0, len(n.Roads))
	for _, r := range n.Roads {
		coords := make([][2]float64, len(r.Pts))
		for i, p := range r.Pts {
			lat, lon := ToLatLon(p[0], p[1])
			coords[i] = [2]float64{lon, lat}
		}
		props := map[string]any{"id": r.ID, "name": "路" + r.ID, "class": r.Class, "width_m": r.WidthM,
			"district": District, "contractor": "c1", "zones": []string{}}
		if r.OneWay {
			props["oneway"] = true
		}
		feats = append(feats, map[string]any{"type": "Feature", "properties": props,
			"geometry": map[string]any{"type": "LineString", "coordinates": coords}})
	}
	b, err := json.Marshal(map[string]any{"type": "FeatureCollection", "features": feats})
	if err != nil {
		panic(err) // only plain values above
	}
	return b
}

// DistrictsGeoJSON is the districts document of every generated network.
func DistrictsGeoJSON() []byte {
	lat0, lon0 := ToLatLon(-5000, -5000)
	lat1, lon1 := ToLatLon(5000, 5000)
	return fmt.Appendf(nil, `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":%q,"name_zh":"真值","name_en":"Truth"},"geometry":{"type":"Polygon","coordinates":[[[%f,%f],[%f,%f],[%f,%f],[%f,%f],[%f,%f]]]}}]}`,
		District, lon0, lat0, lon1, lat0, lon1, lat1, lon0, lat1, lon0, lat0)
}

// Grid adds a street grid of nx × ny blocks of block metres with its south-west corner at
// (x0, y0): horizontal roads "h<row>-<col>" (west to east) and vertical roads "v<col>-<row>"
// (south to north), one segment per block side.
func (n *Net) Grid(nx, ny int, block, x0, y0 float64, class string) {
	for r := 0; r <= ny; r++ {
		for c := 0; c < nx; c++ {
			y, x := y0+float64(r)*block, x0+float64(c)*block
			n.Add(fmt.Sprintf("h%d-%d", r, c), class, false, [2]float64{x, y}, [2]float64{x + block, y})
		}
	}
	for c := 0; c <= nx; c++ {
		for r := 0; r < ny; r++ {
			x, y := x0+float64(c)*block, y0+float64(r)*block
			n.Add(fmt.Sprintf("v%d-%d", c, r), class, false, [2]float64{x, y}, [2]float64{x, y + block})
		}
	}
}

// GridRoute returns the legs of a drive through grid nodes (col, row), each step to a
// neighbouring node.
func GridRoute(nodes ...[2]int) []Leg {
	var legs []Leg
	for i := 1; i < len(nodes); i++ {
		a, b := nodes[i-1], nodes[i]
		switch {
		case b[1] == a[1] && b[0] == a[0]+1:
			legs = append(legs, Leg{Road: fmt.Sprintf("h%d-%d", a[1], a[0]), From: 0, To: -1})
		case b[1] == a[1] && b[0] == a[0]-1:
			legs = append(legs, Leg{Road: fmt.Sprintf("h%d-%d", a[1], b[0]), From: -1, To: 0})
		case b[0] == a[0] && b[1] == a[1]+1:
			legs = append(legs, Leg{Road: fmt.Sprintf("v%d-%d", a[0], a[1]), From: 0, To: -1})
		case b[0] == a[0] && b[1] == a[1]-1:
			legs = append(legs, Leg{Road: fmt.Sprintf("v%d-%d", a[0], b[1]), From: -1, To: 0})
		default:
			panic(fmt.Sprintf("scenario: grid nodes %v and %v are not neighbours", a, b))
		}
	}
	return legs
}

// Leg is a stretch of one road driven from along From to along To (To < From: against the
// road's direction); -1 stands for the road's length. SpeedKmh 0 takes the vehicle's speed.
type Leg struct {
	Road     string
	From, To float64
	SpeedKmh float64
}

// Noise is the GPS error: Sigma metres per axis, independent per sample when CorrTime is 0,
// else a first-order autoregressive (drifting) error with that correlation time. Bias adds a
// constant offset in metres to the left (positive) of the direction of travel.
type Noise struct {
	Sigma    float64
	CorrTime time.Duration
	Bias     float64
}

// Vehicle is one vehicle's drive.
type Vehicle struct {
	ID       string
	Legs     []Leg
	Start    time.Time
	SpeedKmh float64
	Every    time.Duration
	Noise    Noise
	// Working reports whether the brush is down at a time since Start; nil means always.
	Working func(since time.Duration) bool
	// SpeedScale multiplies the reported speed (0: 1; a speedometer a few per cent off).
	SpeedScale float64
	Seed       uint64
}

// Batch is one message of a device as delivered.
type Batch struct {
	Device string
	Points []lanewatch.Telemetry
}

// Family is one ground-truth case.
type Family struct {
	Name string
	Net  Net
	// RadiusM is the search radius the family is matched with (0: the default); noisy fleets
	// raise it (DOMAIN 6).
	RadiusM float64
	// SigmaM and Lag, when set, are the matcher's σ and lag for the family (a noisy fleet is
	// configured for its noise).
	SigmaM   float64
	Lag      int
	Vehicles []Vehicle
	// Reorder, if set, permutes the delivery order of each vehicle's chunks of Chunk points.
	Chunk   int
	Reorder []int
}

// Working band of a sweeper (DOMAIN 6 defaults, inclusive).
const (
	MinKmh = 3.0
	MaxKmh = 12.0
)

// piece is a leg resolved: road, along range and the time it is driven.
type piece struct {
	road         *Road
	from, to     float64
	t0, t1       float64 // seconds since start
	speedKmh     float64
	speedWorking bool
}

func (f *Family) pieces(v *Vehicle) []piece {
	var out []piece
	t := 0.0
	for _, l := range v.Legs {
		r := f.Net.Road(l.Road)
		if r == nil {
			panic("scenario: unknown road " + l.Road)
		}
		from, to := l.From, l.To
		if from < 0 {
			from = r.Length()
		}
		if to < 0 {
			to = r.Length()
		}
		sp := l.SpeedKmh
		if sp == 0 {
			sp = v.SpeedKmh
		}
		d := math.Abs(to - from)
		dt := d / (sp / 3.6)
		out = append(out, piece{road: r, from: from, to: to, t0: t, t1: t + dt, speedKmh: sp, speedWorking: sp >= MinKmh && sp <= MaxKmh})
		t += dt
	}
	return out
}

// Duration is how long the vehicle drives.
func (f *Family) Duration(v *Vehicle) time.Duration {
	ps := f.pieces(v)
	return time.Duration(ps[len(ps)-1].t1 * float64(time.Second))
}

// Samples returns the vehicle's GPS samples in time order.
func (f *Family) Samples(v *Vehicle) []lanewatch.Telemetry {
	ps := f.pieces(v)
	end := ps[len(ps)-1].t1
	rng := rand.New(rand.NewPCG(v.Seed, 0x5eed))
	every := v.Every.Seconds()
	rho := 0.0
	if v.Noise.CorrTime > 0 {
		rho = math.Exp(-every / v.Noise.CorrTime.Seconds())
	}
	var ex, ey float64
	var out []lanewatch.Telemetry
	k := 0
	for ts := 0.0; ts <= end+1e-9; ts = float64(k) * every {
		p := pieceAt(ps, ts)
		along := p.from + (p.to-p.from)*frac(ts, p.t0, p.t1)
		x, y, dx, dy := p.road.at(along)
		if p.to < p.from {
			dx, dy = -dx, -dy
		}
		nx, ny := rng.NormFloat64()*v.Noise.Sigma, rng.NormFloat64()*v.Noise.Sigma
		if k == 0 || rho == 0 {
			ex, ey = nx, ny
		} else {
			s := math.Sqrt(1 - rho*rho)
			ex, ey = rho*ex+s*nx, rho*ey+s*ny
		}
		x += ex - dy*v.Noise.Bias
		y += ey + dx*v.Noise.Bias
		lat, lon := ToLatLon(x, y)
		heading := math.Mod(math.Atan2(dx, dy)*180/math.Pi+360, 360)
		brush := v.Working == nil || v.Working(time.Duration(ts*float64(time.Second)))
		out = append(out, lanewatch.Telemetry{TS: v.Start.Add(time.Duration(ts * float64(time.Second))), Lat: lat, Lon: lon,
			SpeedKmh: p.speedKmh * speedScale(v), Heading: heading, BrushOn: brush,
			Has: lanewatch.FieldSpeed | lanewatch.FieldHeading | lanewatch.FieldBrush})
		k++
	}
	return out
}

func speedScale(v *Vehicle) float64 {
	if v.SpeedScale == 0 {
		return 1
	}
	return v.SpeedScale
}

func frac(t, t0, t1 float64) float64 {
	if t1 <= t0 {
		return 1
	}
	return math.Max(0, math.Min(1, (t-t0)/(t1-t0)))
}

func pieceAt(ps []piece, t float64) *piece {
	for i := range ps {
		if t <= ps[i].t1 {
			return &ps[i]
		}
	}
	return &ps[len(ps)-1]
}

// Delivery returns every vehicle's samples as one-point messages, interleaved by time, each
// vehicle's chunks permuted by Reorder.
func (f *Family) Delivery() []Batch {
	type item struct {
		b   Batch
		key int
		ts  time.Time
	}
	var items []item
	for vi := range f.Vehicles {
		v := &f.Vehicles[vi]
		s := f.Samples(v)
		order := make([]int, len(s))
		for i := range order {
			order[i] = i
		}
		if f.Chunk > 0 && len(f.Reorder) > 0 {
			order = order[:0]
			nch := (len(s) + f.Chunk - 1) / f.Chunk
			done := map[int]bool{}
			emit := func(c int) {
				if c < nch && !done[c] {
					done[c] = true
					for i := c * f.Chunk; i < min(len(s), (c+1)*f.Chunk); i++ {
						order = append(order, i)
					}
				}
			}
			for _, c := range f.Reorder {
				emit(c)
			}
			for c := range nch {
				emit(c)
			}
		}
		// Delivery slot: the k-th delivered point of a vehicle goes out at the k-th sample time.
		for k, i := range order {
			items = append(items, item{b: Batch{Device: v.ID, Points: []lanewatch.Telemetry{s[i]}}, key: vi, ts: s[k].TS})
		}
	}
	sort.SliceStable(items, func(a, b int) bool {
		if !items[a].ts.Equal(items[b].ts) {
			return items[a].ts.Before(items[b].ts)
		}
		return items[a].key < items[b].key
	})
	out := make([]Batch, len(items))
	for i, it := range items {
		out[i] = it.b
	}
	return out
}

// Truth returns the covered metres per day (local date in loc) per road id: the union of the
// stretches driven while working (brush down and speed inside the band) between the first and
// the last sample, from the continuous motion.
func (f *Family) Truth(loc *time.Location) map[string]map[string]float64 {
	type key struct{ day, road string }
	ivs := map[key][][2]float64{}
	for vi := range f.Vehicles {
		v := &f.Vehicles[vi]
		ps := f.pieces(v)
		s := f.Samples(v)
		last := s[len(s)-1].TS.Sub(v.Start).Seconds()
		// Cut points: brush changes (searched at 1 ms), midnights, piece ends.
		cuts := []float64{0, last}
		step := 0.001
		prev := v.Working == nil || v.Working(0)
		for t := step; t <= last; t += step {
			w := v.Working == nil || v.Working(time.Duration(t*float64(time.Second)))
			if w != prev {
				cuts = append(cuts, t)
				prev = w
			}
		}
		for d := v.Start.In(loc); ; {
			y, m, dd := d.Date()
			next := time.Date(y, m, dd+1, 0, 0, 0, 0, loc)
			t := next.Sub(v.Start).Seconds()
			if t >= last {
				break
			}
			cuts = append(cuts, t)
			d = next
		}
		for _, p := range ps {
			cuts = append(cuts, p.t0, p.t1)
		}
		sort.Float64s(cuts)
		for i := 1; i < len(cuts); i++ {
			a, b := cuts[i-1], min(cuts[i], last)
			if b <= a {
				continue
			}
			mid := (a + b) / 2
			if v.Working != nil && !v.Working(time.Duration(mid*float64(time.Second))) {
				continue
			}
			day := v.Start.Add(time.Duration(mid * float64(time.Second))).In(loc).Format(time.DateOnly)
			for _, p := range ps {
				lo, hi := max(a, p.t0), min(b, p.t1)
				if hi <= lo || !p.speedWorking {
					continue
				}
				s0 := p.from + (p.to-p.from)*frac(lo, p.t0, p.t1)
				s1 := p.from + (p.to-p.from)*frac(hi, p.t0, p.t1)
				k := key{day, p.road.ID}
				ivs[k] = append(ivs[k], [2]float64{min(s0, s1), max(s0, s1)})
			}
		}
	}
	out := map[string]map[string]float64{}
	for k, iv := range ivs {
		if out[k.day] == nil {
			out[k.day] = map[string]float64{}
		}
		out[k.day][k.road] = union(iv)
	}
	return out
}

func union(iv [][2]float64) float64 {
	sort.Slice(iv, func(a, b int) bool { return iv[a][0] < iv[b][0] })
	var sum, lo, hi float64
	open := false
	for _, x := range iv {
		if !open || x[0] > hi {
			if open {
				sum += hi - lo
			}
			lo, hi, open = x[0], x[1], true
			continue
		}
		hi = max(hi, x[1])
	}
	if open {
		sum += hi - lo
	}
	return sum
}
