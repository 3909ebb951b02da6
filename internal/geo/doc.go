// Package geo is lanewatch's one geometry toolkit on top of github.com/paulmach/orb: the
// great-circle distance between WGS-84 points and the parser of area files (districts and
// zones: GeoJSON FeatureCollections of Polygon or MultiPolygon features), with the point-in-area
// lookups that dispatch routing, coverage and the rules' inZone use.
//
// It owns the validation of area files (one parser for configs/districts.geojson and
// configs/zones.geojson: every error names the file, the feature and what is wrong; bad input is
// an error, never a panic).
//
// It must not import any other lanewatch package, hold mutable state, or do I/O beyond reading
// the file it is asked to load. Hot paths that need a local metric projection (coverage map
// matching) keep their own projection; this package is for distances and containment.
package geo
