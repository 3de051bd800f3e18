package pipeline

import (
	"context"
	"time"

	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// LagCollector reports, when scraped, how far each consumer group is behind the
// streams and how far the windowed stages' watermarks are behind: read from Redis
// (XINFO GROUPS) and Postgres (window_sources) at scrape time, so every process
// reports the same numbers whichever shards it owns.
type LagCollector struct {
	rdb        redis.UniversalClient
	scfg       stream.Config
	st         *store.Store
	groups     []string
	watermarks []string
	now        func() time.Time

	lag, wmDelay, wmEvent *prometheus.Desc
}

// NewLagCollector reports the lag of groups and the watermark delay of the windowed
// groups in watermarkGroups.
func NewLagCollector(rdb redis.UniversalClient, scfg stream.Config, st *store.Store, groups, watermarkGroups []string) *LagCollector {
	return &LagCollector{rdb: rdb, scfg: scfg, st: st, groups: groups, watermarks: watermarkGroups, now: time.Now,
		lag: prometheus.NewDesc("coattail_group_lag_entries",
			"Stream entries not yet delivered to a consumer group (plus, for a group read with acks, delivered but not acked), over all shards; the stages read with NOACK, so a batch being committed is not counted.",
			[]string{"group"}, nil),
		wmDelay: prometheus.NewDesc("coattail_watermark_delay_seconds",
			"Wall clock minus the source's watermark (its slowest shard), per windowed group and source.",
			[]string{"group", "source"}, nil),
		wmEvent: prometheus.NewDesc("coattail_watermark_event_delay_seconds",
			"The largest event time seen from the source minus its watermark (the allowed lateness plus shard skew).",
			[]string{"group", "source"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *LagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lag
	ch <- c.wmDelay
	ch <- c.wmEvent
}

// Collect implements prometheus.Collector. Series it cannot read are left out.
func (c *LagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, g := range c.groups {
		if n, err := GroupLag(ctx, c.rdb, c.scfg, g); err == nil {
			ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(n), g)
		}
	}
	now := c.now()
	for _, g := range c.watermarks {
		ps, err := c.st.Watermarks(ctx, g)
		if err != nil {
			continue
		}
		for _, p := range ps {
			ch <- prometheus.MustNewConstMetric(c.wmDelay, prometheus.GaugeValue, now.Sub(p.Watermark).Seconds(), g, p.Source)
			ch <- prometheus.MustNewConstMetric(c.wmEvent, prometheus.GaugeValue, p.MaxEvent.Sub(p.Watermark).Seconds(), g, p.Source)
		}
	}
}

// GroupLag sums, over every shard stream, the entries group has not been delivered
// (XINFO GROUPS lag, Redis 7) and those delivered but not acked (pending; none for the
// stages, which read with NOACK). A shard the
// group does not read yet counts its whole length.
func GroupLag(ctx context.Context, rdb redis.UniversalClient, scfg stream.Config, group string) (int64, error) {
	shards := scfg.Shards
	if shards == 0 {
		shards = 8
	}
	var total int64
	for s := 0; s < shards; s++ {
		name := scfg.Stream(s)
		infos, err := rdb.XInfoGroups(ctx, name).Result()
		if err != nil {
			if n, lerr := rdb.XLen(ctx, name).Result(); lerr == nil {
				total += n
				continue
			}
			return 0, err
		}
		found := false
		for _, in := range infos {
			if in.Name == group {
				found = true
				total += max(in.Lag, 0) + in.Pending
			}
		}
		if !found {
			n, err := rdb.XLen(ctx, name).Result()
			if err != nil {
				return 0, err
			}
			total += n
		}
	}
	return total, nil
}
