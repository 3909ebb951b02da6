package influx

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// QueryTelemetry returns the vehicle_telemetry points of deviceID with from <= time < to,
// oldest first, at most limit (default 1000). Each point is a map holding "time"
// (time.Time), the tags (device, type, district, contractor) and the fields present.
func (s *Sink) QueryTelemetry(ctx context.Context, deviceID string, from, to time.Time, limit int) ([]map[string]any, error) {
	if limit <= 0 {
		limit = 1000
	}
	if !to.After(from) {
		return nil, fmt.Errorf("influx query telemetry: empty time range %s..%s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	q := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %s and r.device == %s)
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> sort(columns: ["_time"])
  |> limit(n: %d)`,
		fluxString(s.opts.Bucket),
		from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano),
		fluxString(MeasurementTelemetry), fluxString(deviceID), limit)
	res, err := s.queryAPI.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("influx query telemetry %q: %w", deviceID, err)
	}
	defer res.Close()
	var out []map[string]any
	for res.Next() {
		rec := res.Record()
		row := make(map[string]any, len(rec.Values()))
		for k, v := range rec.Values() {
			switch k {
			case "result", "table", "_start", "_stop", "_measurement":
				continue
			case "_time":
				row["time"] = v
				continue
			}
			if v != nil {
				row[k] = v
			}
		}
		out = append(out, row)
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx query telemetry %q: %w", deviceID, err)
	}
	return out, nil
}

// fluxString quotes s as a Flux string literal (escaping '\', '"' and the "${" of
// interpolation).
func fluxString(s string) string {
	q := strconv.Quote(s)
	return strings.ReplaceAll(q, "${", `\${`)
}
