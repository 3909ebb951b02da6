package jt808

import (
	"encoding/binary"
	"encoding/json"
	"time"
)

// point is the telemetry object (SPEC 3) of one location report, as MQTT vehicles send it.
// Additional-information items become fields: odometer_km (0x01, 1/10 km), fuel_l (0x02,
// 1/10 L), tacho_speed_kmh (0x03, 1/10 km/h), alarm_event_id (0x04), signal_status (0x25),
// io_status (0x2A), analog (0x2B), rssi (0x30), satellites (0x31); the status word's ACC
// bit becomes acc_on, and the model's work flags brush_on and water_on.
func point(l *Location, m *Model) map[string]any {
	p := map[string]any{
		"ts": l.Time.UTC().Format(time.RFC3339), "lat": l.Lat, "lon": l.Lon, "speed_kmh": l.SpeedKmh,
		"heading": l.Heading, "altitude_m": l.AltitudeM, "alarm": l.Alarm, "status": l.Status,
		"acc_on": l.Status&StatusACC != 0,
	}
	for _, it := range l.Items {
		v := it.Value
		switch {
		case it.ID == 0x01 && len(v) == 4:
			p["odometer_km"] = float64(binary.BigEndian.Uint32(v)) / 10
		case it.ID == 0x02 && len(v) == 2:
			p["fuel_l"] = float64(binary.BigEndian.Uint16(v)) / 10
		case it.ID == 0x03 && len(v) == 2:
			p["tacho_speed_kmh"] = float64(binary.BigEndian.Uint16(v)) / 10
		case it.ID == 0x04 && len(v) == 2:
			p["alarm_event_id"] = binary.BigEndian.Uint16(v)
		case it.ID == 0x25 && len(v) == 4:
			p["signal_status"] = binary.BigEndian.Uint32(v)
		case it.ID == 0x2A && len(v) == 2:
			p["io_status"] = binary.BigEndian.Uint16(v)
		case it.ID == 0x2B && len(v) == 4:
			p["analog"] = binary.BigEndian.Uint32(v)
		case it.ID == 0x30 && len(v) == 1:
			p["rssi"] = v[0]
		case it.ID == 0x31 && len(v) == 1:
			p["satellites"] = v[0]
		}
	}
	if m != nil {
		if m.Brush != nil {
			if on, ok := m.Brush.flag(l); ok {
				p["brush_on"] = on
			}
		}
		if m.Water != nil {
			if on, ok := m.Water.flag(l); ok {
				p["water_on"] = on
			}
		}
	}
	return p
}

// telemetryPayload is the JSON of the positioned reports among locs (one object, or an array
// for several); nil when none is positioned.
func telemetryPayload(locs []*Location, m *Model) ([]byte, int) {
	var pts []map[string]any
	for _, l := range locs {
		if l.Status&StatusPositioned == 0 {
			continue
		}
		pts = append(pts, point(l, m))
	}
	switch len(pts) {
	case 0:
		return nil, 0
	case 1:
		b, _ := json.Marshal(pts[0])
		return b, 1
	}
	b, _ := json.Marshal(pts)
	return b, len(pts)
}
