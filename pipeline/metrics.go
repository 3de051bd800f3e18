package pipeline

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the spine's Prometheus series. A nil *Metrics records nothing.
type Metrics struct {
	Read         *prometheus.CounterVec // events read by source kind (replay, demo, ingest)
	Accepted     prometheus.Counter
	DeadLetters  *prometheus.CounterVec // by reason
	Committed    *prometheus.CounterVec // entries committed per stage
	BatchSize    *prometheus.HistogramVec
	CommitTime   *prometheus.HistogramVec
	ProduceWaits prometheus.Counter
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
		Committed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "coattail_stage_entries_committed_total",
			Help: "Stream entries committed to Postgres, by stage."}, []string{"stage"}),
		BatchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "coattail_stage_batch_size",
			Help: "Entries per committed batch.", Buckets: prometheus.ExponentialBuckets(1, 4, 8)}, []string{"stage"}),
		CommitTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "coattail_stage_commit_seconds",
			Help: "Time to process and commit one batch.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"stage"}),
		ProduceWaits: prometheus.NewCounter(prometheus.CounterOpts{Name: "coattail_produce_backpressure_seconds_total",
			Help: "Time producers spent waiting for room in the streams."}),
	}
	if reg != nil {
		reg.MustRegister(m.Read, m.Accepted, m.DeadLetters, m.Committed, m.BatchSize, m.CommitTime, m.ProduceWaits)
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
