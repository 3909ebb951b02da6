// Package coverage owns the road network, map matching of vehicle telemetry to road segments,
// the working-state rule per vehicle type, per-segment per-day coverage (covered stretches as
// merged intervals along each segment) and the mechanized cleaning rate (机械化作业率) computed
// from it (DOMAIN.md section 6).
//
// It loads configs/roads.geojson, configs/districts.geojson and configs/zones.geojson with
// strict validation (districts and zones through internal/geo, the one parser of area files
// that dispatch routing uses too), matches each vehicle's points as a sequence (hmm.go: a
// hidden-Markov model decoded by Viterbi at a fixed lag, candidates from an R-tree of the
// network's edges, tidwall/rtree, routes from precomputed bounded shortest paths over the graph
// of segments joined at shared ends, graph.go), credits the matched route between consecutive
// points with positions filtered along it by the reported speed (smooth.go), keeps coverage in
// memory, persists it through the store's
// Coverage contract (merged idempotently, so journal replays are harmless) and writes
// segment_coverage and mechanization_rate points with influx.AppendPoint. When a vehicle's
// consecutive points are observed on different nodes (or across a restart), it reads the
// missing neighbour back through the Neighbours interface (influx.History) so the stretch
// between them is still credited (handoff.go); those reads never hold up a Flush for long.
//
// It must not import rules, dispatch, gateway or api: the app wires the matched segment into
// the rules environment and coverage shortfalls (category 9003) into the rules engine.
//
// coverage/internal/gen/scenario generates the ground-truth families of TestGroundTruth
// (networks and tracks with exact per-segment truth).
//
// The example network is generated: `go generate ./coverage` rewrites configs/roads.geojson,
// configs/districts.geojson and configs/zones.geojson from coverage/internal/gen.
package coverage

//go:generate go run ./internal/gen -out ../configs
