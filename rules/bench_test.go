package rules

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
)

// BenchmarkHandle100Rules evaluates 100 non-matching telemetry rules against one message.
func BenchmarkHandle100Rules(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("groups:\n  - name: g\n    on: telemetry\n    rules:\n")
	for i := range 100 {
		fmt.Fprintf(&sb, "      - name: r%d\n        when: device.type == \"sweeper\" && msg.speed_kmh > %d && msg.brush_on\n        for: 1m\n        case: {category: \"9002\"}\n", i, 100+i)
	}
	rs, err := Parse("bench.yaml", []byte(sb.String()), LoadOptions{Location: time.UTC})
	if err != nil {
		b.Fatal(err)
	}
	e, _ := NewEngine(EngineOptions{Opener: &fakeOpener{}, Registerer: prometheus.NewPedanticRegistry()})
	e.Swap(rs)
	dev := &lanewatch.Device{ID: "sw-001", Type: lanewatch.DeviceSweeper, District: "xiqu"}
	msg := &lanewatch.Message{Kind: lanewatch.KindTelemetry, DeviceID: dev.ID,
		Telemetry: []lanewatch.Telemetry{{TS: time.Now(), Lat: 22.51, Lon: 113.375, SpeedKmh: 9, BrushOn: true, FuelPct: 60,
			Extra: []lanewatch.ExtraField{{Name: "pressure_bar", Num: 2.1}}}}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Handle(ctx, msg, dev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/rule")
}
