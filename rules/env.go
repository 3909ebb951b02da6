package rules

import (
	"fmt"
	"math"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"

	"github.com/lanewatch/lanewatch"
)

// Env is the expression environment of a rule (SPEC 5.2). It is passed by value: expr runs
// faster on a struct value than on a pointer.
type Env struct {
	Msg    Msg        `expr:"msg"`
	Device DeviceEnv  `expr:"device"`
	Road   *RoadEnv   `expr:"road"`
	Now    time.Time  `expr:"now"`
	Kind   string     `expr:"kind"`
	Zones  ZoneTester `expr:"-"`
}

// Msg is the decoded payload as rules see it. Fields of other message kinds are zero.
type Msg struct {
	TS  time.Time `expr:"ts"`
	Lat float64   `expr:"lat"`
	Lon float64   `expr:"lon"`
	// Telemetry.
	SpeedKmh      float64        `expr:"speed_kmh"`
	Heading       float64        `expr:"heading"`
	BrushOn       bool           `expr:"brush_on"`
	WaterOn       bool           `expr:"water_on"`
	WaterLevelPct float64        `expr:"water_level_pct"`
	FuelPct       float64        `expr:"fuel_pct"`
	OdometerKm    float64        `expr:"odometer_km"`
	Extra         map[string]any `expr:"extra"` // vendor fields: msg.extra.pressure_bar
	// Camera event.
	EventID    string  `expr:"event_id"`
	Type       string  `expr:"type"`
	Confidence float64 `expr:"confidence"`
	// Plaque scan.
	ScanID      string `expr:"scan_id"`
	Action      string `expr:"action"`
	Category    string `expr:"category"`
	Description string `expr:"description"`
	// Status.
	Online bool `expr:"online"`
}

// DeviceEnv is the device as rules see it.
type DeviceEnv struct {
	ID         string            `expr:"id"`
	Type       string            `expr:"type"`
	District   string            `expr:"district"`
	Contractor string            `expr:"contractor"`
	Plate      string            `expr:"plate"`
	Tags       map[string]string `expr:"tags"`
}

// RoadEnv is the road segment a telemetry point matched (nil when none).
type RoadEnv struct {
	ID         string   `expr:"id"`
	Name       string   `expr:"name"`
	Class      string   `expr:"class"`
	District   string   `expr:"district"`
	Contractor string   `expr:"contractor"`
	Zones      []string `expr:"zones"`
}

// ZoneTester answers whether a point lies in a named zone; it is provided by the coverage
// component (nil means no zones are configured).
type ZoneTester interface {
	InZone(name string, lat, lon float64) bool
}

func deviceEnv(d *lanewatch.Device) DeviceEnv {
	return DeviceEnv{ID: d.ID, Type: string(d.Type), District: d.District, Contractor: d.Contractor,
		Plate: d.Plate, Tags: d.Tags}
}

func telemetryMsg(t *lanewatch.Telemetry) Msg {
	m := Msg{TS: t.TS, Lat: t.Lat, Lon: t.Lon, SpeedKmh: t.SpeedKmh, Heading: t.Heading, BrushOn: t.BrushOn,
		WaterOn: t.WaterOn, WaterLevelPct: t.WaterLevelPct, FuelPct: t.FuelPct, OdometerKm: t.OdometerKm}
	if len(t.Extra) > 0 {
		m.Extra = make(map[string]any, len(t.Extra))
		for _, e := range t.Extra {
			if e.IsBool {
				m.Extra[e.Name] = e.Bool
			} else {
				m.Extra[e.Name] = e.Num
			}
		}
	}
	return m
}

// exprOptions are the compile options shared by every rule expression: the typed environment
// and the helper functions of SPEC 5.2.
func exprOptions(loc *time.Location) []expr.Option {
	return []expr.Option{
		expr.Env(Env{}),
		expr.Function("distance", func(p ...any) (any, error) {
			return Distance(p[0].(float64), p[1].(float64), p[2].(float64), p[3].(float64)), nil
		}, new(func(float64, float64, float64, float64) float64)),
		expr.Function("hour", func(p ...any) (any, error) {
			return p[0].(time.Time).In(loc).Hour(), nil
		}, new(func(time.Time) int)),
		expr.Function("weekday", func(p ...any) (any, error) {
			// 1 = Monday … 7 = Sunday, as Chinese calendars count.
			wd := int(p[0].(time.Time).In(loc).Weekday())
			if wd == 0 {
				wd = 7
			}
			return wd, nil
		}, new(func(time.Time) int)),
		expr.Function("inZone", func(p ...any) (any, error) {
			env, ok := p[0].(Env)
			if !ok {
				return false, fmt.Errorf("inZone: environment missing")
			}
			if env.Zones == nil {
				return false, nil
			}
			return env.Zones.InZone(p[1].(string), env.Msg.Lat, env.Msg.Lon), nil
		}, new(func(Env, string) bool)),
		expr.Patch(inZonePatcher{}),
	}
}

// Distance returns the great-circle distance in metres between two WGS-84 points.
func Distance(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371008.8
	toRad := math.Pi / 180
	dLat := (lat2 - lat1) * toRad
	dLon := (lon2 - lon1) * toRad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*toRad)*math.Cos(lat2*toRad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// inZonePatcher rewrites inZone(name) to inZone($env, name) so the helper can see the message's
// position without a closure per evaluation.
type inZonePatcher struct{}

func (inZonePatcher) Visit(node *ast.Node) {
	call, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok || id.Value != "inZone" || len(call.Arguments) != 1 {
		return
	}
	call.Arguments = append([]ast.Node{&ast.IdentifierNode{Value: "$env"}}, call.Arguments...)
}
