package wal

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	appends     prometheus.Counter
	syncs       prometheus.Counter
	syncSeconds prometheus.Histogram
	lag         prometheus.Gauge
	segments    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		appends: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lanewatch_wal_appends_total",
			Help: "Records appended to the write-ahead log and written by the group commit.",
		}),
		syncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lanewatch_wal_syncs_total",
			Help: "Group commits (write + fsync) of the write-ahead log.",
		}),
		syncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lanewatch_wal_sync_seconds",
			Help:    "Duration of a group commit (write + fsync).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lanewatch_wal_lag_bytes",
			Help: "Bytes appended to the write-ahead log but not yet committed by the consumer.",
		}),
		segments: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lanewatch_wal_segments",
			Help: "Segment files of the write-ahead log.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	cs := []prometheus.Collector{m.appends, m.syncs, m.syncSeconds, m.lag, m.segments}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, r := range cs[:i] {
				reg.Unregister(r)
			}
			return nil, err
		}
	}
	return m, nil
}
