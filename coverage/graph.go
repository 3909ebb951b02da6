package coverage

import (
	"container/heap"
	"math"
	"slices"
)

// graph is the road network as a directed graph for the sequence matcher (hmm.go): nodes are
// segment ends joined when they lie within joinM of each other, every segment is an edge in
// its direction of digitisation (dir 0) and, unless one-way, also against it (dir 1). Shortest
// paths between nodes up to bound metres are precomputed (FMM's upper-bounded origin–
// destination table, UBODT), so a transition costs a binary search instead of a search of the
// graph.
type graph struct {
	from, to []int32   // node at each segment's start and end
	length   []float64 // segment length
	oneway   []bool
	bound    float64
	// Per origin node: destinations sorted by node, their distance and the last directed
	// edge (seg*2+dir) of the shortest path.
	dst  [][]int32
	dist [][]float32
	last [][]int32
}

// joinM is how close two segment ends must be to be one node.
const joinM = 2.0

// dirEdge is a segment in a direction: seg*2 + dir.
type dirEdge = int32

func (g *graph) tail(e dirEdge) int32 { // node the edge starts at
	if e&1 == 0 {
		return g.from[e>>1]
	}
	return g.to[e>>1]
}

func (g *graph) head(e dirEdge) int32 { // node the edge ends at
	if e&1 == 0 {
		return g.to[e>>1]
	}
	return g.from[e>>1]
}

// newGraph joins the segments at shared ends and precomputes the bounded shortest paths.
func newGraph(segs []Segment, bound float64) *graph {
	g := &graph{from: make([]int32, len(segs)), to: make([]int32, len(segs)), length: make([]float64, len(segs)),
		oneway: make([]bool, len(segs)), bound: bound}
	type cell struct{ x, y int64 }
	cells := map[cell][]int32{}
	var pos []vec
	node := func(p vec) int32 {
		cx, cy := int64(math.Floor(p.x/joinM)), int64(math.Floor(p.y/joinM))
		for dx := int64(-1); dx <= 1; dx++ {
			for dy := int64(-1); dy <= 1; dy++ {
				for _, id := range cells[cell{cx + dx, cy + dy}] {
					if pos[id].dist2(p) <= joinM*joinM {
						return id
					}
				}
			}
		}
		id := int32(len(pos))
		pos = append(pos, p)
		cells[cell{cx, cy}] = append(cells[cell{cx, cy}], id)
		return id
	}
	for i := range segs {
		s := &segs[i]
		g.from[i], g.to[i] = node(s.pts[0]), node(s.pts[len(s.pts)-1])
		g.length[i], g.oneway[i] = s.LengthM, s.OneWay
	}
	out := make([][]dirEdge, len(pos))
	for i := range segs {
		out[g.from[i]] = append(out[g.from[i]], dirEdge(2*i))
		if !g.oneway[i] {
			out[g.to[i]] = append(out[g.to[i]], dirEdge(2*i+1))
		}
	}
	n := len(pos)
	g.dst, g.dist, g.last = make([][]int32, n), make([][]float32, n), make([][]int32, n)
	d := make([]float64, n)
	for i := range d {
		d[i] = math.Inf(1)
	}
	prev := make([]int32, n)
	var touched []int32
	var pq nodeHeap
	for o := range n {
		touched = touched[:0]
		d[o] = 0
		touched = append(touched, int32(o))
		pq = append(pq[:0], nodeDist{int32(o), 0})
		type hit struct {
			n    int32
			d    float32
			last int32
		}
		var hits []hit
		for len(pq) > 0 {
			c := heap.Pop(&pq).(nodeDist)
			if c.d > d[c.n] {
				continue
			}
			if c.n != int32(o) {
				hits = append(hits, hit{c.n, float32(c.d), prev[c.n]})
			}
			for _, e := range out[c.n] {
				h := g.head(e)
				nd := c.d + g.length[e>>1]
				if nd <= bound && nd < d[h] {
					if math.IsInf(d[h], 1) {
						touched = append(touched, h)
					}
					d[h], prev[h] = nd, e
					heap.Push(&pq, nodeDist{h, nd})
				}
			}
		}
		slices.SortFunc(hits, func(a, b hit) int { return int(a.n - b.n) })
		g.dst[o], g.dist[o], g.last[o] = make([]int32, len(hits)), make([]float32, len(hits)), make([]int32, len(hits))
		for i, h := range hits {
			g.dst[o][i], g.dist[o][i], g.last[o][i] = h.n, h.d, h.last
		}
		for _, t := range touched {
			d[t] = math.Inf(1)
		}
	}
	return g
}

// sp returns the shortest distance from node a to node b (0 when a == b) and whether it is
// within the bound.
func (g *graph) sp(a, b int32) (float64, bool) {
	if a == b {
		return 0, true
	}
	i, ok := slices.BinarySearch(g.dst[a], b)
	if !ok {
		return 0, false
	}
	return float64(g.dist[a][i]), true
}

// path appends the directed edges of the shortest path from a to b, in order.
func (g *graph) path(a, b int32, out []dirEdge) []dirEdge {
	start := len(out)
	for b != a {
		i, ok := slices.BinarySearch(g.dst[a], b)
		if !ok {
			return out[:start]
		}
		e := g.last[a][i]
		out = append(out, e)
		b = g.tail(e)
	}
	slices.Reverse(out[start:])
	return out
}

type nodeDist struct {
	n int32
	d float64
}

type nodeHeap []nodeDist

func (h nodeHeap) Len() int           { return len(h) }
func (h nodeHeap) Less(i, j int) bool { return h[i].d < h[j].d }
func (h nodeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nodeHeap) Push(x any)        { *h = append(*h, x.(nodeDist)) }
func (h *nodeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
