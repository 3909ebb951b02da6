package coverage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/lanewatch/lanewatch/internal/geo"
)

// Road classes (DOMAIN.md section 6).
const (
	ClassMain      = "main"
	ClassSecondary = "secondary"
	ClassBranch    = "branch"
	ClassAlley     = "alley"
)

// Classes lists the road classes in order of importance.
var Classes = [...]string{ClassMain, ClassSecondary, ClassBranch, ClassAlley}

func validClass(c string) bool {
	for _, k := range Classes {
		if c == k {
			return true
		}
	}
	return false
}

// Segment is one road segment of the network: a LineString between two junctions.
type Segment struct {
	ID         string
	Name       string
	Class      string
	WidthM     float64 // cleanable width in metres
	District   string
	Contractor string
	Zones      []string
	// PlanDeadline is the local time of day ("09:00") by which the contractor's plan wants the
	// segment cleaned; empty when the segment is not in a plan.
	PlanDeadline string
	// PlanMinute is PlanDeadline as minutes after midnight (-1 when empty).
	PlanMinute int
	OneWay     bool
	// Coords are the WGS-84 vertices as [lon, lat].
	Coords [][2]float64
	// LengthM is the segment's length in metres (in the network's projection).
	LengthM float64

	pts []vec     // projected vertices
	cum []float64 // cumulative length at each vertex
}

// AreaM2 is the cleanable area of the segment: length × width.
func (s *Segment) AreaM2() float64 { return s.LengthM * s.WidthM }

// District is one district (镇街) polygon of the districts file.
type District = geo.Area

// Zone is a named area (e.g. "central") segments and points can belong to; its ID is the zone
// name.
type Zone = geo.Area

// Network is a loaded, validated road network with its districts and zones and a spatial
// index of its edges. It is immutable after loading and safe for concurrent use.
type Network struct {
	Segments  []Segment
	Districts []District
	Zones     []Zone

	districts *geo.Areas
	zones     *geo.Areas
	proj      Projection
	byID      map[string]int
	index     *edgeIndex
}

// Files names the files of a network; Zones may be empty.
type Files struct {
	Roads     string
	Districts string
	Zones     string
}

// LoadFiles reads and validates a network from its files.
func LoadFiles(f Files) (*Network, error) {
	read := func(p string) ([]byte, error) {
		if p == "" {
			return nil, nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("coverage: %w", err)
		}
		return b, nil
	}
	roads, err := read(f.Roads)
	if err != nil {
		return nil, err
	}
	districts, err := read(f.Districts)
	if err != nil {
		return nil, err
	}
	zones, err := read(f.Zones)
	if err != nil {
		return nil, err
	}
	n, err := Parse(roads, districts, zones)
	if err != nil {
		return nil, fmt.Errorf("coverage: load %s: %w", f.Roads, err)
	}
	return n, nil
}

type featureCollection struct {
	Type     string            `json:"type"`
	Features []json.RawMessage `json:"features"`
}

type rawFeature struct {
	Type       string          `json:"type"`
	ID         any             `json:"id,omitempty"`
	Properties json.RawMessage `json:"properties"`
	Geometry   *rawGeometry    `json:"geometry"`
}

type rawGeometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

type roadProps struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Class        string   `json:"class"`
	WidthM       *float64 `json:"width_m"`
	District     string   `json:"district"`
	Contractor   string   `json:"contractor"`
	Zones        []string `json:"zones"`
	PlanDeadline string   `json:"plan_deadline,omitempty"`
	OneWay       bool     `json:"oneway,omitempty"`
}

var idRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$`)

func strictUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

func decodeCollection(b []byte) ([]rawFeature, error) {
	var fc featureCollection
	if err := strictUnmarshal(b, &fc); err != nil {
		return nil, fmt.Errorf("not a GeoJSON FeatureCollection: %w", err)
	}
	if fc.Type != "FeatureCollection" {
		return nil, fmt.Errorf("type is %q, want FeatureCollection", fc.Type)
	}
	out := make([]rawFeature, len(fc.Features))
	for i, raw := range fc.Features {
		if err := strictUnmarshal(raw, &out[i]); err != nil {
			return nil, fmt.Errorf("feature %d: %w", i, err)
		}
		if out[i].Type != "Feature" {
			return nil, fmt.Errorf("feature %d: type is %q, want Feature", i, out[i].Type)
		}
	}
	return out, nil
}

// Parse validates and indexes a network from GeoJSON documents: roads (LineString features),
// districts (Polygon features) and optionally zones (Polygon features). Every error names the
// file kind and the feature (index and id).
func Parse(roads, districts, zones []byte) (*Network, error) {
	n := &Network{byID: map[string]int{}}
	if len(districts) == 0 {
		return nil, errors.New("districts: no districts file")
	}
	var err error
	if n.districts, err = geo.Parse("districts", districts); err != nil {
		return nil, err
	}
	n.Districts = n.districts.List()
	if len(zones) > 0 {
		if n.zones, err = geo.Parse("zones", zones); err != nil {
			return nil, err
		}
		n.Zones = n.zones.List()
	}
	districtIDs := map[string]bool{}
	for _, d := range n.Districts {
		districtIDs[d.ID] = true
	}
	zoneNames := map[string]bool{}
	for _, z := range n.Zones {
		zoneNames[z.ID] = true
	}
	feats, err := decodeCollection(roads)
	if err != nil {
		return nil, fmt.Errorf("roads: %w", err)
	}
	if len(feats) == 0 {
		return nil, errors.New("roads: no features")
	}
	var errs []error
	for i, f := range feats {
		s, err := parseRoad(f, districtIDs, zoneNames, len(n.Zones) > 0)
		if err != nil {
			errs = append(errs, fmt.Errorf("roads: feature %d (id %q): %w", i, s.ID, err))
			continue
		}
		if j, dup := n.byID[s.ID]; dup {
			errs = append(errs, fmt.Errorf("roads: feature %d (id %q): duplicate id (also feature %d)", i, s.ID, j))
			continue
		}
		n.byID[s.ID] = len(n.Segments)
		n.Segments = append(n.Segments, s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	n.build()
	return n, nil
}

func parseRoad(f rawFeature, districts, zones map[string]bool, checkZones bool) (Segment, error) {
	var p roadProps
	if len(f.Properties) == 0 || string(f.Properties) == "null" {
		return Segment{}, errors.New("no properties")
	}
	if err := strictUnmarshal(f.Properties, &p); err != nil {
		return Segment{}, fmt.Errorf("properties: %w", err)
	}
	s := Segment{ID: p.ID, Name: p.Name, Class: p.Class, District: p.District, Contractor: p.Contractor,
		Zones: p.Zones, PlanDeadline: p.PlanDeadline, PlanMinute: -1, OneWay: p.OneWay}
	switch {
	case !idRe.MatchString(p.ID):
		return s, fmt.Errorf("id %q: want 1-64 characters of letters, digits, '_', '-', '.'", p.ID)
	case strings.TrimSpace(p.Name) == "":
		return s, errors.New("name is empty")
	case !validClass(p.Class):
		return s, fmt.Errorf("class %q: want one of %s", p.Class, strings.Join(Classes[:], ", "))
	case p.WidthM == nil:
		return s, errors.New("width_m is missing")
	case !(*p.WidthM > 0 && *p.WidthM <= 100):
		return s, fmt.Errorf("width_m %v: want 0 < width_m <= 100", *p.WidthM)
	case !districts[p.District]:
		return s, fmt.Errorf("district %q is not in the districts file", p.District)
	case !idRe.MatchString(p.Contractor):
		return s, fmt.Errorf("contractor %q: want an id", p.Contractor)
	}
	s.WidthM = *p.WidthM
	for _, z := range p.Zones {
		if !idRe.MatchString(z) {
			return s, fmt.Errorf("zone %q: want an id", z)
		}
		if checkZones && !zones[z] {
			return s, fmt.Errorf("zone %q is not in the zones file", z)
		}
	}
	if p.PlanDeadline != "" {
		m, err := parseHHMM(p.PlanDeadline)
		if err != nil {
			return s, fmt.Errorf("plan_deadline: %w", err)
		}
		s.PlanMinute = m
	}
	if f.Geometry == nil {
		return s, errors.New("geometry is missing")
	}
	if f.Geometry.Type != "LineString" {
		return s, fmt.Errorf("geometry type %q: want LineString", f.Geometry.Type)
	}
	if err := json.Unmarshal(f.Geometry.Coordinates, &s.Coords); err != nil {
		return s, fmt.Errorf("coordinates: want [[lon, lat], ...]: %w", err)
	}
	if len(s.Coords) < 2 {
		return s, fmt.Errorf("coordinates: %d positions, want at least 2", len(s.Coords))
	}
	for i, c := range s.Coords {
		if err := checkLonLat(c); err != nil {
			return s, fmt.Errorf("coordinates[%d]: %w", i, err)
		}
	}
	return s, nil
}

func checkLonLat(c [2]float64) error {
	if math.IsNaN(c[0]) || math.IsNaN(c[1]) || c[0] < -180 || c[0] > 180 || c[1] < -90 || c[1] > 90 {
		return fmt.Errorf("[%v, %v] is not a [lon, lat] position", c[0], c[1])
	}
	return nil
}

func parseHHMM(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || len(h) != 2 || len(m) != 2 || err1 != nil || err2 != nil || hh > 23 || mm > 59 || hh < 0 || mm < 0 {
		return 0, fmt.Errorf("%q: want HH:MM", s)
	}
	return hh*60 + mm, nil
}

// build projects the segments, computes lengths and indexes the edges.
func (n *Network) build() {
	minLat, maxLat, minLon, maxLon := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for i := range n.Segments {
		for _, c := range n.Segments[i].Coords {
			minLon, maxLon = math.Min(minLon, c[0]), math.Max(maxLon, c[0])
			minLat, maxLat = math.Min(minLat, c[1]), math.Max(maxLat, c[1])
		}
	}
	n.proj = NewProjection((minLat+maxLat)/2, (minLon+maxLon)/2)
	for i := range n.Segments {
		s := &n.Segments[i]
		s.pts = make([]vec, len(s.Coords))
		s.cum = make([]float64, len(s.Coords))
		for j, c := range s.Coords {
			s.pts[j] = n.proj.project(c[1], c[0])
			if j > 0 {
				s.cum[j] = s.cum[j-1] + s.pts[j].sub(s.pts[j-1]).len()
			}
		}
		s.LengthM = s.cum[len(s.cum)-1]
	}
	n.index = newEdgeIndex(n.Segments)
}

// Segment returns the segment with the given id.
func (n *Network) Segment(id string) (*Segment, bool) {
	i, ok := n.byID[id]
	if !ok {
		return nil, false
	}
	return &n.Segments[i], true
}

// DistrictOf returns the id of the district containing (lat, lon), or "" (the first in file
// order on a shared border).
func (n *Network) DistrictOf(lat, lon float64) string { return n.districts.Locate(lat, lon) }

// DistrictAreas returns the parsed districts file, for other packages that locate districts
// (dispatch.DistrictsOf), so the file is parsed once.
func (n *Network) DistrictAreas() *geo.Areas { return n.districts }

// InZone reports whether (lat, lon) lies in the named zone (rules.ZoneTester).
func (n *Network) InZone(name string, lat, lon float64) bool {
	return n.zones.Contains(name, lat, lon)
}

// DistrictIDs returns the district ids, sorted.
func (n *Network) DistrictIDs() []string {
	out := make([]string, len(n.Districts))
	for i, d := range n.Districts {
		out[i] = d.ID
	}
	sort.Strings(out)
	return out
}
