package camera

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch/gateway/payload"
	"github.com/lanewatch/lanewatch/internal/fetch"
	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// Vendors with an HTTP push adapter.
const (
	VendorHikvision = "hikvision"
	VendorDahua     = "dahua"
)

// Config is the format of configs/cameras.yaml.
type Config struct {
	Incidents IncidentsConfig         `yaml:"incidents"`
	Snapshots SnapshotsConfig         `yaml:"snapshots"`
	Vendors   map[string]VendorConfig `yaml:"vendors"`
	Cameras   []CameraConfig          `yaml:"cameras"`
}

// IncidentsConfig is the grouping of detections into incidents, with overrides per camera type.
type IncidentsConfig struct {
	IoU    float64                  `yaml:"iou"`
	Window yamlx.Duration           `yaml:"window"`
	Types  map[string]GroupingEntry `yaml:"types"`
}

// GroupingEntry overrides the grouping of one camera type.
type GroupingEntry struct {
	IoU    float64        `yaml:"iou"`
	Window yamlx.Duration `yaml:"window"`
}

// SnapshotsConfig bounds snapshots and controls URL fetching (off by default).
type SnapshotsConfig struct {
	MaxBytes int64 `yaml:"max_bytes"`
	Fetch    struct {
		Enabled    bool           `yaml:"enabled"`
		AllowHosts []string       `yaml:"allow_hosts"`
		Timeout    yamlx.Duration `yaml:"timeout"`
	} `yaml:"fetch"`
}

// VendorConfig maps a vendor's event codes to lanewatch camera types.
type VendorConfig struct {
	// EventCodes: vendor event code -> camera type (a payload.CameraTypes key).
	EventCodes map[string]string `yaml:"event_codes"`
	// DefaultConfidence is used when the camera sends no confidence; default 1.
	DefaultConfidence float64 `yaml:"default_confidence"`
}

// CameraConfig is one camera's registry extras; the camera itself is a device of type camera.
type CameraConfig struct {
	ID       string  `yaml:"id"`
	Vendor   string  `yaml:"vendor"` // hikvision | dahua | "" (MQTT only)
	Location *LatLon `yaml:"location"`
	Address  string  `yaml:"address"`
	Username string  `yaml:"username"`
	// Password (demo only) or PasswordHash (bcrypt) authenticate the camera's HTTP pushes.
	Password     string `yaml:"password"`
	PasswordHash string `yaml:"password_hash"`
	// EventCodes override the vendor's map for this camera.
	EventCodes map[string]string `yaml:"event_codes"`
}

// LatLon is a WGS-84 point.
type LatLon struct {
	Lat float64 `yaml:"lat"`
	Lon float64 `yaml:"lon"`
}

// LoadConfig reads and validates configs/cameras.yaml; every error is reported, each naming
// the file, line, column and key (yamlx.Check).
func LoadConfig(path string) (*Config, error) {
	var c Config
	if err := yamlx.ReadCheck(path, &c, c.Validate); err != nil {
		return nil, err
	}
	return &c, nil
}

// ParseConfig is LoadConfig on bytes already read (file names them in errors).
func ParseConfig(file string, data []byte) (*Config, error) {
	var c Config
	if err := yamlx.Check(file, data, &c, c.Validate); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks every entry and collects all errors.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Incidents.IoU < 0 || c.Incidents.IoU > 1 {
		bad("incidents.iou: %g is not in 0..1", c.Incidents.IoU)
	}
	for _, t := range slices.Sorted(maps.Keys(c.Incidents.Types)) {
		g := c.Incidents.Types[t]
		if cat, ok := payload.CameraTypes[t]; !ok || cat == "" {
			bad("incidents.types.%s: not a camera detection type%s", t, yamlx.DidYouMean(t, slices.Sorted(maps.Keys(payload.CameraTypes))))
		}
		if g.IoU < 0 || g.IoU > 1 {
			bad("incidents.types.%s.iou: %g is not in 0..1", t, g.IoU)
		}
	}
	if c.Snapshots.MaxBytes < 0 || c.Snapshots.MaxBytes > int64(payload.DefaultMaxImage) {
		bad("snapshots.max_bytes: %d is not in 0..%d", c.Snapshots.MaxBytes, payload.DefaultMaxImage)
	}
	for i, h := range c.Snapshots.Fetch.AllowHosts {
		if fetch.ValidatePattern(h) != nil {
			bad("snapshots.fetch.allow_hosts[%d]: %q is not a host name", i, h)
		}
	}
	checkCodes := func(where string, m map[string]string) {
		for _, code := range slices.Sorted(maps.Keys(m)) {
			if _, ok := payload.CameraTypes[m[code]]; !ok {
				bad("%s.event_codes.%s: %q is not a camera type (one of %s)", where, code, m[code], strings.Join(slices.Sorted(maps.Keys(payload.CameraTypes)), ", "))
			}
		}
	}
	for _, v := range slices.Sorted(maps.Keys(c.Vendors)) {
		if v != VendorHikvision && v != VendorDahua {
			bad("vendors.%s: unknown vendor, want hikvision or dahua", v)
		}
		vc := c.Vendors[v]
		if vc.DefaultConfidence < 0 || vc.DefaultConfidence > 1 {
			bad("vendors.%s.default_confidence: %g is not in 0..1", v, vc.DefaultConfidence)
		}
		checkCodes("vendors."+v, vc.EventCodes)
	}
	seen := map[string]bool{}
	for i, cam := range c.Cameras {
		where := fmt.Sprintf("cameras[%d]", i)
		switch {
		case cam.ID == "":
			bad("%s.id: required", where)
		case seen[cam.ID]:
			bad("%s.id: %q listed twice", where, cam.ID)
		}
		seen[cam.ID] = true
		switch cam.Vendor {
		case "":
		case VendorHikvision, VendorDahua:
			if cam.Username == "" || (cam.Password == "" && cam.PasswordHash == "") {
				bad("%s (%s).vendor: a %s camera needs username and password or password_hash for its pushes", where, cam.ID, cam.Vendor)
			}
		default:
			bad("%s.vendor: %q is not hikvision or dahua", where, cam.Vendor)
		}
		if l := cam.Location; l != nil && (l.Lat < -90 || l.Lat > 90 || l.Lon < -180 || l.Lon > 180) {
			bad("%s.location: (%g, %g) is not a WGS-84 point", where, l.Lat, l.Lon)
		}
		checkCodes(where, cam.EventCodes)
	}
	return errors.Join(errs...)
}

// Grouping returns the tracker options of the config.
func (c *Config) Grouping() (Grouping, map[string]Grouping) {
	def := Grouping{IoU: c.Incidents.IoU, Window: time.Duration(c.Incidents.Window)}
	per := map[string]Grouping{}
	for t, g := range c.Incidents.Types {
		per[t] = Grouping{IoU: g.IoU, Window: time.Duration(g.Window)}
	}
	return def, per
}

// Camera returns the registry entry of a camera.
func (c *Config) Camera(id string) (*CameraConfig, bool) {
	for i := range c.Cameras {
		if c.Cameras[i].ID == id {
			return &c.Cameras[i], true
		}
	}
	return nil, false
}

// TypeOf maps a vendor event code of a camera to a camera type; ok is false when unmapped.
func (c *Config) TypeOf(cam *CameraConfig, code string) (string, bool) {
	if t, ok := cam.EventCodes[code]; ok {
		return t, true
	}
	t, ok := c.Vendors[cam.Vendor].EventCodes[code]
	return t, ok
}

// DefaultConfidence of a vendor; 1 when not configured.
func (c *Config) DefaultConfidence(vendor string) float64 {
	if v := c.Vendors[vendor].DefaultConfidence; v > 0 {
		return v
	}
	return 1
}
