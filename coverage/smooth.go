package coverage

import (
	"math"
	"slices"
	"time"
)

// Where along its matched path a vehicle was at each point: the path is known exactly once
// matched, but a point's position along it carries the GPS error (σ along the road), and the
// union of the stretches between noisy positions reaches past the true ends of a working
// stretch by about σ at each end (at every brush change and every end of a run). The positions
// are therefore filtered along the path: a Kalman filter of the position and the scale of the
// odometry whose prediction is the distance the reported speed covers (times the scale) and
// whose measurement is the matched position. Without a speed on both points the matched position is used as it is.

// speedErrMS is the error of a reported speed (m/s): GPS Doppler speed, often rounded to whole
// km/h (0.28 m/s).
const speedErrMS = 0.1

// maxHistory bounds the pieces of path a vehicle keeps behind its filtered position.
const maxHistory = 256

type extPiece struct {
	seg  int32
	a, b float64
	dir  int8
}

// posFilter is a vehicle's position filter along its current matched path.
type posFilter struct {
	on   bool
	s    float64 // matched position of the anchor, metres along the path from its start
	est  float64 // its filtered position
	p    float64 // variance of est
	hist []piece // the path's recent pieces, u from the path's start
	// warming: the path's first steps are held back (flushWarm).
	warming bool
	warm    []warmStep
	carry   float64 // where the next step's credit starts if before its prev (creditStep)
	// scale: reported distance × scale = distance driven (a speed reported a few per cent
	// high or low, wheel-based speeds); p01, p11: its covariance with est and its variance.
	scale, p01, p11 float64
	// odo, odoA: reported distance from the path's first point to the step's b and a; log,
	// t0: the path's decided points for placeEdge (edges.go) and the time of the first; runs:
	// the working stretches whose credit is held; plain: a step without speed (no odometry).
	odo, odoA float64
	log       []logPoint
	t0        time.Time
	runs      []run
	plain     bool
	// cont: the path began within max_gap of the end of a working path (placeStart).
	cont bool
}

// maxScale bounds the odometry scale; scaleErr is its prior error, scaleDrift its change per
// second.
const (
	maxScale   = 1.25
	scaleErr   = 0.015
	scaleDrift = 1e-5
)

// predict moves the filter by odo reported metres over dt seconds.
func (f *posFilter) predict(odo, dt float64) {
	// x = [est, scale], F = [[1, odo], [0, 1]], Q = diag((speedErrMS dt)², scaleDrift² dt).
	p00 := f.p + 2*odo*f.p01 + odo*odo*f.p11
	p01 := f.p01 + odo*f.p11
	q := speedErrMS * dt
	f.est += f.scale * odo
	f.p, f.p01, f.p11 = p00+q*q, p01, f.p11+scaleDrift*scaleDrift*dt
}

// update takes the matched position s (variance r).
func (f *posFilter) update(s, r float64) {
	sv := f.p + r
	k0, k1 := f.p/sv, f.p01/sv
	y := s - f.est
	f.est += k0 * y
	f.scale = min(maxScale, max(1/maxScale, f.scale+k1*y))
	f.p, f.p01, f.p11 = (1-k0)*f.p, (1-k0)*f.p01, f.p11-k1*f.p01
}

// truncate cuts the path at u.
func (f *posFilter) truncate(u float64) {
	for len(f.hist) > 0 {
		last := &f.hist[len(f.hist)-1]
		l := math.Abs(last.b - last.a)
		if last.u+l <= u {
			return
		}
		if last.u >= u {
			f.hist = f.hist[:len(f.hist)-1]
			continue
		}
		last.b = last.a + (last.b-last.a)*(u-last.u)/l
		return
	}
}

func (f *posFilter) reset() {
	f.on, f.s, f.est, f.p, f.warming, f.carry = false, 0, 0, 0, false, math.Inf(1)
	f.scale, f.p01, f.p11 = 1, 0, scaleErr*scaleErr
	f.hist, f.warm = f.hist[:0], f.warm[:0]
	f.odo, f.odoA, f.log, f.runs, f.plain, f.cont = 0, 0, f.log[:0], f.runs[:0], false, false
}

// creditSmoothed extends the vehicle's path by the route from its anchor a to the newly
// decided point b, updates the position filter and credits the stretch between the two
// filtered positions (creditSpan).
func (t *Tracker) creditSmoothed(deviceID string, v *vehicle, a, b tail) {
	f := &v.f
	v.buf.pieces = v.buf.pieces[:0]
	r, ok := t.routeBetween(a, b, &v.buf)
	if !ok {
		t.flushWarm(deviceID, v)
		t.finishRuns(deviceID, v)
		f.reset()
		return
	}
	sigma2 := t.cfg.SigmaM * t.cfg.SigmaM
	if !f.on {
		f.on, f.s, f.est, f.p, f.warming, f.carry = true, 0, 0, sigma2, true, math.Inf(1)
		f.scale, f.p01, f.p11 = 1, 0, scaleErr*scaleErr
	}
	var s float64
	sa, first := f.s, len(f.hist) == 0
	if v.buf.back {
		// GPS noise (or reversing) along the path: the position moves back, the path stays.
		s = f.s - r
	} else {
		// The path from here on is the route (the stretch of path beyond a, reached by noise
		// ahead of a, is replaced: when the route goes on the same way it is the same).
		f.truncate(f.s)
		for _, pc := range v.buf.pieces {
			pc.u += f.s
			if n := len(f.hist); n > 0 {
				// One piece per stretch driven on a segment in one direction.
				if last := &f.hist[n-1]; last.seg == pc.seg && last.b == pc.a && (pc.b-pc.a)*(last.b-last.a) >= 0 {
					last.b = pc.b
					continue
				}
			}
			f.hist = append(f.hist, pc)
		}
		if first {
			t.prependBack(f, a, f.s)
		}
		s = f.s + r
	}
	f.s = s
	if t.trace != nil {
		t.trace(a, b, v.buf.pieces)
	}
	dt := b.ts.Sub(a.ts).Seconds()
	hasSpeed := a.kmh >= 0 && b.kmh >= 0
	odo := 0.0
	if hasSpeed {
		odo = (a.kmh + b.kmh) / 2 / 3.6 * dt
	}
	if f.warming {
		if hasSpeed {
			o := odo
			if n := len(f.warm); n > 0 {
				o += f.warm[n-1].odo
			}
			f.warm = append(f.warm, warmStep{a: a, b: b, s: s, odo: o})
			if n := len(f.warm); n >= warmSteps || (n >= 3 && b.ts.Sub(f.warm[0].a.ts) >= warmTime) {
				t.flushWarm(deviceID, v)
			}
			return
		}
		t.flushWarm(deviceID, v)
	}
	prev := f.est
	f.odoA = f.odo
	if hasSpeed {
		f.predict(odo, dt)
		f.update(s, sigma2)
		f.odo += odo
	} else {
		f.est, f.p, f.p01, f.plain = s, sigma2, 0, true
	}
	t.creditStep(deviceID, f, a, b, prev, f.est, sa, s)
	// Forget the path well behind both positions, the points placeEdge sees and what is held.
	keep := min(f.est, f.s) - 100 - 10*t.cfg.SigmaM
	if len(f.log) > 0 {
		keep = min(keep, f.log[0].s-50, f.log[0].est-50)
	}
	for _, r := range f.runs {
		keep = min(keep, r.start.x-50)
		if len(r.head) > 0 {
			keep = min(keep, r.head[0].lo-50)
		}
		if len(r.recs) > 0 {
			keep = min(keep, r.recs[0].lo-50)
		}
	}
	i := 0
	for i < len(f.hist)-1 && (f.hist[i+1].u < keep || len(f.hist)-i > maxHistory) {
		i++
	}
	if i > 0 {
		n := copy(f.hist, f.hist[i:])
		f.hist = f.hist[:n]
	}
}

// warmSteps and warmTime: the first steps of a new path (up to warmSteps, or at least three
// and warmTime) are held back so that the path's start is placed by all of them (the forward
// filter alone would start with one point's error).
const (
	warmSteps = 10
	warmTime  = 10 * time.Second
)

// warmStep is a held-back step of a new path: its two points, b's matched position and the
// odometry from the path's first point to b.
type warmStep struct {
	a, b   tail
	s, odo float64
}

// flushWarm places the held-back start of the path: with the odometry taken as exact over
// those few steps, the least-squares position of the first point is the mean of (matched
// position − odometry) over them; each step is credited from there and the filter goes on.
func (t *Tracker) flushWarm(deviceID string, v *vehicle) {
	f := &v.f
	defer t.joinEnd(deviceID, v)
	if !f.warming {
		return
	}
	f.warming = false
	if len(f.warm) == 0 {
		return
	}
	// Least squares of s = off + odo over the first point (0, 0) and the held-back ones (the
	// odometry's scale is left to the filter: over a few steps the noise would set it).
	n := float64(len(f.warm) + 1)
	var so, ss float64
	for _, w := range f.warm {
		so, ss = so+w.odo, ss+w.s
	}
	scale := 1.0
	sigma2 := t.cfg.SigmaM * t.cfg.SigmaM
	off := (ss - so) / n
	prev, sa := off, 0.0
	f.odo = 0
	for _, w := range f.warm {
		est := off + scale*w.odo
		f.odoA, f.odo = f.odo, w.odo
		t.creditStep(deviceID, f, w.a, w.b, prev, est, sa, w.s)
		prev, sa = est, w.s
	}
	last := f.warm[len(f.warm)-1]
	f.est, f.p, f.p01, f.scale = off+scale*last.odo, sigma2/n, 0, scale
	f.p11 = scaleErr * scaleErr
	// The path's credit starts at off: a backlog ending just before the path is joined to
	// that point (startPath, endPath).
	if ns := len(v.starts); ns > 0 && v.starts[ns-1].ts.Equal(f.warm[0].a.ts) {
		if seg, along, ok := f.at(max(off, 0)); ok {
			v.starts[ns-1].seg, v.starts[ns-1].along = seg, along
		}
	}
	f.warm = f.warm[:0]
}

// creditStep credits the step from a to b between the filtered positions prev and est. A
// position beyond the end of the path known so far (the filter a little ahead of the matched
// point at a junction) is credited by the next step, once the path goes on.
func (t *Tracker) creditStep(deviceID string, f *posFilter, a, b tail, prev, est, sa, sb float64) {
	f.logStep(a, b, sa, sb, est)
	pieces := t.pathPieces(f, b)
	if !t.pairs(a, b) {
		f.carry = math.Inf(1)
		t.queueStep(deviceID, f, a, b, false, pieces, prev, est)
		return
	}
	x := pieces[len(pieces)-1]
	end := x.u + math.Abs(x.b-x.a)
	lo := min(prev, f.carry)
	f.carry = math.Inf(1)
	if est > end {
		f.carry = max(end, lo)
	}
	t.queueStep(deviceID, f, a, b, true, pieces, lo, est)
}

// prependBack puts the rest of the path's first segment behind a, the start of its first
// piece (at u along the path), before that piece, so that a start placed before the first
// point is credited.
func (t *Tracker) prependBack(f *posFilter, a tail, u float64) {
	var pc piece
	switch a.dir {
	case 0:
		pc = piece{seg: a.seg, a: 0, b: a.along, u: u - a.along}
	case 1:
		l := t.net.Segments[a.seg].LengthM
		pc = piece{seg: a.seg, a: l, b: a.along, u: u - (l - a.along)}
	default:
		return
	}
	if pc.u < u {
		f.hist = slices.Insert(f.hist, 0, pc)
	}
}

// pathPieces is the vehicle's recent path and, after it, the rest of its last segment in its
// direction (the filtered position may be a little ahead of the path's end).
func (t *Tracker) pathPieces(f *posFilter, b tail) []piece {
	ext := extPiece{seg: b.seg, a: b.along, dir: b.dir}
	if n := len(f.hist); n > 0 {
		last := f.hist[n-1]
		ext.seg, ext.a = last.seg, last.b
		if last.seg != b.seg {
			ext.dir = 0
			if last.b < last.a {
				ext.dir = 1
			}
		}
	}
	if ext.dir == 0 {
		ext.b = t.net.Segments[ext.seg].LengthM
	}
	u := 0.0
	if n := len(f.hist); n > 0 {
		u = f.hist[n-1].u + math.Abs(f.hist[n-1].b-f.hist[n-1].a)
	}
	// Room for the extension in f.hist's own array, so that this allocates once, not per step.
	f.hist = slices.Grow(f.hist, 1)
	return append(f.hist, piece{seg: ext.seg, a: ext.a, b: ext.b, u: u})
}

// at returns the segment and position at u along the path (ok false when u is not on the
// path kept).
func (f *posFilter) at(u float64) (int32, float64, bool) {
	for i := len(f.hist) - 1; i >= 0; i-- {
		pc := &f.hist[i]
		l := math.Abs(pc.b - pc.a)
		if u >= pc.u && u <= pc.u+l {
			if l == 0 {
				return pc.seg, pc.a, true
			}
			return pc.seg, pc.a + (pc.b-pc.a)*(u-pc.u)/l, true
		}
	}
	return 0, 0, false
}
