package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// prepared is an area's polygons with the bound of every ring computed once. orb's
// planar.RingContains computes the ring's bound on every call, which was half of the time of a
// lookup (the rules' inZone on every evaluation): ringContains and rayIntersect below are orb's
// (github.com/paulmach/orb/planar, MIT, Copyright (c) 2017 Paul Mach) with that bound passed
// in, so the answers are orb's (points on the boundary are in). TestPreparedMatchesOrb checks
// them against planar.MultiPolygonContains.
type prepared struct {
	bound orb.Bound        // of the whole area
	polys [][]preparedRing // outer ring first, then holes
}

type preparedRing struct {
	ring  orb.Ring
	bound orb.Bound
}

func prepare(mp orb.MultiPolygon) prepared {
	p := prepared{bound: mp.Bound(), polys: make([][]preparedRing, len(mp))}
	for i, poly := range mp {
		p.polys[i] = make([]preparedRing, len(poly))
		for j, r := range poly {
			p.polys[i][j] = preparedRing{ring: r, bound: r.Bound()}
		}
	}
	return p
}

// contains is planar.MultiPolygonContains(mp, pt) for the prepared mp.
func (p *prepared) contains(pt orb.Point) bool {
	if !p.bound.Contains(pt) {
		return false
	}
	for _, poly := range p.polys {
		if polygonContains(poly, pt) {
			return true
		}
	}
	return false
}

// polygonContains is planar.PolygonContains: in the outer ring and in no hole.
func polygonContains(poly []preparedRing, pt orb.Point) bool {
	if !ringContains(poly[0], pt) {
		return false
	}
	for _, hole := range poly[1:] {
		if ringContains(hole, pt) {
			return false
		}
	}
	return true
}

// ringContains is planar.RingContains with the ring's bound precomputed.
func ringContains(pr preparedRing, pt orb.Point) bool {
	if !pr.bound.Contains(pt) {
		return false
	}
	r := pr.ring
	c, on := rayIntersect(pt, r[0], r[len(r)-1])
	if on {
		return true
	}
	for i := 0; i < len(r)-1; i++ {
		inter, on := rayIntersect(pt, r[i], r[i+1])
		if on {
			return true
		}
		if inter {
			c = !c
		}
	}
	return c
}

// rayIntersect is orb/planar's: whether the ray from p crosses the segment s-e, and whether p
// lies on it.
func rayIntersect(p, s, e orb.Point) (intersects, on bool) {
	if s[0] > e[0] {
		s, e = e, s
	}
	switch p[0] {
	case s[0]:
		if p[1] == s[1] {
			return false, true // p == start
		} else if s[0] == e[0] {
			// vertical segment: on it when between its ends
			if s[1] > e[1] && s[1] >= p[1] && p[1] >= e[1] {
				return false, true
			}
			if e[1] > s[1] && e[1] >= p[1] && p[1] >= s[1] {
				return false, true
			}
		}
		p[0] = math.Nextafter(p[0], math.Inf(1)) // move off the vertex (degenerate case)
	case e[0]:
		if p[1] == e[1] {
			return false, true // p == end
		}
		p[0] = math.Nextafter(p[0], math.Inf(1))
	}
	if p[0] < s[0] || p[0] > e[0] {
		return false, false
	}
	if s[1] > e[1] {
		if p[1] > s[1] {
			return false, false
		} else if p[1] < e[1] {
			return true, false
		}
	} else {
		if p[1] > e[1] {
			return false, false
		} else if p[1] < s[1] {
			return true, false
		}
	}
	rs := (p[1] - s[1]) / (p[0] - s[0])
	ds := (e[1] - s[1]) / (e[0] - s[0])
	if rs == ds {
		return false, true
	}
	return rs <= ds, false
}
