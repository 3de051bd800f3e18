package rescore

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/coattailcapital/coattail/store"
)

// DefaultInterval is how often a Runner rescores when its Interval is zero.
const DefaultInterval = time.Minute

// Runner keeps the scores fresh: every Interval it rescores as of the newest stored
// event, when events newer than its last run have arrived. It is the periodic
// rescorer of `coattail run`. Scoring is a batch over every wallet (empirical Bayes
// needs the cross-section), so it runs on a schedule, not per event.
type Runner struct {
	Store  *store.Store
	Config Config
	// Interval is the wall time between rescores. Defaults to DefaultInterval.
	Interval time.Duration
	// First is the wait before the first rescore (a fresh demo wants its board
	// early). Defaults to Interval.
	First time.Duration
	// Logger receives a line per rescore. Defaults to slog.Default().
	Logger *slog.Logger
}

// Run rescores until ctx is done. A failed rescore is logged and retried at the next
// tick; it never stops the process.
func (r *Runner) Run(ctx context.Context) error {
	every := r.Interval
	if every <= 0 {
		every = DefaultInterval
	}
	log := r.Logger
	if log == nil {
		log = slog.Default()
	}
	first := r.First
	if first <= 0 {
		first = every
	}
	timer := time.NewTimer(first)
	defer timer.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
			timer.Reset(every)
		}
		newest, err := r.Store.NewestEventTime(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("rescore: newest event time", "err", err)
			}
			continue
		}
		if newest.IsZero() || !newest.After(last) {
			continue
		}
		s, err := Rescore(ctx, r.Store, r.Config, newest)
		if err != nil {
			if ctx.Err() == nil || !errors.Is(err, context.Canceled) {
				log.Warn("rescore failed", "as_of", newest, "err", err)
			}
			continue
		}
		last = newest
		ranked := 0
		for _, run := range s.Runs {
			if run.Window == store.WindowAll {
				ranked = run.Ranked
			}
		}
		log.Info("rescored", "as_of", s.AsOf, "events", s.Events, "actions", s.Actions, "ranked_all", ranked,
			"seconds", s.Seconds)
	}
}
