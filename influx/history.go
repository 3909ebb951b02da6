package influx

import (
	"context"
	"fmt"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"github.com/lanewatch/lanewatch"
)

// HistoryPoint is one stored point read back: its measurement, time, tags and fields.
type HistoryPoint struct {
	Measurement string
	Time        time.Time
	Tags        map[string]string
	Fields      map[string]any
}

// History reads stored points back for replay (rules backtest). It is independent of a Sink:
// it opens no spool and writes nothing.
type History struct {
	client influxdb2.Client
	org    string
	bucket string
}

// NewHistory returns a reader of the given server and bucket.
func NewHistory(url, token, org, bucket string) *History {
	if bucket == "" {
		bucket = "lanewatch/autogen"
	}
	return &History{client: influxdb2.NewClientWithOptions(url, token, influxdb2.DefaultOptions().SetLogLevel(0)),
		org: org, bucket: bucket}
}

// Close releases the client.
func (h *History) Close() { h.client.Close() }

// Replay streams the points of the measurements with from <= time < to to fn in time order
// (one Flux query, pivoted to one row per point, read as it arrives). It stops at fn's first
// error and returns it.
func (h *History) Replay(ctx context.Context, from, to time.Time, measurements []string, fn func(HistoryPoint) error) error {
	if !to.After(from) {
		return fmt.Errorf("influx history: empty time range %s..%s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if len(measurements) == 0 {
		measurements = []string{MeasurementTelemetry, MeasurementCamera, MeasurementPlaqueScan}
	}
	filter := ""
	for i, m := range measurements {
		if i > 0 {
			filter += " or "
		}
		filter += "r._measurement == " + fluxString(m)
	}
	q := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => %s)
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> sort(columns: ["_time"])`,
		fluxString(h.bucket), from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano), filter)
	res, err := h.client.QueryAPI(h.org).Query(ctx, q)
	if err != nil {
		return fmt.Errorf("influx history: %w", err)
	}
	defer res.Close()
	tagNames := map[string]bool{"device": true, "type": true, "district": true, "contractor": true, "action": true, "category": true}
	for res.Next() {
		rec := res.Record()
		p := HistoryPoint{Measurement: rec.Measurement(), Time: rec.Time(), Tags: map[string]string{}, Fields: map[string]any{}}
		for k, v := range rec.Values() {
			switch k {
			case "result", "table", "_start", "_stop", "_measurement", "_time":
				continue
			}
			if v == nil {
				continue
			}
			if s, ok := v.(string); ok && tagNames[k] {
				p.Tags[k] = s
				continue
			}
			p.Fields[k] = v
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("influx history: %w", err)
	}
	return nil
}

// Before returns the device's last telemetry point with at-within <= time < at (coverage
// handoffs between nodes: coverage.Neighbours).
func (h *History) Before(ctx context.Context, deviceID string, at time.Time, within time.Duration) (lanewatch.Telemetry, bool, error) {
	from := at.Add(-within)
	pts, err := h.neighbours(ctx, deviceID, from, at, "tail")
	for i := len(pts) - 1; i >= 0; i-- {
		if ts := pts[i].TS; ts.Before(at) && !ts.Before(from) {
			return pts[i], true, err
		}
	}
	return lanewatch.Telemetry{}, false, err
}

// After returns the device's first telemetry point with at < time <= at+within.
func (h *History) After(ctx context.Context, deviceID string, at time.Time, within time.Duration) (lanewatch.Telemetry, bool, error) {
	to := at.Add(within)
	pts, err := h.neighbours(ctx, deviceID, at, to.Add(time.Nanosecond), "limit")
	for _, p := range pts {
		if p.TS.After(at) && !p.TS.After(to) {
			return p, true, err
		}
	}
	return lanewatch.Telemetry{}, false, err
}

// neighbours reads the first ("limit") or last ("tail") two telemetry points of a device in
// the range from..to, pivoted to one row each, in time order. Two, because InfluxDB 1.8's
// range includes its stop: the callers drop a point on the excluded bound.
func (h *History) neighbours(ctx context.Context, deviceID string, from, to time.Time, pick string) ([]lanewatch.Telemetry, error) {
	q := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %s and r.device == %s)
  |> filter(fn: (r) => r._field == "lat" or r._field == "lon" or r._field == "speed_kmh" or r._field == "heading" or r._field == "brush_on" or r._field == "water_on")
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> sort(columns: ["_time"])
  |> %s(n: 2)`,
		fluxString(h.bucket), from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano),
		fluxString(MeasurementTelemetry), fluxString(deviceID), pick)
	res, err := h.client.QueryAPI(h.org).Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("influx history: %s neighbour: %w", deviceID, err)
	}
	defer res.Close()
	var out []lanewatch.Telemetry
	for res.Next() {
		rec := res.Record()
		lat, okLat := rec.ValueByKey("lat").(float64)
		lon, okLon := rec.ValueByKey("lon").(float64)
		if !okLat || !okLon {
			continue
		}
		p := lanewatch.Telemetry{TS: rec.Time(), Lat: lat, Lon: lon}
		if v, ok := rec.ValueByKey("speed_kmh").(float64); ok {
			p.SpeedKmh, p.Has = v, p.Has|lanewatch.FieldSpeed
		}
		if v, ok := rec.ValueByKey("heading").(float64); ok {
			p.Heading, p.Has = v, p.Has|lanewatch.FieldHeading
		}
		if v, ok := rec.ValueByKey("brush_on").(bool); ok {
			p.BrushOn, p.Has = v, p.Has|lanewatch.FieldBrush
		}
		if v, ok := rec.ValueByKey("water_on").(bool); ok {
			p.WaterOn, p.Has = v, p.Has|lanewatch.FieldWater
		}
		out = append(out, p)
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx history: %s neighbour: %w", deviceID, err)
	}
	return out, nil
}
