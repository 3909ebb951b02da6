package coverage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// Store is the persistence the tracker needs (store.Store satisfies it).
type Store interface {
	store.Coverage
	GetState(ctx context.Context, key string) ([]byte, error)
	PutState(ctx context.Context, key string, value []byte) error
}

// PointWriter takes InfluxDB line protocol (influx.Sink satisfies it).
type PointWriter interface {
	Write(ctx context.Context, lines []byte, points int) error
}

// Options configure a Tracker.
type Options struct {
	Network  *Network
	Config   Config // defaulted and validated by New
	Store    Store
	Points   PointWriter // may be nil
	Location *time.Location
	// Registerer receives lanewatch_mechanization_rate; nil means a private registry.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
	// Neighbours, if set, reads stored points to credit stretches whose two ends were observed
	// on different nodes or across a restart (handoff.go).
	Neighbours Neighbours
	// JudgeFrom: plan deadlines before it are not judged (no 9003 shortfall), because lanewatch
	// was not watching the vehicles before then: a server started at noon must not report every
	// main road as unswept at 09:00. The app sets it to its start time; zero judges every deadline.
	JudgeFrom time.Time
}

// Tracker map-matches telemetry and keeps per-segment per-day coverage. Observe is safe for
// concurrent use across devices; the points of one device must come from one goroutine at a
// time (the pipeline's per-device worker).
type Tracker struct {
	o      Options
	net    *Network
	cfg    Config
	logger *slog.Logger

	vehicles sync.Map // device id -> *vehicle

	mu   sync.Mutex
	days map[string]*dayCov
	// completeFrom: days on or after it were loaded at start (or began later), so memory holds
	// all of their coverage; older days are read from the store.
	completeFrom string

	// pending: points observed without a fresh predecessor, resolved by Flush (handoff.go);
	// pauseUntil: no lookups before it (one failed).
	pending    []before
	pauseUntil time.Time

	rate           *prometheus.GaugeVec
	handoffs       prometheus.Counter
	handoffDropped prometheus.Counter
}

// vehicle is the matching state of one device. Observe (the device's pipeline worker) and
// Handoffs both use it, under mu.
type vehicle struct {
	mu      sync.Mutex
	typ     string
	seen    time.Time // clock time of the last Observe
	fwd     uint8     // next-point lookups done since the last point (Handoffs)
	has     bool
	seg     int32
	along   float64
	p       vec
	ts      time.Time
	working bool

	// The last observed batch and its matches, for Matched.
	batch  []lanewatch.Telemetry
	result []int32
	cursor int
}

type dayCov struct {
	day      string
	complete bool
	segs     map[int32]*segCov
	emitted  map[int32]bool // 9003 shortfalls already emitted
}

type segCov struct {
	iv          []interval
	first, last time.Time
	vehicles    []string
	dirty       bool // not yet in the store
	unreported  bool // not yet written to InfluxDB
}

// New returns a tracker. Call Load before observing to restore the recent days.
func New(o Options) (*Tracker, error) {
	if o.Network == nil || o.Store == nil {
		return nil, errors.New("coverage: Network and Store are required")
	}
	o.Config.SetDefaults()
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	t := &Tracker{o: o, net: o.Network, cfg: o.Config, logger: o.Logger.With("component", "coverage"), days: map[string]*dayCov{},
		rate: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lanewatch_mechanization_rate",
			Help: "Mechanized cleaning rate (area basis) of today, 0..1."}, []string{"district", "road_class"}),
		handoffs: prometheus.NewCounter(prometheus.CounterOpts{Name: "lanewatch_coverage_handoffs_total",
			Help: "Stretches credited between a point observed here and its neighbour read from InfluxDB (another node's or before a restart)."}),
		handoffDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "lanewatch_coverage_handoff_dropped_total",
			Help: "Predecessor lookups dropped because too many waited (InfluxDB unreachable for long)."})}
	for _, c := range []prometheus.Collector{t.rate, t.handoffs, t.handoffDropped} {
		if err := o.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("coverage: register metrics: %w", err)
		}
	}
	t.completeFrom = t.dayOf(o.Now().AddDate(0, 0, -(o.Config.KeepDays - 1)))
	return t, nil
}

// Network returns the tracker's road network.
func (t *Tracker) Network() *Network { return t.net }

func (t *Tracker) dayOf(ts time.Time) string { return ts.In(t.o.Location).Format(time.DateOnly) }

// Load restores the last KeepDays days from the store.
func (t *Tracker) Load(ctx context.Context) error {
	now := t.o.Now()
	for i := 0; i < t.cfg.KeepDays; i++ {
		day := t.dayOf(now.AddDate(0, 0, -i))
		recs, err := t.o.Store.ListCoverage(ctx, day)
		if err != nil {
			return fmt.Errorf("coverage: load %s: %w", day, err)
		}
		var emitted []string
		if b, err := t.o.Store.GetState(ctx, shortfallKey(day)); err == nil {
			emitted = splitIDs(b)
		} else if lanewatch.ErrorCode(err) != lanewatch.ENotFound {
			return fmt.Errorf("coverage: load %s: %w", day, err)
		}
		t.mu.Lock()
		d := t.dayLocked(day)
		d.complete = true
		for _, r := range recs {
			si, ok := t.net.byID[r.SegmentID]
			if !ok {
				continue // a segment removed from the network since
			}
			c := d.seg(int32(si))
			for _, iv := range r.Intervals {
				c.iv = addInterval(c.iv, iv[0], iv[1])
			}
			c.first, c.last = minTime(c.first, r.First), maxTime(c.last, r.Last)
			c.vehicles = unionSorted(c.vehicles, r.Vehicles)
		}
		for _, id := range emitted {
			if si, ok := t.net.byID[id]; ok {
				d.emitted[int32(si)] = true
			}
		}
		t.mu.Unlock()
	}
	return nil
}

func (t *Tracker) dayLocked(day string) *dayCov {
	d := t.days[day]
	if d == nil {
		d = &dayCov{day: day, complete: day >= t.completeFrom, segs: map[int32]*segCov{}, emitted: map[int32]bool{}}
		t.days[day] = d
	}
	return d
}

func (d *dayCov) seg(i int32) *segCov {
	c := d.segs[i]
	if c == nil {
		c = &segCov{}
		d.segs[i] = c
	}
	return c
}

// IsWorking reports whether a telemetry point of a device type counts as working: the type's
// flag is on and its speed inside the band.
func (c *Config) IsWorking(deviceType string, p *lanewatch.Telemetry) bool {
	r, ok := c.rule(deviceType)
	if !ok || p.Has&lanewatch.FieldSpeed == 0 || p.SpeedKmh < r.MinKmh || p.SpeedKmh > r.MaxKmh {
		return false
	}
	if r.Flag == "brush_on" {
		return p.Has&lanewatch.FieldBrush != 0 && p.BrushOn
	}
	return p.Has&lanewatch.FieldWater != 0 && p.WaterOn
}

// Observe map-matches the points of one message of a device (in order), credits the covered
// stretches and appends the matched segment id of each point ("" when none) to ids.
func (t *Tracker) Observe(deviceID, deviceType string, pts []lanewatch.Telemetry, ids []string) []string {
	vi, ok := t.vehicles.Load(deviceID)
	if !ok {
		vi, _ = t.vehicles.LoadOrStore(deviceID, &vehicle{seg: -1})
	}
	v := vi.(*vehicle)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.typ, v.seen, v.fwd = deviceType, t.o.Now(), 0
	v.batch, v.cursor = pts, 0
	v.result = v.result[:0]
	maxGap := time.Duration(t.cfg.MaxGap)
	for i := range pts {
		p := &pts[i]
		q := matchQuery{p: t.net.proj.project(p.Lat, p.Lon), prev: -1, maxDist: t.cfg.MatchRadiusM,
			tolDeg: t.cfg.HeadingToleranceDeg, stickM: t.cfg.StickinessM}
		q.useHeading = p.Has&lanewatch.FieldHeading != 0 && (p.Has&lanewatch.FieldSpeed == 0 || p.SpeedKmh >= t.cfg.MinHeadingKmh)
		q.heading = p.Heading
		dt := p.TS.Sub(v.ts)
		if v.has && dt.Abs() <= maxGap {
			q.prev = v.seg
		}
		m := t.net.match(&q)
		working := t.cfg.IsWorking(deviceType, p)
		if v.has && v.working && working && m.seg >= 0 && v.seg >= 0 && dt > 0 && dt <= maxGap &&
			q.p.sub(v.p).len() <= t.cfg.MaxGapM {
			t.credit(deviceID, p.TS, v, m)
		}
		if t.o.Neighbours != nil && working && m.seg >= 0 && !(v.has && dt > 0 && dt <= maxGap) {
			// No predecessor here: it may be another node's (or this node's before a restart).
			t.mu.Lock()
			t.pending = append(t.pending, before{deviceID: deviceID, deviceType: deviceType,
				at: tail{seg: m.seg, along: m.along, p: q.p, ts: p.TS, working: true}})
			t.trimPendingLocked()
			t.mu.Unlock()
		}
		v.has, v.seg, v.along, v.p, v.ts, v.working = true, m.seg, m.along, q.p, p.TS, working
		v.result = append(v.result, m.seg)
		if m.seg >= 0 {
			ids = append(ids, t.net.Segments[m.seg].ID)
		} else {
			ids = append(ids, "")
		}
	}
	return ids
}

// credit marks the stretch between the vehicle's previous point and m as covered.
func (t *Tracker) credit(deviceID string, ts time.Time, v *vehicle, m matchResult) {
	day := t.dayOf(ts)
	if m.seg == v.seg {
		t.add(day, m.seg, v.along, m.along, ts, deviceID)
		return
	}
	// A change of segment: if the two share an end, both partial stretches up to the junction
	// were driven.
	a, b := &t.net.Segments[v.seg], &t.net.Segments[m.seg]
	ea, eb, ok := sharedEnd(a, b)
	if !ok || math.Abs(v.along-ea)+math.Abs(m.along-eb) > t.cfg.MaxGapM {
		return
	}
	t.add(day, v.seg, v.along, ea, ts, deviceID)
	t.add(day, m.seg, eb, m.along, ts, deviceID)
}

// sharedEnd returns the positions along a and b of an end they share (within 2 m).
func sharedEnd(a, b *Segment) (float64, float64, bool) {
	ends := func(s *Segment) [2]vec { return [2]vec{s.pts[0], s.pts[len(s.pts)-1]} }
	ae, be := ends(a), ends(b)
	for i, pa := range ae {
		for j, pb := range be {
			if pa.dist2(pb) <= 4 {
				return float64(i) * a.LengthM, float64(j) * b.LengthM, true
			}
		}
	}
	return 0, 0, false
}

func (t *Tracker) add(day string, seg int32, a, b float64, ts time.Time, deviceID string) {
	l := t.net.Segments[seg].LengthM
	a, b = min(max(a, 0), l), min(max(b, 0), l)
	if a == b {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.dayLocked(day).seg(seg)
	c.iv = addInterval(c.iv, a, b)
	c.first, c.last = minTime(c.first, ts), maxTime(c.last, ts)
	if i, found := slices.BinarySearch(c.vehicles, deviceID); !found && len(c.vehicles) < 64 {
		c.vehicles = slices.Insert(c.vehicles, i, deviceID)
	}
	c.dirty, c.unreported = true, true
}

// Matched returns the segment a point of the device's last observed batch matched (nil for
// none). A point not in that batch is matched on its own, without changing any state.
func (t *Tracker) Matched(deviceID string, p *lanewatch.Telemetry) *Segment {
	if vi, ok := t.vehicles.Load(deviceID); ok {
		v := vi.(*vehicle)
		for n := 0; n < len(v.batch) && n < len(v.result); n++ {
			i := (v.cursor + n) % len(v.batch)
			if &v.batch[i] == p {
				v.cursor = i + 1
				if s := v.result[i]; s >= 0 {
					return &t.net.Segments[s]
				}
				return nil
			}
		}
	}
	q := matchQuery{p: t.net.proj.project(p.Lat, p.Lon), prev: -1, maxDist: t.cfg.MatchRadiusM,
		tolDeg: t.cfg.HeadingToleranceDeg, heading: p.Heading, useHeading: p.Has&lanewatch.FieldHeading != 0}
	if m := t.net.match(&q); m.seg >= 0 {
		return &t.net.Segments[m.seg]
	}
	return nil
}

// Flush writes the coverage changed since the last flush to the store, after crediting the
// stretches that end at points observed without a predecessor here (handoff.go). The pipeline
// calls it before committing the journal, so a crash loses nothing.
func (t *Tracker) Flush(ctx context.Context) error {
	if t.o.Neighbours != nil {
		t.resolveBefore(ctx)
	}
	return t.flushStore(ctx)
}

// flushStore writes the changed segments to the store.
func (t *Tracker) flushStore(ctx context.Context) error {
	t.mu.Lock()
	var recs []store.SegmentCoverage
	var marked []*segCov
	for _, d := range t.days {
		for si, c := range d.segs {
			if !c.dirty {
				continue
			}
			recs = append(recs, t.record(d.day, si, c))
			c.dirty = false
			marked = append(marked, c)
		}
	}
	t.mu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	if err := t.o.Store.MergeCoverage(ctx, recs); err != nil {
		t.mu.Lock()
		for _, c := range marked {
			c.dirty = true
		}
		t.mu.Unlock()
		return fmt.Errorf("coverage: flush: %w", err)
	}
	return nil
}

func (t *Tracker) record(day string, si int32, c *segCov) store.SegmentCoverage {
	r := store.SegmentCoverage{Day: day, SegmentID: t.net.Segments[si].ID, First: c.first, Last: c.last,
		Vehicles: slices.Clone(c.vehicles), Intervals: make([][2]float64, len(c.iv))}
	for i, iv := range c.iv {
		r.Intervals[i] = [2]float64{iv.A, iv.B}
	}
	return r
}

// evictLocked drops days older than KeepDays that have nothing left to flush or report.
func (t *Tracker) evictLocked(now time.Time) {
	oldest := t.dayOf(now.AddDate(0, 0, -(t.cfg.KeepDays - 1)))
	for day, d := range t.days {
		if day >= oldest {
			continue
		}
		pending := false
		for _, c := range d.segs {
			pending = pending || c.dirty || c.unreported
		}
		if !pending {
			delete(t.days, day)
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func unionSorted(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}
