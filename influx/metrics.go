package influx

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	pointsWritten   prometheus.Counter
	pointsSpooled   prometheus.Counter
	pointsRejected  prometheus.Counter
	batchesWritten  prometheus.Counter
	writeErrors     prometheus.Counter
	spoolBytes      prometheus.Gauge
	writeSeconds    prometheus.Histogram
	bufferedBatches prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		pointsWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lanewatch_influx_points_written_total",
			Help: "Points accepted by InfluxDB (directly or drained from the spool).",
		}),
		pointsSpooled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lanewatch_influx_points_spooled_total",
			Help: "Points written to the on-disk spool because InfluxDB was unavailable or the spool was not empty.",
		}),
		pointsRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lanewatch_influx_points_rejected_total",
			Help: "Points in batches InfluxDB refused for good (4xx); kept under the spool's rejected/ directory.",
		}),
		batchesWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lanewatch_influx_batches_written_total",
			Help: "Batches accepted by InfluxDB.",
		}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lanewatch_influx_write_errors_total",
			Help: "Failed write requests to InfluxDB (unavailable, timeouts, 5xx and rejections).",
		}),
		spoolBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lanewatch_influx_spool_bytes",
			Help: "Bytes of line protocol waiting in the on-disk spool.",
		}),
		writeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lanewatch_influx_write_seconds",
			Help:    "Duration of write requests to InfluxDB.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}),
		bufferedBatches: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lanewatch_influx_buffered_batches",
			Help: "Sealed batches held in memory waiting for a writer.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.pointsWritten, m.pointsSpooled, m.pointsRejected,
		m.batchesWritten, m.writeErrors, m.spoolBytes, m.writeSeconds, m.bufferedBatches} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
