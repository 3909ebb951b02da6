// Package storetest is the contract suite every store.Store implementation must pass: Run
// exercises each method, its error codes, pagination, filters, time round-tripping and the
// concurrency guarantees (one open case per rule and key, conditional updates).
//
// It owns the executable definition of the store contract. It must not depend on any
// implementation: callers pass a function that opens a fresh, empty store.
package storetest
