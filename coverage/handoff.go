package coverage

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lanewatch/lanewatch"
)

// Neighbours reads a device's stored telemetry next to a time (influx.History satisfies it).
// The tracker uses it to credit the stretch between two consecutive points that were matched
// on different nodes, or before and after a restart (see Handoffs).
type Neighbours interface {
	// Before returns the device's last point with at-within <= ts < at.
	Before(ctx context.Context, deviceID string, at time.Time, within time.Duration) (lanewatch.Telemetry, bool, error)
	// After returns the device's first point with at < ts <= at+within.
	After(ctx context.Context, deviceID string, at time.Time, within time.Duration) (lanewatch.Telemetry, bool, error)
}

// handoffQueryTimeout bounds one Neighbours call.
const handoffQueryTimeout = time.Second

// handoffParallel is how many Neighbours calls run at once.
const handoffParallel = 8

// handoffBudget bounds the lookups of one Flush; handoffPause is how long lookups stop after
// one failed; maxPending bounds the queued predecessor lookups.
const (
	handoffBudget = 2 * time.Second
	handoffPause  = 30 * time.Second
	maxPending    = 10000
)

// tail is a matched point: what crediting a stretch needs of either end.
type tail struct {
	seg     int32
	along   float64
	dir     int8 // direction of travel on seg (0 along, 1 against its digitisation), -1 unknown
	p       vec
	ts      time.Time
	working bool
	kmh     float64 // reported speed, -1 when absent
	hdg     float64 // reported heading while moving, -1 otherwise (set on decided points only)
	seq     uint64  // journal record (decided points only; 0: none)
}

// before is a point observed without a fresh predecessor in memory: its predecessor may have
// been observed by another node (or before a restart) and be in InfluxDB already.
type before struct {
	deviceID, deviceType string
	at                   tail
}

// matchChain matches points read back from InfluxDB (in time order) as a sequence of their
// own, credits the stretches between them (unions: what was credited already changes
// nothing) and returns the last one, matched.
func (t *Tracker) matchChain(deviceID, deviceType string, pts []lanewatch.Telemetry) tail {
	v := &vehicle{seg: -1, k: track{cols: make([]column, t.cfg.Lag+2)}, typ: deviceType, readBack: true}
	maxGap := time.Duration(t.cfg.MaxGap)
	for i := range pts {
		t.observe(deviceID, deviceType, v, &pts[i], 0, maxGap)
	}
	t.settle(deviceID, v)
	last := &pts[len(pts)-1]
	if !v.has || !v.ts.Equal(last.TS) {
		return t.matchAlone(deviceType, last, -1)
	}
	return tail{seg: v.seg, along: v.along, dir: v.dir, p: v.p, ts: v.ts, working: v.working, kmh: v.kmh}
}

// matchAlone matches a point read back from InfluxDB on its own (prev: the segment of the
// point before it, -1 for none) without touching any vehicle state.
func (t *Tracker) matchAlone(deviceType string, p *lanewatch.Telemetry, prev int32) tail {
	q := matchQuery{p: t.net.proj.project(p.Lat, p.Lon), prev: prev, maxDist: t.cfg.MatchRadiusM,
		tolDeg: t.cfg.HeadingToleranceDeg, stickM: t.cfg.StickinessM, heading: p.Heading}
	q.useHeading = p.Has&lanewatch.FieldHeading != 0 && (p.Has&lanewatch.FieldSpeed == 0 || p.SpeedKmh >= t.cfg.MinHeadingKmh)
	m := t.net.match(&q)
	return tail{seg: m.seg, along: m.along, dir: -1, p: q.p, ts: p.TS, working: t.cfg.IsWorking(deviceType, p), kmh: kmhOf(p)}
}

// bridge credits the stretch from a to b (the rule of Observe: creditTails) when they pair.
func (t *Tracker) bridge(deviceID string, a, b tail) bool {
	if !t.creditTails(deviceID, a, b, &routeBuf{}) {
		return false
	}
	t.handoffs.Inc()
	return true
}

// resolveBefore looks up the stored predecessors of the points queued by Observe and credits
// the stretches they close. Flush calls it before writing, so the credit is in the store
// before the journal commits the message. It spends at most handoffBudget: what it did not get
// to stays queued for the next Flush. A failing lookup (InfluxDB down or hung) pauses lookups
// for handoffPause, so an InfluxDB outage never holds up the journal commits; the points
// queued meanwhile wait (up to maxPending, the oldest beyond are dropped and counted).
func (t *Tracker) resolveBefore(ctx context.Context) {
	t.mu.Lock()
	if len(t.pending) == 0 || t.o.Now().Before(t.pauseUntil) {
		t.mu.Unlock()
		return
	}
	reqs := t.pending
	t.pending = nil
	t.mu.Unlock()
	bctx, cancel := context.WithTimeout(ctx, handoffBudget)
	defer cancel()
	var failed atomic.Bool
	done := t.parallel(bctx, len(reqs), func(i int) bool {
		if failed.Load() {
			return false
		}
		r := reqs[i]
		// Walk back over the points before it (another node's, or this node's before a
		// restart, whose credit may not have been decided when that node stopped) and match
		// them as the sequence they were.
		var chain []lanewatch.Telemetry
		at := r.at.ts
		for len(chain) < t.cfg.Lag+warmSteps {
			p, ok, err := t.lookup(bctx, t.o.Neighbours.Before, r.deviceID, at)
			if err != nil {
				if bctx.Err() == nil || ctx.Err() != nil {
					t.lookupFailed("previous point", r.deviceID, err)
					failed.Store(true)
				}
				return false
			}
			if !ok {
				break
			}
			chain = append(chain, p)
			at = p.TS
		}
		if len(chain) > 0 {
			slices.Reverse(chain)
			t.bridge(r.deviceID, t.matchChain(r.deviceID, r.deviceType, chain), r.at)
		}
		return true
	})
	var undone []before
	for i, d := range done {
		if !d {
			undone = append(undone, reqs[i])
		}
	}
	if len(undone) > 0 {
		t.mu.Lock()
		t.pending = append(undone, t.pending...)
		t.trimPendingLocked()
		t.mu.Unlock()
	}
}

// trimPendingLocked drops the oldest queued lookups beyond maxPending.
func (t *Tracker) trimPendingLocked() {
	if over := len(t.pending) - maxPending; over > 0 {
		t.pending = append(t.pending[:0], t.pending[over:]...)
		t.handoffDropped.Add(float64(over))
	}
}

// lookupFailed pauses the lookups after a failure and says so once per pause.
func (t *Tracker) lookupFailed(what, deviceID string, err error) {
	t.mu.Lock()
	fresh := !t.o.Now().Before(t.pauseUntil)
	t.pauseUntil = t.o.Now().Add(handoffPause)
	t.mu.Unlock()
	if fresh {
		t.logger.Warn("coverage handoff lookups paused", "for", handoffPause, "lookup", what, "device", deviceID, "err", err)
	}
}

// paused reports whether lookups are paused after a failure.
func (t *Tracker) paused() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.o.Now().Before(t.pauseUntil)
}

// lookup calls a Neighbours method with the handoff timeout and max_gap as the window.
func (t *Tracker) lookup(ctx context.Context, fn func(context.Context, string, time.Time, time.Duration) (lanewatch.Telemetry, bool, error),
	deviceID string, at time.Time) (lanewatch.Telemetry, bool, error) {
	qctx, cancel := context.WithTimeout(ctx, handoffQueryTimeout)
	defer cancel()
	return fn(qctx, deviceID, at, time.Duration(t.cfg.MaxGap))
}

// parallel runs fn(0..n-1) with at most handoffParallel at once, starting none once ctx has
// ended; done[i] is what fn(i) returned (false for one not started).
func (t *Tracker) parallel(ctx context.Context, n int, fn func(int) bool) []bool {
	done := make([]bool, n)
	sem := make(chan struct{}, handoffParallel)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			done[i] = fn(i)
		})
	}
	wg.Wait()
	return done
}

// Handoffs credits the stretch after the last point of every vehicle that went quiet here:
// once it has been idle for HandoffIdle and again after 6×HandoffIdle, the device's next
// point is looked up in InfluxDB. That point was observed by another node (the device
// reconnected there), or arrived here and paired already (then the credit changes nothing).
// Together with the lookup of a predecessor for a point without one (in Flush), two
// consecutive points observed on different nodes mark their stretch as a single node would.
// It returns the number of stretches credited; the changes reach the store with the next Flush.
func (t *Tracker) Handoffs(ctx context.Context) int {
	if t.o.Neighbours == nil {
		return 0
	}
	now := t.o.Now()
	idle := time.Duration(t.cfg.HandoffIdle)
	type job struct {
		id, typ string
		v       *vehicle
		at      tail
		try     uint8
	}
	var jobs []job
	if t.paused() {
		return 0
	}
	t.vehicles.Range(func(k, vi any) bool {
		v := vi.(*vehicle)
		v.mu.Lock()
		if v.k.n-t.anchors(&v.k) > 0 && now.Sub(v.seen) >= time.Duration(t.cfg.LagTimeout) {
			t.settle(k.(string), v) // its last point must be decided before it is handed off
		}
		if v.k.n-t.anchors(&v.k) == 0 && v.has && v.working && v.seg >= 0 && v.fwd < 2 && now.Sub(v.seen) >= idle*time.Duration(1+5*int(v.fwd)) {
			jobs = append(jobs, job{id: k.(string), typ: v.typ, v: v, try: v.fwd,
				at: tail{seg: v.seg, along: v.along, dir: v.dir, p: v.p, ts: v.ts, working: true, kmh: v.kmh}})
		}
		v.mu.Unlock()
		return true
	})
	var n atomic.Int64
	var failed atomic.Bool
	t.parallel(ctx, len(jobs), func(i int) bool {
		if failed.Load() {
			return false
		}
		j := jobs[i]
		p, ok, err := t.lookup(ctx, t.o.Neighbours.After, j.id, j.at.ts)
		if err != nil {
			if ctx.Err() == nil {
				t.lookupFailed("next point", j.id, err)
				failed.Store(true)
			}
			return false // tried again after the pause
		}
		if ok && t.bridge(j.id, j.at, t.matchAlone(j.typ, &p, j.at.seg)) {
			n.Add(1)
		}
		j.v.mu.Lock()
		if j.v.ts.Equal(j.at.ts) && j.v.fwd == j.try {
			j.v.fwd++
		}
		j.v.mu.Unlock()
		return true
	})
	return int(n.Load())
}

// RunHandoffs calls Handoffs and flushes every interval until ctx ends (nothing without
// Neighbours).
func (t *Tracker) RunHandoffs(ctx context.Context, every time.Duration) {
	if t.o.Neighbours == nil {
		return
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if t.Handoffs(ctx) > 0 {
				if err := t.flushStore(ctx); err != nil && ctx.Err() == nil {
					t.logger.Warn("coverage handoff flush", "err", err)
				}
			}
		}
	}
}
