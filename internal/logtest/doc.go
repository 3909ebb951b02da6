// Package logtest is a test helper: a slog handler that records every record together with
// the attributes its logger was given (With), so tests can check what a package logs, and in
// particular that the `component` attribute appears exactly once.
//
// It owns nothing of the product; it must be imported only by tests.
package logtest
