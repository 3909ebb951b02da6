package camera

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/gateway/payload"
)

// States of a vendor event (DOMAIN.md section 7).
const (
	StateStart = "start"
	StateStop  = "stop"
	StatePulse = "pulse"
)

// Event is a camera event normalised per DOMAIN.md section 7.
type Event struct {
	CameraID   string
	Channel    int
	EventID    string
	TS         time.Time
	VendorCode string
	// Type is the lanewatch camera type (payload.CameraTypes key); Category its code, "" for
	// heartbeat and inactive.
	Type       string
	Category   string
	Confidence float64
	BBox       [4]float64 // x, y, w, h in 0..1, origin top left
	HasBBox    bool
	RegionID   string
	State      string // start | stop | pulse; "" when the source does not say
	Lat, Lon   float64
	HasLoc     bool
	// Snapshot is an inline image (JPEG or PNG), SnapshotURL a link to one.
	Snapshot    []byte
	SnapshotURL string
	// Plate is the licence plate the camera read (DOMAIN.md 11), "" when none.
	Plate string
}

// FromMessage normalises a decoded camera message of device cameraID.
func FromMessage(cameraID string, c *lanewatch.CameraEvent) Event {
	return Event{CameraID: cameraID, Channel: c.Channel, EventID: c.EventID, TS: c.TS, VendorCode: c.VendorCode,
		Type: c.Type, Category: payload.CameraTypes[c.Type], Confidence: c.Confidence, BBox: c.BBox, HasBBox: c.HasBBox,
		RegionID: c.RegionID, State: c.State, Lat: c.Lat, Lon: c.Lon, HasLoc: c.HasLocation,
		Snapshot: c.Snapshot, SnapshotURL: c.SnapshotURL, Plate: c.Plate}
}

// Detection reports whether the event is a detection that may join or open an incident:
// a type with a category, not a heartbeat, not inactive, not a stop.
func (e *Event) Detection() bool {
	return e.Category != "" && e.State != StateStop
}

// wireEvent is the SPEC section 3 camera event, plus the normalised vendor fields.
type wireEvent struct {
	EventID     string      `json:"event_id"`
	TS          string      `json:"ts"`
	Type        string      `json:"type"`
	Confidence  float64     `json:"confidence"`
	BBox        *[4]float64 `json:"bbox,omitempty"`
	Lat         *float64    `json:"lat,omitempty"`
	Lon         *float64    `json:"lon,omitempty"`
	Snapshot    string      `json:"snapshot,omitempty"`
	SnapshotURL string      `json:"snapshot_url,omitempty"`
	Channel     int         `json:"channel"`
	VendorCode  string      `json:"vendor_code,omitempty"`
	RegionID    string      `json:"region_id,omitempty"`
	State       string      `json:"state,omitempty"`
	Plate       string      `json:"plate,omitempty"`
}

// Payload encodes e as the MQTT camera event of SPEC.md section 3 (the fields channel,
// vendor_code, region_id and state ride along), ready for the journal.
func (e *Event) Payload() ([]byte, error) {
	if _, ok := payload.CameraTypes[e.Type]; !ok {
		return nil, fmt.Errorf("camera event type %q is not a known camera type", e.Type)
	}
	w := wireEvent{EventID: e.EventID, TS: e.TS.UTC().Format(time.RFC3339Nano), Type: e.Type, Confidence: e.Confidence,
		SnapshotURL: e.SnapshotURL, Channel: e.Channel, VendorCode: e.VendorCode, RegionID: e.RegionID, State: e.State, Plate: e.Plate}
	if e.HasBBox {
		b := e.BBox
		w.BBox = &b
	}
	if e.HasLoc {
		w.Lat, w.Lon = &e.Lat, &e.Lon
	}
	if len(e.Snapshot) > 0 {
		w.Snapshot = base64.StdEncoding.EncodeToString(e.Snapshot)
	}
	return json.Marshal(w)
}

// IoU is the intersection over union of two boxes [x, y, w, h]; 0 when either is empty.
func IoU(a, b [4]float64) float64 {
	ix := max(0, min(a[0]+a[2], b[0]+b[2])-max(a[0], b[0]))
	iy := max(0, min(a[1]+a[3], b[1]+b[3])-max(a[1], b[1]))
	inter := ix * iy
	union := a[2]*a[3] + b[2]*b[3] - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

// GridBox converts a box given by two corners (x1, y1, x2, y2) on a grid of size scale (for
// example 1000 for Hikvision regions, 8191 for Dahua) to a normalised [x, y, w, h], clamped to
// the frame and with the corners in either order. flipY treats y as measured from the bottom.
func GridBox(x1, y1, x2, y2, scale float64, flipY bool) [4]float64 {
	n := func(v float64) float64 { return min(1, max(0, v/scale)) }
	ax, bx := n(min(x1, x2)), n(max(x1, x2))
	ay, by := n(min(y1, y2)), n(max(y1, y2))
	if flipY {
		ay, by = 1-by, 1-ay
	}
	return [4]float64{ax, ay, bx - ax, by - ay}
}

func categoryOf(typ string) string { return payload.CameraTypes[typ] }
