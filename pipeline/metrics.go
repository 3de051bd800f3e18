package pipeline

import (
	"time"

	"github.com/coattailcapital/coattail/quality"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the spine's Prometheus series. A nil *Metrics records nothing.
type Metrics struct {
	Read        *prometheus.CounterVec // events read by source kind (replay, demo, ingest)
	Accepted    prometheus.Counter
	DeadLetters *prometheus.CounterVec // by reason
	// QualityChecked counts the inputs judged by the quality rules: every event added
	// or offered to an ingress, and every input rejected by a codec rule.
	QualityChecked prometheus.Counter
	// QualityRejects counts rejects by quality rule (quality.Rules), every rule listed
	// from the start at 0.
	QualityRejects *prometheus.CounterVec
	Committed      *prometheus.CounterVec // entries committed per stage
	BatchSize      *prometheus.HistogramVec
	CommitTime     *prometheus.HistogramVec
	ProduceWaits   prometheus.Counter
}

// NewMetrics creates the series and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Read: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "coattail_events_read_total",
			Help: "Input records read, by origin."}, []string{"origin"}),
		Accepted: prometheus.NewCounter(prometheus.CounterOpts{Name: "coattail_events_accepted_total",
			Help: "Events that passed the quality gate and entered the streams."}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "coattail_dead_letters_total",
			Help: "Rejected inputs, by reason."}, []string{"reason"}),
		QualityChecked: prometheus.NewCounter(prometheus.CounterOpts{Name: "coattail_quality_checked_total",
			Help: "Inputs judged by the data-quality rules (events added or offered, inputs rejected by a codec rule)."}),
		QualityRejects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "coattail_quality_rejects_total",
			Help: "Inputs rejected by a data-quality rule, by rule (docs/EVENTS.md, Quality rules)."}, []string{"rule"}),
		Committed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "coattail_stage_entries_committed_total",
			Help: "Stream entries committed to Postgres, by stage."}, []string{"stage"}),
		BatchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "coattail_stage_batch_size",
			Help: "Entries per committed batch.", Buckets: prometheus.ExponentialBuckets(1, 4, 8)}, []string{"stage"}),
		CommitTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "coattail_stage_commit_seconds",
			Help: "Time to process and commit one batch.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"stage"}),
		ProduceWaits: prometheus.NewCounter(prometheus.CounterOpts{Name: "coattail_produce_backpressure_seconds_total",
			Help: "Time producers spent waiting for room in the streams."}),
	}
	for _, r := range quality.Rules() {
		m.QualityRejects.WithLabelValues(r.Name) // every rule is listed, at 0 until it rejects
	}
	if reg != nil {
		reg.MustRegister(m.Read, m.Accepted, m.DeadLetters, m.QualityChecked, m.QualityRejects,
			m.Committed, m.BatchSize, m.CommitTime, m.ProduceWaits)
	}
	return m
}

// ObserveBatch returns a stream.GroupConfig.Observe callback for stage.
func (m *Metrics) ObserveBatch(stage string) func(shard, applied, dead int, took time.Duration) {
	if m == nil {
		return nil
	}
	return func(_ int, applied, dead int, took time.Duration) {
		m.Committed.WithLabelValues(stage).Add(float64(applied + dead))
		m.BatchSize.WithLabelValues(stage).Observe(float64(applied + dead))
		m.CommitTime.WithLabelValues(stage).Observe(took.Seconds())
	}
}

func (m *Metrics) read(origin string, n int) {
	if m != nil && n > 0 {
		m.Read.WithLabelValues(origin).Add(float64(n))
	}
}

func (m *Metrics) accepted(n int) {
	if m != nil && n > 0 {
		m.Accepted.Add(float64(n))
	}
}

func (m *Metrics) dead(reason string) {
	if m != nil {
		m.DeadLetters.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) checked() {
	if m != nil {
		m.QualityChecked.Inc()
	}
}

func (m *Metrics) qualityReject(rule string) {
	if m != nil {
		m.QualityRejects.WithLabelValues(rule).Inc()
	}
}

func (m *Metrics) backpressure(d time.Duration) {
	if m != nil && d > 0 {
		m.ProduceWaits.Add(d.Seconds())
	}
}
