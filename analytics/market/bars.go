// Package market holds the pure aggregates of the windowed stages: price bars, the
// cross-venue reference price, exchange flows, CEX anomaly detectors and the whale
// profiler. Everything here is a value that folds events in, merges with another value
// of its kind (so a late correction or a per-shard partial combines), and marshals to
// JSON unchanged, so it can live in checkpointed window state. No I/O.
//
// Analytics use float64: these are statistics over market data, not accounting (the
// wallet book keeps decimals). Float sums are deterministic for a given input order,
// which is all the stages rely on.
package market

import (
	"strings"
	"time"

	"github.com/coattailcapital/coattail/analytics/window"
)

// BarSpecs are the bar resolutions: 1m, 5m and 1h tumbling windows.
func BarSpecs() []window.Spec {
	return []window.Spec{
		window.Tumbling("1m", time.Minute),
		window.Tumbling("5m", 5*time.Minute),
		window.Tumbling("1h", time.Hour),
	}
}

// Tick is one price observation for a bar: a trade (Qty > 0) or a quote (Qty 0).
type Tick struct {
	TS    int64 // Unix nanoseconds
	Px    float64
	Qty   float64
	Trade bool
}

// Bar is OHLCV over a window. Open and Close are the earliest and latest ticks by event
// time (ties: the first folded keeps Open, the last folded takes Close), so a bar does
// not depend on the order its ticks arrived in except for exact-time ties.
type Bar struct {
	Open    float64 `json:"o"`
	High    float64 `json:"h"`
	Low     float64 `json:"l"`
	Close   float64 `json:"c"`
	OpenTS  int64   `json:"ot"`
	CloseTS int64   `json:"ct"`
	Volume  float64 `json:"v"`  // base units traded
	Quote   float64 `json:"q"`  // sum of price × qty, for VWAP
	Trades  int64   `json:"n"`  // trades
	Ticks   int64   `json:"k"`  // trades and quotes
	Late    int64   `json:"lt"` // ticks applied as late corrections
}

// FoldTick adds a tick to a bar (window.Operator's fold).
func FoldTick(b *Bar, t Tick) {
	if b.Ticks == 0 {
		*b = Bar{Open: t.Px, High: t.Px, Low: t.Px, Close: t.Px, OpenTS: t.TS, CloseTS: t.TS}
	} else {
		if t.TS < b.OpenTS {
			b.Open, b.OpenTS = t.Px, t.TS
		}
		if t.TS >= b.CloseTS {
			b.Close, b.CloseTS = t.Px, t.TS
		}
		b.High = max(b.High, t.Px)
		b.Low = min(b.Low, t.Px)
	}
	b.Ticks++
	if t.Trade {
		b.Trades++
		b.Volume += t.Qty
		b.Quote += t.Px * t.Qty
	}
}

// Merge combines two bars of the same window (a correction into the emitted bar).
func (b Bar) Merge(o Bar) Bar {
	if o.Ticks == 0 {
		return b
	}
	if b.Ticks == 0 {
		return o
	}
	out := b
	if o.OpenTS < b.OpenTS {
		out.Open, out.OpenTS = o.Open, o.OpenTS
	}
	if o.CloseTS >= b.CloseTS {
		out.Close, out.CloseTS = o.Close, o.CloseTS
	}
	out.High, out.Low = max(b.High, o.High), min(b.Low, o.Low)
	out.Volume += o.Volume
	out.Quote += o.Quote
	out.Trades += o.Trades
	out.Ticks += o.Ticks
	out.Late += o.Late
	return out
}

// VWAP is the volume-weighted average trade price; ok is false without trades.
func (b Bar) VWAP() (float64, bool) {
	if b.Volume <= 0 {
		return 0, false
	}
	return b.Quote / b.Volume, true
}

// usdQuotes are quote currencies taken as US dollars for the reference price.
var usdQuotes = map[string]bool{"USD": true, "USDT": true, "USDC": true}

// Coin splits a venue symbol into its coin (the base of BASE-QUOTE, or the symbol
// itself when it names a coin, as Hyperliquid's do) and whether it is quoted in USD
// (USD, USDT, USDC; a bare coin symbol is a USD mark).
func Coin(symbol string) (coin string, usd bool) {
	base, quote, ok := strings.Cut(symbol, "-")
	if !ok {
		return strings.ToUpper(symbol), true
	}
	return strings.ToUpper(base), usdQuotes[strings.ToUpper(quote)]
}
