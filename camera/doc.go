// Package camera owns what lanewatch does with AI camera events beyond decoding: the normalised
// event of DOMAIN.md section 7 (camera id, channel, time, vendor event code, category,
// confidence, normalised box, region, snapshot, start/stop), the incident tracker that groups
// detections of one camera and type whose boxes overlap within a window into one incident
// (persisted, restart-safe), snapshot storage by content hash under the data dir (type and
// size checked, bounded reads, opt-in URL fetching), the camera registry of configs/cameras.yaml
// and the HTTP push path of vendor cameras (camera/hikvision, camera/dahua), which turns vendor
// alerts into the SPEC section 3 camera event and injects it into the durable journal.
//
// It must not open cases itself (rules do, through dispatch), import the rules engine,
// dispatch, gin or a store implementation: it declares the small interfaces it needs.
package camera
