package payload

import (
	"slices"
	"time"
	"unicode/utf8"

	"github.com/lanewatch/lanewatch"
	"github.com/valyala/fastjson"
)

// Ranges of the standard telemetry fields.
const (
	maxSpeedKmh = 200
	maxHeading  = 360
	maxPct      = 100
)

// Telemetry decodes a telemetry payload: one JSON object, or a JSON array of them (a backlog
// batch), and appends the points to dst, which it returns. Pass buf[:0] to reuse buf; a single
// point without extra fields then costs no allocation once dst has room.
//
// Required fields are ts, lat and lon; speed_kmh, heading, brush_on, water_on,
// water_level_pct, fuel_pct and odometer_km are optional and recorded in Telemetry.Has; other
// number and boolean fields go to Telemetry.Extra. A batch is accepted or rejected as a whole.
// On error dst is returned with its original length (elements past it may have been written)
// and the error is an *Error naming the field, with the element index in a batch.
func (d *Decoder) Telemetry(p []byte, now time.Time, dst []lanewatch.Telemetry) ([]lanewatch.Telemetry, error) {
	l := d.limits()
	a := at{kind: "telemetry", idx: -1}
	if len(p) > l.MaxPayload {
		return dst, a.errorf(ReasonTooLarge, "", "payload of %d bytes is over the limit of %d", len(p), l.MaxPayload)
	}
	parser, v, e := parse(&smallParsers, p, a)
	if e != nil {
		return dst, e
	}
	defer release(&smallParsers, parser, len(p))

	n0 := len(dst)
	var names []string // extra field names seen in this payload, allocated only if there are extras
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		dst = append(dst, lanewatch.Telemetry{})
		if e := l.point(o, now, a, &dst[n0], &names); e != nil {
			return dst[:n0], e
		}
	case fastjson.TypeArray:
		arr, _ := v.Array()
		if len(arr) == 0 {
			return dst, a.errorf(ReasonMissingField, "", "empty batch")
		}
		if len(arr) > l.MaxBatch {
			return dst, a.errorf(ReasonTooLarge, "", "batch of %d points is over the limit of %d", len(arr), l.MaxBatch)
		}
		dst = slices.Grow(dst, len(arr))
		for i, ev := range arr {
			a.idx = i
			if ev.Type() != fastjson.TypeObject {
				return dst[:n0], a.errorf(ReasonBadType, "", "want a telemetry object, got %s", ev.Type())
			}
			o, _ := ev.Object()
			dst = append(dst, lanewatch.Telemetry{})
			if e := l.point(o, now, a, &dst[len(dst)-1], &names); e != nil {
				return dst[:n0], e
			}
		}
	default:
		return dst, a.errorf(ReasonBadJSON, "", "want a JSON object or array, got %s", v.Type())
	}
	return dst, nil
}

// point decodes one telemetry object into t.
func (d *Decoder) point(o *fastjson.Object, now time.Time, a at, t *lanewatch.Telemetry, names *[]string) *Error {
	*t = lanewatch.Telemetry{}
	var tsV, latV, lonV *fastjson.Value
	var err *Error
	o.Visit(func(key []byte, v *fastjson.Value) {
		if err != nil {
			return
		}
		switch string(key) {
		case "ts":
			tsV = v
		case "lat":
			latV = v
		case "lon":
			lonV = v
		case "speed_kmh":
			err = optNumber(v, a, "speed_kmh", 0, maxSpeedKmh, &t.SpeedKmh, &t.Has, lanewatch.FieldSpeed)
		case "heading":
			err = optNumber(v, a, "heading", 0, maxHeading, &t.Heading, &t.Has, lanewatch.FieldHeading)
		case "water_level_pct":
			err = optNumber(v, a, "water_level_pct", 0, maxPct, &t.WaterLevelPct, &t.Has, lanewatch.FieldWaterLevel)
		case "fuel_pct":
			err = optNumber(v, a, "fuel_pct", 0, maxPct, &t.FuelPct, &t.Has, lanewatch.FieldFuel)
		case "odometer_km":
			err = optNumber(v, a, "odometer_km", 0, maxFloat, &t.OdometerKm, &t.Has, lanewatch.FieldOdometer)
		case "brush_on":
			err = optBool(v, a, "brush_on", &t.BrushOn, &t.Has, lanewatch.FieldBrush)
		case "water_on":
			err = optBool(v, a, "water_on", &t.WaterOn, &t.Has, lanewatch.FieldWater)
		default:
			err = d.extra(key, v, a, t, o.Len(), names)
		}
	})
	if err != nil {
		return err
	}
	if isNull(tsV) {
		return a.errorf(ReasonMissingField, "ts", "required")
	}
	if isNull(latV) {
		return a.errorf(ReasonMissingField, "lat", "required")
	}
	if isNull(lonV) {
		return a.errorf(ReasonMissingField, "lon", "required")
	}
	if t.Lat, err = number(latV, a, "lat"); err != nil {
		return err
	}
	if t.Lon, err = number(lonV, a, "lon"); err != nil {
		return err
	}
	if err = position(t.Lat, t.Lon, a); err != nil {
		return err
	}
	t.TS, err = d.timestamp(tsV, now, a)
	return err
}

// maxFloat is the upper bound of fields that have none (non-finite numbers are refused anyway).
const maxFloat = 1.7976931348623157e308

// optNumber decodes an optional number field within lo..hi into dst and sets bit in has;
// null leaves it absent.
func optNumber(v *fastjson.Value, a at, field string, lo, hi float64, dst *float64, has *uint16, bit uint16) *Error {
	if v.Type() == fastjson.TypeNull {
		return nil
	}
	f, err := number(v, a, field)
	if err != nil {
		return err
	}
	if err := inRange(f, lo, hi, a, field); err != nil {
		return err
	}
	*dst = f
	*has |= bit
	return nil
}

// optBool decodes an optional boolean field into dst and sets bit in has; null leaves it absent.
func optBool(v *fastjson.Value, a at, field string, dst *bool, has *uint16, bit uint16) *Error {
	if v.Type() == fastjson.TypeNull {
		return nil
	}
	b, err := boolean(v, a, field)
	if err != nil {
		return err
	}
	*dst = b
	*has |= bit
	return nil
}

// extra keeps a non-standard number or boolean field in t.Extra. Other JSON types, and names
// that are empty, too long, not UTF-8 or contain control characters, are ignored. nfields is
// the object's field count, used to size Extra once.
func (d *Decoder) extra(key []byte, v *fastjson.Value, a at, t *lanewatch.Telemetry, nfields int, names *[]string) *Error {
	var f lanewatch.ExtraField
	switch v.Type() {
	case fastjson.TypeNumber:
		n, err := number(v, a, clip(string(key), maxExtraNameLen))
		if err != nil {
			return err
		}
		f.Num = n
	case fastjson.TypeTrue:
		f.Bool, f.IsBool = true, true
	case fastjson.TypeFalse:
		f.IsBool = true
	default:
		return nil
	}
	if len(key) == 0 || len(key) > maxExtraNameLen || !utf8.Valid(key) {
		return nil
	}
	for _, c := range key {
		if c < 0x20 || c == 0x7f {
			return nil
		}
	}
	for i := range t.Extra {
		if t.Extra[i].Name == string(key) {
			f.Name = t.Extra[i].Name
			t.Extra[i] = f
			return nil
		}
	}
	if len(t.Extra) >= d.MaxExtra {
		return a.errorf(ReasonTooLarge, "", "more than %d extra fields", d.MaxExtra)
	}
	if t.Extra == nil {
		t.Extra = make([]lanewatch.ExtraField, 0, min(nfields, d.MaxExtra))
	}
	f.Name = intern(names, key)
	t.Extra = append(t.Extra, f)
	return nil
}

// intern returns key as a string, shared with earlier points of the same payload.
func intern(names *[]string, key []byte) string {
	for _, s := range *names {
		if s == string(key) {
			return s
		}
	}
	s := string(key)
	if *names == nil {
		*names = make([]string, 0, 8)
	}
	if len(*names) < 64 {
		*names = append(*names, s)
	}
	return s
}
