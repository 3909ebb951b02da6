// Package dispatch owns dispatch cases: opening them from any source, the category catalog,
// and (as it grows) the lifecycle state machine, routing, working-time deadlines, notifications
// and assessment of DOMAIN.md.
//
// It must not import rules or gateway: rule firings reach it as plain case requests from the
// wiring in app. Persistence goes through the small Store interface declared here.
package dispatch
