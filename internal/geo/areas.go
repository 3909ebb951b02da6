package geo

import (
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"
)

// Area is one named polygon of an area file: a district (镇街) or a zone.
type Area struct {
	// ID is the feature's property id (a district id or a zone name).
	ID     string
	NameZH string
	NameEN string
	// Polygons is the area's geometry in [lon, lat]; a Polygon feature is one polygon here.
	Polygons orb.MultiPolygon
}

// Contains reports whether (lat, lon) lies in the area; points on its boundary are in.
func (a *Area) Contains(lat, lon float64) bool {
	return planar.MultiPolygonContains(a.Polygons, orb.Point{lon, lat})
}

// Areas is a parsed, validated area file: its areas in file order. It is immutable and safe
// for concurrent use; a nil *Areas holds no areas.
type Areas struct {
	list []Area
	prep []prepared // of list[i]: ring bounds computed once
	byID map[string]int
}

// Load reads and parses an area file.
func Load(path string) (*Areas, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read area file: %w", err)
	}
	return Parse(path, data)
}

// areaProperties are the properties an area feature may have.
var areaProperties = map[string]bool{"id": true, "name_zh": true, "name_en": true}

var idRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$`)

// Parse decodes an area document: a GeoJSON FeatureCollection of at least one Polygon or
// MultiPolygon feature, each with a unique property id (an identifier) and optional name_zh
// and name_en. file names the document in errors ("districts.geojson: features[2] (dongqu):
// ring 0 is not closed ..."); every bad feature is reported, joined.
func Parse(file string, data []byte) (*Areas, error) {
	fc, err := geojson.UnmarshalFeatureCollection(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not a GeoJSON FeatureCollection: %w", file, err)
	}
	if fc == nil || len(fc.Features) == 0 {
		return nil, fmt.Errorf("%s: no features", file)
	}
	a := &Areas{byID: map[string]int{}}
	var errs []error
	for i, f := range fc.Features {
		area, err := parseArea(f, a.byID)
		if err != nil {
			if area.ID != "" {
				errs = append(errs, fmt.Errorf("%s: features[%d] (%s): %w", file, i, area.ID, err))
			} else {
				errs = append(errs, fmt.Errorf("%s: features[%d]: %w", file, i, err))
			}
			continue
		}
		a.byID[area.ID] = i
		a.list = append(a.list, area)
		a.prep = append(a.prep, prepare(area.Polygons))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return a, nil
}

// parseArea validates one feature; the returned Area carries the id (if any) for the error.
func parseArea(f *geojson.Feature, seen map[string]int) (Area, error) {
	if f == nil || f.Type != "Feature" {
		return Area{}, errors.New("not a GeoJSON Feature")
	}
	id, _ := f.Properties["id"].(string)
	if id == "" {
		return Area{}, errors.New("property id (a string) is required")
	}
	area := Area{ID: id}
	if !idRe.MatchString(id) {
		return area, errors.New("property id: want 1-64 characters of letters, digits, '_', '-', '.'")
	}
	if j, dup := seen[id]; dup {
		return area, fmt.Errorf("id %q defined twice (also features[%d])", id, j)
	}
	keys := make([]string, 0, len(f.Properties))
	for k := range f.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !areaProperties[k] {
			return area, fmt.Errorf("unknown property %q (want id, name_zh, name_en)", k)
		}
	}
	var ok bool
	if area.NameZH, ok = f.Properties["name_zh"].(string); !ok && f.Properties["name_zh"] != nil {
		return area, errors.New("property name_zh: want a string")
	}
	if area.NameEN, ok = f.Properties["name_en"].(string); !ok && f.Properties["name_en"] != nil {
		return area, errors.New("property name_en: want a string")
	}
	switch g := f.Geometry.(type) {
	case orb.Polygon:
		if err := checkPolygon(g); err != nil {
			return area, err
		}
		area.Polygons = orb.MultiPolygon{g}
	case orb.MultiPolygon:
		if len(g) == 0 {
			return area, errors.New("MultiPolygon has no polygons")
		}
		for j, poly := range g {
			if err := checkPolygon(poly); err != nil {
				return area, fmt.Errorf("polygon %d: %w", j, err)
			}
		}
		area.Polygons = g
	default:
		return area, errors.New("geometry must be Polygon or MultiPolygon")
	}
	return area, nil
}

// checkPolygon rejects what planar containment cannot use: a polygon without an outer ring
// (a degenerate ring), a ring of fewer than four positions (GeoJSON's minimum for a closed
// ring), an unclosed ring, or a position that is not a finite [lon, lat] in range.
func checkPolygon(p orb.Polygon) error {
	if len(p) == 0 {
		return errors.New("polygon has no rings")
	}
	for r, ring := range p {
		if len(ring) < 4 {
			return fmt.Errorf("ring %d has %d positions, want at least 4", r, len(ring))
		}
		for k, pt := range ring {
			if !finite(pt[0]) || !finite(pt[1]) || pt[0] < -180 || pt[0] > 180 || pt[1] < -90 || pt[1] > 90 {
				return fmt.Errorf("ring %d position %d [%v, %v] is not a finite [lon, lat] coordinate", r, k, pt[0], pt[1])
			}
		}
		if ring[0] != ring[len(ring)-1] {
			return fmt.Errorf("ring %d is not closed (first and last positions differ)", r)
		}
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// Locate returns the id of the first area in file order containing (lat, lon), or "".
func (a *Areas) Locate(lat, lon float64) string {
	if a == nil {
		return ""
	}
	for i := range a.list {
		if a.in(i, lat, lon) {
			return a.list[i].ID
		}
	}
	return ""
}

// Contains reports whether (lat, lon) lies in the area with the given id (false for an
// unknown id).
func (a *Areas) Contains(id string, lat, lon float64) bool {
	if a == nil {
		return false
	}
	if len(a.list) <= 8 { // a few zones: comparing names is faster than hashing one
		for i := range a.list {
			if a.list[i].ID == id {
				return a.in(i, lat, lon)
			}
		}
		return false
	}
	i, ok := a.byID[id]
	return ok && a.in(i, lat, lon)
}

// in reports whether (lat, lon) lies in area i (as Area.Contains, on the prepared polygons).
func (a *Areas) in(i int, lat, lon float64) bool {
	return a.prep[i].contains(orb.Point{lon, lat})
}

// IDs returns the area ids in file order.
func (a *Areas) IDs() []string {
	if a == nil {
		return nil
	}
	out := make([]string, len(a.list))
	for i := range a.list {
		out[i] = a.list[i].ID
	}
	return out
}

// List returns a copy of the areas in file order.
func (a *Areas) List() []Area {
	if a == nil {
		return nil
	}
	return append([]Area(nil), a.list...)
}
