package simulators

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// CameraEventTypes are the detection types a simulated camera reports (DOMAIN.md section 3).
var CameraEventTypes = []string{
	"exposed_garbage", "street_vending", "mobile_vendor", "illegal_parking",
	"clutter", "outdoor_barbecue", "abandoned_vehicle",
}

// HeartbeatType is the type of a camera's liveness event.
const HeartbeatType = "heartbeat"

// Camera timing, in simulated time.
const (
	cameraHeartbeatEvery = 60 * time.Second  // a heartbeat when nothing else was sent for this long
	cameraDetectEvery    = 10 * time.Second  // one detection this often while an incident persists
	cameraIdleMean       = 120 * time.Second // mean wait for the next incident
)

// CameraConfig configures a CameraSim.
type CameraConfig struct {
	ID       string
	District string
	Seed     uint64
	// Index is the camera's position among the fleet's cameras; with Seed it determines every
	// payload.
	Index int
	// Step is the simulated time between two calls of Next; default DefaultStep.
	Step time.Duration
	// Snapshots adds a tiny JPEG, base64, as "snapshot" to every detection.
	Snapshots bool
	// RunID, when set, prefixes every event_id ("RUN-ID-000001") so that runs do not reuse ids.
	RunID string
	// WarmStart starts the camera with a street-vending incident (confidence >= 0.8, lasting
	// at least 4 minutes) reported on the first tick, so a demo has a camera case within
	// the rules' persistence time.
	WarmStart bool
}

// CameraPayload is the camera event object of SPEC.md section 3.
type CameraPayload struct {
	EventID    string      `json:"event_id"`
	TS         string      `json:"ts"`
	Type       string      `json:"type"`
	Confidence *float64    `json:"confidence,omitempty"`
	BBox       *[4]float64 `json:"bbox,omitempty"`
	Lat        float64     `json:"lat"`
	Lon        float64     `json:"lon"`
	Snapshot   string      `json:"snapshot,omitempty"`
}

// incident is something a camera sees for a few minutes.
type incident struct {
	typ        string
	loc        Point // where the thing is: up to about 40 m from the camera
	bbox       [4]float64
	confidence float64
	left       int // ticks until it leaves
	sinceEmit  int // ticks since the last detection
}

// CameraSim simulates one AI camera at a fixed location in its district: now and then an
// incident appears (a vendor, a heap of garbage, a parked car), is reported every few seconds
// with a slightly drifting box while it persists for a few minutes, then leaves; a heartbeat
// is sent on the first tick and whenever the camera has been quiet for a minute. It publishes to cameras/{id}/events
// and is not safe for concurrent use.
type CameraSim struct {
	cfg           CameraConfig
	topic         string
	idPrefix      string
	rng           *rand.Rand
	loc           Point
	seq           int
	inc           *incident
	sinceSent     int
	detectEvery   int
	heartbeatTick int
}

// NewCameraSim returns the simulator of one camera.
func NewCameraSim(cfg CameraConfig) *CameraSim {
	if cfg.Step <= 0 {
		cfg.Step = DefaultStep
	}
	rng := newRand(cfg.Seed, streamCamera, cfg.Index)
	box, _ := DistrictBox(cfg.District)
	box = box.inset(0.1)
	c := &CameraSim{
		cfg:           cfg,
		topic:         "cameras/" + cfg.ID + "/events",
		idPrefix:      cfg.ID + "-",
		rng:           rng,
		loc:           Point{Lat: between(rng, box.MinLat, box.MaxLat), Lon: between(rng, box.MinLon, box.MaxLon)},
		detectEvery:   steps(cameraDetectEvery, cfg.Step),
		heartbeatTick: steps(cameraHeartbeatEvery, cfg.Step),
	}
	c.sinceSent = c.heartbeatTick - 1 // a heartbeat on the first tick: the camera is up
	if cfg.WarmStart {
		c.inc = c.newIncident()
		c.inc.typ, c.inc.confidence = "street_vending", max(c.inc.confidence, 0.8)
		c.inc.left = max(c.inc.left, steps(4*time.Minute, cfg.Step))
		c.inc.sinceEmit = c.detectEvery - 1 // the first detection on the first tick
	}
	if cfg.RunID != "" {
		c.idPrefix = cfg.RunID + "-" + c.idPrefix
	}
	return c
}

// Topic is the topic the camera publishes to.
func (c *CameraSim) Topic() string { return c.topic }

// Location is the camera's fixed position.
func (c *CameraSim) Location() Point { return c.loc }

// Next advances the camera by one step and returns a detection, a heartbeat, or a nil
// payload when the camera has nothing to say.
func (c *CameraSim) Next(now time.Time) (string, []byte) {
	stepSec := c.cfg.Step.Seconds()
	c.sinceSent++
	var ev *CameraPayload
	switch {
	case c.inc == nil:
		if c.rng.Float64() < stepSec/cameraIdleMean.Seconds() {
			c.inc = c.newIncident()
			ev = c.detection(now)
		}
	default:
		c.inc.left--
		c.inc.sinceEmit++
		if c.inc.left <= 0 {
			c.inc = nil // it left
		} else if c.inc.sinceEmit >= c.detectEvery {
			c.drift()
			ev = c.detection(now)
		}
	}
	if ev == nil && c.sinceSent >= c.heartbeatTick {
		ev = c.event(now, HeartbeatType)
	}
	if ev == nil {
		return c.topic, nil
	}
	c.sinceSent = 0
	b, _ := json.Marshal(ev)
	return c.topic, b
}

func (c *CameraSim) newIncident() *incident {
	r := c.rng
	w, h := round(between(r, 0.05, 0.3), 4), round(between(r, 0.05, 0.3), 4)
	return &incident{
		typ:        CameraEventTypes[r.IntN(len(CameraEventTypes))],
		loc:        Point{Lat: c.loc.Lat + between(r, -0.00035, 0.00035), Lon: c.loc.Lon + between(r, -0.0004, 0.0004)},
		bbox:       [4]float64{round(between(r, 0, 1-w), 4), round(between(r, 0, 1-h), 4), w, h},
		confidence: between(r, 0.55, 0.95),
		left:       steps(time.Duration(between(r, 120, 360)*float64(time.Second)), c.cfg.Step),
	}
}

// drift moves the incident's box a little, keeping it inside the frame.
func (c *CameraSim) drift() {
	r, b := c.rng, &c.inc.bbox
	b[2] = round(clamp(b[2]*(1+r.NormFloat64()*0.02), 0.02, 0.6), 4)
	b[3] = round(clamp(b[3]*(1+r.NormFloat64()*0.02), 0.02, 0.6), 4)
	b[0] = clamp(round(b[0]+r.NormFloat64()*0.005, 4), 0, round(1-b[2], 4))
	b[1] = clamp(round(b[1]+r.NormFloat64()*0.005, 4), 0, round(1-b[3], 4))
}

func (c *CameraSim) detection(now time.Time) *CameraPayload {
	ev := c.event(now, c.inc.typ)
	conf := round(clamp(c.inc.confidence+c.rng.NormFloat64()*0.02, 0.5, 0.98), 2)
	bbox := c.inc.bbox
	ev.Confidence, ev.BBox = &conf, &bbox
	ev.Lat, ev.Lon = round(c.inc.loc.Lat, 6), round(c.inc.loc.Lon, 6)
	if c.cfg.Snapshots {
		ev.Snapshot = tinyJPEG
	}
	c.inc.sinceEmit = 0
	return ev
}

func (c *CameraSim) event(now time.Time, typ string) *CameraPayload {
	c.seq++
	return &CameraPayload{
		EventID: fmt.Sprintf("%s%06d", c.idPrefix, c.seq),
		TS:      formatTS(now),
		Type:    typ,
		Lat:     round(c.loc.Lat, 6),
		Lon:     round(c.loc.Lon, 6),
	}
}
