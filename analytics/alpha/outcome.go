package alpha

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// MaxHorizons is the most forward-return horizons an Outcome holds.
const MaxHorizons = 6

// ErrInvalidConfig is wrapped by every error a constructor returns for a config it
// cannot use; the message names the field.
var ErrInvalidConfig = errors.New("invalid alpha config")

// Benchmark names what a forward return is measured in excess of.
type Benchmark string

// Benchmarks.
const (
	// BenchmarkDrift subtracts the coin's own drift: its average log return per unit
	// of time over the whole price series (up to the as-of time when scoring),
	// scaled to the holding time. Holding a coin that went up all along earns
	// nothing; timing its moves does. Within the series the estimate looks ahead,
	// which suits ranking past actions, not trading on them.
	BenchmarkDrift Benchmark = "drift"
	// BenchmarkNone measures raw returns.
	BenchmarkNone Benchmark = "none"
)

// ReturnConfig says how an action's outcome is measured. The zero value is usable.
type ReturnConfig struct {
	// Horizons are how long after an action its forward return is measured, at most
	// MaxHorizons, each positive. They should match how long the wallets hold and how
	// much history there is: a horizon that reaches past the last price leaves the
	// action's outcome there missing. Defaults to 1h, 4h and 24h.
	Horizons []time.Duration
	// CostBps is the round-trip cost, in basis points of notional, charged to every
	// forward and realised return: what following the action would cost (taker fees
	// both ways and slippage). Defaults to 10; negative means no cost.
	CostBps float64
	// Delay is how long after the action the follower enters: the forward return runs
	// from the price at TS+Delay to TS+Delay+horizon. Defaults to 0.
	Delay time.Duration
	// Benchmark is what returns are measured in excess of. Defaults to BenchmarkDrift.
	Benchmark Benchmark
	// HoldFull measures an entry's forward return over the whole horizon whatever the
	// wallet does next. By default a follower follows the wallet's exits: as the
	// wallet reduces or closes the position, the same share of what the entry added
	// is taken off at the market price then, and only what is still held at the
	// horizon earns the full horizon's return. Exits (reduce, close) are always
	// measured over the full horizon.
	HoldFull bool
	// MinHold is the shortest holding time a return is normalised over (see
	// Outcome.Z), so that a position held for a moment is not judged against the
	// coin's tiny move over that moment. Defaults to a tenth of the shortest horizon.
	MinHold time.Duration
}

// DefaultHorizons are the forward-return horizons when ReturnConfig.Horizons is empty.
func DefaultHorizons() []time.Duration {
	return []time.Duration{time.Hour, 4 * time.Hour, 24 * time.Hour}
}

// DefaultCostBps is the round-trip cost when ReturnConfig.CostBps is zero.
const DefaultCostBps = 10

func (c ReturnConfig) withDefaults() ReturnConfig {
	if len(c.Horizons) == 0 {
		c.Horizons = DefaultHorizons()
	} else {
		c.Horizons = append([]time.Duration(nil), c.Horizons...)
	}
	if c.CostBps == 0 {
		c.CostBps = DefaultCostBps
	}
	if c.Benchmark == "" {
		c.Benchmark = BenchmarkDrift
	}
	if c.MinHold == 0 && len(c.Horizons) > 0 {
		c.MinHold = slices.Min(c.Horizons) / 10
	}
	return c
}

func (c ReturnConfig) validate() error {
	if len(c.Horizons) > MaxHorizons {
		return fmt.Errorf("%w: %d Horizons, at most %d", ErrInvalidConfig, len(c.Horizons), MaxHorizons)
	}
	for i, h := range c.Horizons {
		if h <= 0 {
			return fmt.Errorf("%w: Horizons[%d] %s must be positive", ErrInvalidConfig, i, h)
		}
	}
	if math.IsNaN(c.CostBps) || math.IsInf(c.CostBps, 0) {
		return fmt.Errorf("%w: CostBps %v", ErrInvalidConfig, c.CostBps)
	}
	if c.MinHold < 0 {
		return fmt.Errorf("%w: MinHold %s must not be negative", ErrInvalidConfig, c.MinHold)
	}
	if c.Delay < 0 {
		return fmt.Errorf("%w: Delay %s must not be negative", ErrInvalidConfig, c.Delay)
	}
	if c.Benchmark != BenchmarkDrift && c.Benchmark != BenchmarkNone {
		return fmt.Errorf("%w: Benchmark %q: want %q or %q", ErrInvalidConfig, c.Benchmark, BenchmarkDrift, BenchmarkNone)
	}
	return nil
}

// Outcome is what came of one action, in returns (fractions, 0.01 = 1%), so that it
// does not depend on the action's size, and in z units: a return divided by the coin's
// volatility over the time it was held, σ·√max(held, MinHold), so that a calm coin
// and a wild one, a minute's hold and a day's, weigh alike. Missing values are NaN.
type Outcome struct {
	// Forward[i] is the excess forward return over Horizons[i]:
	// Dir × (return − benchmark) − cost, from the market price at t = TS+Delay (not
	// the wallet's fill price: what a follower could get). For an entry (open, add,
	// flip) the follower follows the wallet's exits up to t+horizon unless HoldFull;
	// otherwise the return runs to t+horizon. NaN when the prices do not reach far
	// enough, and beyond the configured horizons.
	Forward [MaxHorizons]float64
	// Held[i] is how long, on average, the follower held over Horizons[i].
	Held [MaxHorizons]time.Duration
	// Z[i] is Forward[i] in z units; NaN when the coin's volatility is unknown.
	Z [MaxHorizons]float64
	// RoundTrip is the realised return of the size a reduce, close or flip closed, at
	// the wallet's own prices: side × (Px/EntryPx − 1 − benchmark over the hold) −
	// cost, side being that of the closed position. NaN for entries and when the
	// basis or the opening time is unknown.
	RoundTrip float64
	// Hold is how long the closed position was held; 0 when unknown.
	Hold time.Duration
	// RoundTripZ is RoundTrip in z units.
	RoundTripZ float64
}

// Returns measures outcomes of actions against prices.
type Returns struct {
	cfg    ReturnConfig
	prices Prices
	drift  map[string]float64 // per coin: mean log return per nanosecond
	vol    map[string]float64 // per coin: standard deviation of log returns per √nanosecond; 0 unknown
}

// NewReturns returns a Returns for cfg (defaults applied) over prices. It returns an
// error wrapping ErrInvalidConfig when cfg cannot be used.
func NewReturns(cfg ReturnConfig, prices Prices) (*Returns, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Returns{cfg: cfg, prices: prices, drift: map[string]float64{}, vol: map[string]float64{}}, nil
}

// Config returns the configuration with defaults applied.
func (r *Returns) Config() ReturnConfig {
	c := r.cfg
	c.Horizons = append([]time.Duration(nil), c.Horizons...)
	return c
}

// driftOf returns the coin's mean log return per nanosecond over its whole series.
func (r *Returns) driftOf(coin string) float64 {
	if r.cfg.Benchmark == BenchmarkNone {
		return 0
	}
	if d, ok := r.drift[coin]; ok {
		return d
	}
	d := 0.0
	if first, last, ok := r.prices.Span(coin); ok && last.After(first) {
		p0, ok0 := r.prices.At(coin, first)
		p1, ok1 := r.prices.At(coin, last)
		if ok0 && ok1 && p0 > 0 && p1 > 0 {
			d = math.Log(p1/p0) / float64(last.Sub(first))
		}
	}
	r.drift[coin] = d
	return d
}

// volSamples is the number of evenly spaced prices a coin's volatility is measured
// from.
const volSamples = 2048

// volOf returns the coin's volatility: the standard deviation of its log return per
// square root of a nanosecond, from volSamples+1 evenly spaced prices over its series
// (coarse enough to ignore bid-ask bounce), as 1.4826 × the median absolute deviation
// so a few crashes do not set it. 0 when unknown.
func (r *Returns) volOf(coin string) float64 {
	if v, ok := r.vol[coin]; ok {
		return v
	}
	v := 0.0
	if first, last, ok := r.prices.Span(coin); ok && last.After(first) {
		step := last.Sub(first) / volSamples
		if step > 0 {
			rets := make([]float64, 0, volSamples)
			prev := r.price(coin, first)
			for k := 1; k <= volSamples; k++ {
				p := r.price(coin, first.Add(time.Duration(k)*step))
				if !math.IsNaN(p) && !math.IsNaN(prev) {
					rets = append(rets, math.Log(p/prev))
				}
				prev = p
			}
			v = robustScale(rets) / math.Sqrt(float64(step))
		}
	}
	r.vol[coin] = v
	return v
}

// z returns ret in z units for a holding of d: ret / (σ·√max(d, MinHold)); NaN when
// the volatility is unknown.
func (r *Returns) z(coin string, ret float64, d time.Duration) float64 {
	v := r.volOf(coin)
	d = max(d, r.cfg.MinHold, 1)
	if v <= 0 || math.IsNaN(ret) {
		return math.NaN()
	}
	return ret / (v * math.Sqrt(float64(d)))
}

// bench returns the benchmark return of coin over d.
func (r *Returns) bench(coin string, d time.Duration) float64 {
	mu := r.driftOf(coin)
	if mu == 0 || d <= 0 {
		return 0
	}
	return math.Expm1(mu * float64(d))
}

// price returns the coin's price at t, or NaN.
func (r *Returns) price(coin string, t time.Time) float64 {
	if p, ok := r.prices.At(coin, t); ok && p > 0 {
		return p
	}
	return math.NaN()
}

// Outcomes measures every action; out[i] is the outcome of as[i]. Following exits
// needs the wallet's later actions in the coin, so pass all of them together. It is
// not safe for concurrent use (it caches drifts).
func (r *Returns) Outcomes(as []Action) []Outcome {
	// Each action's next action in the same (wallet, coin), in time order.
	next := make([]int, len(as))
	byKey := map[[2]string][]int{}
	for i := range as {
		k := [2]string{as[i].Wallet, as[i].Coin}
		byKey[k] = append(byKey[k], i)
	}
	for _, idx := range byKey {
		slices.SortStableFunc(idx, func(a, b int) int { return as[a].TS.Compare(as[b].TS) })
		for j, i := range idx {
			next[i] = -1
			if j+1 < len(idx) {
				next[i] = idx[j+1]
			}
		}
	}
	out := make([]Outcome, len(as))
	for i := range as {
		out[i] = r.outcome(as, next, i)
	}
	return out
}

func (r *Returns) outcome(as []Action, next []int, i int) Outcome {
	a := &as[i]
	var o Outcome
	for h := range o.Forward {
		o.Forward[h], o.Z[h] = math.NaN(), math.NaN()
	}
	o.RoundTrip, o.RoundTripZ = math.NaN(), math.NaN()
	cost := max(0, r.cfg.CostBps) / 1e4
	dir := float64(a.Dir)
	follow := !r.cfg.HoldFull && (a.Kind == KindOpen || a.Kind == KindAdd || a.Kind == KindFlip)
	if _, last, ok := r.prices.Span(a.Coin); ok && a.Dir != 0 {
		t0 := a.TS.Add(r.cfg.Delay)
		if p0 := r.price(a.Coin, t0); !math.IsNaN(p0) {
			for h, hz := range r.cfg.Horizons {
				end := t0.Add(hz)
				ret, bench, held := math.NaN(), 0.0, hz
				if follow {
					ret, bench, held = r.followed(as, next, i, t0, p0, end, last)
				} else if !end.After(last) {
					ret, bench = r.price(a.Coin, end)/p0-1, r.bench(a.Coin, hz)
				}
				if !math.IsNaN(ret) {
					o.Forward[h] = dir*(ret-bench) - cost
					o.Held[h] = held
					o.Z[h] = r.z(a.Coin, o.Forward[h], held)
				}
			}
		}
	}
	if a.ClosedSize > 0 && a.EntryPx > 0 && a.Px > 0 && !a.BasisUnknown {
		side := -dir // the closed position's side
		if !a.OpenedAt.IsZero() && a.TS.After(a.OpenedAt) {
			o.Hold = a.TS.Sub(a.OpenedAt)
			o.RoundTrip = side*(a.Px/a.EntryPx-1-r.bench(a.Coin, o.Hold)) - cost
			o.RoundTripZ = r.z(a.Coin, o.RoundTrip, o.Hold)
		}
	}
	return o
}

// followed returns the raw return (unsigned, before cost) of entry i bought at p0 at
// t0 for a follower who mirrors the wallet's later reductions until end, and the
// benchmark return over the same holding: each reduction at time tj (before end) takes
// off the share of the position it closed, at the market price at tj; what is left at
// end earns p(end)/p0 − 1. The return is NaN when something still held at end has no
// price there (end after last).
func (r *Returns) followed(as []Action, next []int, i int, t0 time.Time, p0 float64, end, last time.Time) (ret, bench float64, held time.Duration) {
	coin := as[i].Coin
	left, heldF := 1.0, 0.0
	for j := next[i]; j >= 0 && left > 1e-12; j = next[j] {
		b := &as[j]
		tj := b.TS.Add(r.cfg.Delay)
		if tj.After(end) {
			break
		}
		if b.ClosedSize <= 0 || b.PosBefore == 0 {
			continue // an add: the entry's share of the position shrinks, not its size
		}
		frac := min(1, b.ClosedSize/abs(b.PosBefore))
		if tj.After(last) {
			return math.NaN(), 0, 0
		}
		pj := r.price(coin, tj)
		if math.IsNaN(pj) {
			return math.NaN(), 0, 0
		}
		ret += left * frac * (pj/p0 - 1)
		bench += left * frac * r.bench(coin, tj.Sub(t0))
		heldF += left * frac * float64(tj.Sub(t0))
		left *= 1 - frac
	}
	if left > 1e-12 {
		if end.After(last) {
			return math.NaN(), 0, 0
		}
		ret += left * (r.price(coin, end)/p0 - 1)
		bench += left * r.bench(coin, end.Sub(t0))
		heldF += left * float64(end.Sub(t0))
	}
	return ret, bench, time.Duration(heldF)
}
