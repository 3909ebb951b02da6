package coverage

import (
	"math"
	"time"
)

// The sequence matcher: a hidden-Markov model over each vehicle's points (Newson & Krumm
// 2009), decoded with the Viterbi algorithm at a fixed lag. A state is a directed candidate:
// a segment within the search radius of the point, the position along it and the direction
// of travel (both directions on two-way segments, only forward on one-way ones). Emission:
// Gaussian in the distance to the segment (σ = sigma_m) and in the angle between the reported
// heading and the direction of travel. Transition: exponential in |route − straight line|
// (β = beta_m), the route found in the graph's precomputed shortest paths (graph.go); moving
// backwards along a candidate's direction costs its length again, a U-turn uturnLogP.

const (
	maxSegCands  = 6 // segments kept per point (nearest first)
	maxCands     = 2 * maxSegCands
	headingSigma = 20.0 // degrees
	headingCap   = 18.0 // largest heading penalty (log units)
	uturnLogP    = 8.0  // penalty of turning round
	beamLogP     = 10.0 // candidates this much less likely than a point's best are dropped
	// outlierLogP: a point whose best candidate is this much less likely than the path before
	// it predicts (a GPS outlier whose only roads within the radius take a detour: a side road
	// up and back, a block driven round) is left out (up to maxDropped in a row, tracker.go).
	outlierLogP = 10.0
)

// cand is one directed candidate of a point.
type cand struct {
	seg   int32
	dir   uint8 // 0: in the direction of digitisation, 1: against it
	along float64
	emis  float64 // log emission
	score float64 // Viterbi log probability of the best path ending here
	back  int8    // index of the best predecessor in the previous column, -1 for none
	alive bool
}

// column is one point of a vehicle in the matcher's window.
type column struct {
	p       vec
	ts      time.Time
	working bool
	orphan  bool    // observed without a predecessor within max_gap (handoff lookup)
	kmh     float64 // reported speed, -1 when absent
	hdg     float64 // reported heading while moving (a speed at least min_heading_kmh), -1 otherwise
	seq     uint64  // journal record (0: none)
	backlog bool    // older than the point observed before it
	n       int
	c       [maxCands]cand
	chosen  int8 // the decided candidate, -1 while undecided
	// lp: the log probability of the best candidate given the path before it, before the
	// column is normalised (step): how well the point fits the path at all.
	lp float64
}

// track is the matcher state of one vehicle: a window of columns, the first possibly the
// last decided point (the anchor) and then up to lag undecided ones.
type track struct {
	cols      []column // ring buffer
	head, n   int
	hasAnchor bool
}

func (k *track) at(i int) *column { return &k.cols[(k.head+i)%len(k.cols)] }

func (k *track) reset() { k.head, k.n, k.hasAnchor = 0, 0, false }

// push appends a column slot and returns it.
func (k *track) push() *column {
	c := &k.cols[(k.head+k.n)%len(k.cols)]
	k.n++
	return c
}

func (k *track) dropFirst() {
	k.head = (k.head + 1) % len(k.cols)
	k.n--
}

// matcherParams are the model's parameters, from Config.
type matcherParams struct {
	radius, sigma, beta float64
}

// candidates fills col with the directed candidates of point p (heading in degrees when
// useHeading) and reports whether there is any.
func (n *Network) candidates(col *column, p vec, heading float64, useHeading bool, mp *matcherParams) bool {
	type segHit struct {
		seg         int32
		along, dist float64
		u           vec
	}
	var hits [maxSegCands + 1]segHit
	nh := 0
	md := float32(mp.radius)
	px, py := float32(p.x), float32(p.y)
	maxD2 := mp.radius * mp.radius
	edges := n.index.edges
	n.index.tree.Search([2]float32{px - md, py - md}, [2]float32{px + md, py + md}, func(_, _ [2]float32, i int32) bool {
		e := &edges[i]
		t := p.sub(e.a).dot(e.d) / e.l2
		t = min(1, max(0, t))
		d2 := p.dist2(e.a.add(e.d.scale(t)))
		if d2 > maxD2 {
			return true
		}
		d := math.Sqrt(d2)
		h := segHit{seg: e.seg, along: e.base + t*math.Sqrt(e.l2), dist: d, u: e.u}
		for j := 0; j < nh; j++ {
			if hits[j].seg == e.seg {
				if d < hits[j].dist {
					hits[j] = h
				}
				return true
			}
		}
		// Insert keeping the nearest maxSegCands.
		j := nh
		for j > 0 && hits[j-1].dist > d {
			j--
		}
		if j >= maxSegCands {
			return true
		}
		copy(hits[j+1:nh+1], hits[j:nh])
		hits[j] = h
		if nh < maxSegCands {
			nh++
		}
		return true
	})
	// The loop above keeps hits sorted only on insertion; a segment's better edge may have
	// replaced a hit in place, which is fine for a candidate set.
	col.n = 0
	var hu vec
	if useHeading {
		hu = vec{math.Sin(heading * math.Pi / 180), math.Cos(heading * math.Pi / 180)}
	}
	for j := 0; j < nh; j++ {
		h := &hits[j]
		for dir := uint8(0); dir < 2; dir++ {
			if dir == 1 && n.Segments[h.seg].OneWay {
				break
			}
			col.c[col.n] = cand{seg: h.seg, dir: dir, along: h.along, emis: emission(h.dist, h.u, dir, hu, useHeading, mp.sigma), back: -1, alive: true}
			col.n++
		}
	}
	// Beam: candidates far less likely than the best of the point (the wrong direction when
	// the heading is known, a road three σ further away) are dropped.
	if col.n > 1 {
		best := math.Inf(-1)
		for j := 0; j < col.n; j++ {
			best = max(best, col.c[j].emis)
		}
		k := 0
		for j := 0; j < col.n; j++ {
			if col.c[j].emis >= best-beamLogP {
				col.c[k] = col.c[j]
				k++
			}
		}
		col.n = k
	}
	return col.n > 0
}

// emission is the log emission of a candidate dist metres from the point, on an edge of
// direction u travelled in direction dir, for a reported heading of unit vector hu.
func emission(dist float64, u vec, dir uint8, hu vec, useHeading bool, sigma float64) float64 {
	z := dist / sigma
	e := -0.5 * z * z
	if useHeading {
		c := hu.dot(u)
		if dir == 1 {
			c = -c
		}
		a := math.Acos(max(-1, min(1, c))) * 180 / math.Pi / headingSigma
		e -= min(headingCap, 0.5*a*a)
	}
	return e
}

// contRadius is how far, in search radii, a point may be from the road of its predecessor's
// candidates and still continue it (continuations).
const contRadius = 1.5

// continuations adds to col, the candidates of point p, the segments of the live candidates
// of prev that are not among them, when p is within contRadius search radii of them, in the
// same direction of travel, and reports whether it added any. The tracker calls it when no
// candidate of p has a route from prev: a point that strays a little beyond the search radius
// of the road the vehicle is on (towards a road beside it, reached only round the back, a
// drifting error of a few σ) continues the path on its road instead of breaking it and
// starting again on the other road.
func (n *Network) continuations(col, prev *column, p vec, heading float64, useHeading bool, mp *matcherParams) bool {
	var hu vec
	if useHeading {
		hu = vec{math.Sin(heading * math.Pi / 180), math.Cos(heading * math.Pi / 180)}
	}
	maxD := contRadius * mp.radius
	added := false
	for i := 0; i < prev.n && col.n < maxCands; i++ {
		x := &prev.c[i]
		if !x.alive {
			continue
		}
		dup := false
		for j := 0; j < col.n; j++ {
			dup = dup || (col.c[j].seg == x.seg && col.c[j].dir == x.dir)
		}
		if dup {
			continue
		}
		along, dist, u := n.Segments[x.seg].nearest(p)
		if dist > maxD {
			continue
		}
		col.c[col.n] = cand{seg: x.seg, dir: x.dir, along: along, emis: emission(dist, u, x.dir, hu, useHeading, mp.sigma), back: -1, alive: true}
		col.n++
		added = true
	}
	return added
}

// piece is a stretch of a segment driven from along a to along b; u is where it starts in
// the coordinate of the vehicle's path (smooth.go; 0 within one route).
type piece struct {
	seg  int32
	a, b float64
	u    float64
}

// route returns the log transition probability from candidate x to candidate y whose points
// are gc metres apart (or the vehicle's speed covers gc metres between them: travelDistance) (-Inf when no route within the bound), and, when buf is not nil,
// appends the stretches of the best route to buf.pieces.
func (m *matcher) route(x, y *cand, gc, beta float64, buf *routeBuf) float64 {
	g := m.g
	best := math.Inf(-1)
	var bestKind int // 1: along the segment, 2: through the graph
	back := false
	if x.seg == y.seg {
		var r, pen float64
		if x.dir == y.dir {
			prog := y.along - x.along
			if x.dir == 1 {
				prog = -prog
			}
			// Backwards (GPS noise along the road, or a vehicle reversing) is a negative
			// distance: |r − expected| grows by the step back.
			r, back = prog, prog < 0
		} else {
			r, pen = math.Abs(y.along-x.along), uturnLogP
		}
		best, bestKind = -math.Abs(r-gc)/beta-pen, 1
	}
	lx, ly := g.length[x.seg], g.length[y.seg]
	var exitX, entryY float64
	var nx, ny int32
	if x.dir == 0 {
		exitX, nx = lx-x.along, g.to[x.seg]
	} else {
		exitX, nx = x.along, g.from[x.seg]
	}
	if y.dir == 0 {
		entryY, ny = y.along, g.from[y.seg]
	} else {
		entryY, ny = ly-y.along, g.to[y.seg]
	}
	if d, ok := g.sp(nx, ny); ok && exitX+d+entryY <= g.bound {
		r := exitX + d + entryY
		lp := -math.Abs(r-gc) / beta
		if x.seg == y.seg && nx == ny {
			lp -= uturnLogP // turned round at a node
		}
		if lp > best {
			best, bestKind = lp, 2
		}
	}
	if buf != nil {
		pieces := &buf.pieces
		buf.back = bestKind == 1 && back
		switch bestKind {
		case 1:
			*pieces = append(*pieces, piece{seg: x.seg, a: x.along, b: y.along})
		case 2:
			end := lx
			if x.dir == 1 {
				end = 0
			}
			*pieces = append(*pieces, piece{seg: x.seg, a: x.along, b: end})
			buf.edges = g.path(nx, ny, buf.edges[:0])
			for _, e := range buf.edges {
				s := e >> 1
				if e&1 == 0 {
					*pieces = append(*pieces, piece{seg: s, a: 0, b: g.length[s]})
				} else {
					*pieces = append(*pieces, piece{seg: s, a: g.length[s], b: 0})
				}
			}
			start := 0.0
			if y.dir == 1 {
				start = ly
			}
			*pieces = append(*pieces, piece{seg: y.seg, a: start, b: y.along})
		}
	}
	return best
}

// matcher is the network's graph with the model's parameters; one per tracker, read-only.
type matcher struct {
	net *Network
	g   *graph
	p   matcherParams
	lag int
}

// routeBuf holds a route's stretches (and the edges found on the way).
type routeBuf struct {
	pieces []piece
	edges  []dirEdge
	back   bool // the route is a step backwards along one segment in the direction of travel
}

// step scores column c, the last of k (its candidates filled), from the column before it and
// reports whether any candidate has a route from a live candidate there.
func (m *matcher) step(k *track, c *column) bool {
	prev := k.at(k.n - 2)
	gc, beta := m.travel(prev.p, c.p, prev.kmh, c.kmh, c.ts.Sub(prev.ts))
	any := false
	maxScore := math.Inf(-1)
	for j := 0; j < c.n; j++ {
		y := &c.c[j]
		best, arg := math.Inf(-1), -1
		for i := 0; i < prev.n; i++ {
			x := &prev.c[i]
			if !x.alive {
				continue
			}
			s := x.score
			if s-0 <= best {
				continue // cannot win: transitions are <= 0
			}
			s += m.route(x, y, gc, beta, nil)
			if s > best {
				best, arg = s, i
			}
		}
		if arg < 0 {
			y.alive, y.score = false, math.Inf(-1)
			continue
		}
		y.score, y.back, y.alive = best+y.emis, int8(arg), true
		maxScore = max(maxScore, y.score)
		any = true
	}
	c.lp = maxScore
	if any {
		for j := 0; j < c.n; j++ {
			c.c[j].score -= maxScore
		}
	}
	return any
}

// best returns the index of the best live candidate of c.
func (c *column) best() int {
	b := -1
	for j := 0; j < c.n; j++ {
		if c.c[j].alive && (b < 0 || c.c[j].score > c.c[b].score) {
			b = j
		}
	}
	return b
}

// decideFirst decides the oldest undecided column of k by backtracking from the best
// candidate of the last column, prunes the lineages that do not pass through the decision,
// and returns the decided column's index in the window.
func (k *track) decideFirst() int {
	first := 0
	if k.hasAnchor {
		first = 1
	}
	j := k.at(k.n - 1).best()
	for i := k.n - 1; i > first; i-- {
		j = int(k.at(i).c[j].back)
	}
	c := k.at(first)
	c.chosen = int8(j)
	for x := 0; x < c.n; x++ {
		c.c[x].alive = x == j
	}
	for i := first + 1; i < k.n; i++ {
		p, col := k.at(i-1), k.at(i)
		for x := 0; x < col.n; x++ {
			y := &col.c[x]
			y.alive = y.alive && y.back >= 0 && p.c[y.back].alive
		}
	}
	return first
}

// newMatcher builds the graph of the network and the model of a (defaulted) config.
func newMatcher(n *Network, c *Config) *matcher {
	return &matcher{net: n, g: newGraph(n.Segments, c.RouteBoundM), lag: c.Lag,
		p: matcherParams{radius: c.MatchRadiusM, sigma: c.SigmaM, beta: c.BetaM}}
}

// travel returns the distance a route between two consecutive points is compared with and
// the scale of the difference: what the reported speeds cover in the time between them (the
// mean of the two speeds), known to about speedErrMS × dt, when both points carry a speed;
// else the straight line between them. The scale is at least beta_m and sigma_m: the
// positions of two points along a road differ by their GPS error too. At 1 Hz the
// straight line between two points is mostly GPS noise (σ√2 for σ per point); the speed is
// not.
func (m *matcher) travel(a, b vec, kmhA, kmhB float64, dt time.Duration) (float64, float64) {
	if kmhA >= 0 && kmhB >= 0 {
		return (kmhA + kmhB) / 2 / 3.6 * dt.Seconds(), max(m.p.beta, m.p.sigma, speedErrMS*dt.Seconds())
	}
	return b.sub(a).len(), max(m.p.beta, m.p.sigma)
}
