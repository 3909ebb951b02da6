// Package sqlstore implements store.Store once, on database/sql, for both supported engines:
// SQLite (modernc.org/sqlite, no cgo; the default store of a single node) and PostgreSQL 15 or
// later (pgx/v5 through its stdlib adapter; several nodes on one database). Open chooses the
// engine from a Config (the `store` section of lanewatch.yaml).
//
// It owns the SQL of both engines and how connections are used. The SQL is written once with
// "?" placeholders and rebound for PostgreSQL; a small dialect (dialect.go) holds what really
// differs: placeholder style, the one Time encoding of every time column (unix nanoseconds on
// SQLite, TIMESTAMPTZ on PostgreSQL), constraint-error classification, row locks, and two
// operations with engine-specific concurrency guarantees. sqlite.go holds the SQLite part
// (one writer connection, so queuing in Go beats SQLITE_BUSY retries, beside a pool of
// read-only connections that WAL mode lets run; the busy timeout; bump-then-insert of rule
// cases and claiming under the single writer). postgres.go, leader.go and notify.go hold the
// PostgreSQL part (the pgx pool configured from the DSN; INSERT ... ON CONFLICT ... xmax for one
// open case per rule and key across nodes; FOR UPDATE SKIP LOCKED claiming; the advisory-lock
// Leader; LISTEN/NOTIFY). The schema lives in store/migrations and is applied by Open.
//
// It must not hold business rules (legal transitions, deadlines, routing): callers decide, the
// store records atomically. It must not import any lanewatch package but the root, store and
// store/migrations.
package sqlstore
