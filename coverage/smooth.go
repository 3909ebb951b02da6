package coverage

import "math"

// Where along its matched path a vehicle was at each point: the path is known exactly once
// matched, but a point's position along it carries the GPS error (σ along the road), and the
// union of the stretches between noisy positions reaches past the true ends of a working
// stretch by about σ at each end (at every brush change and every end of a run). The positions
// are therefore filtered along the path: a one-dimensional Kalman filter whose prediction is
// the distance the reported speed covers (odometry) and whose measurement is the matched
// position. Without a speed on both points the matched position is used as it is.

// speedErrMS is the error of a reported speed (m/s): GPS Doppler speed, often rounded to whole
// km/h (0.28 m/s).
const speedErrMS = 0.3

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
	f.on, f.s, f.est, f.p = false, 0, 0, 0
	f.hist = f.hist[:0]
}

// creditSmoothed extends the vehicle's path by the route from its anchor a to the newly
// decided point b, updates the position filter and credits the stretch between the two
// filtered positions (creditSpan).
func (t *Tracker) creditSmoothed(deviceID string, v *vehicle, a, b tail) {
	f := &v.f
	v.buf.pieces = v.buf.pieces[:0]
	r, ok := t.routeBetween(a, b, &v.buf)
	if !ok {
		f.reset()
		return
	}
	sigma2 := t.cfg.SigmaM * t.cfg.SigmaM
	if !f.on {
		f.on, f.s, f.est, f.p = true, 0, 0, sigma2
	}
	var s float64
	if v.buf.back {
		// GPS noise (or reversing) along the path: the position moves back, the path stays.
		s = f.s - r
	} else {
		// The path from here on is the route (the stretch of path beyond a, reached by noise
		// ahead of a, is replaced: when the route goes on the same way it is the same).
		f.truncate(f.s)
		u := f.s
		for _, pc := range v.buf.pieces {
			pc.u = u
			f.hist = append(f.hist, pc)
			u += math.Abs(pc.b - pc.a)
		}
		s = f.s + r
	}
	prev := f.est
	dt := b.ts.Sub(a.ts).Seconds()
	if a.kmh >= 0 && b.kmh >= 0 {
		odo := (a.kmh + b.kmh) / 2 / 3.6 * dt
		pred, q := f.est+odo, speedErrMS*dt
		pp := f.p + q*q
		k := pp / (pp + sigma2)
		f.est, f.p = pred+k*(s-pred), (1-k)*pp
	} else {
		f.est, f.p = s, sigma2
	}
	f.s = s
	if t.trace != nil {
		t.trace(a, b, v.buf.pieces)
	}
	if t.pairs(a, b) {
		// The filtered position may be a little ahead of the path's end: the path goes on
		// along its last segment in its direction at least to that segment's end.
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
		pieces := append(f.hist, piece{seg: ext.seg, a: ext.a, b: ext.b})
		if t.trace != nil {
			t.trace(a, b, append([]piece{{seg: -1, a: prev, b: f.est, u: f.s}}, pieces...))
		}
		t.creditSpan(deviceID, a, b, pieces, prev, f.est)
	}
	// Forget the path well behind both positions.
	keep := min(f.est, f.s) - 2*t.cfg.MaxGapM
	i := 0
	for i < len(f.hist)-1 && (f.hist[i+1].u < keep || len(f.hist)-i > maxHistory) {
		i++
	}
	if i > 0 {
		n := copy(f.hist, f.hist[i:])
		f.hist = f.hist[:n]
	}
}
