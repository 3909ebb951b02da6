package influx

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// QueryTelemetry returns the vehicle_telemetry points of deviceID with from <= time < to,
// oldest first, at most limit (default 1000). Each point is a map holding "time"
// (time.Time), the tags (device, type, district, contractor) and the fields present. It reads
// with InfluxQL over the v1 /query API (InfluxDB 1.x defaults, 2.x with a DBRP mapping, 3.x).
func (s *Sink) QueryTelemetry(ctx context.Context, deviceID string, from, to time.Time, limit int) ([]map[string]any, error) {
	if limit <= 0 {
		limit = 1000
	}
	if !to.After(from) {
		return nil, fmt.Errorf("influx query telemetry: empty time range %s..%s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	ft, err := s.v1.fieldTypes(ctx, MeasurementTelemetry, false)
	if err != nil {
		return nil, fmt.Errorf("influx query telemetry %q: %w", deviceID, err)
	}
	q := fmt.Sprintf(`SELECT * FROM %s WHERE "device" = %s AND time >= %s AND time < %s ORDER BY time ASC LIMIT %d`,
		quoteIdent(MeasurementTelemetry), quoteString(deviceID), timeLit(from), timeLit(to), limit)
	var out []map[string]any
	refreshed := false
	err = s.v1.all(ctx, q, func(ser *v1Series, row []any) error {
		m := make(map[string]any, len(row))
		for i, col := range ser.Columns {
			if i >= len(row) || row[i] == nil {
				continue
			}
			if col == "time" {
				m["time"] = rowTime(row[i])
				continue
			}
			typ, isField := ft[col]
			if _, num := row[i].(json.Number); num && !isField && !refreshed {
				refreshed = true // a field written after the types were read
				if nft, err := s.v1.fieldTypes(ctx, MeasurementTelemetry, true); err == nil {
					ft = nft
					typ = ft[col]
				}
			}
			if str, ok := row[i].(string); ok && str == "" && !isField {
				continue // a tag the point does not have
			}
			m[col] = value(row[i], typ)
		}
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("influx query telemetry %q: %w", deviceID, err)
	}
	return out, nil
}
