package pipeline

import (
	"context"
	"time"

	"github.com/coattailcapital/coattail/analytics/demo"
	"github.com/coattailcapital/coattail/event"
)

// Demo plays the synthetic market into the streams, TicksPerSec ticks a second, until
// ctx is done. It is the source `coattail run` uses when no live source is configured.
type Demo struct {
	Market      *demo.Market
	Ingress     *Ingress
	TicksPerSec float64 // Defaults to 4.
	Rules       event.Rules
	// MaxTicks stops after this many ticks (0: until ctx is done).
	MaxTicks int
	// Backlog is how many first ticks are played at once, without pacing: a market
	// that started in the past catches up to now, so a fresh `coattail run` shows
	// history (a ranked leaderboard, bars, profiles) within seconds.
	Backlog int
}

// Run implements the long-running part.
func (d *Demo) Run(ctx context.Context) error {
	if d.TicksPerSec <= 0 {
		d.TicksPerSec = 4
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / d.TicksPerSec))
	defer tick.Stop()
	for n := 0; d.MaxTicks == 0 || n < d.MaxTicks; n++ {
		for _, ev := range d.Market.Next() {
			if err := d.Ingress.Offer(ctx, &ev, d.Rules, "demo"); err != nil {
				return err
			}
		}
		if n < d.Backlog {
			if n%100 == 99 || n == d.Backlog-1 { // flush in chunks while catching up
				if err := d.Ingress.Flush(ctx); err != nil {
					return err
				}
			}
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		if err := d.Ingress.Flush(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
	return nil
}
