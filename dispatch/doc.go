// Package dispatch owns dispatch cases and their lifecycle (DOMAIN.md sections 1–5): opening
// cases from any source with district lookup (point in polygon), duplicate linking and
// auto-accept/auto-dispatch; the state machine of actions and who may take them; routing to
// departments (routing.yaml, most specific route wins); the working calendar and the dispatch,
// sign and handling deadlines; reminders, overdue marking and escalation on a ticker driven by
// an injectable clock; notifications written to the store outbox (delivered by dispatch/notify);
// photo attachments stored by content hash; ratings; and the monthly assessment.
//
// It must not import rules, gateway, api or app: rule firings reach it as plain case requests
// from the wiring in app, and the API reaches it through adapters in app. Persistence goes
// through the small Store interface declared here; no HTTP is spoken here.
package dispatch
