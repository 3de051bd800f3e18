package rescore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/coattailcapital/coattail/store"
)

// Load reads the stored fill, position, swap, price and trade events with event time
// at or before until (zero: all) and builds the history; a coin with actions but no
// price events takes its prices from the reference series of the stored one-minute
// bars ending by until, when it has any (Builder.HistoryWithReference).
func Load(ctx context.Context, st *store.Store, until time.Time, cfg Config) (*History, error) {
	b := NewBuilder()
	bad := 0
	err := st.ScoringEvents(ctx, until, func(body []byte) error {
		if err := b.AddLine(body); err != nil {
			bad++ // stored events passed the gate; one that no longer decodes is skipped
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h, err := b.HistoryWithReference(cfg.Actions, func(coins []string) (map[string][]store.RefPoint, error) {
		return st.ReferenceSeries(ctx, coins, until)
	})
	if err != nil {
		return nil, fmt.Errorf("build actions from stored events: %w", err)
	}
	if bad > 0 {
		return h, fmt.Errorf("%w: %d stored events", ErrUndecodable, bad)
	}
	return h, nil
}

// ErrUndecodable is wrapped by Load's error when some stored events no longer decode;
// the history it returns holds the others and is usable.
var ErrUndecodable = errors.New("stored events that do not decode were skipped")

// Summary says what a rescore did.
type Summary struct {
	AsOf    time.Time     `json:"as_of"`
	Events  int           `json:"events"`
	Actions int           `json:"actions"`
	Runs    []RunSummary  `json:"runs"`
	Took    time.Duration `json:"-"`
	Seconds float64       `json:"seconds"`
}

// RunSummary is one saved run.
type RunSummary struct {
	ID      int64  `json:"id"`
	Window  string `json:"window"`
	Wallets int    `json:"wallets"`
	Ranked  int    `json:"ranked"`
}

// Save scores h as of asOf and saves a run per window.
func Save(ctx context.Context, st *store.Store, h *History, cfg Config, asOf time.Time) ([]RunSummary, error) {
	ws, err := Score(h, cfg, asOf)
	if err != nil {
		return nil, fmt.Errorf("score as of %s: %w", asOf.Format(time.RFC3339), err)
	}
	var out []RunSummary
	for _, w := range ws {
		params, err := json.Marshal(w.Params)
		if err != nil {
			return nil, fmt.Errorf("run params: %w", err)
		}
		id, err := st.SaveScoreRun(ctx, store.ScoreRun{Window: w.Window, AsOf: asOf, Params: params}, w.Rows)
		if err != nil {
			return nil, err
		}
		out = append(out, RunSummary{ID: id, Window: w.Window, Wallets: w.Params.Wallets, Ranked: w.Params.Ranked})
	}
	return out, nil
}

// Rescore recomputes the scores from the stored events as of asOf (zero: the newest
// stored event's time) and saves one run per window, replacing runs of the same
// (window, as-of). With no stored events it saves nothing and returns a zero AsOf.
// With cfg.ProfiledBots it also excludes the wallets the whale profiler flags as bots.
func Rescore(ctx context.Context, st *store.Store, cfg Config, asOf time.Time) (Summary, error) {
	t0 := time.Now()
	if asOf.IsZero() {
		newest, err := st.NewestEventTime(ctx)
		if err != nil {
			return Summary{}, err
		}
		if newest.IsZero() {
			return Summary{}, nil
		}
		asOf = newest
	}
	h, err := Load(ctx, st, asOf, cfg)
	if err != nil && !errors.Is(err, ErrUndecodable) {
		return Summary{}, err
	}
	if cfg.ProfiledBots {
		if cfg.Alpha.Flagged, err = st.ProfiledBots(ctx); err != nil {
			return Summary{}, err
		}
	}
	runs, err := Save(ctx, st, h, cfg, asOf)
	if err != nil {
		return Summary{}, err
	}
	took := time.Since(t0)
	return Summary{AsOf: asOf, Events: h.Events, Actions: len(h.Actions), Runs: runs, Took: took, Seconds: took.Seconds()}, nil
}

// Backfill writes the history of runs: one rescore as of each time from, from+every,
// ... up to to (zero from: the first stored event's time plus every; zero to: the
// newest event's time), reading the events once. progress, when not nil, is called
// after each as-of time with its index, the count and what was saved.
func Backfill(ctx context.Context, st *store.Store, cfg Config, from, to time.Time, every time.Duration,
	progress func(i, n int, s Summary)) ([]Summary, error) {
	if every <= 0 {
		return nil, fmt.Errorf("backfill: step %s must be positive", every)
	}
	if to.IsZero() {
		newest, err := st.NewestEventTime(ctx)
		if err != nil {
			return nil, err
		}
		if newest.IsZero() {
			return nil, nil
		}
		to = newest
	}
	h, err := Load(ctx, st, to, cfg)
	if err != nil && !errors.Is(err, ErrUndecodable) {
		return nil, err
	}
	if from.IsZero() {
		from = h.First.Add(every)
	}
	var times []time.Time
	for t := from; !t.After(to); t = t.Add(every) {
		times = append(times, t)
	}
	if len(times) == 0 {
		return nil, fmt.Errorf("backfill: no as-of time between %s and %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	out := make([]Summary, 0, len(times))
	for i, t := range times {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		t0 := time.Now()
		runs, err := Save(ctx, st, h, cfg, t)
		if err != nil {
			return out, err
		}
		n := 0
		for j := range h.Actions {
			if !h.Actions[j].TS.After(t) {
				n++
			}
		}
		took := time.Since(t0)
		s := Summary{AsOf: t, Events: h.Events, Actions: n, Runs: runs, Took: took, Seconds: took.Seconds()}
		out = append(out, s)
		if progress != nil {
			progress(i, len(times), s)
		}
	}
	return out, nil
}

// Fresh makes sure a run of window that answers "as of asOf" is not stale and returns
// whether it rescored. The board as of asOf (zero: now) should reflect the stored
// events up to min(asOf, newest event time); if the latest run at or before asOf is
// older than that by more than tolerance, or there is none, it rescores as of that
// time (every window) and saves. With no stored events it does nothing.
func Fresh(ctx context.Context, st *store.Store, cfg Config, window string, asOf time.Time, tolerance time.Duration) (bool, Summary, error) {
	newest, err := st.NewestEventTime(ctx)
	if err != nil {
		return false, Summary{}, err
	}
	if newest.IsZero() {
		return false, Summary{}, nil
	}
	want := newest
	if !asOf.IsZero() && asOf.Before(want) {
		want = asOf
	}
	run, err := st.ScoreRunAt(ctx, window, want)
	switch {
	case err == nil && !run.AsOf.Before(want.Add(-tolerance)):
		return false, Summary{}, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return false, Summary{}, err
	}
	// The profiles are as of now: only a board as of the newest event uses them.
	cfg.ProfiledBots = cfg.ProfiledBots && want.Equal(newest)
	s, err := Rescore(ctx, st, cfg, want)
	return err == nil, s, err
}
