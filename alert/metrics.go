package alert

import "github.com/prometheus/client_golang/prometheus"

// metrics are the dispatcher's Prometheus series.
type metrics struct {
	latency  *prometheus.HistogramVec // signal created_at -> delivered
	failures *prometheus.CounterVec   // by platform and reason
	sent     *prometheus.CounterVec   // messages accepted, by platform and kind (alert, digest)
	pending  prometheus.GaugeFunc
}

func newMetrics(reg prometheus.Registerer, pending func() float64) *metrics {
	m := &metrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "coattail_alert_delivery_seconds",
			Help:    "Time from a signal's commit (signals.created_at) to the platform accepting its alert; digests and quiet hours included.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600},
		}, []string{"platform"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coattail_alert_failures_total",
			Help: "Failed alert sends, by reason: rate_limited (429, retried), blocked (chat deactivated), error (retried with backoff), dropped (gave up).",
		}, []string{"platform", "reason"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coattail_alert_messages_total",
			Help: "Alert messages the platforms accepted, by kind (alert or digest).",
		}, []string{"platform", "kind"}),
		pending: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "coattail_alert_pending",
			Help: "Alerts in the outbox not yet delivered (including those held for quiet hours or digests), as of the last dispatcher round.",
		}, pending),
	}
	if reg != nil {
		reg.MustRegister(m.latency, m.failures, m.sent, m.pending)
	}
	return m
}

// listPlatform creates platform's series at zero, so /metrics lists the delivery
// latency and every failure reason of each configured platform before the first
// send (a dashboard or an alert rule then sees 0, not a missing series).
func (m *metrics) listPlatform(platform string) {
	m.latency.WithLabelValues(platform)
	for _, reason := range []string{"rate_limited", "blocked", "error", "dropped"} {
		m.failures.WithLabelValues(platform, reason)
	}
}
