package loadgen

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/simulators"
)

// tsLayout is the payload timestamp: RFC 3339 with nanoseconds, fixed width, UTC. Latency is
// measured from it, and nanoseconds keep every point of a device distinct in InfluxDB.
const tsLayout = "2006-01-02T15:04:05.000000000Z"

// MarkField is the extra numeric telemetry field carried by marker messages; the benchmark
// rule fires on it and keys its case on its value.
const MarkField = "bench_mark"

// templates holds a client's realistic telemetry objects without their "ts": each is the
// tail `,"lat":...}` that follows `{"ts":"<timestamp>"`.
type templates [][]byte

// newTemplates drives a simulated vehicle for n ticks and keeps its single-object payloads.
func newTemplates(id string, typ lanewatch.DeviceType, district string, seed uint64, index, n int) (templates, error) {
	v := simulators.NewVehicleSim(simulators.VehicleConfig{ID: id, Type: typ, District: district, Seed: seed, Index: index, Step: 2 * time.Second})
	now := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	var out templates
	for i := 0; len(out) < n && i < 50*n; i++ {
		_, p := v.Next(now.Add(time.Duration(i) * 2 * time.Second))
		if len(p) == 0 || p[0] != '{' {
			continue // silent, buffering, or a backlog array
		}
		if !bytes.HasPrefix(p, []byte(`{"ts":"`)) {
			return nil, fmt.Errorf("telemetry payload does not start with ts: %.40s", p)
		}
		end := bytes.Index(p[7:], []byte(`"`))
		if end < 0 {
			return nil, fmt.Errorf("telemetry payload without closing quote of ts: %.40s", p)
		}
		out = append(out, append([]byte(nil), p[7+end+1:]...))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("vehicle %s produced no telemetry", id)
	}
	return out, nil
}

// appendPayload appends one telemetry object stamped ts, from template i; mark > 0 adds the
// marker field.
func (t templates) appendPayload(b []byte, i int, ts time.Time, mark int) []byte {
	b = append(b, `{"ts":"`...)
	b = ts.UTC().AppendFormat(b, tsLayout)
	b = append(b, '"')
	tail := t[i%len(t)]
	if mark <= 0 {
		return append(b, tail...)
	}
	b = append(b, tail[:len(tail)-1]...)
	b = append(b, `,"`+MarkField+`":`...)
	b = strconv.AppendInt(b, int64(mark), 10)
	return append(b, '}')
}

// parseTS reads the timestamp at the start of a payload written by appendPayload.
func parseTS(p []byte) (time.Time, bool) {
	const n = len(`{"ts":"`)
	if len(p) < n+len(tsLayout) || !bytes.HasPrefix(p, []byte(`{"ts":"`)) {
		return time.Time{}, false
	}
	t, err := time.Parse(tsLayout, string(p[n:n+len(tsLayout)]))
	return t, err == nil
}
