package lanewatch

import (
	"regexp"
	"time"
)

// DeviceType is the kind of a registered device.
type DeviceType string

// Device types. Vehicles publish telemetry; cameras publish events; plaques publish scans.
const (
	DeviceSweeper   DeviceType = "sweeper"
	DeviceWasher    DeviceType = "washer"
	DeviceSprinkler DeviceType = "sprinkler"
	DeviceCamera    DeviceType = "camera"
	DevicePlaque    DeviceType = "plaque"
)

// Valid reports whether t is a known device type.
func (t DeviceType) Valid() bool {
	switch t {
	case DeviceSweeper, DeviceWasher, DeviceSprinkler, DeviceCamera, DevicePlaque:
		return true
	}
	return false
}

// IsVehicle reports whether t is a sanitation vehicle.
func (t DeviceType) IsVehicle() bool {
	return t == DeviceSweeper || t == DeviceWasher || t == DeviceSprinkler
}

// TopicKind returns the first topic level a device of type t publishes under
// ("vehicles", "cameras" or "plaques").
func (t DeviceType) TopicKind() string {
	switch t {
	case DeviceCamera:
		return "cameras"
	case DevicePlaque:
		return "plaques"
	default:
		return "vehicles"
	}
}

// Device is a registered device. PasswordHash is a bcrypt hash and never leaves the server.
type Device struct {
	ID           string            `json:"id"`
	Type         DeviceType        `json:"type"`
	District     string            `json:"district"`
	Contractor   string            `json:"contractor"`
	Plate        string            `json:"plate"`
	Tags         map[string]string `json:"tags"`
	PasswordHash string            `json:"-"`
	Online       bool              `json:"online"`
	LastSeen     *time.Time        `json:"last_seen"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
}

var deviceIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)

// ValidDeviceID reports whether id may be used as a device id (and so as an MQTT username and
// topic level): 1–64 characters of letters, digits, '_', '.', ':' and '-'.
func ValidDeviceID(id string) bool { return deviceIDPattern.MatchString(id) }

// Validate checks the registry fields of d.
func (d *Device) Validate() error {
	if !ValidDeviceID(d.ID) {
		return Errorf(EInvalid, "id: %q is not a valid device id (1-64 of A-Z a-z 0-9 _ . : -)", d.ID)
	}
	if !d.Type.Valid() {
		return Errorf(EInvalid, "type: %q is not one of sweeper, washer, sprinkler, camera, plaque", d.Type)
	}
	if len(d.District) > 64 || len(d.Contractor) > 64 || len(d.Plate) > 32 {
		return Errorf(EInvalid, "district, contractor or plate: too long")
	}
	if len(d.Tags) > 32 {
		return Errorf(EInvalid, "tags: at most 32")
	}
	return nil
}
