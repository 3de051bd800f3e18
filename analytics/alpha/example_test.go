package alpha_test

import (
	"fmt"
	"time"

	"github.com/coattailcapital/coattail/analytics/alpha"
	"github.com/coattailcapital/coattail/event"
	"github.com/shopspring/decimal"
)

// A coin that zigzags 100 → 102 → 100 every ten minutes, one wallet that buys the
// lows and sells the highs, one that does the opposite at a hundred times the size,
// and the leaderboard.
func Example() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []event.Event
	for m := 0; m <= 24*60; m++ {
		px := 100 + 2*float64(m%20)/10
		if m%20 > 10 {
			px = 100 + 2*float64(20-m%20)/10
		}
		evs = append(evs, event.Event{Kind: event.KindPrice, Symbol: "ZIG", Price: decimal.NewFromFloat(px), TS: start.Add(time.Duration(m) * time.Minute)})
	}
	trade := func(wallet string, m int, side event.Side, sz, start string) {
		evs = append(evs, event.Event{Kind: event.KindFill, Wallet: wallet, Coin: "ZIG", Side: side,
			TS: time.Date(2026, 1, 1, 0, m, 0, 0, time.UTC), Px: decimal.NewFromInt(100),
			Sz: decimal.RequireFromString(sz), StartPosition: decimal.NullDecimal{Decimal: decimal.RequireFromString(start), Valid: true}})
	}
	for k := range 60 {
		low, high := 20*k, 20*k+10 // minutes of a low and the next high
		trade("0xsmart", low, event.Buy, "1", "0")
		trade("0xsmart", high, event.Sell, "1", "1")
		trade("0xwhale", low, event.Sell, "100", "0")
		trade("0xwhale", high, event.Buy, "100", "-100")
	}

	actions, err := alpha.ActionsFromFills(evs, alpha.ActionConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	scorer, err := alpha.NewScorer(alpha.Config{
		Returns: alpha.ReturnConfig{Horizons: []time.Duration{10 * time.Minute, 30 * time.Minute}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	scores := scorer.Score(actions, alpha.SeriesFromEvents(evs), time.Time{})
	for _, r := range alpha.Rank(scores) {
		fmt.Printf("#%d %s: %d entries, mean %+.1f%% over 10m\n", r.Rank, r.Wallet, r.N, 100*r.MeanReturn[0])
	}
	// Output:
	// #1 0xsmart: 60 entries, mean +1.9% over 10m
	// #2 0xwhale: 60 entries, mean -2.1% over 10m
}
