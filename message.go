package lanewatch

import "time"

// Kind is the kind of a device message, named after the rule group `on:` values.
type Kind string

// Message kinds.
const (
	KindTelemetry Kind = "telemetry"
	KindCamera    Kind = "camera"
	KindPlaque    Kind = "plaque"
	KindStatus    Kind = "status"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	switch k {
	case KindTelemetry, KindCamera, KindPlaque, KindStatus:
		return true
	}
	return false
}

// Telemetry is one decoded vehicle telemetry point. Optional numeric fields are NaN-free:
// a field the device did not send is absent from Has.
type Telemetry struct {
	TS            time.Time
	Lat, Lon      float64
	SpeedKmh      float64
	Heading       float64
	BrushOn       bool
	WaterOn       bool
	WaterLevelPct float64
	FuelPct       float64
	OdometerKm    float64
	// Has records which optional standard fields were present (bit per Field* constant).
	Has uint16
	// Extra holds additional numeric (float64) and boolean fields, in the order sent.
	Extra []ExtraField
}

// Bits of Telemetry.Has.
const (
	FieldSpeed uint16 = 1 << iota
	FieldHeading
	FieldBrush
	FieldWater
	FieldWaterLevel
	FieldFuel
	FieldOdometer
)

// ExtraField is a vendor-specific telemetry value: Num when IsBool is false, Bool otherwise.
type ExtraField struct {
	Name   string
	Num    float64
	Bool   bool
	IsBool bool
}

// CameraEvent is one decoded AI camera event.
type CameraEvent struct {
	EventID     string
	TS          time.Time
	Type        string
	Confidence  float64
	BBox        [4]float64 // x, y, w, h normalised to 0..1
	HasBBox     bool
	Lat, Lon    float64
	HasLocation bool
	Snapshot    []byte // decoded JPEG, if sent inline
	SnapshotURL string
	// Normalised vendor fields (DOMAIN.md section 7), set by vendor adapters: the camera's
	// channel, the vendor's event code, the detection region and start | stop | pulse.
	Channel    int
	VendorCode string
	RegionID   string
	State      string
	// Plate is the licence plate read by the camera (illegal parking, e.g. 粤T·12345); "" when none.
	Plate string
	// Incident the detection belongs to, set by the camera incident tracker before the rules
	// run; empty for heartbeats, inactive events and detections of unmapped types.
	IncidentID         string
	IncidentFirstSeen  time.Time
	IncidentDetections int
}

// Reporter is the person behind a plaque report or a citizen case.
type Reporter struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// PlaqueScan is one scan of a responsibility plaque, relayed by the scanning app's backend.
type PlaqueScan struct {
	ScanID      string
	TS          time.Time
	Action      string // "view" or "report"
	Category    string
	Description string
	Reporter    Reporter
	Photo       []byte
}

// Status is a device's status message (retained; also its Last Will).
type Status struct {
	TS     time.Time
	Online bool
	Fields map[string]any
}

// Message is one decoded device publish. Exactly one of the payload fields is set, matching Kind;
// a telemetry publish may carry several points (a backlog batch).
type Message struct {
	Seq uint64 // position in the durable log
	// Replay: the message was handled before a restart and is replayed only for the steps
	// that held it (coverage, gateway.Holder); the others skip it.
	Replay    bool
	Kind      Kind
	DeviceID  string
	Received  time.Time
	Telemetry []Telemetry
	Camera    *CameraEvent
	Scan      *PlaqueScan
	Status    *Status
}

// DeadLetter is a rejected device payload, kept (bounded) for operators to inspect.
type DeadLetter struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	DeviceID string    `json:"device_id"`
	Topic    string    `json:"topic"`
	Kind     string    `json:"kind"`
	Reason   string    `json:"reason"`
	Error    string    `json:"error"`
	Payload  string    `json:"payload"` // at most the first 4 KiB, as text (invalid UTF-8 replaced)
}
