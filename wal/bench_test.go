package wal

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

const benchRecord = 200

// BenchmarkAppendDurableParallel measures group commit: many goroutines (16 per CPU, like
// many MQTT clients) each waiting for their record to be fsynced.
func BenchmarkAppendDurableParallel(b *testing.B) {
	reg := prometheus.NewPedanticRegistry()
	l := openT(b, Options{Dir: b.TempDir(), MaxLagBytes: 1 << 40, Registerer: reg})
	ctx := context.Background()
	rec := make([]byte, benchRecord)
	b.SetBytes(benchRecord)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Append(ctx, rec, true); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	syncs := metricValue(b, reg, "lanewatch_wal_syncs_total")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.N)/max(syncs, 1), "records/sync")
}

// BenchmarkAppendNonDurable measures queueing a record without waiting for its sync.
func BenchmarkAppendNonDurable(b *testing.B) {
	l := openT(b, Options{Dir: b.TempDir(), MaxLagBytes: 1 << 40})
	ctx := context.Background()
	rec := make([]byte, benchRecord)
	b.SetBytes(benchRecord)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Append(ctx, rec, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkRead measures the consumer reading fsynced records from segment files.
func BenchmarkRead(b *testing.B) {
	l := openT(b, Options{Dir: b.TempDir(), SegmentBytes: 8 << 20, MaxLagBytes: 1 << 40})
	ctx := context.Background()
	rec := make([]byte, benchRecord)
	for i := 0; i < b.N; i++ {
		if _, err := l.Append(ctx, rec, i == b.N-1); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(benchRecord)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := l.Next(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
