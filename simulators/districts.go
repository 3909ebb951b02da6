package simulators

import (
	"math"

	"github.com/lanewatch/lanewatch/internal/geo"
)

// Point is a WGS-84 position in degrees.
type Point struct {
	Lat, Lon float64
}

// Box is a latitude/longitude rectangle in degrees.
type Box struct {
	MinLat, MinLon, MaxLat, MaxLon float64
}

// Contains reports whether p lies inside b (edges included).
func (b Box) Contains(p Point) bool {
	return p.Lat >= b.MinLat && p.Lat <= b.MaxLat && p.Lon >= b.MinLon && p.Lon <= b.MaxLon
}

// Center is the middle of b.
func (b Box) Center() Point {
	return Point{Lat: (b.MinLat + b.MaxLat) / 2, Lon: (b.MinLon + b.MaxLon) / 2}
}

// inset returns b shrunk by frac of its size on every side.
func (b Box) inset(frac float64) Box {
	dl, dn := (b.MaxLat-b.MinLat)*frac, (b.MaxLon-b.MinLon)*frac
	return Box{MinLat: b.MinLat + dl, MinLon: b.MinLon + dn, MaxLat: b.MaxLat - dl, MaxLon: b.MaxLon - dn}
}

// Zhongshan city centre: four adjacent ~1.5 km boxes in a 2×2 grid around 22.515N 113.375E
// (1.5 km ≈ 0.0135° of latitude and ≈ 0.0150° of longitude at this latitude). The boxes are a
// stand-in for real district polygons; a road network replaces them in a later version.
const (
	centerLat = 22.515
	centerLon = 113.375
	boxDLat   = 0.0135
	boxDLon   = 0.0150
)

// Districts is the table of simulated districts (镇街) and their boxes. Treat it as read-only.
var Districts = map[string]Box{
	"xiqu":   {MinLat: centerLat, MinLon: centerLon - boxDLon, MaxLat: centerLat + boxDLat, MaxLon: centerLon},
	"dongqu": {MinLat: centerLat, MinLon: centerLon, MaxLat: centerLat + boxDLat, MaxLon: centerLon + boxDLon},
	"shiqi":  {MinLat: centerLat - boxDLat, MinLon: centerLon - boxDLon, MaxLat: centerLat, MaxLon: centerLon},
	"nanqu":  {MinLat: centerLat - boxDLat, MinLon: centerLon, MaxLat: centerLat, MaxLon: centerLon + boxDLon},
}

// OldTown is the box holding every district of Districts.
var OldTown = Box{MinLat: centerLat - boxDLat, MinLon: centerLon - boxDLon, MaxLat: centerLat + boxDLat, MaxLon: centerLon + boxDLon}

// DistrictBox returns the box of a district, or OldTown and false for a district not in
// Districts.
func DistrictBox(district string) (Box, bool) {
	b, ok := Districts[district]
	if !ok {
		return OldTown, false
	}
	return b, true
}

// distanceKm is the great-circle distance between a and b.
func distanceKm(a, b Point) float64 { return geo.Distance(a.Lat, a.Lon, b.Lat, b.Lon) / 1000 }

// bearing is the initial compass bearing from a to b in degrees, 0..360 (0 = north).
func bearing(a, b Point) float64 { return geo.Bearing(a.Lat, a.Lon, b.Lat, b.Lon) }

// lerp is the point a fraction f of the way from a to b (fine for the short legs simulated).
func lerp(a, b Point, f float64) Point {
	return Point{Lat: a.Lat + (b.Lat-a.Lat)*f, Lon: a.Lon + (b.Lon-a.Lon)*f}
}

// round rounds x to n decimal places.
func round(x float64, n int) float64 {
	p := math.Pow10(n)
	return math.Round(x*p) / p
}
