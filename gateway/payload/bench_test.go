package payload

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"github.com/lanewatch/lanewatch"
)

// benchPoint is a typical sweeper telemetry point: all standard fields, no extras.
const benchPoint = `{"ts":"2024-06-10T07:59:00.250Z","lat":31.2304,"lon":121.4737,"speed_kmh":12.5,"heading":270,"brush_on":true,"water_on":false,"water_level_pct":64,"fuel_pct":80,"odometer_km":10234.5}`

func BenchmarkTelemetrySingle(b *testing.B) {
	var d Decoder
	p := []byte(benchPoint)
	dst := make([]lanewatch.Telemetry, 0, 1)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = d.Telemetry(p, now, dst[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTelemetrySingleExtras(b *testing.B) {
	var d Decoder
	p := []byte(strings.TrimSuffix(benchPoint, "}") + `,"rpm":1500,"hydraulic_bar":120.5,"door_open":false}`)
	dst := make([]lanewatch.Telemetry, 0, 1)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = d.Telemetry(p, now, dst[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTelemetryBatch100(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[")
	for i := range 100 {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`{"ts":`)
		sb.WriteString(strconv.FormatInt(nowMs-int64(100-i)*1000, 10))
		sb.WriteString(`,"lat":31.2304,"lon":121.4737,"speed_kmh":12.5,"heading":270,"brush_on":true,"water_on":false,"water_level_pct":64,"fuel_pct":80,"odometer_km":10234.5}`)
	}
	sb.WriteString("]")
	p := []byte(sb.String())
	var d Decoder
	dst := make([]lanewatch.Telemetry, 0, 100)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = d.Telemetry(p, now, dst[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTelemetryRejected(b *testing.B) {
	var d Decoder
	p := []byte(`{"ts":"2024-06-10T07:59:00Z","lat":95.2,"lon":121.4737}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Telemetry(p, now, nil); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkCamera(b *testing.B) {
	var d Decoder
	img := append(append([]byte{}, fakeJPEG...), make([]byte, 32<<10)...) // a 32 KiB snapshot
	p := []byte(cam(`"confidence":0.87`, `"bbox":[0.1,0.2,0.3,0.4]`, `"lat":31.2,"lon":121.5`, `"snapshot":"`+base64.StdEncoding.EncodeToString(img)+`"`))
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Camera(p, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCameraNoSnapshot(b *testing.B) {
	var d Decoder
	p := []byte(cam(`"confidence":0.87`, `"bbox":[0.1,0.2,0.3,0.4]`, `"lat":31.2,"lon":121.5`, `"snapshot_url":"https://cdn.example.com/cam/1/2024/06/10/ev-1.jpg"`))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Camera(p, now); err != nil {
			b.Fatal(err)
		}
	}
}
