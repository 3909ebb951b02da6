// Package migrations owns the database schema of the SQL store (store/sqlstore): goose
// migrations embedded in the binary, and Up, which applies the pending ones when a store opens.
//
// Layout. One version sequence for both dialects, from three sources:
//
//   - sqlite/ and postgres/ hold the versions whose SQL differs per dialect. Versions 1 to 6
//     (init, outbox, coverage, nodes) are there, as live databases applied them; they are
//     never edited. A dialect file also overrides a common file of the same version, for the
//     rare statement that cannot be written once.
//   - common/ holds the versions written once (from 7 on): each file is a text/template
//     executed with the dialect's Types ({{.Key}}, {{.Text}}, {{.Int}}, {{.Real}}, {{.Bool}},
//     {{.Time}}, {{.Blob}}, {{.Serial}}, {{.Strict}}, {{.False}}), so a new table is one file.
//   - Go migrations, for data moves that need the store's own encodings (times, JSON). They are
//     defined in store/sqlstore (migrate*.go) next to the SQL that reads the data and passed to
//     Up; their versions are reserved here: 8 moves the plaques, report scans, rule-set versions
//     and camera incidents out of `states` into the tables of version 7.
//
// It must not hold queries or business rules: the store owns its SQL, callers own the rules.
// Migrations are append-only: a released migration file is never edited, a change is a new file.
package migrations
