package simulators

import (
	"encoding/json"
	"math/rand/v2"
	"time"

	"github.com/lanewatch/lanewatch"
)

// SpeedBand returns the working speed band of a vehicle type in km/h (DOMAIN.md section 6):
// sweeper 3–12, washer 3–15, sprinkler 5–20. Other types get 0, 0.
func SpeedBand(t lanewatch.DeviceType) (lo, hi float64) {
	switch t {
	case lanewatch.DeviceSweeper:
		return 3, 12
	case lanewatch.DeviceWasher:
		return 3, 15
	case lanewatch.DeviceSprinkler:
		return 5, 20
	}
	return 0, 0
}

// SpeedingKmh is about the speed a misbehaving sweeper drives at with its brushes on
// (the rule sweeper_speeding fires above 20 km/h).
const SpeedingKmh = 25.0

// Misbehaviour is what a simulated vehicle does wrong on purpose, so that rules fire.
type Misbehaviour struct {
	// Speeding: now and then the vehicle works at about SpeedingKmh (sweepers only).
	Speeding bool
	// LowFuel: the fuel level falls below 5% within the first few minutes.
	LowFuel bool
	// Silent: now and then the vehicle publishes nothing for a few minutes.
	Silent bool
}

// VehicleMisbehaviour returns the deliberate misbehaviour of the vehicle at index (its
// position among the fleet's vehicles): every sixth vehicle from index 0 that is a sweeper
// speeds, vehicle 1 runs low on fuel and vehicle 2 goes silent now and then.
func VehicleMisbehaviour(t lanewatch.DeviceType, index int) Misbehaviour {
	return Misbehaviour{
		Speeding: t == lanewatch.DeviceSweeper && index%6 == 0,
		LowFuel:  index == 1,
		Silent:   index == 2,
	}
}

// Route yields the waypoints a vehicle drives between. The default is a grid of streets
// inside the vehicle's district box; a road network can provide its own.
type Route interface {
	// Start is where the vehicle is when the simulation begins.
	Start() Point
	// Next returns the next waypoint to drive to; it never runs out.
	Next() Point
}

// VehicleConfig configures a VehicleSim.
type VehicleConfig struct {
	ID       string
	Type     lanewatch.DeviceType // sweeper, washer or sprinkler
	District string
	Seed     uint64
	// Index is the vehicle's position among the fleet's vehicles; with Seed it determines
	// every payload, and it selects the Misbehaviour.
	Index int
	// Step is the simulated time between two calls of Next; default DefaultStep.
	Step time.Duration
	// Route overrides the default grid route inside the district box.
	Route Route
}

// TelemetryPayload is the vehicle telemetry object of SPEC.md section 3.
type TelemetryPayload struct {
	TS            string  `json:"ts"`
	Lat           float64 `json:"lat"`
	Lon           float64 `json:"lon"`
	SpeedKmh      float64 `json:"speed_kmh"`
	Heading       float64 `json:"heading"`
	BrushOn       bool    `json:"brush_on"`
	WaterOn       bool    `json:"water_on"`
	WaterLevelPct float64 `json:"water_level_pct"`
	FuelPct       float64 `json:"fuel_pct"`
	OdometerKm    float64 `json:"odometer_km"`
}

// VehicleSim simulates one sanitation vehicle working its district: it drives a
// deterministic route at its type's working speed band with its working flag on, drains
// water and fuel, and publishes telemetry to vehicles/{id}/telemetry, now and then as a
// backlog batch (a JSON array). It is not safe for concurrent use.
type VehicleSim struct {
	cfg   VehicleConfig
	topic string
	rng   *rand.Rand
	route Route
	misb  Misbehaviour
	lo    float64
	hi    float64

	pos, target Point
	speed       float64
	heading     float64
	waterPct    float64
	fuelPct     float64
	odometerKm  float64

	stopLeft     int                // ticks left standing still (a crossing)
	speedingLeft int                // ticks left of a speeding episode
	silentLeft   int                // ticks left of silence
	bufferLeft   int                // ticks left to buffer before publishing a batch
	buffer       []TelemetryPayload // buffered points
}

// NewVehicleSim returns the simulator of one vehicle.
func NewVehicleSim(cfg VehicleConfig) *VehicleSim {
	if cfg.Step <= 0 {
		cfg.Step = DefaultStep
	}
	rng := newRand(cfg.Seed, streamVehicle, cfg.Index)
	v := &VehicleSim{
		cfg:   cfg,
		topic: "vehicles/" + cfg.ID + "/telemetry",
		rng:   rng,
		route: cfg.Route,
		misb:  VehicleMisbehaviour(cfg.Type, cfg.Index),
	}
	if v.route == nil {
		box, _ := DistrictBox(cfg.District)
		v.route = newGridRoute(box, rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())))
	}
	v.lo, v.hi = SpeedBand(cfg.Type)
	if v.hi == 0 {
		v.lo, v.hi = 3, 12
	}
	v.pos = v.route.Start()
	v.target = v.route.Next()
	v.heading = bearing(v.pos, v.target)
	v.speed = between(rng, v.lo+1, v.hi-1)
	v.waterPct = between(rng, 60, 100)
	v.fuelPct = between(rng, 55, 95)
	v.odometerKm = between(rng, 1000, 40000)
	if v.misb.LowFuel {
		v.fuelPct = between(rng, 6, 6.5)
	}
	return v
}

// Topic is the topic the vehicle publishes to.
func (v *VehicleSim) Topic() string { return v.topic }

// Misbehaviour is what this vehicle does wrong on purpose.
func (v *VehicleSim) Misbehaviour() Misbehaviour { return v.misb }

// Position is where the vehicle is now.
func (v *VehicleSim) Position() Point { return v.pos }

// Next advances the vehicle by one step and returns its publish: one telemetry object, a
// JSON array of buffered points, or a nil payload while the vehicle buffers or is silent.
func (v *VehicleSim) Next(now time.Time) (string, []byte) {
	p := v.step(now)
	stepSec := v.cfg.Step.Seconds()

	if v.silentLeft > 0 {
		v.silentLeft--
		return v.topic, nil
	}
	if v.bufferLeft > 0 {
		v.buffer = append(v.buffer, p)
		v.bufferLeft--
		if v.bufferLeft > 0 {
			return v.topic, nil
		}
		b, _ := json.Marshal(v.buffer)
		v.buffer = v.buffer[:0]
		return v.topic, b
	}
	if v.misb.Silent && v.rng.Float64() < stepSec/300 {
		// Out of coverage for 1.5 to 4 minutes; the points are lost.
		v.silentLeft = steps(time.Duration(between(v.rng, 90, 240)*float64(time.Second)), v.cfg.Step)
		return v.topic, nil
	}
	if v.rng.IntN(10) == 0 {
		// Start catching up: hold this and the next few points, publish them as one batch.
		v.buffer = append(v.buffer[:0], p)
		v.bufferLeft = betweenInt(v.rng, 2, 7)
		return v.topic, nil
	}
	b, _ := json.Marshal(p)
	return v.topic, b
}

// step moves the vehicle by one tick and returns the point it reports.
func (v *VehicleSim) step(now time.Time) TelemetryPayload {
	stepSec := v.cfg.Step.Seconds()
	switch {
	case v.stopLeft > 0:
		v.stopLeft--
		v.speed = 0
	case v.speedingLeft > 0:
		v.speedingLeft--
		v.speed = SpeedingKmh + v.rng.NormFloat64()*0.6
		if v.speedingLeft == 0 {
			v.speed = v.hi - 1
		}
	default:
		if v.speed == 0 {
			v.speed = v.lo + 1
		}
		v.speed = clamp(v.speed+v.rng.NormFloat64()*0.8, v.lo+0.3, v.hi-0.3)
		if v.misb.Speeding && v.rng.Float64() < stepSec/240 {
			// About once every four minutes, 20 to 60 seconds of speeding with brushes on.
			v.speedingLeft = steps(time.Duration(between(v.rng, 20, 60)*float64(time.Second)), v.cfg.Step)
		}
	}

	prev := v.pos
	dist := v.speed * stepSec / 3600
	moved := 0.0
	for dist > 1e-9 {
		d := distanceKm(v.pos, v.target)
		if d > dist {
			v.pos = lerp(v.pos, v.target, dist/d)
			moved += dist
			break
		}
		v.pos = v.target
		moved += d
		dist -= d
		v.target = v.route.Next()
		if v.speedingLeft == 0 && v.rng.Float64() < 0.15 {
			// A crossing: wait for 4 to 12 seconds.
			v.stopLeft = steps(time.Duration(between(v.rng, 4, 12)*float64(time.Second)), v.cfg.Step)
			break
		}
	}
	if moved > 0 {
		v.heading = bearing(prev, v.pos)
	}
	v.odometerKm += moved

	// Fuel: about 5% an hour working; the low-fuel vehicle loses 1% a minute and refuels
	// only when nearly empty. Water drains while spraying and is refilled when nearly empty.
	drain := 0.0015
	if v.misb.LowFuel && v.fuelPct < 10 {
		drain = 0.0167
	}
	v.fuelPct -= drain * stepSec
	if v.fuelPct < 1.5 {
		v.fuelPct = between(v.rng, 88, 96)
	}
	waterDrain := 0.008
	if v.cfg.Type == lanewatch.DeviceWasher {
		waterDrain = 0.02
	} else if v.cfg.Type == lanewatch.DeviceSprinkler {
		waterDrain = 0.025
	}
	v.waterPct -= waterDrain * stepSec
	if v.waterPct < 3 {
		v.waterPct = 100
	}

	return TelemetryPayload{
		TS:            formatTS(now),
		Lat:           round(v.pos.Lat, 6),
		Lon:           round(v.pos.Lon, 6),
		SpeedKmh:      round(v.speed, 1),
		Heading:       round(v.heading, 1),
		BrushOn:       v.cfg.Type == lanewatch.DeviceSweeper || v.cfg.Type == "",
		WaterOn:       true,
		WaterLevelPct: round(v.waterPct, 2),
		FuelPct:       round(v.fuelPct, 2),
		OdometerKm:    round(v.odometerKm, 3),
	}
}

// gridRoute drives along a grid of streets inside a box: eight north–south and eight
// east–west streets, turning at crossings, alternating the axis it moves along.
type gridRoute struct {
	rng      *rand.Rand
	lats     []float64
	lons     []float64
	cur      Point
	alongLon bool
}

const gridStreets = 8

func newGridRoute(box Box, rng *rand.Rand) *gridRoute {
	in := box.inset(0.05)
	g := &gridRoute{rng: rng}
	for i := range gridStreets {
		f := float64(i) / (gridStreets - 1)
		g.lats = append(g.lats, in.MinLat+f*(in.MaxLat-in.MinLat))
		g.lons = append(g.lons, in.MinLon+f*(in.MaxLon-in.MinLon))
	}
	g.cur = Point{Lat: g.lats[rng.IntN(gridStreets)], Lon: g.lons[rng.IntN(gridStreets)]}
	g.alongLon = rng.IntN(2) == 0
	return g
}

func (g *gridRoute) Start() Point { return g.cur }

func (g *gridRoute) Next() Point {
	g.alongLon = !g.alongLon
	if g.alongLon {
		g.cur.Lon = pickOther(g.rng, g.lons, g.cur.Lon)
	} else {
		g.cur.Lat = pickOther(g.rng, g.lats, g.cur.Lat)
	}
	return g.cur
}

// pickOther returns a street of lines other than cur, preferring nearby ones (1 to 3 blocks).
func pickOther(rng *rand.Rand, lines []float64, cur float64) float64 {
	i := 0
	for j, l := range lines {
		if l == cur {
			i = j
		}
	}
	d := betweenInt(rng, 1, 3)
	if rng.IntN(2) == 0 {
		d = -d
	}
	j := i + d
	if j < 0 || j >= len(lines) {
		j = i - d
	}
	return lines[j]
}
