package api

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// lagCollector exports the pipeline's backlog, read from Redis and Postgres at scrape
// time (the same numbers as GET /api/pipeline): one reading per scrape, whichever
// process serves it, instead of every worker counting its own shards.
type lagCollector struct {
	s       *Server
	timeout time.Duration

	up, length, pending, lag, behind, committedAge, dead, late *prometheus.Desc
}

func newLagCollector(s *Server) *lagCollector {
	gs := []string{"group", "shard"}
	return &lagCollector{
		s:       s,
		timeout: 5 * time.Second,
		up: prometheus.NewDesc("coattail_pipeline_health_up",
			"1 when the last reading of stream and checkpoint state succeeded (Postgres and Redis), else 0.", nil, nil),
		length: prometheus.NewDesc("coattail_stream_length",
			"Entries in a shard's stream (XLEN): produced and not yet trimmed.", []string{"shard"}, nil),
		pending: prometheus.NewDesc("coattail_consumer_pending_entries",
			"Entries delivered to a consumer group and not yet acknowledged (XINFO GROUPS pending).", gs, nil),
		lag: prometheus.NewDesc("coattail_consumer_lag_entries",
			"Entries in a shard's stream not yet delivered to a consumer group (XINFO GROUPS lag).", gs, nil),
		behind: prometheus.NewDesc("coattail_consumer_behind_seconds",
			"How much older a group's committed checkpoint is than the newest entry of the shard, by stream id time.", gs, nil),
		committedAge: prometheus.NewDesc("coattail_checkpoint_age_seconds",
			"Seconds since a group's checkpoint on a shard last moved (stream_checkpoints.updated_at).", gs, nil),
		dead: prometheus.NewDesc("coattail_dead_letters_stored",
			"Dead letters in the dead_letters table, by reason (every stage's; coattail_dead_letters_total counts only the gate's of this process).", []string{"reason"}, nil),
		late: prometheus.NewDesc("coattail_window_late_events_total",
			"Events a windowed stage received after its watermark had passed their time (merged as corrections), per group and source, over every shard (window_sources.late).",
			[]string{"group", "source"}, nil),
	}
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.length, c.pending, c.lag, c.behind, c.committedAge, c.dead, c.late} {
		ch <- d
	}
}

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	h, err := c.s.pipelineHealth(ctx)
	if err != nil {
		c.s.cfg.Logger.Warn("pipeline metrics: reading checkpoints and dead letters failed", "err", err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	up := 1.0
	if h.RedisError != "" {
		// The Postgres side (checkpoints, dead letters) is still exported below.
		c.s.cfg.Logger.Warn("pipeline metrics: reading the streams failed", "err", h.RedisError)
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
	lengths := map[int]int64{}
	now := time.Now()
	for _, g := range h.Groups {
		for _, sh := range g.Shards {
			shard := strconv.Itoa(sh.Shard)
			lengths[sh.Shard] = sh.Length
			ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(sh.Pending), g.Group, shard)
			if sh.Lag != nil {
				ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(*sh.Lag), g.Group, shard)
			}
			ch <- prometheus.MustNewConstMetric(c.behind, prometheus.GaugeValue, sh.BehindSeconds, g.Group, shard)
			if sh.CommittedAt != nil {
				ch <- prometheus.MustNewConstMetric(c.committedAge, prometheus.GaugeValue,
					now.Sub(*sh.CommittedAt).Seconds(), g.Group, shard)
			}
		}
	}
	for shard, n := range lengths {
		ch <- prometheus.MustNewConstMetric(c.length, prometheus.GaugeValue, float64(n), strconv.Itoa(shard))
	}
	for reason, n := range h.DeadLetters.ByReason {
		ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(n), reason)
	}
	for _, wm := range h.Watermarks {
		ch <- prometheus.MustNewConstMetric(c.late, prometheus.CounterValue, float64(wm.Late), wm.Group, wm.Source)
	}
}
