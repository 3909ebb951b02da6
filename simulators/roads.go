package simulators

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
)

// streamRoute is the PCG stream of the road routes (one per vehicle index).
const streamRoute uint64 = 5 << 40

// RoadNetwork is the graph of a road GeoJSON file (configs/roads.geojson): the vertices of its
// LineString features, joined where the features share a coordinate. Vehicles drive it with
// Route. It is read-only once built.
type RoadNetwork struct {
	nodes    []Point
	district []string // district of the first segment touching each node
	adj      [][]int
}

// LoadRoads reads a road network from a GeoJSON FeatureCollection of LineStrings.
func LoadRoads(path string) (*RoadNetwork, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load roads: %w", err)
	}
	n, err := ParseRoads(b)
	if err != nil {
		return nil, fmt.Errorf("load roads %s: %w", path, err)
	}
	return n, nil
}

// ParseRoads builds a network from GeoJSON bytes; features other than LineStrings are
// ignored. It needs at least one segment.
func ParseRoads(b []byte) (*RoadNetwork, error) {
	var fc struct {
		Features []struct {
			Properties struct {
				District string `json:"district"`
			} `json:"properties"`
			Geometry struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		return nil, fmt.Errorf("parse roads: %w", err)
	}
	n := &RoadNetwork{}
	index := map[[2]int64]int{}
	node := func(c [2]float64, district string) int {
		k := [2]int64{int64(math.Round(c[0] * 1e7)), int64(math.Round(c[1] * 1e7))}
		if i, ok := index[k]; ok {
			return i
		}
		index[k] = len(n.nodes)
		n.nodes = append(n.nodes, Point{Lat: c[1], Lon: c[0]})
		n.district = append(n.district, district)
		n.adj = append(n.adj, nil)
		return len(n.nodes) - 1
	}
	edges := 0
	for i, f := range fc.Features {
		if f.Geometry.Type != "LineString" {
			continue
		}
		var coords [][2]float64
		if err := json.Unmarshal(f.Geometry.Coordinates, &coords); err != nil {
			return nil, fmt.Errorf("roads feature %d: coordinates: %w", i, err)
		}
		for j := 1; j < len(coords); j++ {
			a, b := node(coords[j-1], f.Properties.District), node(coords[j], f.Properties.District)
			if a == b {
				continue
			}
			n.adj[a] = append(n.adj[a], b)
			n.adj[b] = append(n.adj[b], a)
			edges++
		}
	}
	if edges == 0 {
		return nil, fmt.Errorf("parse roads: no LineString segments")
	}
	return n, nil
}

// Route returns a route that starts at a random node of district (any node when the district
// has none) and drives from crossing to crossing, preferring to stay in the district and not
// to turn back. rng must be the vehicle's own.
func (n *RoadNetwork) Route(district string, rng *rand.Rand) Route {
	var starts []int
	for i, d := range n.district {
		if d == district && len(n.adj[i]) > 0 {
			starts = append(starts, i)
		}
	}
	if len(starts) == 0 {
		for i := range n.nodes {
			if len(n.adj[i]) > 0 {
				starts = append(starts, i)
			}
		}
	}
	return &roadRoute{net: n, district: district, rng: rng, cur: starts[rng.IntN(len(starts))], prev: -1}
}

// roadRoute is a walk over a RoadNetwork.
type roadRoute struct {
	net       *RoadNetwork
	district  string
	rng       *rand.Rand
	cur, prev int
}

func (r *roadRoute) Start() Point { return r.net.nodes[r.cur] }

func (r *roadRoute) Next() Point {
	var inside, other []int
	for _, j := range r.net.adj[r.cur] {
		if j == r.prev {
			continue
		}
		if r.net.district[j] == r.district {
			inside = append(inside, j)
		} else {
			other = append(other, j)
		}
	}
	next := r.prev
	switch {
	case len(inside) > 0 && (len(other) == 0 || r.rng.IntN(10) > 0):
		next = inside[r.rng.IntN(len(inside))]
	case len(other) > 0:
		next = other[r.rng.IntN(len(other))]
	}
	if next < 0 { // an isolated node: stay
		return r.net.nodes[r.cur]
	}
	r.prev, r.cur = r.cur, next
	return r.net.nodes[r.cur]
}
