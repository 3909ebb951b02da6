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
// run) and released behind the vehicle, holdPoints decided points late; each end is placed
// holdPoints points after it, by placeEdge, which sees the last smoothWindow of the path:
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
// Nothing is held longer than holdPoints decided points (less than the lag + 10 points a
// handoff walks back over, handoff.go): after a crash the next node credits what was held.

// holdPoints is how many decided points a run's credit and its ends are held back.
const holdPoints = 8

// smoothWindow is how much of the path before an end placeEdge sees.
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

// run is a working stretch of the current path whose credit is not all released: recs
// intersected with [w0, w1] are credited (nothing while w0 > w1).
type run struct {
	recs       []span
	w0, w1     float64
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
		t.release(deviceID, f, pieces, false)
		return
	}
	ss, n := t.spans(a, b, u0, u1)
	lo, hi := min(u0, u1), max(u0, u1)
	if !a.working || !b.working {
		lo, hi = (lo+hi)/2, (lo+hi)/2
		if a.working {
			lo = min(u0, u1)
		} else {
			hi = max(u0, u1)
		}
	}
	if !a.working {
		f.closeRun(oa, ta, len(f.log)-1)
	}
	if r := f.openRun(); r == nil {
		o, tt := oa, ta
		if !a.working {
			o, tt = (oa+ob)/2, (ta+tb)/2
		}
		f.runs = append(f.runs, run{w0: math.Inf(1), w1: math.Inf(-1), open: true,
			start: runEdge{o: o, t: tt, x: lo, k: len(f.log)}})
	}
	r := f.openRun()
	for _, sp := range ss[:n] {
		if sp.hi <= sp.lo {
			continue
		}
		if len(r.recs) == 0 {
			r.first = sp
		}
		r.last = sp
		if k := len(r.recs) - 1; k >= 0 && r.recs[k].day == sp.day && sp.lo < r.recs[k].hi && sp.hi > r.recs[k].lo {
			// Overlapping the last (the filter ahead of the path at a junction): one record.
			r.recs[k].lo, r.recs[k].hi, r.recs[k].ts = min(r.recs[k].lo, sp.lo), max(r.recs[k].hi, sp.hi), sp.ts
			continue
		}
		r.recs = append(r.recs, sp)
	}
	r.end.x = hi
	if !b.working {
		r.open = false
		r.end = runEdge{o: (oa + ob) / 2, t: (ta + tb) / 2, x: hi, k: len(f.log)}
	}
	t.release(deviceID, f, pieces, false)
}

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

// release places the ends that have been followed for holdPoints points (all of them when
// final) and credits what is no longer held.
func (t *Tracker) release(deviceID string, f *posFilter, pieces []piece, final bool) {
	n := len(f.log)
	ready := func(e *runEdge) bool { return final || n-e.k >= holdPoints }
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
		if !r.start.placed && ready(&r.start) {
			r.start.x, r.start.placed = t.placeEdge(f, r.start, true), true
			if r.start.o == 0 && r.start.t == 0 && !final {
				// The start of the path, placed by its first few points: not before the
				// first point until the later placement (a few points say little).
				r.start.x = max(r.start.x, 0)
			}
			if len(f.later) < maxLater && !final {
				f.later = append(f.later, laterStart{edge: r.start, day: r.first.day, ts: r.first.ts})
			}
			// A start placed before the queued credit extends it.
			if len(r.recs) > 0 && r.start.x < r.recs[0].lo {
				ext := r.first
				ext.lo, ext.hi = r.start.x, r.recs[0].lo
				r.recs = append([]span{ext}, r.recs...)
			}
		}
		if !r.open && !r.end.placed && ready(&r.end) {
			r.end.x, r.end.placed = t.placeEdge(f, r.end, false), true
		}
		if !r.start.placed || len(r.recs) == 0 {
			keep = append(keep, *r)
			continue
		}
		nw0, nw1 := r.start.x, behind
		if !r.open {
			// Nothing more of an ended run is released until its end is placed.
			nw1 = r.w1
			if r.end.placed {
				// A placed end beyond the queued credit extends it.
				nw1 = r.end.x
				if hi := r.recs[len(r.recs)-1].hi; r.end.x > hi {
					ext := r.last
					ext.lo, ext.hi = hi, r.end.x
					r.recs = append(r.recs, ext)
				}
			}
		}
		t.releaseRun(deviceID, r, pieces, nw0, nw1)
		if !r.open && r.end.placed {
			continue
		}
		keep = append(keep, *r)
	}
	clear(f.runs[len(keep):])
	f.runs = keep
	// Starts placed holdPoints after them are placed again once the path has gone on for
	// smoothWindow (or ends): a start found earlier then is credited back to there. Only
	// ever more credit, so a crash before then loses nothing that was credited.
	now := math.Inf(1)
	if !final && n > 0 {
		now = f.log[n-1].t
	}
	lk := f.later[:0]
	for _, l := range f.later {
		if now-l.edge.t < smoothWindow.Seconds() {
			lk = append(lk, l)
			continue
		}
		if x := t.placeEdge(f, l.edge, true); x < l.edge.x {
			t.creditRange(deviceID, l.day, l.ts, pieces, x, l.edge.x)
		}
	}
	f.later = lk
}

// maxLater bounds the starts a path places again (laterStart).
const maxLater = 8

// laterStart is a run's start placed again later, with the day and time of its credit.
type laterStart struct {
	edge runEdge
	day  string
	ts   time.Time
}

// releaseRun widens the run's credited window to [nw0, nw1] (it never narrows: what is
// credited stays) and credits what that adds.
func (t *Tracker) releaseRun(deviceID string, r *run, pieces []piece, nw0, nw1 float64) {
	w0, w1 := r.w0, r.w1
	if w0 <= w1 {
		nw0, nw1 = min(nw0, w0), max(nw1, w1)
	}
	if nw0 > nw1 {
		return
	}
	for _, s := range r.recs {
		lo, hi := max(s.lo, nw0), min(s.hi, nw1)
		switch {
		case lo >= hi:
		case w0 > w1:
			t.creditRange(deviceID, s.day, s.ts, pieces, lo, hi)
		default:
			if lo < w0 {
				t.creditRange(deviceID, s.day, s.ts, pieces, lo, min(hi, w0))
			}
			if hi > w1 {
				t.creditRange(deviceID, s.day, s.ts, pieces, max(lo, w1), hi)
			}
		}
	}
	// Drop the records at the front that can gain nothing more: once the start is placed
	// the window only grows at its end, so those ending inside it (the last is kept, for an
	// end placed later).
	i := 0
	for r.start.placed && i < len(r.recs)-1 && r.recs[i].hi <= nw1 {
		i++
	}
	if i > 0 {
		r.recs = r.recs[:copy(r.recs, r.recs[i:])]
	}
	r.w0, r.w1 = nw0, nw1
}

// finishRuns places every end with what is known and credits all that is held (the path
// ends, or the vehicle went quiet).
func (t *Tracker) finishRuns(deviceID string, v *vehicle) {
	f := &v.f
	if len(f.runs) == 0 && len(f.later) == 0 {
		return
	}
	f.closeRun(f.odo, f.logTime(v.ts), len(f.log)-1)
	b := tail{seg: v.seg, along: v.along, dir: v.dir}
	t.release(deviceID, f, t.pathPieces(f, b), true)
	f.runs, f.later = f.runs[:0], f.later[:0]
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
	if math.Abs(x0-e.x) > 3*t.cfg.SigmaM+10 {
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
		f.log = append(f.log, logPoint{t: 0, o: f.odoA, s: sa, est: sa, hdg: a.hdg})
	}
	f.log = append(f.log, logPoint{t: f.logTime(b.ts), o: f.odo, s: sb, est: est, hdg: b.hdg})
	// Keep smoothWindow behind the oldest end not yet placed (at most holdPoints back).
	tmin := f.log[len(f.log)-1].t - smoothWindow.Seconds() - 1
	for _, r := range f.runs {
		tmin = min(tmin, r.start.t-smoothWindow.Seconds()-1)
	}
	for _, l := range f.later {
		tmin = min(tmin, l.edge.t-smoothWindow.Seconds()-1)
	}
	if len(f.log) <= 2*logTrim || f.log[logTrim].t >= tmin {
		return
	}
	i := logTrim
	for i < len(f.log)-holdPoints-1 && f.log[i].t < tmin {
		i++
	}
	{
		n := copy(f.log, f.log[i:])
		f.log = f.log[:n]
		for j := range f.runs {
			f.runs[j].start.k -= i
			f.runs[j].end.k -= i
		}
	}
}
