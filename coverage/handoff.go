package coverage

import (
	"context"
	"sync"
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
const handoffQueryTimeout = 5 * time.Second

// handoffParallel is how many Neighbours calls run at once.
const handoffParallel = 8

// tail is a matched point: what crediting a stretch needs of either end.
type tail struct {
	seg     int32
	along   float64
	p       vec
	ts      time.Time
	working bool
}

// before is a point observed without a fresh predecessor in memory: its predecessor may have
// been observed by another node (or before a restart) and be in InfluxDB already.
type before struct {
	deviceID, deviceType string
	at                   tail
}

// matchAlone matches a point read back from InfluxDB on its own (prev: the segment of the
// point before it, -1 for none) without touching any vehicle state.
func (t *Tracker) matchAlone(deviceType string, p *lanewatch.Telemetry, prev int32) tail {
	q := matchQuery{p: t.net.proj.project(p.Lat, p.Lon), prev: prev, maxDist: t.cfg.MatchRadiusM,
		tolDeg: t.cfg.HeadingToleranceDeg, stickM: t.cfg.StickinessM, heading: p.Heading}
	q.useHeading = p.Has&lanewatch.FieldHeading != 0 && (p.Has&lanewatch.FieldSpeed == 0 || p.SpeedKmh >= t.cfg.MinHeadingKmh)
	m := t.net.match(&q)
	return tail{seg: m.seg, along: m.along, p: q.p, ts: p.TS, working: t.cfg.IsWorking(deviceType, p)}
}

// pairs reports whether a and then b are consecutive working points close enough in time and
// space to mark the stretch between them (the rule of Observe).
func (t *Tracker) pairs(a, b tail) bool {
	dt := b.ts.Sub(a.ts)
	return a.working && b.working && a.seg >= 0 && b.seg >= 0 && dt > 0 && dt <= time.Duration(t.cfg.MaxGap) &&
		b.p.sub(a.p).len() <= t.cfg.MaxGapM
}

// bridge credits the stretch from a to b when they pair.
func (t *Tracker) bridge(deviceID string, a, b tail) bool {
	if !t.pairs(a, b) {
		return false
	}
	t.credit(deviceID, b.ts, &vehicle{has: true, seg: a.seg, along: a.along, p: a.p, ts: a.ts, working: true},
		matchResult{seg: b.seg, along: b.along})
	t.handoffs.Inc()
	return true
}

// resolveBefore looks up the stored predecessors of the points queued by Observe and credits
// the stretches they close. Flush calls it before writing, so the credit is in the store
// before the journal commits the message. A failed lookup is logged and dropped: coverage is
// then what a node without neighbours would compute.
func (t *Tracker) resolveBefore(ctx context.Context) {
	t.mu.Lock()
	reqs := t.pending
	t.pending = nil
	t.mu.Unlock()
	if len(reqs) == 0 {
		return
	}
	t.parallel(len(reqs), func(i int) {
		r := reqs[i]
		if p, ok := t.lookup(ctx, "previous point", t.o.Neighbours.Before, r.deviceID, r.at.ts); ok {
			t.bridge(r.deviceID, t.matchAlone(r.deviceType, &p, -1), r.at)
		}
	})
}

// lookup calls a Neighbours method with the handoff timeout and max_gap as the window; an
// error is logged and reported as not found.
func (t *Tracker) lookup(ctx context.Context, what string, fn func(context.Context, string, time.Time, time.Duration) (lanewatch.Telemetry, bool, error),
	deviceID string, at time.Time) (lanewatch.Telemetry, bool) {
	qctx, cancel := context.WithTimeout(ctx, handoffQueryTimeout)
	defer cancel()
	p, ok, err := fn(qctx, deviceID, at, time.Duration(t.cfg.MaxGap))
	if err != nil {
		t.logger.Warn("coverage handoff: "+what, "device", deviceID, "err", err)
		return p, false
	}
	return p, ok
}

// parallel runs fn(0..n-1) with at most handoffParallel at once.
func (t *Tracker) parallel(n int, fn func(int)) {
	sem := make(chan struct{}, handoffParallel)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
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
	t.vehicles.Range(func(k, vi any) bool {
		v := vi.(*vehicle)
		v.mu.Lock()
		if v.has && v.working && v.seg >= 0 && v.fwd < 2 && now.Sub(v.seen) >= idle*time.Duration(1+5*int(v.fwd)) {
			jobs = append(jobs, job{id: k.(string), typ: v.typ, v: v, try: v.fwd,
				at: tail{seg: v.seg, along: v.along, p: v.p, ts: v.ts, working: true}})
		}
		v.mu.Unlock()
		return true
	})
	n := 0
	var mu sync.Mutex
	t.parallel(len(jobs), func(i int) {
		j := jobs[i]
		p, ok := t.lookup(ctx, "next point", t.o.Neighbours.After, j.id, j.at.ts)
		if !ok && ctx.Err() != nil {
			return
		}
		if ok && t.bridge(j.id, j.at, t.matchAlone(j.typ, &p, j.at.seg)) {
			mu.Lock()
			n++
			mu.Unlock()
		}
		j.v.mu.Lock()
		if j.v.ts.Equal(j.at.ts) && j.v.fwd == j.try {
			j.v.fwd++
		}
		j.v.mu.Unlock()
	})
	return n
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
