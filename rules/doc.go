// Package rules owns lanewatch's rules engine: the YAML rule file format and its validation
// (every error with file:line:column), the typed expression environment compiled once per rule
// with expr-lang/expr, and evaluation of decoded device messages against the loaded rule set.
// A rule that holds emits a Firing through the Opener it was given. Per-(rule, key) state is
// saved through a StateStore, one entry per key, and (with EngineOptions.Shared) read on demand
// so it follows a device between nodes.
//
// Files, one owner each: rulefmt.go (file types, loading), validate.go (the validation pass),
// template.go (case templates: checks, rendering, fallback), env.go (expression environment),
// schedule.go (active), engine.go (the engine, rule sets, emitting firings), evaluate_rule.go
// (what all kinds share: `when`, key, counters, Tick), eval_instant.go, eval_for.go,
// eval_absent.go and eval_coverage.go (each kind's state machine), state.go (persistence),
// manager.go (reload, versions), evaluate.go (dry run), backtest.go, unittest.go.
//
// It must not import dispatch or the store: cases are opened by whoever implements Opener, and
// rules never decide how a case is routed or handled. The working calendar comes from package
// calendar.
package rules
