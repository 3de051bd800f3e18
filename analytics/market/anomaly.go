package market

import (
	"math"
	"time"
)

// Anomaly kinds.
const (
	KindVolumeSpike     = "volume_spike"
	KindLargeTrade      = "large_trade"
	KindPriceMove       = "price_move"
	KindLargeDeposit    = "large_deposit"
	KindLargeWithdrawal = "large_withdrawal"
)

// Anomaly is one detection with the evidence behind it.
type Anomaly struct {
	Kind     string
	Venue    string // venue or chain
	Symbol   string // symbol, or token for flows
	TS       time.Time
	Value    float64 // the observed quantity (bar volume, trade notional, return, amount)
	Baseline float64 // what it was compared against (median volume, median size, ...)
	Score    float64 // robust z-score, or multiple of the median
	// Ref names what the anomaly is about beyond kind/venue/symbol/time (a window
	// start, an event key in hex), so its id is unique and stable.
	Ref      string
	Evidence map[string]any
}

// DetectorConfig tunes the CEX anomaly detectors. Zero values are defaults.
type DetectorConfig struct {
	// BaselineBars is how many past 1m bars form the rolling baseline. Defaults to 60.
	BaselineBars int
	// MinBaseline is how many past bars a detection needs. Defaults to 20.
	MinBaseline int
	// SpikeZ is the robust z-score of a bar's quote volume that makes a volume spike.
	// Defaults to 6.
	SpikeZ float64
	// MoveZ and MinMove: a bar whose return (close/open − 1) has a robust z-score of at
	// least MoveZ against the baseline's returns and an absolute size of at least MinMove
	// is a sharp price move. Default 6 and 0.01.
	MoveZ   float64
	MinMove float64
	// LargeTradeMult: a trade whose notional is at least this multiple of the rolling
	// median trade notional is unusually large. Defaults to 20.
	LargeTradeMult float64
	// TradeWindow is how many recent trades the median size is taken over, and
	// MinTrades how many it needs. Defaults 200 and 50.
	TradeWindow int
	MinTrades   int
}

func (c DetectorConfig) withDefaults() DetectorConfig {
	if c.BaselineBars == 0 {
		c.BaselineBars = 60
	}
	if c.MinBaseline == 0 {
		c.MinBaseline = 20
	}
	if c.SpikeZ == 0 {
		c.SpikeZ = 6
	}
	if c.MoveZ == 0 {
		c.MoveZ = 6
	}
	if c.MinMove == 0 {
		c.MinMove = 0.01
	}
	if c.LargeTradeMult == 0 {
		c.LargeTradeMult = 20
	}
	if c.TradeWindow == 0 {
		c.TradeWindow = 200
	}
	if c.MinTrades == 0 {
		c.MinTrades = 50
	}
	return c
}

// medianRefresh: the rolling median trade size is recomputed every this many trades,
// which keeps the per-trade cost constant; it depends only on the trade count, so it
// stays deterministic.
const medianRefresh = 25

// Detector is the rolling state of one (venue, symbol). Exported fields are its
// serialised state.
type Detector struct {
	Volumes []float64 `json:"vol"` // quote volumes of past 1m bars, oldest first
	Returns []float64 `json:"ret"` // returns of past 1m bars
	Sizes   []float64 `json:"sz"`  // ring of recent trade notionals
	Next    int       `json:"nx"`  // ring position
	Trades  int64     `json:"n"`
	Median  float64   `json:"med"` // cached median of Sizes
}

// OnTrade checks one trade against the rolling median trade notional, then adds it.
// ref is called for the anomaly's Ref only when there is one.
func (d *Detector) OnTrade(cfg DetectorConfig, venue, symbol string, ts time.Time, px, qty float64, ref func() string) *Anomaly {
	cfg = cfg.withDefaults()
	notional := px * qty
	var out *Anomaly
	if len(d.Sizes) >= cfg.MinTrades && d.Median > 0 && notional >= cfg.LargeTradeMult*d.Median {
		out = &Anomaly{Kind: KindLargeTrade, Venue: venue, Symbol: symbol, TS: ts, Value: notional,
			Baseline: d.Median, Score: notional / d.Median, Ref: ref(),
			Evidence: map[string]any{"price": px, "qty": qty, "median_notional": d.Median,
				"multiple": notional / d.Median, "trades_in_baseline": len(d.Sizes)}}
	}
	if len(d.Sizes) < cfg.TradeWindow {
		d.Sizes = append(d.Sizes, notional)
	} else {
		d.Sizes[d.Next] = notional
		d.Next = (d.Next + 1) % cfg.TradeWindow
	}
	d.Trades++
	if d.Trades%medianRefresh == 0 || len(d.Sizes) <= cfg.MinTrades {
		d.Median = Median(d.Sizes)
	}
	return out
}

// OnBar checks a closed 1m bar (with trades) for a volume spike and a sharp move
// against the rolling baseline of earlier bars, then adds it to the baseline.
func (d *Detector) OnBar(cfg DetectorConfig, venue, symbol string, start, end time.Time, b Bar) []Anomaly {
	cfg = cfg.withDefaults()
	var out []Anomaly
	vol := b.Quote
	ret := 0.0
	if b.Open > 0 {
		ret = b.Close/b.Open - 1
	}
	if len(d.Volumes) >= cfg.MinBaseline {
		z := RobustZ(vol, d.Volumes)
		if z >= cfg.SpikeZ {
			med := Median(d.Volumes)
			out = append(out, Anomaly{Kind: KindVolumeSpike, Venue: venue, Symbol: symbol, TS: end, Value: vol,
				Baseline: med, Score: z, Ref: start.Format(time.RFC3339),
				Evidence: map[string]any{"window_start": start, "window_end": end, "quote_volume": vol,
					"baseline_median": med, "baseline_mad": MAD(d.Volumes), "baseline_bars": len(d.Volumes),
					"trades": b.Trades, "robust_z": z}})
		}
		rz := RobustZ(ret, d.Returns)
		if math.Abs(ret) >= cfg.MinMove && math.Abs(rz) >= cfg.MoveZ {
			out = append(out, Anomaly{Kind: KindPriceMove, Venue: venue, Symbol: symbol, TS: end, Value: ret,
				Baseline: Median(d.Returns), Score: rz, Ref: start.Format(time.RFC3339),
				Evidence: map[string]any{"window_start": start, "window_end": end, "open": b.Open, "close": b.Close,
					"high": b.High, "low": b.Low, "return": ret, "baseline_bars": len(d.Returns), "robust_z": rz}})
		}
	}
	d.Volumes = appendCapped(d.Volumes, vol, cfg.BaselineBars)
	d.Returns = appendCapped(d.Returns, ret, cfg.BaselineBars)
	return out
}

func appendCapped(xs []float64, x float64, n int) []float64 {
	xs = append(xs, x)
	if len(xs) > n {
		xs = append(xs[:0], xs[len(xs)-n:]...)
	}
	return xs
}
