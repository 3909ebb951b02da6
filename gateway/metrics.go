package gateway

import (
	"fmt"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/prometheus/client_golang/prometheus"
)

type brokerMetrics struct {
	connected     prometheus.Gauge
	authFailures  prometheus.Counter
	aclDenied     *prometheus.CounterVec
	dropped       *prometheus.CounterVec
	journalErrors prometheus.Counter
	appendSeconds prometheus.Histogram
	acceptErrors  *prometheus.CounterVec
	authThrottled prometheus.Counter
	// retainedRefused counts retained publishes delivered but not retained (per-device limits).
	retainedRefused prometheus.Counter
	// connectRefused counts authenticated CONNECTs refused by reason: client_id, takeover, will.
	connectRefused *prometheus.CounterVec
	// writeOverflows counts connections closed because their write buffer reached its bound.
	writeOverflows prometheus.Counter
}

func newBrokerMetrics(reg prometheus.Registerer, _ *mqtt.Server) (*brokerMetrics, error) {
	m := &brokerMetrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lanewatch_mqtt_clients_connected", Help: "MQTT clients with an established session."}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lanewatch_mqtt_auth_failures_total", Help: "CONNECTs refused for bad credentials."}),
		aclDenied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanewatch_mqtt_acl_denied_total", Help: "Publishes and subscriptions refused by the ACL."}, []string{"op"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanewatch_mqtt_dropped_total", Help: "Messages not delivered to a subscriber that fell behind: reason publish_dropped (outbound queue full), qos_dropped (in-flight expired or cleared), queue_bytes (over mqtt.max_queue_bytes)."}, []string{"reason"}),
		journalErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lanewatch_journal_append_errors_total", Help: "Publishes not acknowledged because the journal refused them."}),
		appendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "lanewatch_journal_append_seconds", Help: "Time a publish waited for the journal (including fsync for QoS 1).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 8)}),
		acceptErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanewatch_mqtt_accept_errors_total", Help: "Runs of Accept errors on an MQTT listener (each run counted once)."}, []string{"listener"}),
		authThrottled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lanewatch_mqtt_auth_throttled_total", Help: "CONNECTs refused without a password check: their address failed and has no check left this second."}),
		retainedRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lanewatch_mqtt_retained_refused_total", Help: "Retained publishes delivered but not retained: the device is at its retained count or bytes limit."}),
		connectRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanewatch_mqtt_connect_refused_total", Help: "Authenticated CONNECTs refused: foreign client id, takeover of another user's session, Last Will outside the ACL."}, []string{"reason"}),
	}
	m.writeOverflows = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "lanewatch_mqtt_write_overflow_closed_total", Help: "MQTT connections closed because the peer did not read and their write buffer reached 2 x mqtt.max_queue_bytes + max_packet_bytes."})
	for _, c := range []prometheus.Collector{m.writeOverflows, m.connected, m.authFailures, m.aclDenied, m.dropped, m.journalErrors, m.appendSeconds, m.acceptErrors, m.authThrottled, m.connectRefused, m.retainedRefused} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register gateway metrics: %w", err)
		}
	}
	return m, nil
}
