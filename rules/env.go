package rules

import (
	"fmt"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/internal/geo"
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
	TS  time.Time `expr:"ts" json:"ts,omitzero"`
	Lat float64   `expr:"lat" json:"lat,omitzero"`
	Lon float64   `expr:"lon" json:"lon,omitzero"`
	// Telemetry.
	SpeedKmh      float64        `expr:"speed_kmh" json:"speed_kmh,omitzero"`
	Heading       float64        `expr:"heading" json:"heading,omitzero"`
	BrushOn       bool           `expr:"brush_on" json:"brush_on,omitzero"`
	WaterOn       bool           `expr:"water_on" json:"water_on,omitzero"`
	WaterLevelPct float64        `expr:"water_level_pct" json:"water_level_pct,omitzero"`
	FuelPct       float64        `expr:"fuel_pct" json:"fuel_pct,omitzero"`
	OdometerKm    float64        `expr:"odometer_km" json:"odometer_km,omitzero"`
	Extra         map[string]any `expr:"extra" json:"extra,omitzero"` // vendor fields: msg.extra.pressure_bar
	// Camera event.
	EventID    string  `expr:"event_id" json:"event_id,omitzero"`
	Type       string  `expr:"type" json:"type,omitzero"`
	Confidence float64 `expr:"confidence" json:"confidence,omitzero"`
	// Camera incident (set by the camera component: detections of one camera and type whose
	// boxes overlap within a window are one incident, DOMAIN.md section 7).
	IncidentID        string    `expr:"incident_id" json:"incident_id,omitzero"`
	IncidentFirstSeen time.Time `expr:"incident_first_seen" json:"incident_first_seen,omitzero"`
	DurationS         float64   `expr:"duration_s" json:"duration_s,omitzero"` // since the incident's first detection
	Detections        int       `expr:"detections" json:"detections,omitzero"`
	// Plaque scan.
	ScanID      string `expr:"scan_id" json:"scan_id,omitzero"`
	Action      string `expr:"action" json:"action,omitzero"`
	Category    string `expr:"category" json:"category,omitzero"`
	Description string `expr:"description" json:"description,omitzero"`
	// Status.
	Online bool `expr:"online" json:"online,omitzero"`
	// Coverage (on: coverage groups; see CoverageEvent).
	Segment    string    `expr:"segment" json:"segment,omitzero"`
	RoadName   string    `expr:"road_name" json:"road_name,omitzero"`
	RoadClass  string    `expr:"road_class" json:"road_class,omitzero"`
	District   string    `expr:"district" json:"district,omitzero"`
	Contractor string    `expr:"contractor" json:"contractor,omitzero"`
	Day        string    `expr:"day" json:"day,omitzero"`
	Deadline   time.Time `expr:"deadline" json:"deadline,omitzero"`
	Coverage   float64   `expr:"coverage" json:"coverage,omitzero"`
	Threshold  float64   `expr:"threshold" json:"threshold,omitzero"`
	CoveredM   float64   `expr:"covered_m" json:"covered_m,omitzero"`
	LengthM    float64   `expr:"length_m" json:"length_m,omitzero"`
}

// DeviceEnv is the device as rules see it.
type DeviceEnv struct {
	ID         string            `expr:"id" json:"id,omitempty" yaml:"id"`
	Type       string            `expr:"type" json:"type,omitempty" yaml:"type"`
	District   string            `expr:"district" json:"district,omitempty" yaml:"district"`
	Contractor string            `expr:"contractor" json:"contractor,omitempty" yaml:"contractor"`
	Plate      string            `expr:"plate" json:"plate,omitempty" yaml:"plate"`
	Tags       map[string]string `expr:"tags" json:"tags,omitempty" yaml:"tags"`
}

// RoadEnv is the road segment a telemetry point matched (nil when none).
//
// The scalar fields hold strings but are typed any on purpose: expr compiles `road?.class ==
// "main"` with a string-only equality when the field is typed string, which fails at run time
// when road is nil (expr-lang/expr v1.17). Typed any, the comparison is false for a nil road, as
// operators expect. Field names are still checked at compile time.
type RoadEnv struct {
	ID         any      `expr:"id" json:"id,omitempty" yaml:"id"`
	Name       any      `expr:"name" json:"name,omitempty" yaml:"name"`
	Class      any      `expr:"class" json:"class,omitempty" yaml:"class"`
	District   any      `expr:"district" json:"district,omitempty" yaml:"district"`
	Contractor any      `expr:"contractor" json:"contractor,omitempty" yaml:"contractor"`
	Zones      []string `expr:"zones" json:"zones,omitempty" yaml:"zones"`
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

func telemetryMsg(t *lanewatch.Telemetry, withExtra bool) Msg {
	m := Msg{TS: t.TS, Lat: t.Lat, Lon: t.Lon, SpeedKmh: t.SpeedKmh, Heading: t.Heading, BrushOn: t.BrushOn,
		WaterOn: t.WaterOn, WaterLevelPct: t.WaterLevelPct, FuelPct: t.FuelPct, OdometerKm: t.OdometerKm}
	if withExtra && len(t.Extra) > 0 {
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
			return geo.Distance(p[0].(float64), p[1].(float64), p[2].(float64), p[3].(float64)), nil
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
