// Package store defines the persistence contract of lanewatch (Store) and the filters and pages
// its list methods take. The one implementation is store/sqlstore on database/sql, for SQLite
// (default, embedded) and PostgreSQL; store/storetest is the contract suite it must pass on
// both engines; store/migrations holds the schema.
//
// Why one package with dialect files rather than store/sqlite and store/postgres: about two
// thirds of the two engines' code was the same SQL with other placeholders, and keeping two
// copies in step was the main cost of every change. What differs is small and named in one
// place (sqlstore's dialect: placeholders, time encoding, error codes, row locks) plus a few
// engine files (SQLite's connection split; PostgreSQL's upsert, claiming, leader and
// notifications), so a thin package per engine would hold little but Open, and a separate
// package choosing between them (sqlstore.Open) would have to import both anyway.
//
// It owns the shape of persisted state. It must not hold business rules (which transitions are
// legal, how deadlines are computed): callers decide, the store records atomically.
package store
