// Package migrations owns the database schema of the SQL stores: one directory of goose SQL
// migrations per dialect (sqlite, postgres), embedded in the binary, and Up, which applies the
// pending ones when a store opens.
//
// It must not hold queries or business rules: the stores own their SQL, callers own the rules.
// Migrations are append-only: a released migration file is never edited, a change is a new file.
package migrations
