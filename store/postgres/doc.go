// Package postgres implements store.Store on PostgreSQL (15 or later) through a pgx/v5
// connection pool: the store for deployments that want a managed database or several lanewatch
// nodes on one database.
//
// It owns the SQL for PostgreSQL. Guarantees that must hold across connections and nodes are
// left to the database: one open case per (rule, key) is a partial unique index used as an
// INSERT ... ON CONFLICT arbiter, and a case update is a conditional UPDATE on the expected
// status. The schema lives in store/migrations and is applied by Open under an advisory lock.
//
// It must not hold business rules (legal transitions, deadlines, routing): callers decide, the
// store records atomically. It must not import any lanewatch package but the root and store.
package postgres
