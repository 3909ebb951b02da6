package coverage

import "math"

const earthRadiusM = 6371008.8

// Projection is an equirectangular projection around a centre: x metres east, y metres north.
// Within a few tens of kilometres of the centre its distance error is far below GPS noise.
type Projection struct {
	lat0, lon0 float64
	kx, ky     float64 // metres per degree
}

// NewProjection returns the projection centred on (lat0, lon0).
func NewProjection(lat0, lon0 float64) Projection {
	ky := earthRadiusM * math.Pi / 180
	return Projection{lat0: lat0, lon0: lon0, kx: ky * math.Cos(lat0*math.Pi/180), ky: ky}
}

// Forward returns the metric position of (lat, lon).
func (p Projection) Forward(lat, lon float64) (x, y float64) {
	return (lon - p.lon0) * p.kx, (lat - p.lat0) * p.ky
}

// Inverse returns the (lat, lon) of a metric position.
func (p Projection) Inverse(x, y float64) (lat, lon float64) {
	return p.lat0 + y/p.ky, p.lon0 + x/p.kx
}

func (p Projection) project(lat, lon float64) vec {
	x, y := p.Forward(lat, lon)
	return vec{x, y}
}

type vec struct{ x, y float64 }

func (a vec) sub(b vec) vec          { return vec{a.x - b.x, a.y - b.y} }
func (a vec) add(b vec) vec          { return vec{a.x + b.x, a.y + b.y} }
func (a vec) scale(f float64) vec    { return vec{a.x * f, a.y * f} }
func (a vec) dot(b vec) float64      { return a.x*b.x + a.y*b.y }
func (a vec) len() float64           { return math.Hypot(a.x, a.y) }
func (a vec) dist2(b vec) float64    { d := a.sub(b); return d.dot(d) }
func compassDeg(d vec) float64       { return math.Mod(math.Atan2(d.x, d.y)*180/math.Pi+360, 360) }
func angleDiff(a, b float64) float64 { d := math.Abs(math.Mod(a-b+540, 360) - 180); return d }

// pointAt returns the position at distance along s.
func (s *Segment) pointAt(along float64) vec {
	if along <= 0 {
		return s.pts[0]
	}
	for k := 1; k < len(s.pts); k++ {
		if along <= s.cum[k] || k == len(s.pts)-1 {
			l := s.cum[k] - s.cum[k-1]
			if l == 0 {
				return s.pts[k]
			}
			f := math.Min(1, (along-s.cum[k-1])/l)
			return s.pts[k-1].add(s.pts[k].sub(s.pts[k-1]).scale(f))
		}
	}
	return s.pts[len(s.pts)-1]
}

// nearest returns the position along s nearest to p, the distance to it and the unit
// direction of the edge it is on.
func (s *Segment) nearest(p vec) (along, dist float64, u vec) {
	best := math.Inf(1)
	u = vec{1, 0}
	for k := 1; k < len(s.pts); k++ {
		a, d := s.pts[k-1], s.pts[k].sub(s.pts[k-1])
		l2 := d.dot(d)
		if l2 == 0 {
			continue
		}
		t := min(1, max(0, p.sub(a).dot(d)/l2))
		if d2 := p.dist2(a.add(d.scale(t))); d2 < best {
			l := math.Sqrt(l2)
			best, along, u = d2, s.cum[k-1]+t*l, d.scale(1/l)
		}
	}
	if math.IsInf(best, 1) {
		return 0, p.sub(s.pts[0]).len(), u
	}
	return along, math.Sqrt(best), u
}
