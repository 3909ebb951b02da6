// Package sqlite implements store.Store on an embedded SQLite database (modernc.org/sqlite, no
// cgo): the default store of a single lanewatch node.
//
// It owns the SQL for SQLite and how connections are used: writes go through one connection
// (SQLite allows one writer at a time, so queuing in Go beats SQLITE_BUSY retries), reads through
// a pool of read-only connections that WAL mode lets run beside the writer. The schema lives in
// store/migrations and is applied by Open.
//
// It must not hold business rules (legal transitions, deadlines, routing): callers decide, the
// store records atomically. It must not import any lanewatch package but the root and store.
package sqlite
