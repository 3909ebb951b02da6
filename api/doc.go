// Package api owns lanewatch's HTTP surface: the JSON API under /api/v1 (SPEC 7) with bearer
// token authentication and roles, the health and readiness probes, the Prometheus endpoint, and
// the mapping of domain error codes to HTTP statuses (in one place, errors.go).
//
// It is the only package that imports gin. It declares the small interfaces it needs from the
// services it fronts and must not reach into the store or other packages' internals directly.
package api
