package main

import (
	"time"

	"github.com/coattailcapital/coattail/signal"
	"github.com/prometheus/client_golang/prometheus"
)

// signalMetrics holds the signal stage's latency histogram, created when the stage is
// built and registered by registerStageMetrics, so only processes that run the signal
// stage export it.
type signalMetrics struct {
	latency *prometheus.HistogramVec
}

// signalLatency returns the signal stage's Committed callback: it observes, for every
// signal of a committed batch, the time from the event that fired it to the commit,
// into coattail_signal_latency_seconds by rule. On a replay of old files the event
// times are old and the observations land in the top bucket: the series measures
// live latency.
func (d *deps) signalLatency() func([]signal.Stored) {
	if d.sig.latency == nil {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "coattail_signal_latency_seconds",
			Help:    "Time from the event time of the action that fired a signal to the commit of the signal, by rule.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600},
		}, []string{"rule"})
		for _, r := range []string{signal.RuleFollowed, signal.RuleAlpha, signal.RuleConsensus, signal.RuleFlow, signal.RuleAnomaly} {
			h.WithLabelValues(r) // every rule is listed from the start, at 0
		}
		d.sig.latency = h
	}
	h := d.sig.latency
	return func(sigs []signal.Stored) {
		now := time.Now()
		for _, s := range sigs {
			h.WithLabelValues(s.Rule).Observe(max(0, now.Sub(s.TS).Seconds()))
		}
	}
}

// register adds the histogram to reg when the signal stage was built.
func (m signalMetrics) register(reg prometheus.Registerer) {
	if m.latency != nil {
		reg.MustRegister(m.latency)
	}
}

// signalsCommitted is the signal stage's Committed callback: latency, then wake-ups
// of the alert dispatchers and of the paper runner.
func (d *deps) signalsCommitted() func([]signal.Stored) {
	lat, wake, runner := d.signalLatency(), d.alertsCommitted(), d.paperRunner()
	return func(sigs []signal.Stored) {
		lat(sigs)
		wake(sigs)
		runner.Wake()
	}
}
