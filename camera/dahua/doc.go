// Package dahua decodes Dahua eventManager event lines
// (Code=CrossRegionDetection;action=Start;index=0;data={...}), as a Dahua camera sends them on
// its event stream or pushes them over HTTP, into vendor-neutral events with boxes converted
// from Dahua's 0..8191 grid to normalised 0..1.
//
// It owns the wire format only: it must not know lanewatch camera types, devices or storage.
package dahua
