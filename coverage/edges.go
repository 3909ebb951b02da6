package coverage

import (
	"math"
	"time"
)

// Where a working stretch begins and ends (issue 16). Inside a stretch the union of the steps
// is contiguous whatever the position error, so the error of the covered length sits at the
// stretch's two ends: where the brush goes down or up, and where the path starts or ends while
// working. Drifting GPS error (correlated over tens of seconds) moves every point around an
// end the same way, so the forward filter places the end a few metres off and nothing after
// it can take the credit back (credit is a union). So the credit of a stretch is queued (a
// run) and released behind the vehicle, holdPoints decided points late; its start is placed
// smoothWindow (and holdPoints points) after it, its end holdPoints points after it, by
// placeEdge, which sees the path from smoothWindow before the end on:
//
//   - the matched positions, fitted as position = x0 + scale × odometry with a first-order
//     autoregressive error whose coefficient is estimated from the residuals (so independent
//     noise is fitted as such and drifting noise is not mistaken for motion);
//   - turn fixes: where the path turns at a junction (45° or more) and the reported heading
//     crosses from the incoming road's direction to the outgoing one's, the vehicle was at
//     that junction. The heading is the direction of travel, which a drifting position does
//     not change, so a turn gives the along-road position without the drift, and two turns
//     the odometry's scale;
//   - the scale's prior (1 ± scaleErr).
//
// What is held is not in the store: HeldSeq keeps the journal from being committed past it,
// so a crash replays it (gateway.Holder).

// holdPoints is how many decided points a run's credit and its ends are held back.
const holdPoints = 8

// smoothWindow is how much of the path before an end placeEdge sees, and how long a start
// waits for the path after it.
const smoothWindow = 240 * time.Second

// turnMinDeg is the smallest turn at a junction taken as a fix.
const turnMinDeg = 45

// logTrim: the log is trimmed once this many points are older than it needs.
const logTrim = 64

// logPoint is a decided point of the current path for placeEdge.
type logPoint struct {
	t   float64 // seconds since the path's first point
	o   float64 // reported distance from the path's first point (m)
	s   float64 // matched position along the path (m)
	est float64 // filtered position
	hdg float64 // reported heading (degrees), -1 when absent or too slow
	seq uint64  // journal record (0: none)
}

// span is a stretch of path to credit to a day with a time.
type span struct {
	day    string
	ts     time.Time
	lo, hi float64
}

// runEdge is one end of a run: the odometry and time where it is, its position (the forward
// estimate until placed) and the log length when it was seen.
type runEdge struct {
	o, t, x float64
	k       int
	placed  bool
}

// run is a working stretch of the current path whose credit is not all released.
type run struct {
	// head: the credit before hold0 (the forward start + startMargin), held until the start
	// is placed; recs: the credit after it, released up to w1.
	head, recs []span
	hold0, w1  float64
	start, end runEdge
	open       bool
	first      span // day and time of the first and last credit, for a moved end
	last       span
}

// queueStep adds the credit of the step a→b (filtered positions u0, u1) to the open run,
// opening or closing runs where the working state changes, and releases what may be.
func (t *Tracker) queueStep(deviceID string, f *posFilter, a, b tail, paired bool, pieces []piece, u0, u1 float64) {
	ta, tb := f.logTime(a.ts), f.logTime(b.ts)
	oa, ob := f.odoA, f.odo
	if !paired {
		f.closeRun(oa, ta, len(f.log)-1)
		t.release(deviceID, f, pieces, false, false)
		return
	}
	// The step's credit (its half nearer the working point when only one works), split at
	// local midnight: lo and hi are where it begins and ends.
	ss, n := t.spans(a, b, u0, u1)
	lo, hi := ss[0].lo, ss[n-1].hi
	if !a.working {
		f.closeRun(oa, ta, len(f.log)-1)
	}
	if r := f.openRun(); r == nil {
		o, tt := oa, ta
		if !a.working {
			o, tt = (oa+ob)/2, (ta+tb)/2
		}
		f.runs = append(f.runs, run{hold0: lo + t.startMargin(), w1: math.Inf(-1), open: true,
			start: runEdge{o: o, t: tt, x: lo, k: len(f.log)}})
	}
	r := f.openRun()
	for _, sp := range ss[:n] {
		if sp.hi <= sp.lo {
			continue
		}
		if len(r.head) == 0 && len(r.recs) == 0 {
			r.first = sp
		}
		r.last = sp
		if !r.start.placed && sp.lo < r.hold0 {
			h := sp
			h.hi = min(h.hi, r.hold0)
			r.head = appendSpan(r.head, h)
			if sp.lo = r.hold0; sp.hi <= sp.lo {
				continue
			}
		}
		r.recs = appendSpan(r.recs, sp)
	}
	r.end.x = hi
	if !b.working {
		r.open = false
		r.end = runEdge{o: (oa + ob) / 2, t: (ta + tb) / 2, x: hi, k: len(f.log)}
	}
	t.release(deviceID, f, pieces, false, false)
}

// appendSpan appends sp to l, as one record with the last when they overlap (the filter
// ahead of the path at a junction) on the same day.
func appendSpan(l []span, sp span) []span {
	if k := len(l) - 1; k >= 0 && l[k].day == sp.day && sp.lo < l[k].hi && sp.hi > l[k].lo {
		l[k].lo, l[k].hi, l[k].ts = min(l[k].lo, sp.lo), max(l[k].hi, sp.hi), sp.ts
		return l
	}
	return append(l, sp)
}

// startMargin is how far placeEdge may move an end from its forward estimate, and so how far
// past it a start's credit is held until the start is placed.
func (t *Tracker) startMargin() float64 { return 3*t.cfg.SigmaM + 10 }

// openRun is the run still being driven, nil when none.
func (f *posFilter) openRun() *run {
	if n := len(f.runs); n > 0 && f.runs[n-1].open {
		return &f.runs[n-1]
	}
	return nil
}

// closeRun ends the open run at odometry o, time tt.
func (f *posFilter) closeRun(o, tt float64, k int) {
	if r := f.openRun(); r != nil {
		r.open = false
		r.end.o, r.end.t, r.end.k = o, tt, max(k, 0)
	}
}

// logTime is ts in seconds since the path's first logged point.
func (f *posFilter) logTime(ts time.Time) float64 {
	return ts.Sub(f.t0).Seconds()
}

// release places the ends that are ready (all of them when final) and credits what is no
// longer held: a start smoothWindow and holdPoints points after it (it is placed with what
// came after it: the turns ahead), an end holdPoints points after it (with the turns before
// it), the rest of a run holdPoints points behind the vehicle. What is held is not committed
// in the journal (HeldSeq), so a crash replays it.
func (t *Tracker) release(deviceID string, f *posFilter, pieces []piece, final, force bool) {
	n := len(f.log)
	now := math.Inf(1)
	if n > 0 {
		now = f.log[n-1].t
	}
	startReady := func(e *runEdge) bool {
		return final || force || n-e.k >= holdPoints && now-e.t >= smoothWindow.Seconds()
	}
	// Credit is released up to the filtered position holdPoints points back.
	behind := math.Inf(-1)
	if final {
		behind = math.Inf(1)
	} else if n > holdPoints {
		behind = f.log[n-1-holdPoints].est
		// Not beyond the path known (the filter may be ahead of it at a junction).
		if h := len(f.hist); h > 0 {
			behind = min(behind, f.hist[h-1].u+math.Abs(f.hist[h-1].b-f.hist[h-1].a))
		}
	}
	keep := f.runs[:0]
	for i := range f.runs {
		r := &f.runs[i]
		if !r.start.placed && startReady(&r.start) {
			t.placeStart(deviceID, f, r, pieces)
		}
		if !r.open && !r.end.placed && (final || force || n-r.end.k >= holdPoints) {
			r.end.x, r.end.placed = t.placeEdge(f, r.end, false), true
		}
		nw1 := behind
		if !r.open {
			// Nothing more of an ended run is released until its end is placed.
			nw1 = r.w1
			if r.end.placed {
				nw1 = r.end.x
				// An end placed beyond the queued credit extends it.
				if k := len(r.recs) - 1; k >= 0 && r.end.x > r.recs[k].hi {
					ext := r.last
					ext.lo, ext.hi = r.recs[k].hi, r.end.x
					r.recs = append(r.recs, ext)
				}
			}
		}
		t.releaseRun(deviceID, r, pieces, nw1)
		if !r.open && r.end.placed && r.start.placed {
			continue
		}
		keep = append(keep, *r)
	}
	clear(f.runs[len(keep):])
	f.runs = keep
}

// placeStart places the run's start and credits its held head from there (and back to there,
// when it is before the head).
func (t *Tracker) placeStart(deviceID string, f *posFilter, r *run, pieces []piece) {
	x := min(t.placeEdge(f, r.start, true), r.hold0)
	if f.cont && r.start.o == 0 && r.start.t == 0 {
		// The path goes on from one that ended just before while working (it broke at a
		// point off every road, or without a route): the vehicle was working all along, so
		// its start is not put later than the forward estimate.
		x = min(x, r.start.x)
	}
	r.start.x, r.start.placed = x, true
	// A start before the first queued credit is credited back to there (with the day and time
	// of that first credit).
	if len(r.head) > 0 || len(r.recs) > 0 {
		first := r.first.lo
		if len(r.head) > 0 {
			first = r.head[0].lo
		}
		t.creditRange(deviceID, r.first.day, r.first.ts, pieces, x, first)
	}
	for _, h := range r.head {
		t.creditRange(deviceID, h.day, h.ts, pieces, max(h.lo, x), h.hi)
	}
	r.head = r.head[:0]
}

// releaseRun widens the credited part of the run's records to what is before nw1 (it never
// narrows: what is credited stays) and credits what that adds.
func (t *Tracker) releaseRun(deviceID string, r *run, pieces []piece, nw1 float64) {
	w1 := r.w1
	if nw1 <= w1 {
		return
	}
	for _, s := range r.recs {
		if lo, hi := max(s.lo, w1), min(s.hi, nw1); lo < hi {
			t.creditRange(deviceID, s.day, s.ts, pieces, lo, hi)
		}
	}
	// Drop the records at the front that are all credited (the last is kept, for an end
	// placed later).
	i := 0
	for i < len(r.recs)-1 && r.recs[i].hi <= nw1 {
		i++
	}
	if i > 0 {
		r.recs = r.recs[:copy(r.recs, r.recs[i:])]
	}
	r.w1 = nw1
}

// heldSeq is the oldest journal record (0: none) whose points' credit the vehicle still
// holds: undecided points, the held-back start of a path, and runs not all released.
func (v *vehicle) heldSeq() uint64 {
	var held uint64
	hold := func(s uint64) {
		if s > 0 && (held == 0 || s < held) {
			held = s
		}
	}
	// The undecided points (not the anchor: a run holds from before it while one is open).
	first := 0
	if v.k.hasAnchor {
		first = 1
	}
	for i := first; i < v.k.n; i++ {
		hold(v.k.at(i).seq)
	}
	f := &v.f
	if len(f.warm) > 0 {
		hold(f.warm[0].a.seq)
	}
	at := func(i int) {
		if len(f.log) > 0 {
			hold(f.log[min(max(i, 0), len(f.log)-1)].seq)
		}
	}
	n := len(f.log)
	for i := range f.runs {
		r := &f.runs[i]
		// From the step before the held credit begins, and replayMargin points before that
		// (a path replayed from a point in a run starts where that point's position is).
		switch {
		case !r.start.placed:
			at(r.start.k - 2 - replayMargin)
		case r.open:
			at(n - 2 - holdPoints - replayMargin)
		default:
			at(r.end.k - 2 - holdPoints - replayMargin)
		}
	}
	return held
}

// replayMargin: how many decided points before held credit the journal is kept for.
const replayMargin = 10

// HeldSeq is the oldest journal record (ObserveSeq) whose points' coverage credit is not
// final yet, 0 when none: the journal must not be committed past it (gateway.Holder).
func (t *Tracker) HeldSeq() uint64 {
	var held uint64
	t.vehicles.Range(func(_, vi any) bool {
		v := vi.(*vehicle)
		v.mu.Lock()
		s := v.heldSeq()
		v.mu.Unlock()
		if s > 0 && (held == 0 || s < held) {
			held = s
		}
		return true
	})
	return held
}

// Release places, with what is known, the held ends of every vehicle that holds journal
// records before seq (gateway.Holder: the journal's uncommitted backlog is bounded).
func (t *Tracker) Release(seq uint64) {
	t.vehicles.Range(func(key, vi any) bool {
		v := vi.(*vehicle)
		v.mu.Lock()
		if h := v.heldSeq(); h > 0 && h < seq && len(v.f.runs) > 0 {
			t.release(key.(string), &v.f, t.anchorPieces(v), false, true)
		}
		v.mu.Unlock()
		return true
	})
}

// finishRuns places every end with what is known and credits all that is held (the path
// ends, or the vehicle went quiet).
func (t *Tracker) finishRuns(deviceID string, v *vehicle) {
	f := &v.f
	if len(f.runs) == 0 {
		return
	}
	f.closeRun(f.odo, f.logTime(v.ts), len(f.log)-1)
	t.release(deviceID, f, t.anchorPieces(v), true, false)
	f.runs = f.runs[:0]
}

// anchorPieces is the vehicle's path up to its anchor (the last decided point), and the rest
// of the anchor's segment.
func (t *Tracker) anchorPieces(v *vehicle) []piece {
	return t.pathPieces(&v.f, tail{seg: v.seg, along: v.along, dir: v.dir})
}

// placeEdge returns the position along the path of the end e: the fit described above over
// the logged points from smoothWindow before it, or e.x when the log cannot place it (too
// few points, or no odometry).
func (t *Tracker) placeEdge(f *posFilter, e runEdge, start bool) float64 {
	lg := f.log
	i0 := 0
	for i0 < len(lg) && lg[i0].t < e.t-smoothWindow.Seconds() {
		i0++
	}
	lg = lg[i0:]
	if f.plain || len(f.hist) == 0 || len(lg) < 4 || lg[len(lg)-1].o-lg[0].o < 1 {
		return e.x
	}
	// Pass 1: the matched positions alone, errors taken as independent.
	x0, c, ok := fitEdge(lg, nil, e.o, 0, t.cfg.SigmaM*t.cfg.SigmaM)
	if !ok {
		return e.x
	}
	// The residuals' variance and lag-one correlation.
	var sxy, sxx, ss float64
	for i := range lg {
		r := lg[i].s - x0 - c*(lg[i].o-e.o)
		ss += r * r
		if i > 0 {
			rp := lg[i-1].s - x0 - c*(lg[i-1].o-e.o)
			sxy, sxx = sxy+r*rp, sxx+rp*rp
		}
	}
	v2 := ss / float64(len(lg))
	if v2 < 1 {
		// Positions good to a metre: nothing to smooth, and a turn (placed to half a step)
		// would only add its own error.
		x0 = e.x
	} else {
		tau := 0.0
		if rho := sxy / sxx; sxx > 0 && rho > 0.05 {
			dt := (lg[len(lg)-1].t - lg[0].t) / float64(len(lg)-1)
			tau = min(-dt/math.Log(min(rho, 0.999)), 600)
		}
		fixes := t.turnFixes(f, lg)
		// Pass 2: with the turns, errors autoregressive.
		if x, _, ok := fitEdge(lg, fixes, e.o, tau, v2); ok {
			x0 = x
		}
	}
	// A fit far from the forward estimate is not trusted (a path through a U-turn, a stop).
	if math.Abs(x0-e.x) > t.startMargin() {
		return e.x
	}
	// Never before the path known (the start of its first segment).
	if start {
		return max(x0, f.hist[0].u)
	}
	return x0
}

// fix is a position along the path known at an odometry (a turn), with its variance.
type fix struct{ o, u, v float64 }

// turnFixes finds the turns of the kept path at junctions where the logged heading crosses
// from the incoming direction to the outgoing one.
func (t *Tracker) turnFixes(f *posFilter, lg []logPoint) []fix {
	var out []fix
	reach := 3*t.cfg.SigmaM + 20
	smin, smax := math.Inf(1), math.Inf(-1)
	for i := range lg {
		smin, smax = min(smin, lg[i].s), max(smax, lg[i].s)
	}
	for j := 0; j+1 < len(f.hist); j++ {
		in, nx := f.hist[j], f.hist[j+1]
		if in.seg == nx.seg || nx.u < smin-reach || nx.u > smax+reach {
			continue
		}
		u := nx.u
		pu, ok0 := t.pathPoint(f, u)
		pin, ok1 := t.pathPoint(f, u-10)
		pout, ok2 := t.pathPoint(f, u+10)
		if !ok0 || !ok1 || !ok2 {
			continue
		}
		dIn, dOut := compassDeg(pu.sub(pin)), compassDeg(pout.sub(pu))
		if angleDiff(dIn, dOut) < turnMinDeg {
			continue
		}
		best, bestD := -1, reach
		for i := 1; i < len(lg); i++ {
			h0, h1 := lg[i-1].hdg, lg[i].hdg
			if h0 < 0 || h1 < 0 || lg[i].o-lg[i-1].o > 15 {
				continue
			}
			if angleDiff(h0, dIn) < angleDiff(h0, dOut) && angleDiff(h1, dOut) < angleDiff(h1, dIn) {
				if d := math.Abs((lg[i-1].s+lg[i].s)/2 - u); d <= bestD {
					best, bestD = i, d
				}
			}
		}
		if best > 0 {
			do := lg[best].o - lg[best-1].o
			out = append(out, fix{o: (lg[best].o + lg[best-1].o) / 2, u: u, v: do*do/12 + 0.25})
		}
	}
	return out
}

// pathPoint is the position at u along the kept path.
func (t *Tracker) pathPoint(f *posFilter, u float64) (vec, bool) {
	seg, along, ok := f.at(u)
	if !ok {
		return vec{}, false
	}
	return t.net.Segments[seg].pointAt(along), true
}

// fitEdge solves position = x0 + c × (odometry − o) by weighted least squares over the logged
// points (errors autoregressive with time constant tau seconds, 0 for independent, variance
// v2), the fixes and the scale prior; x0 is the position at o. The points' rows are
// reweighted twice (Huber, hubK standard errors): a jump of the error (a bias that starts at
// a corner, a multipath reflection) is one step, not motion.
func fitEdge(lg []logPoint, fixes []fix, o, tau, v2 float64) (x0, c float64, ok bool) {
	// Each point's row: p × x0 + q × c = y with weight w.
	row := func(i int) (p, q, y, w float64) {
		d := lg[i].o - o
		if i == 0 || tau == 0 {
			return 1, d, lg[i].s, 1 / v2
		}
		phi := math.Exp(-(lg[i].t - lg[i-1].t) / tau)
		return 1 - phi, d - phi*(lg[i-1].o-o), lg[i].s - phi*lg[i-1].s, 1 / (v2*(1-phi*phi) + 1e-9)
	}
	for iter := range 3 {
		var a00, a01, a11, b0, b1 float64
		add := func(p, q, y, w float64) {
			a00, a01, a11 = a00+w*p*p, a01+w*p*q, a11+w*q*q
			b0, b1 = b0+w*p*y, b1+w*q*y
		}
		add(0, 1, 1, 1/(scaleErr*scaleErr))
		for _, fx := range fixes {
			add(1, fx.o-o, fx.u, 1/fx.v)
		}
		for i := range lg {
			p, q, y, w := row(i)
			if iter > 0 {
				if r := math.Abs(y-p*x0-q*c) * math.Sqrt(w); r > hubK {
					w *= hubK / r
				}
			}
			add(p, q, y, w)
		}
		det := a00*a11 - a01*a01
		if !(math.Abs(det) > 1e-12) {
			return 0, 0, false
		}
		x0, c = (b0*a11-b1*a01)/det, (a00*b1-a01*b0)/det
		if math.IsNaN(x0) || math.IsInf(x0, 0) {
			return 0, 0, false
		}
	}
	return x0, c, true
}

// hubK is where fitEdge starts to weigh a point's row down (standard errors).
const hubK = 2.5

// logStep records the decided point b (odometry and matched position along the path, its
// filtered position) for placeEdge; the path's first point comes first.
func (f *posFilter) logStep(a, b tail, sa, sb, est float64) {
	if len(f.log) == 0 {
		f.t0 = a.ts
		f.log = append(f.log, logPoint{t: 0, o: f.odoA, s: sa, est: sa, hdg: a.hdg, seq: a.seq})
	}
	f.log = append(f.log, logPoint{t: f.logTime(b.ts), o: f.odo, s: sb, est: est, hdg: b.hdg, seq: b.seq})
	// Keep smoothWindow behind the oldest end not yet placed (at most holdPoints back).
	tmin := f.log[len(f.log)-1].t - smoothWindow.Seconds() - 1
	for _, r := range f.runs {
		tmin = min(tmin, r.start.t-smoothWindow.Seconds()-1)
	}
	if len(f.log) <= 2*logTrim || f.log[logTrim].t >= tmin {
		return
	}
	i := logTrim
	for i < len(f.log)-holdPoints-1 && f.log[i].t < tmin {
		i++
	}
	f.log = f.log[:copy(f.log, f.log[i:])]
	for j := range f.runs {
		f.runs[j].start.k -= i
		f.runs[j].end.k -= i
	}
}
