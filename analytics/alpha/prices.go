package alpha

import (
	"slices"
	"sort"
	"time"

	"github.com/coattailcapital/coattail/event"
)

// Prices is what scoring needs to know of prices: a step function per coin.
type Prices interface {
	// At returns the price of coin at t: the last price at or before t. ok is false
	// when the coin is unknown or t is before its first price.
	At(coin string, t time.Time) (px float64, ok bool)
	// Span returns the times of the coin's first and last price. Nothing is known of
	// the price after last: a forward return that needs a later price is missing,
	// not stale. ok is false when the coin is unknown.
	Span(coin string) (first, last time.Time, ok bool)
}

// Series is a Prices built from price events: for each coin, the prices in time order.
// Add prices in any order; the series sorts itself when first read after an Add. A
// Series is not safe for concurrent use while it is being added to; once built,
// concurrent reads are safe if a read (or Seal) happened before they started.
type Series struct {
	coins map[string]*coinSeries
	dirty bool
}

type coinSeries struct {
	ts  []int64 // unix nanoseconds, ascending after sort
	px  []float64
	srt bool
}

// NewSeries returns an empty series.
func NewSeries() *Series { return &Series{coins: map[string]*coinSeries{}} }

// SeriesFromEvents returns a series of the price events in evs (other kinds are
// ignored). A price event's Symbol is the coin; a BASE-QUOTE symbol is kept as it is,
// so pass coin-named prices (Hyperliquid mids) for coins traded by fills.
func SeriesFromEvents(evs []event.Event) *Series {
	s := NewSeries()
	for i := range evs {
		s.AddEvent(&evs[i])
	}
	s.Seal()
	return s
}

// AddEvent adds a price event; it ignores other kinds and non-positive prices.
func (s *Series) AddEvent(e *event.Event) {
	if e.Kind != event.KindPrice {
		return
	}
	s.Add(e.Symbol, e.TS, e.Price.InexactFloat64())
}

// Add adds the price of coin at t. Non-positive prices are ignored. Of two prices at
// the same time, the one added last wins.
func (s *Series) Add(coin string, t time.Time, px float64) {
	if !(px > 0) {
		return
	}
	c := s.coins[coin]
	if c == nil {
		c = &coinSeries{srt: true}
		s.coins[coin] = c
	}
	ns := t.UnixNano()
	if n := len(c.ts); n > 0 && ns < c.ts[n-1] {
		c.srt = false
		s.dirty = true
	}
	c.ts = append(c.ts, ns)
	c.px = append(c.px, px)
}

// Seal sorts what was added since the last read. Reads seal on their own; call Seal
// before sharing a series between goroutines.
func (s *Series) Seal() {
	if !s.dirty {
		return
	}
	for _, c := range s.coins {
		if !c.srt {
			c.sort()
		}
	}
	s.dirty = false
}

func (c *coinSeries) sort() {
	idx := make([]int, len(c.ts))
	for i := range idx {
		idx[i] = i
	}
	// Stable, so that of equal times the last added stays last and wins in At.
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case c.ts[a] < c.ts[b]:
			return -1
		case c.ts[a] > c.ts[b]:
			return 1
		}
		return 0
	})
	ts := make([]int64, len(idx))
	px := make([]float64, len(idx))
	for i, j := range idx {
		ts[i], px[i] = c.ts[j], c.px[j]
	}
	c.ts, c.px, c.srt = ts, px, true
}

// At implements Prices.
func (s *Series) At(coin string, t time.Time) (float64, bool) {
	s.Seal()
	c := s.coins[coin]
	if c == nil {
		return 0, false
	}
	ns := t.UnixNano()
	// The first index with a time after t; the price before it is the one at t.
	i := sort.Search(len(c.ts), func(i int) bool { return c.ts[i] > ns })
	if i == 0 {
		return 0, false
	}
	return c.px[i-1], true
}

// Span implements Prices.
func (s *Series) Span(coin string) (first, last time.Time, ok bool) {
	s.Seal()
	c := s.coins[coin]
	if c == nil || len(c.ts) == 0 {
		return time.Time{}, time.Time{}, false
	}
	return time.Unix(0, c.ts[0]).UTC(), time.Unix(0, c.ts[len(c.ts)-1]).UTC(), true
}

// Coins returns the coins of the series, sorted.
func (s *Series) Coins() []string {
	out := make([]string, 0, len(s.coins))
	for c := range s.coins {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Len returns the number of prices of coin.
func (s *Series) Len(coin string) int {
	if c := s.coins[coin]; c != nil {
		return len(c.ts)
	}
	return 0
}
