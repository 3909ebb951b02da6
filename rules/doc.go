// Package rules owns lanewatch's rules engine: the YAML rule file format and its validation
// (every error with file:line:column), the typed expression environment compiled once per rule
// with expr-lang/expr, and evaluation of decoded device messages against the loaded rule set.
// A rule that holds emits a Firing through the Opener it was given. Per-(rule, key) state is
// saved through a StateStore, one entry per key, and (with EngineOptions.Shared) read on demand
// so it follows a device between nodes.
//
// It must not import dispatch or the store: cases are opened by whoever implements Opener, and
// rules never decide how a case is routed or handled.
package rules
