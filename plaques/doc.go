// Package plaques owns the responsibility plaques (智能责任牌, 门前三包) of DOMAIN.md section 8:
// the registry (seeded from configs/plaques.yaml, persisted in the store's plaques table, changed through
// the admin API: Load, List, Create, Update, Delete), the public view of a plaque (responsible party, duties,
// address, district; the contact masked), and reports — from the public HTTP endpoint or from
// MQTT scans with action "report" — that open a case routed to the plaque's responsible party
// and district, with per-address and per-plaque rate limits.
//
// It must not import gin, the rules engine or a store implementation; cases are opened through
// the Opener it is given (dispatch.Service).
package plaques
