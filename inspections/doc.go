// Package inspections owns the bureau's supervision inspections (督导检查, DOMAIN.md 9): the
// places inspected (configs/places.geojson: alleys built from the road network's alley
// segments, compounds and markets as polygons), the campaigns with their period, cadence,
// scope and groups (the campaigns section of configs/supervision.yaml), the visits a group
// member records for one place (idempotent by the client's visit id, so a phone that recorded
// a visit without signal can send it again safely), each problem of a visit opened as a case
// with source inspection, and the campaign report (coverage, visits, person-visits, problems
// per place kind and district, rectification and on-time rates) with its CSV and XLSX exports.
//
// It must not import dispatch, api or the store drivers: cases are opened, read and given
// photos through the small Cases interface declared here (app adapts dispatch.Service), and
// visits persist through Store (store.Store satisfies it). No HTTP is spoken here.
package inspections
