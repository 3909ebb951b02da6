package influx

import (
	"context"
	"fmt"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
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
