// Package rescore recomputes alpha scores from the stored raw events: it reads the
// events table (canonical interchange JSON), builds the wallets' actions and the
// coins' prices, scores every wallet as of a time over the windows 7d, 30d and all
// (package alpha), and saves the runs (store.SaveScoreRun). It is what `coattail
// rescore`, `coattail backfill`, the leaderboard's on-demand scoring and the periodic
// rescorer of `coattail run` share.
package rescore

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/analytics/alpha"
	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/store"
)

// History is the scoring input decoded from events: every wallet's actions and a
// price series per traded coin.
type History struct {
	Actions []alpha.Action
	Prices  *alpha.Series
	// First and Last are the event times of the oldest and newest event read.
	First, Last time.Time
	// Events is the number of events read; Fills the fill and position events among
	// them.
	Events, Fills int
}

// Builder accumulates events into a History. Feed it with Add in any order, then call
// History once.
type Builder struct {
	trading []event.Event // fills, positions, swaps
	points  map[string][]point
	first   time.Time
	last    time.Time
	events  int
}

type point struct {
	t  time.Time
	px float64
}

// NewBuilder returns an empty builder.
func NewBuilder() *Builder { return &Builder{points: map[string][]point{}} }

// Add takes one event: fills, position observations and swaps become actions; price
// events and anonymous trades become prices. Other kinds are ignored.
func (b *Builder) Add(e *event.Event) {
	switch e.Kind {
	case event.KindFill, event.KindPosition, event.KindSwap:
		b.trading = append(b.trading, *e)
	case event.KindPrice:
		b.points[e.Symbol] = append(b.points[e.Symbol], point{e.TS, e.Price.InexactFloat64()})
	case event.KindTrade:
		b.points[e.Symbol] = append(b.points[e.Symbol], point{e.TS, e.Price.InexactFloat64()})
	default:
		return
	}
	b.events++
	if b.first.IsZero() || e.TS.Before(b.first) {
		b.first = e.TS
	}
	if e.TS.After(b.last) {
		b.last = e.TS
	}
}

// AddLine decodes one canonical interchange line (an events.body) and adds it.
func (b *Builder) AddLine(line []byte) error {
	e, err := event.Decode(line, event.Rules{})
	if err != nil {
		return fmt.Errorf("decode stored event: %w", err)
	}
	b.Add(&e)
	return nil
}

// History builds the actions and prices. A coin's prices come from price events named
// after it (Hyperliquid mids, the demo, simulate), else from a USD-quoted pair of it
// (COIN-USDT, COIN-USD, COIN-USDC trades or prices), else from the wallets' own fills
// and observed marks in it: a fill is a trade at the market price then, and it is the
// only price a history of fills alone has. It is HistoryWithReference without a
// reference series.
func (b *Builder) History(cfg alpha.ActionConfig) (*History, error) {
	return b.HistoryWithReference(cfg, nil)
}

// ReferenceFunc returns the cross-venue reference series of coins
// (store.Store.ReferenceSeries), keyed by upper-case coin.
type ReferenceFunc func(coins []string) (map[string][]store.RefPoint, error)

// HistoryWithReference is History where a coin without price events of its own (a
// coin traded on exchanges only, or whose venue sends no mids) takes its cross-venue
// reference series from ref, when it has one, before a single pair's prints and its
// wallets' own fills: the reference (the volume-weighted median of every USD venue's
// one-minute closes) is what one thin venue cannot move, and forward returns measured
// on it do not depend on which venue happened to print last. Its points are at minute
// ends, so it resolves returns to the minute; a horizon of seconds on such a coin
// measures mostly the bar. ref is called once, with the coins that need it; nil means
// no reference.
func (b *Builder) HistoryWithReference(cfg alpha.ActionConfig, ref ReferenceFunc) (*History, error) {
	var fills []event.Event
	for i := range b.trading {
		if b.trading[i].Kind != event.KindSwap {
			fills = append(fills, b.trading[i])
		}
	}
	acts, err := alpha.ActionsFromFills(fills, cfg)
	if err != nil {
		return nil, err
	}
	if swaps := alpha.ActionsFromSwaps(b.trading, alpha.IsStableSymbol); len(swaps) > 0 {
		acts = append(acts, swaps...)
		alpha.SortActions(acts)
	}
	h := &History{Actions: acts, Prices: alpha.NewSeries(), First: b.first, Last: b.last, Events: b.events, Fills: len(fills)}
	coins := map[string]bool{}
	for i := range acts {
		coins[acts[i].Coin] = true
	}
	own := map[string][]point{}
	for i := range fills {
		e := &fills[i]
		px := e.Px
		if e.Kind == event.KindPosition {
			if !e.MarkPx.Valid {
				continue
			}
			px = e.MarkPx.Decimal
		}
		own[e.Coin] = append(own[e.Coin], point{e.TS, px.InexactFloat64()})
	}
	var refs map[string][]store.RefPoint
	if ref != nil {
		var unpriced []string
		for _, c := range slices.Sorted(maps.Keys(coins)) {
			if len(b.points[c]) == 0 {
				unpriced = append(unpriced, c)
			}
		}
		if len(unpriced) > 0 {
			var err error
			if refs, err = ref(unpriced); err != nil {
				return nil, fmt.Errorf("reference prices of %d coins without price events: %w", len(unpriced), err)
			}
		}
	}
	for _, c := range slices.Sorted(maps.Keys(coins)) {
		pts := b.points[c]
		if len(pts) == 0 {
			for _, p := range refs[strings.ToUpper(c)] {
				pts = append(pts, point{p.End, p.Price})
			}
		}
		for _, q := range []string{"-USDT", "-USD", "-USDC"} {
			if len(pts) == 0 {
				pts = b.points[c+q]
			}
		}
		if len(pts) == 0 {
			pts = own[c]
		}
		for _, p := range pts {
			h.Prices.Add(c, p.t, p.px)
		}
	}
	h.Prices.Seal()
	return h, nil
}

// FromEvents builds a History from events in memory (simulations, tests).
func FromEvents(evs []event.Event, cfg alpha.ActionConfig) (*History, error) {
	b := NewBuilder()
	for i := range evs {
		b.Add(&evs[i])
	}
	return b.History(cfg)
}

// AutoHorizons returns forward-return horizons that suit how long the wallets in
// actions hold: the defaults (1h, 4h, 24h) when the median closed position was held
// 4 hours or more (or no hold is known), else the defaults scaled down so that the
// middle one is that median hold (at least a second each). A market that turns over
// in seconds (the demo) would otherwise have no outcome within its history, and one
// whose wallets hold for minutes would be judged on a day of noise.
func AutoHorizons(actions []alpha.Action) []time.Duration {
	def := alpha.DefaultHorizons()
	var holds []time.Duration
	for i := range actions {
		a := &actions[i]
		if a.ClosedSize > 0 && !a.OpenedAt.IsZero() && a.TS.After(a.OpenedAt) {
			holds = append(holds, a.TS.Sub(a.OpenedAt))
		}
	}
	if len(holds) == 0 {
		return def
	}
	slices.Sort(holds)
	med := holds[len(holds)/2]
	if med >= def[1] {
		return def
	}
	f := float64(med) / float64(def[1])
	out := make([]time.Duration, len(def))
	for i, h := range def {
		out[i] = max(time.Second, time.Duration(math.Round(float64(h)*f/float64(time.Second)))*time.Second)
	}
	return slices.CompactFunc(out, func(a, b time.Duration) bool { return a == b })
}

// ParseWindow returns the length of a score window name: 7d, 30d or all (0). Any
// Nd or Go duration also parses, for evaluation.
func ParseWindow(w string) (time.Duration, error) {
	if w == "all" {
		return 0, nil
	}
	return ParseDuration(w)
}

// ParseDuration parses a Go duration or a number of days ("7d", "1.5d").
func ParseDuration(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		var n float64
		if _, err := fmt.Sscanf(d, "%g", &n); err == nil && n > 0 && !math.IsInf(n, 0) {
			return time.Duration(n * float64(24*time.Hour)), nil
		}
		return 0, fmt.Errorf("duration %q: want e.g. 7d, 12h or 30m", s)
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("duration %q: want e.g. 7d, 12h or 30m", s)
	}
	return d, nil
}
