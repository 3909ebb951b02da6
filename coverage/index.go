package coverage

import (
	"math"

	"github.com/tidwall/rtree"
)

// edge is one straight piece of a segment, between vertices k and k+1.
type edge struct {
	a, d   vec     // start and direction (b - a)
	l2     float64 // squared length
	base   float64 // distance along the segment at a
	u      vec     // unit direction a → b
	seg    int32
	oneway bool
}

// edgeIndex is an R-tree of edge bounding boxes (float32 metres) over the edges array.
type edgeIndex struct {
	edges []edge
	tree  rtree.RTreeGN[float32, int32]
}

func newEdgeIndex(segs []Segment) *edgeIndex {
	ix := &edgeIndex{}
	for si := range segs {
		s := &segs[si]
		for k := 0; k+1 < len(s.pts); k++ {
			a, b := s.pts[k], s.pts[k+1]
			d := b.sub(a)
			if d.dot(d) == 0 {
				continue
			}
			ix.edges = append(ix.edges, edge{a: a, d: d, l2: d.dot(d), base: s.cum[k], u: d.scale(1 / d.len()), seg: int32(si), oneway: s.OneWay})
		}
	}
	for i, e := range ix.edges {
		b := e.a.add(e.d)
		min := [2]float32{float32(math.Min(e.a.x, b.x)), float32(math.Min(e.a.y, b.y))}
		max := [2]float32{float32(math.Max(e.a.x, b.x)), float32(math.Max(e.a.y, b.y))}
		ix.tree.Insert(min, max, int32(i))
	}
	return ix
}

// matchQuery is one map-matching request in projected metres.
type matchQuery struct {
	p          vec
	heading    float64
	useHeading bool
	prev       int32 // previous segment of the vehicle, -1 for none
	maxDist    float64
	tolDeg     float64
	stickM     float64 // bonus in metres for staying on prev
}

// matchResult is the chosen segment (-1 for none), the position along it and the distance.
type matchResult struct {
	seg   int32
	along float64
	dist  float64
}

// match returns the best segment for q: the nearest edge within maxDist whose direction fits
// the heading (either direction on two-way roads), preferring the previous segment by stickM.
func (n *Network) match(q *matchQuery) matchResult {
	best := matchResult{seg: -1}
	bestScore := math.Inf(1)
	md := float32(q.maxDist)
	px, py := float32(q.p.x), float32(q.p.y)
	maxD2 := q.maxDist * q.maxDist
	edges := n.index.edges
	// Heading as a unit vector (x east, y north) and the cosine of the tolerance.
	hu := vec{math.Sin(q.heading * math.Pi / 180), math.Cos(q.heading * math.Pi / 180)}
	cosTol := math.Cos(q.tolDeg * math.Pi / 180)
	n.index.tree.Search([2]float32{px - md, py - md}, [2]float32{px + md, py + md}, func(_, _ [2]float32, i int32) bool {
		e := &edges[i]
		t := q.p.sub(e.a).dot(e.d) / e.l2
		if t < 0 {
			t = 0
		} else if t > 1 {
			t = 1
		}
		foot := e.a.add(e.d.scale(t))
		d2 := q.p.dist2(foot)
		if d2 > maxD2 {
			return true
		}
		if q.useHeading {
			c := hu.dot(e.u)
			if !e.oneway {
				c = math.Abs(c)
			}
			if c < cosTol {
				return true
			}
		}
		d := math.Sqrt(d2)
		score := d
		if e.seg == q.prev {
			score -= q.stickM
		} else if q.useHeading && q.prev >= 0 && n.wrongWayEntry(q.prev, e.seg, q.heading, q.tolDeg) {
			// Near a junction, a segment joined to the previous one is only a plausible next
			// segment if entering it from the shared end agrees with the heading.
			score += wrongWayPenaltyM
		}
		if score < bestScore || (score == bestScore && e.seg < best.seg) {
			bestScore = score
			best = matchResult{seg: e.seg, along: e.base + t*math.Sqrt(e.l2), dist: d}
		}
		return true
	})
	return best
}

// wrongWayPenaltyM is added to the score of a segment the vehicle would enter against its
// heading.
const wrongWayPenaltyM = 10

// wrongWayEntry reports whether moving from segment prev into segment next through their
// shared end contradicts heading.
func (n *Network) wrongWayEntry(prev, next int32, heading, tolDeg float64) bool {
	_, eb, ok := sharedEnd(&n.Segments[prev], &n.Segments[next])
	if !ok {
		return false
	}
	s := &n.Segments[next]
	var dir float64
	if eb == 0 {
		dir = compassDeg(s.pts[1].sub(s.pts[0]))
	} else {
		k := len(s.pts) - 1
		dir = compassDeg(s.pts[k-1].sub(s.pts[k]))
	}
	return angleDiff(heading, dir) > tolDeg
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
