package coverage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
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
	m        *matcher
	lastDay  atomic.Pointer[dayRange]        // the day dayOf found last
	trace    func(a, b tail, pieces []piece) // tests: every credited route

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

// vehicle is the matching state of one device. Observe (the device's pipeline worker),
// Flush and Handoffs use it, under mu. The anchor fields (has … working) are the device's last
// decided point.
type vehicle struct {
	mu      sync.Mutex
	typ     string
	seen    time.Time // clock time of the last Observe
	fwd     uint8     // next-point lookups done since the last point (Handoffs)
	has     bool
	seg     int32
	along   float64
	dir     int8
	p       vec
	ts      time.Time
	working bool
	kmh     float64
	hdg     float64
	aseq    uint64 // journal record of the anchor (the last decided point)

	hasLast bool
	f       posFilter
	last    time.Time // time of the last observed point
	k       track
	buf     routeBuf
	starts  []tail // first points of recent paths (endPath)
	ends    []tail // last points of recent paths (startPath)
	// backlogPath: the current path began with a point older than the one before it.
	backlogPath bool
	// joinStart: the current path began without a fresh predecessor (a backlog, or the first
	// point after one): once its start is placed (flushWarm) it is joined to a path that
	// ended just before it (joinEnd).
	joinStart bool
	// dropped: consecutive points left out as outliers (observe).
	dropped int
	// readBack: points read back from InfluxDB (matchChain), which look up nothing.
	readBack bool

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
	t.m = newMatcher(o.Network, &o.Config)
	return t, nil
}

// Network returns the tracker's road network.
func (t *Tracker) Network() *Network { return t.net }

func (t *Tracker) dayOf(ts time.Time) string {
	if r := t.lastDay.Load(); r != nil && !ts.Before(r.from) && ts.Before(r.to) {
		return r.day
	}
	l := ts.In(t.o.Location)
	y, m, d := l.Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, t.o.Location)
	r := &dayRange{from: from, to: from.AddDate(0, 0, 1), day: l.Format(time.DateOnly)}
	t.lastDay.Store(r)
	return r.day
}

// dayRange is a local day: [from, to) and its date.
type dayRange struct {
	from, to time.Time
	day      string
}

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

// Observe map-matches the points of one message of a device (in order) and appends the
// segment id each point is matched to for now ("" when none) to ids: the sequence matcher
// decides a point once it has seen Lag later ones (or the vehicle fell silent for LagTimeout,
// or the path broke), and credits the covered stretches then.
func (t *Tracker) Observe(deviceID, deviceType string, pts []lanewatch.Telemetry, ids []string) []string {
	return t.ObserveSeq(deviceID, deviceType, 0, pts, ids)
}

// ObserveSeq is Observe for the points of journal record seq (0: none): until their credit is
// final, HeldSeq reports the record, so that the journal is not committed past it.
func (t *Tracker) ObserveSeq(deviceID, deviceType string, seq uint64, pts []lanewatch.Telemetry, ids []string) []string {
	vi, ok := t.vehicles.Load(deviceID)
	if !ok {
		vi, _ = t.vehicles.LoadOrStore(deviceID, &vehicle{seg: -1, k: track{cols: make([]column, t.cfg.Lag+2)}})
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
		seg := t.observe(deviceID, deviceType, v, p, seq, maxGap)
		v.result = append(v.result, seg)
		if seg >= 0 {
			ids = append(ids, t.net.Segments[seg].ID)
		} else {
			ids = append(ids, "")
		}
	}
	return ids
}

// observe adds one point to the vehicle's matcher window and returns the segment of its best
// candidate for now (-1 for none).
func (t *Tracker) observe(deviceID, deviceType string, v *vehicle, p *lanewatch.Telemetry, seq uint64, maxGap time.Duration) int32 {
	pv := t.net.proj.project(p.Lat, p.Lon)
	dt := p.TS.Sub(v.last)
	fresh := v.hasLast && dt > 0 && dt <= maxGap
	backlog := v.hasLast && dt <= 0
	v.last, v.hasLast = p.TS, true
	k := &v.k
	if !fresh && k.n > 0 {
		// A gap, or a point older than the last (a backlog): the path breaks.
		t.endPath(deviceID, v)
	}
	useHeading := p.Has&lanewatch.FieldHeading != 0 && (p.Has&lanewatch.FieldSpeed == 0 || p.SpeedKmh >= t.cfg.MinHeadingKmh)
	c := k.push()
	c.p, c.ts, c.working, c.orphan, c.chosen, c.kmh = pv, p.TS, t.cfg.IsWorking(deviceType, p), !fresh, -1, kmhOf(p)
	c.backlog, c.hdg, c.seq = backlog, -1, seq
	if useHeading && p.Has&lanewatch.FieldSpeed != 0 {
		c.hdg = p.Heading
	}
	if !t.net.candidates(c, pv, p.Heading, useHeading, &t.m.p) {
		// Beyond the search radius of every road: the path breaks here.
		k.n--
		t.endPath(deviceID, v)
		return -1
	}
	if k.n > 1 && !t.m.step(k, c) && !(t.net.continuations(c, k.at(k.n-2), pv, p.Heading, useHeading, &t.m.p) && t.m.step(k, c)) {
		// No route from any candidate of the previous point (nor the previous point's roads
		// a little beyond the search radius: continuations): decide what came before and
		// start again from this point.
		tmp := *c
		k.n--
		t.endPath(deviceID, v)
		c = k.push()
		*c = tmp
	}
	if k.n == 1 {
		for j := 0; j < c.n; j++ {
			c.c[j].score, c.c[j].back, c.c[j].alive = c.c[j].emis, -1, true
		}
	}
	best := c.c[c.best()].seg
	if k.n > 1 && c.lp < -outlierLogP && v.dropped < maxDropped {
		k.n--
		v.dropped++
		return best
	}
	v.dropped = 0
	for k.n-t.anchors(k) > t.cfg.Lag {
		t.decide(deviceID, v)
	}
	return best
}

func (t *Tracker) anchors(k *track) int {
	if k.hasAnchor {
		return 1
	}
	return 0
}

// decide decides the vehicle's oldest undecided point, credits the stretch from the previous
// decided point to it and makes it the anchor.
func (t *Tracker) decide(deviceID string, v *vehicle) {
	k := &v.k
	i := k.decideFirst()
	c := k.at(i)
	x := &c.c[c.chosen]
	cur := tail{seg: x.seg, along: x.along, dir: int8(x.dir), p: c.p, ts: c.ts, working: c.working, kmh: c.kmh, hdg: c.hdg, seq: c.seq}
	if k.hasAnchor {
		a := tail{seg: v.seg, along: v.along, dir: v.dir, p: v.p, ts: v.ts, working: v.working, kmh: v.kmh, hdg: v.hdg, seq: v.aseq}
		t.creditSmoothed(deviceID, v, a, cur)
		k.dropFirst()
	} else {
		if v.has {
			t.finishRuns(deviceID, v)
		}
		v.f.reset()
		if n := len(v.ends); n > 0 && v.ends[n-1].working && !c.backlog {
			d := cur.ts.Sub(v.ends[n-1].ts)
			v.f.cont = d > 0 && d <= time.Duration(t.cfg.MaxGap)
		}
		t.startPath(deviceID, v, cur, c.backlog, c.orphan)
	}
	if !k.hasAnchor && c.orphan && c.working && t.o.Neighbours != nil && !v.readBack {
		// No predecessor here: it may be another node's (or this node's before a restart).
		t.mu.Lock()
		t.pending = append(t.pending, before{deviceID: deviceID, deviceType: v.typ, at: cur})
		t.trimPendingLocked()
		t.mu.Unlock()
	}
	k.hasAnchor = true
	v.has, v.seg, v.along, v.dir, v.p, v.ts, v.working, v.kmh, v.hdg, v.aseq = true, cur.seg, cur.along, cur.dir, cur.p, cur.ts, cur.working, cur.kmh, cur.hdg, cur.seq
}

// maxDropped is how many consecutive points may be left out as outliers.
const maxDropped = 2

// maxStarts is how many recent path starts a vehicle remembers (startPath).
const maxStarts = 8

// startPath remembers the first decided point of a new path: a backlog delivered later may
// end just before it (endPath). A path that starts without a fresh predecessor (a backlog
// path, its first point older than the point before it, or the first point after a backlog,
// whose predecessor came before the backlog) is joined to a path that ended just before it,
// once its start is placed (joinEnd).
func (t *Tracker) startPath(deviceID string, v *vehicle, at tail, backlog, orphan bool) {
	v.backlogPath = backlog
	v.joinStart = backlog || orphan
	v.starts = appendRecent(v.starts, at)
}

// joinEnd credits the stretch from the end of an earlier path to the start of the current
// one when that end comes just before it (startPath); the start is where the path's credit
// begins (flushWarm).
func (t *Tracker) joinEnd(deviceID string, v *vehicle) {
	if !v.joinStart || len(v.starts) == 0 {
		return
	}
	v.joinStart = false
	ns := len(v.starts)
	at := v.starts[ns-1]
	for i, e := range v.ends {
		if at.ts.After(e.ts) && at.ts.Sub(e.ts) <= time.Duration(t.cfg.MaxGap) {
			t.creditTails(deviceID, e, at, &v.buf)
			v.ends = append(v.ends[:i], v.ends[i+1:]...)
			v.starts = v.starts[:ns-1]
			return
		}
	}
}

func appendRecent(l []tail, x tail) []tail {
	if len(l) == maxStarts {
		copy(l, l[1:])
		l = l[:maxStarts-1]
	}
	return append(l, x)
}

// endPath decides the vehicle's undecided points and closes its path: when the path's last
// point comes just before a path observed earlier (a backlog delivered after newer points)
// the stretch between the two is credited as if they had come in order.
func (t *Tracker) endPath(deviceID string, v *vehicle) {
	t.settle(deviceID, v)
	v.k.reset()
	if !v.has {
		return
	}
	end := tail{seg: v.seg, along: v.along, dir: v.dir, p: v.p, ts: v.ts, working: v.working, kmh: v.kmh}
	if v.f.on {
		// The path's credit ends at the filtered position when that is behind the point.
		if seg, along, ok := v.f.at(min(v.f.est, v.f.s)); ok {
			end.seg, end.along = seg, along
		}
	}
	v.ends = appendRecent(v.ends, end)
	if !v.backlogPath {
		return
	}
	for i, s := range v.starts {
		if s.ts.After(end.ts) && s.ts.Sub(end.ts) <= time.Duration(t.cfg.MaxGap) {
			t.creditTails(deviceID, end, s, &v.buf)
			v.starts = append(v.starts[:i], v.starts[i+1:]...)
			return
		}
	}
}

// settle decides all of the vehicle's undecided points.
func (t *Tracker) settle(deviceID string, v *vehicle) {
	for v.k.n-t.anchors(&v.k) > 0 {
		t.decide(deviceID, v)
	}
	t.flushWarm(deviceID, v)
	t.finishRuns(deviceID, v)
}

// settleIdle decides the undecided points of every vehicle silent for at least idle.
func (t *Tracker) settleIdle(idle time.Duration) {
	now := t.o.Now()
	t.vehicles.Range(func(key, vi any) bool {
		v := vi.(*vehicle)
		v.mu.Lock()
		if v.k.n-t.anchors(&v.k) > 0 && now.Sub(v.seen) >= idle {
			t.settle(key.(string), v)
		}
		v.mu.Unlock()
		return true
	})
}

// creditTails credits the stretch of the route from a to b, two consecutive points of a
// vehicle matched apart (handoffs): see creditSpan; nothing when neither is working or they
// are too far apart in time or space. A direction of -1 (a point matched on its own) takes
// the direction that gives the likeliest route.
func (t *Tracker) creditTails(deviceID string, a, b tail, buf *routeBuf) bool {
	if !t.pairs(a, b) {
		return false
	}
	buf.pieces = buf.pieces[:0]
	total, ok := t.routeBetween(a, b, buf)
	if !ok {
		return false
	}
	if t.trace != nil {
		t.trace(a, b, buf.pieces)
	}
	t.creditSpan(deviceID, a, b, buf.pieces, 0, total)
	return true
}

// pairs reports whether a and then b are consecutive points close enough in time and space,
// and one of them working, for the stretch between them to be credited.
func (t *Tracker) pairs(a, b tail) bool {
	dt := b.ts.Sub(a.ts)
	return (a.working || b.working) && a.seg >= 0 && b.seg >= 0 && dt > 0 && dt <= time.Duration(t.cfg.MaxGap) &&
		b.p.sub(a.p).len() <= t.cfg.MaxGapM
}

// routeBetween appends the likeliest route from a to b to buf.pieces and returns its length.
func (t *Tracker) routeBetween(a, b tail, buf *routeBuf) (float64, bool) {
	gc, beta := t.m.travel(a.p, b.p, a.kmh, b.kmh, b.ts.Sub(a.ts))
	dirs := func(x tail) []uint8 {
		if x.dir >= 0 {
			return []uint8{uint8(x.dir)}
		}
		if t.net.Segments[x.seg].OneWay {
			return []uint8{0}
		}
		return []uint8{0, 1}
	}
	var ca, cb cand
	best := math.Inf(-1)
	for _, da := range dirs(a) {
		for _, db := range dirs(b) {
			x, y := cand{seg: a.seg, dir: da, along: a.along}, cand{seg: b.seg, dir: db, along: b.along}
			if lp := t.m.route(&x, &y, gc, beta, nil); lp > best {
				best, ca, cb = lp, x, y
			}
		}
	}
	if math.IsInf(best, -1) {
		return 0, false
	}
	n := len(buf.pieces)
	t.m.route(&ca, &cb, gc, beta, buf)
	var total float64
	for i := n; i < len(buf.pieces); i++ {
		buf.pieces[i].u = total
		total += math.Abs(buf.pieces[i].b - buf.pieces[i].a)
	}
	return total, true
}

// creditSpan credits [u0, u1] (metres along pieces) as the stretch driven from a to b: all of
// it when both are working, the half nearer the working one when only one is; a stretch
// across local midnight is split in proportion to the time on either side.
func (t *Tracker) creditSpan(deviceID string, a, b tail, pieces []piece, u0, u1 float64) {
	ss, n := t.spans(a, b, u0, u1)
	for _, s := range ss[:n] {
		t.creditRange(deviceID, s.day, s.ts, pieces, s.lo, s.hi)
	}
}

// spans is what creditSpan credits: the stretch, or its half nearer the working point, split
// at local midnight.
func (t *Tracker) spans(a, b tail, u0, u1 float64) ([2]span, int) {
	if u1 < u0 {
		u0, u1 = u1, u0
	}
	lo, hi := u0, u1
	if !a.working {
		lo = (u0 + u1) / 2
	}
	if !b.working {
		hi = (u0 + u1) / 2
	}
	dayA, dayB := t.dayOf(a.ts), t.dayOf(b.ts)
	if dayA == dayB {
		return [2]span{{day: dayB, ts: b.ts, lo: lo, hi: hi}}, 1
	}
	cut := u0 + (u1-u0)*float64(t.midnight(dayB).Sub(a.ts))/float64(b.ts.Sub(a.ts))
	return [2]span{{day: dayA, ts: a.ts, lo: lo, hi: min(hi, cut)}, {day: dayB, ts: b.ts, lo: max(lo, cut), hi: hi}}, 2
}

// creditRange credits the part [lo, hi] (metres along the path: each piece starts at its u)
// of a route or path.
func (t *Tracker) creditRange(deviceID, day string, ts time.Time, pieces []piece, lo, hi float64) {
	if hi <= lo {
		return
	}
	i, _ := slices.BinarySearchFunc(pieces, lo, func(pc piece, lo float64) int {
		if pc.u+math.Abs(pc.b-pc.a) <= lo {
			return -1
		}
		return 1
	})
	for _, pc := range pieces[i:] {
		if pc.u >= hi {
			break
		}
		l := math.Abs(pc.b - pc.a)
		s0, s1 := max(lo, pc.u), min(hi, pc.u+l)
		if s1 > s0 && l > 0 {
			f0, f1 := (s0-pc.u)/l, (s1-pc.u)/l
			t.add(day, pc.seg, pc.a+(pc.b-pc.a)*f0, pc.a+(pc.b-pc.a)*f1, ts, deviceID)
		}
	}
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
	t.settleIdle(time.Duration(t.cfg.LagTimeout))
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

// kmhOf is a point's reported speed, -1 when it has none.
func kmhOf(p *lanewatch.Telemetry) float64 {
	if p.Has&lanewatch.FieldSpeed == 0 {
		return -1
	}
	return max(0, p.SpeedKmh)
}
