package inspections

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
)

// Place kinds shipped with the example data; a city may add others.
const (
	KindAlley    = "alley"
	KindCompound = "compound"
	KindMarket   = "market"
)

// Place is one thing inspected.
type Place struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	District  string `json:"district"`
	Community string `json:"community"`
	// Segments are the road segments of an alley place (ids of configs/roads.geojson).
	Segments []string `json:"segments,omitempty"`
	// Lat and Lon are a representative point: the mean of the geometry's vertices.
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Places is a parsed, validated places file, in file order. It is immutable.
type Places struct {
	list []Place
	byID map[string]int
}

// RoadClass reports the class of a road segment of the network and whether it exists.
type RoadClass func(segment string) (class string, ok bool)

var placeIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$`)

// MaxPlacesBytes bounds a places file.
const MaxPlacesBytes = 16 << 20

// LoadPlaces reads and parses a places file; see ParsePlaces.
func LoadPlaces(path string, roads RoadClass) (*Places, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read places: %w", err)
	}
	if fi.Size() > MaxPlacesBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than the limit of %d", path, fi.Size(), MaxPlacesBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read places: %w", err)
	}
	return ParsePlaces(path, data, roads)
}

type rawFeature struct {
	Type       string          `json:"type"`
	Properties json.RawMessage `json:"properties"`
	Geometry   *struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
}

type rawProps struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Name      string   `json:"name"`
	District  string   `json:"district"`
	Community string   `json:"community"`
	Segments  []string `json:"segments"`
}

// ParsePlaces decodes a places document: a GeoJSON FeatureCollection whose features have the
// properties id (unique identifier), kind, name, district, community and, for an alley,
// segments (alley segments of the road network, checked with roads when it is not nil). An
// alley's geometry is a LineString or MultiLineString, any other kind's a Polygon or
// MultiPolygon. Every bad feature is reported, joined, naming file and feature.
func ParsePlaces(file string, data []byte, roads RoadClass) (*Places, error) {
	var fc struct {
		Type     string       `json:"type"`
		Features []rawFeature `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		return nil, fmt.Errorf("%s: not a GeoJSON FeatureCollection: %w", file, err)
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) == 0 {
		return nil, fmt.Errorf("%s: not a GeoJSON FeatureCollection with features", file)
	}
	p := &Places{byID: map[string]int{}}
	var errs []error
	for i, f := range fc.Features {
		pl, err := parsePlace(f, roads)
		if err == nil {
			if j, dup := p.byID[pl.ID]; dup {
				err = fmt.Errorf("id %q is also the id of an earlier feature (%s)", pl.ID, p.list[j].Name)
			}
		}
		if err != nil {
			if pl.ID != "" {
				errs = append(errs, fmt.Errorf("%s: features[%d] (%s): %w", file, i, pl.ID, err))
			} else {
				errs = append(errs, fmt.Errorf("%s: features[%d]: %w", file, i, err))
			}
			continue
		}
		p.byID[pl.ID] = len(p.list)
		p.list = append(p.list, pl)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

func parsePlace(f rawFeature, roads RoadClass) (Place, error) {
	if f.Type != "Feature" {
		return Place{}, errors.New("not a GeoJSON Feature")
	}
	var pr rawProps
	if len(f.Properties) == 0 || json.Unmarshal(f.Properties, &pr) != nil {
		return Place{}, errors.New("properties: not an object of strings (id, kind, name, district, community, segments)")
	}
	pl := Place{ID: pr.ID, Kind: pr.Kind, Name: pr.Name, District: pr.District, Community: pr.Community, Segments: pr.Segments}
	if !placeIDRe.MatchString(pr.ID) {
		return Place{}, fmt.Errorf("id: %q is not an identifier (letters, digits, _ . -)", pr.ID)
	}
	switch {
	case !placeIDRe.MatchString(pr.Kind):
		return pl, fmt.Errorf("kind: %q is not an identifier (alley, compound, market, ...)", pr.Kind)
	case pr.Name == "":
		return pl, errors.New("name: required")
	case pr.District == "":
		return pl, errors.New("district: required")
	}
	if f.Geometry == nil {
		return pl, errors.New("geometry: required")
	}
	var pts [][2]float64
	var err error
	switch g := f.Geometry; {
	case pr.Kind == KindAlley && g.Type == "LineString":
		pts, err = coords[[][2]float64](g.Coordinates, func(v [][2]float64) [][2]float64 { return v })
	case pr.Kind == KindAlley && g.Type == "MultiLineString":
		pts, err = coords(g.Coordinates, func(v [][][2]float64) [][2]float64 { return slices.Concat(v...) })
	case pr.Kind != KindAlley && g.Type == "Polygon":
		pts, err = coords(g.Coordinates, func(v [][][2]float64) [][2]float64 { return slices.Concat(v...) })
	case pr.Kind != KindAlley && g.Type == "MultiPolygon":
		pts, err = coords(g.Coordinates, func(v [][][][2]float64) [][2]float64 {
			var out [][2]float64
			for _, poly := range v {
				out = append(out, slices.Concat(poly...)...)
			}
			return out
		})
	case pr.Kind == KindAlley:
		return pl, fmt.Errorf("geometry: an alley is a LineString or MultiLineString, not %q", g.Type)
	default:
		return pl, fmt.Errorf("geometry: a %s is a Polygon or MultiPolygon, not %q", pr.Kind, g.Type)
	}
	if err != nil {
		return pl, fmt.Errorf("geometry: %w", err)
	}
	var sumLat, sumLon float64
	for _, c := range pts {
		if math.IsNaN(c[0]) || math.IsNaN(c[1]) || c[0] < -180 || c[0] > 180 || c[1] < -90 || c[1] > 90 {
			return pl, fmt.Errorf("geometry: [%v, %v] is not a [lon, lat] position", c[0], c[1])
		}
		sumLon += c[0]
		sumLat += c[1]
	}
	pl.Lat, pl.Lon = sumLat/float64(len(pts)), sumLon/float64(len(pts))
	if pr.Kind == KindAlley {
		if len(pr.Segments) == 0 {
			return pl, errors.New("segments: an alley names its road segments")
		}
		for _, s := range pr.Segments {
			if roads == nil {
				continue
			}
			class, ok := roads(s)
			switch {
			case !ok:
				return pl, fmt.Errorf("segments: %q is not a segment of the road network", s)
			case class != "alley":
				return pl, fmt.Errorf("segments: %q is a %s road, not an alley", s, class)
			}
		}
	} else if len(pr.Segments) > 0 {
		return pl, fmt.Errorf("segments: only an alley has segments, not a %s", pr.Kind)
	}
	return pl, nil
}

// coords decodes raw GeoJSON coordinates of type T and flattens them; no position is an error.
func coords[T any](raw json.RawMessage, flat func(T) [][2]float64) ([][2]float64, error) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("coordinates: %w", err)
	}
	pts := flat(v)
	if len(pts) == 0 {
		return nil, errors.New("coordinates: no positions")
	}
	return pts, nil
}

// Get returns the place id.
func (p *Places) Get(id string) (Place, bool) {
	if p == nil {
		return Place{}, false
	}
	i, ok := p.byID[id]
	if !ok {
		return Place{}, false
	}
	return p.list[i], true
}

// List returns every place in file order.
func (p *Places) List() []Place {
	if p == nil {
		return nil
	}
	return slices.Clone(p.list)
}
