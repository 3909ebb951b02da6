package influx

import (
	"testing"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api/write"
	"github.com/lanewatch/lanewatch"
)

func benchTelemetry() lanewatch.Telemetry {
	return lanewatch.Telemetry{
		TS: ts, Lat: 31.230416, Lon: 121.473701, SpeedKmh: 12.5, Heading: 270.5, BrushOn: true, WaterOn: true,
		WaterLevelPct: 80.5, FuelPct: 55.25, OdometerKm: 123456.7,
		Has: lanewatch.FieldSpeed | lanewatch.FieldHeading | lanewatch.FieldBrush | lanewatch.FieldWater |
			lanewatch.FieldWaterLevel | lanewatch.FieldFuel | lanewatch.FieldOdometer,
	}
}

// BenchmarkAppendTelemetry measures the hand-written encoder for one full telemetry point.
func BenchmarkAppendTelemetry(b *testing.B) {
	dev := DeviceTags{ID: "SW-001", Type: "sweeper", District: "xuhui", Contractor: "acme"}
	tel := benchTelemetry()
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendTelemetry(buf[:0], dev, &tel, "seg-42")
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkClientPointAPI encodes the same point with influxdb-client-go's point API, the
// alternative SPEC section 4 measured.
func BenchmarkClientPointAPI(b *testing.B) {
	tel := benchTelemetry()
	var line string
	b.ReportAllocs()
	for b.Loop() {
		p := influxdb2.NewPoint(MeasurementTelemetry,
			map[string]string{"device": "SW-001", "type": "sweeper", "district": "xuhui", "contractor": "acme"},
			map[string]any{"lat": tel.Lat, "lon": tel.Lon, "speed_kmh": tel.SpeedKmh, "heading": tel.Heading,
				"brush_on": tel.BrushOn, "water_on": tel.WaterOn, "water_level_pct": tel.WaterLevelPct,
				"fuel_pct": tel.FuelPct, "odometer_km": tel.OdometerKm, "segment": "seg-42"},
			tel.TS)
		line = write.PointToLineProtocol(p, 1)
	}
	b.SetBytes(int64(len(line)))
}
