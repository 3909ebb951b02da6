package geo

import (
	"math"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
)

// EarthRadiusM is the mean earth radius (IUGG R1) in metres that lanewatch's distances use.
// orb's own geo functions use the equatorial radius orb.EarthRadius (6378137 m), 0.11 % more;
// Distance rescales orb's haversine to the mean radius so figures stay as they were.
const EarthRadiusM = 6371008.8

// Distance returns the great-circle distance in metres between (lat1, lon1) and (lat2, lon2),
// WGS-84 degrees: orb's haversine on the mean earth radius EarthRadiusM.
func Distance(lat1, lon1, lat2, lon2 float64) float64 {
	return orbgeo.DistanceHaversine(orb.Point{lon1, lat1}, orb.Point{lon2, lat2}) * (EarthRadiusM / orb.EarthRadius)
}

// Bearing returns the initial compass bearing in degrees from (lat1, lon1) to (lat2, lon2),
// in [0, 360) with 0 = north (orb's geo.Bearing, which gives -180..180, normalised).
func Bearing(lat1, lon1, lat2, lon2 float64) float64 {
	return math.Mod(orbgeo.Bearing(orb.Point{lon1, lat1}, orb.Point{lon2, lat2})+360, 360)
}
