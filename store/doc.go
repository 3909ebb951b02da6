// Package store defines the persistence contract of lanewatch (Store) and the filters and pages
// its list methods take. Implementations live in store/sqlite (default, embedded) and
// store/postgres; store/storetest is the one contract suite both must pass.
//
// It owns the shape of persisted state. It must not hold business rules (which transitions are
// legal, how deadlines are computed): callers decide, the store records atomically.
package store
