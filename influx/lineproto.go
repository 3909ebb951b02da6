package influx

import (
	"hash/fnv"
	"math"
	"strconv"
	"time"

	"github.com/lanewatch/lanewatch"
)

// Measurement names written by this package.
const (
	MeasurementTelemetry     = "vehicle_telemetry"
	MeasurementCamera        = "camera_event"
	MeasurementPlaqueScan    = "plaque_scan"
	MeasurementCaseEvent     = "case_event"
	MeasurementCoverage      = "segment_coverage"
	MeasurementMechanization = "mechanization_rate"
)

// DeviceTags are the registry attributes of a device that become tags of its points.
// Empty values are not written.
type DeviceTags struct {
	ID         string
	Type       string
	District   string
	Contractor string
}

// Tag is one tag of a point written with AppendPoint. Tags with an empty value are skipped.
type Tag struct {
	Key   string
	Value string
}

// FieldType is the line-protocol type of a Field.
type FieldType uint8

// Field types.
const (
	FieldFloat FieldType = iota
	FieldInt
	FieldBool
	FieldString
)

// Field is one field of a point written with AppendPoint. Build it with FloatField, IntField,
// BoolField or StringField.
type Field struct {
	Key   string
	Type  FieldType
	Float float64
	Int   int64
	Bool  bool
	Str   string
}

// FloatField returns a float field. NaN and infinities cannot be stored and are skipped.
func FloatField(key string, v float64) Field { return Field{Key: key, Type: FieldFloat, Float: v} }

// IntField returns an integer field (written with the `i` suffix).
func IntField(key string, v int64) Field { return Field{Key: key, Type: FieldInt, Int: v} }

// BoolField returns a boolean field.
func BoolField(key string, v bool) Field { return Field{Key: key, Type: FieldBool, Bool: v} }

// StringField returns a string field.
func StringField(key, v string) Field { return Field{Key: key, Type: FieldString, Str: v} }

// AppendTelemetry appends one vehicle_telemetry line (ending in '\n') for t to buf and returns
// the extended buffer. segmentID, when not empty, is written as the string field `segment`.
func AppendTelemetry(buf []byte, dev DeviceTags, t *lanewatch.Telemetry, segmentID string) []byte {
	start := len(buf)
	buf = append(buf, MeasurementTelemetry...)
	buf = appendTag(buf, "device", dev.ID)
	buf = appendTag(buf, "type", dev.Type)
	buf = appendTag(buf, "district", dev.District)
	buf = appendTag(buf, "contractor", dev.Contractor)
	var fw fieldWriter
	buf = fw.float(buf, "lat", t.Lat)
	buf = fw.float(buf, "lon", t.Lon)
	if t.Has&lanewatch.FieldSpeed != 0 {
		buf = fw.float(buf, "speed_kmh", t.SpeedKmh)
	}
	if t.Has&lanewatch.FieldHeading != 0 {
		buf = fw.float(buf, "heading", t.Heading)
	}
	if t.Has&lanewatch.FieldBrush != 0 {
		buf = fw.bool(buf, "brush_on", t.BrushOn)
	}
	if t.Has&lanewatch.FieldWater != 0 {
		buf = fw.bool(buf, "water_on", t.WaterOn)
	}
	if t.Has&lanewatch.FieldWaterLevel != 0 {
		buf = fw.float(buf, "water_level_pct", t.WaterLevelPct)
	}
	if t.Has&lanewatch.FieldFuel != 0 {
		buf = fw.float(buf, "fuel_pct", t.FuelPct)
	}
	if t.Has&lanewatch.FieldOdometer != 0 {
		buf = fw.float(buf, "odometer_km", t.OdometerKm)
	}
	for i := range t.Extra {
		e := &t.Extra[i]
		if !validFieldKey(e.Name) {
			continue
		}
		if e.IsBool {
			buf = fw.bool(buf, e.Name, e.Bool)
		} else {
			buf = fw.float(buf, e.Name, e.Num)
		}
	}
	if segmentID != "" {
		buf = fw.string(buf, "segment", segmentID)
	}
	return finishLine(buf, start, fw.n, t.TS)
}

// AppendCamera appends one camera_event line for e to buf. The `type` tag is the event type
// (a camera category), not the device type.
func AppendCamera(buf []byte, dev DeviceTags, e *lanewatch.CameraEvent) []byte {
	start := len(buf)
	buf = append(buf, MeasurementCamera...)
	buf = appendTag(buf, "device", dev.ID)
	buf = appendTag(buf, "type", e.Type)
	buf = appendTag(buf, "district", dev.District)
	var fw fieldWriter
	buf = fw.string(buf, "event_id", e.EventID)
	buf = fw.float(buf, "confidence", e.Confidence)
	if e.HasBBox {
		buf = fw.float(buf, "bbox_x", e.BBox[0])
		buf = fw.float(buf, "bbox_y", e.BBox[1])
		buf = fw.float(buf, "bbox_w", e.BBox[2])
		buf = fw.float(buf, "bbox_h", e.BBox[3])
	}
	if e.HasLocation {
		buf = fw.float(buf, "lat", e.Lat)
		buf = fw.float(buf, "lon", e.Lon)
	}
	return finishLine(buf, start, fw.n, e.TS)
}

// AppendPlaqueScan appends one plaque_scan line for s to buf (field count=1i, so that sum()
// counts scans).
func AppendPlaqueScan(buf []byte, dev DeviceTags, s *lanewatch.PlaqueScan) []byte {
	start := len(buf)
	buf = append(buf, MeasurementPlaqueScan...)
	buf = appendTag(buf, "device", dev.ID)
	buf = appendTag(buf, "action", s.Action)
	buf = appendTag(buf, "category", s.Category)
	buf = appendTag(buf, "district", dev.District)
	var fw fieldWriter
	buf = fw.string(buf, "scan_id", s.ScanID)
	buf = fw.int(buf, "count", 1)
	return finishLine(buf, start, fw.n, scanTime(s))
}

// scanTime is the point time of a scan: its time plus an offset below the precision the time
// was given in (whole seconds, ms or µs), taken from the scan id. Two scans of one plaque in
// the same second are two points (InfluxDB keeps one point per series and timestamp), while a
// replay of the same scan lands on the same point again. Times given to the nanosecond are kept.
func scanTime(s *lanewatch.PlaqueScan) time.Time {
	ts := s.TS
	if ts.IsZero() {
		return ts
	}
	var grain uint64
	switch ns := ts.Nanosecond(); {
	case ns == 0:
		grain = uint64(time.Second)
	case ns%int(time.Millisecond) == 0:
		grain = uint64(time.Millisecond)
	case ns%int(time.Microsecond) == 0:
		grain = uint64(time.Microsecond)
	default:
		return ts
	}
	h := fnv.New64a()
	h.Write([]byte(s.ScanID))
	return ts.Add(time.Duration(h.Sum64() % grain))
}

// AppendCaseEvent appends one case_event line to buf: action (e.g. "open", "dispatch",
// "close") was applied to c at ts, and c.Status is the status it led to.
func AppendCaseEvent(buf []byte, c *lanewatch.Case, action string, ts time.Time) []byte {
	start := len(buf)
	buf = append(buf, MeasurementCaseEvent...)
	buf = appendTag(buf, "category", c.Category)
	buf = appendTag(buf, "source", c.Source)
	buf = appendTag(buf, "district", c.District)
	buf = appendTag(buf, "action", action)
	var fw fieldWriter
	buf = fw.string(buf, "case_id", c.ID)
	buf = fw.string(buf, "status", string(c.Status))
	return finishLine(buf, start, fw.n, ts)
}

// AppendPoint appends one line with the given measurement, tags (in the order given; sorted
// by key is best for InfluxDB, empty values are skipped), fields and timestamp (omitted when
// zero, so the server stamps it). A point without any writable field is not written at all:
// buf is returned unchanged.
func AppendPoint(buf []byte, measurement string, tags []Tag, fields []Field, ts time.Time) []byte {
	start := len(buf)
	buf = appendEscaped(buf, measurement, escMeasurement)
	for i := range tags {
		buf = appendTag(buf, tags[i].Key, tags[i].Value)
	}
	var fw fieldWriter
	for i := range fields {
		f := &fields[i]
		if !validFieldKey(f.Key) {
			continue
		}
		switch f.Type {
		case FieldFloat:
			buf = fw.float(buf, f.Key, f.Float)
		case FieldInt:
			buf = fw.int(buf, f.Key, f.Int)
		case FieldBool:
			buf = fw.bool(buf, f.Key, f.Bool)
		case FieldString:
			buf = fw.string(buf, f.Key, f.Str)
		}
	}
	return finishLine(buf, start, fw.n, ts)
}

// validFieldKey reports whether key can be written as a field key: InfluxDB rejects the
// whole point for an empty key or the key "time".
func validFieldKey(key string) bool { return key != "" && key != "time" }

// finishLine appends the timestamp and the newline, or drops the line if it has no field.
func finishLine(buf []byte, start, fields int, ts time.Time) []byte {
	if fields == 0 {
		return buf[:start]
	}
	if !ts.IsZero() {
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, ts.UnixNano(), 10)
	}
	return append(buf, '\n')
}

// fieldWriter appends fields, writing the ' ' before the first and ',' before the others.
type fieldWriter struct{ n int }

func (w *fieldWriter) key(buf []byte, key string) []byte {
	if w.n == 0 {
		buf = append(buf, ' ')
	} else {
		buf = append(buf, ',')
	}
	w.n++
	buf = appendEscaped(buf, key, escKey)
	return append(buf, '=')
}

func (w *fieldWriter) float(buf []byte, key string, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return buf
	}
	buf = w.key(buf, key)
	return strconv.AppendFloat(buf, v, 'g', -1, 64)
}

func (w *fieldWriter) int(buf []byte, key string, v int64) []byte {
	buf = w.key(buf, key)
	buf = strconv.AppendInt(buf, v, 10)
	return append(buf, 'i')
}

func (w *fieldWriter) bool(buf []byte, key string, v bool) []byte {
	buf = w.key(buf, key)
	if v {
		return append(buf, 't')
	}
	return append(buf, 'f')
}

func (w *fieldWriter) string(buf []byte, key, v string) []byte {
	buf = w.key(buf, key)
	buf = append(buf, '"')
	buf = appendEscaped(buf, v, escString)
	return append(buf, '"')
}

func appendTag(buf []byte, key, value string) []byte {
	if value == "" || key == "" {
		return buf
	}
	buf = append(buf, ',')
	buf = appendEscaped(buf, key, escKey)
	buf = append(buf, '=')
	return appendEscaped(buf, value, escKey)
}

// Escaping contexts.
const (
	escMeasurement = iota // ',' and ' '
	escKey                // ',', '=' and ' ' (tag keys, tag values, field keys)
	escString             // '"' and '\' inside a double-quoted string field
)

// appendEscaped appends s escaped for context ctx. Newlines, carriage returns and tabs can
// not appear raw in any context (a line ends at '\n', and the spool splits on it), so they
// are written as the two-character sequences \n, \r and \t. In measurements and keys a
// trailing backslash is doubled so that it cannot escape the separator that follows.
func appendEscaped(buf []byte, s string, ctx int) []byte {
	clean := true
	for i := 0; i < len(s); i++ {
		if needsEscape(s[i], ctx) {
			clean = false
			break
		}
	}
	if clean && (ctx == escString || len(s) == 0 || s[len(s)-1] != '\\') {
		return append(buf, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\n':
			buf = append(buf, '\\', 'n')
			continue
		case '\r':
			buf = append(buf, '\\', 'r')
			continue
		case '\t':
			buf = append(buf, '\\', 't')
			continue
		}
		if needsEscape(c, ctx) {
			buf = append(buf, '\\')
		} else if c == '\\' && ctx != escString && i == len(s)-1 {
			buf = append(buf, '\\')
		}
		buf = append(buf, c)
	}
	return buf
}

func needsEscape(c byte, ctx int) bool {
	switch c {
	case '\n', '\r', '\t':
		return true
	}
	switch ctx {
	case escMeasurement:
		return c == ',' || c == ' '
	case escKey:
		return c == ',' || c == '=' || c == ' '
	default:
		return c == '"' || c == '\\'
	}
}
