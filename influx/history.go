package influx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/lanewatch/lanewatch"
)

// HistoryPoint is one stored point read back: its measurement, time, tags and fields.
type HistoryPoint struct {
	Measurement string
	Time        time.Time
	Tags        map[string]string
	Fields      map[string]any
}

// History reads stored points back for replay (rules backtest) and coverage handoffs. It is
// independent of a Sink: it opens no spool and writes nothing. It reads with InfluxQL over
// the v1 /query API, which InfluxDB 1.x serves with its default configuration (Flux off),
// 2.x through its DBRP mapping and 3.x.
type History struct {
	hc *http.Client
	v1 *v1
}

// NewHistory returns a reader of the given server and bucket ("db/rp" for 1.x, a bucket or
// database name for 2.x and 3.x). org is not needed by the v1 API.
func NewHistory(url, token, org, bucket string) *History {
	_ = org
	if bucket == "" {
		bucket = "lanewatch/autogen"
	}
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	return &History{hc: hc, v1: newV1(url, token, bucket, hc)}
}

// Close releases the client's idle connections.
func (h *History) Close() { h.hc.CloseIdleConnections() }

// Replay streams the points of the measurements with from <= time < to to fn in time order
// (one InfluxQL query per measurement, read as it arrives and merged by time). It stops at
// fn's first error and returns it.
func (h *History) Replay(ctx context.Context, from, to time.Time, measurements []string, fn func(HistoryPoint) error) error {
	if !to.After(from) {
		return fmt.Errorf("influx history: empty time range %s..%s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if len(measurements) == 0 {
		measurements = []string{MeasurementTelemetry, MeasurementCamera, MeasurementPlaqueScan}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type stream struct {
		m    string
		ft   map[string]string
		rs   *rows
		next *HistoryPoint
	}
	var streams []*stream
	defer func() {
		for _, s := range streams {
			s.rs.Close()
		}
	}()
	advance := func(s *stream) error {
		s.next = nil
		ser, row, err := s.rs.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("influx history: %s: %w", s.m, err)
		}
		p := HistoryPoint{Measurement: s.m, Tags: map[string]string{}, Fields: map[string]any{}}
		for i, col := range ser.Columns {
			if i >= len(row) || row[i] == nil {
				continue
			}
			if col == "time" {
				p.Time = rowTime(row[i])
				continue
			}
			if typ, isField := s.ft[col]; isField {
				p.Fields[col] = value(row[i], typ)
				continue
			}
			if str, ok := row[i].(string); ok {
				if str != "" {
					p.Tags[col] = str
				}
				continue
			}
			p.Fields[col] = value(row[i], "")
		}
		s.next = &p
		return nil
	}
	for _, m := range measurements {
		ft, err := h.v1.fieldTypes(ctx, m, true)
		if err != nil {
			return fmt.Errorf("influx history: %s: %w", m, err)
		}
		if len(ft) == 0 {
			continue // nothing ever written
		}
		q := fmt.Sprintf(`SELECT * FROM %s WHERE time >= %s AND time < %s ORDER BY time ASC`, quoteIdent(m), timeLit(from), timeLit(to))
		rs, err := h.v1.open(ctx, q)
		if err != nil {
			return fmt.Errorf("influx history: %s: %w", m, err)
		}
		s := &stream{m: m, ft: ft, rs: rs}
		streams = append(streams, s)
		if err := advance(s); err != nil {
			return err
		}
	}
	for {
		var first *stream
		for _, s := range streams {
			if s.next != nil && (first == nil || s.next.Time.Before(first.next.Time)) {
				first = s
			}
		}
		if first == nil {
			return nil
		}
		if err := fn(*first.next); err != nil {
			return err
		}
		if err := advance(first); err != nil {
			return err
		}
	}
}

// Before returns the device's last telemetry point with at-within <= time < at (coverage
// handoffs between nodes: coverage.Neighbours).
func (h *History) Before(ctx context.Context, deviceID string, at time.Time, within time.Duration) (lanewatch.Telemetry, bool, error) {
	from := at.Add(-within)
	pts, err := h.neighbours(ctx, deviceID, fmt.Sprintf("time >= %s AND time < %s ORDER BY time DESC", timeLit(from), timeLit(at)))
	for _, p := range pts {
		if ts := p.TS; ts.Before(at) && !ts.Before(from) {
			return p, true, err
		}
	}
	return lanewatch.Telemetry{}, false, err
}

// After returns the device's first telemetry point with at < time <= at+within.
func (h *History) After(ctx context.Context, deviceID string, at time.Time, within time.Duration) (lanewatch.Telemetry, bool, error) {
	to := at.Add(within)
	pts, err := h.neighbours(ctx, deviceID, fmt.Sprintf("time > %s AND time <= %s ORDER BY time ASC", timeLit(at), timeLit(to)))
	for _, p := range pts {
		if p.TS.After(at) && !p.TS.After(to) {
			return p, true, err
		}
	}
	return lanewatch.Telemetry{}, false, err
}

// neighbours reads up to two telemetry points of a device with the fields coverage needs,
// in the order of the time condition and ordering cond.
func (h *History) neighbours(ctx context.Context, deviceID, cond string) ([]lanewatch.Telemetry, error) {
	q := fmt.Sprintf(`SELECT "lat", "lon", "speed_kmh", "heading", "brush_on", "water_on" FROM %s WHERE "device" = %s AND %s LIMIT 2`,
		quoteIdent(MeasurementTelemetry), quoteString(deviceID), cond)
	var out []lanewatch.Telemetry
	err := h.v1.all(ctx, q, func(ser *v1Series, row []any) error {
		col := map[string]any{}
		for i, c := range ser.Columns {
			if i < len(row) && row[i] != nil {
				col[c] = row[i]
			}
		}
		num := func(k string) (float64, bool) {
			n, ok := col[k].(json.Number)
			if !ok {
				return 0, false
			}
			f, err := n.Float64()
			return f, err == nil
		}
		lat, okLat := num("lat")
		lon, okLon := num("lon")
		if !okLat || !okLon {
			return nil
		}
		p := lanewatch.Telemetry{TS: rowTime(col["time"]), Lat: lat, Lon: lon}
		if v, ok := num("speed_kmh"); ok {
			p.SpeedKmh, p.Has = v, p.Has|lanewatch.FieldSpeed
		}
		if v, ok := num("heading"); ok {
			p.Heading, p.Has = v, p.Has|lanewatch.FieldHeading
		}
		if v, ok := col["brush_on"].(bool); ok {
			p.BrushOn, p.Has = v, p.Has|lanewatch.FieldBrush
		}
		if v, ok := col["water_on"].(bool); ok {
			p.WaterOn, p.Has = v, p.Has|lanewatch.FieldWater
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("influx history: %s neighbour: %w", deviceID, err)
	}
	return out, nil
}
