package alpha

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/shopspring/decimal"
)

// benchMarket returns wallets × trips round trips (two actions each) spread over 10
// coins of a minute-by-minute random walk, and the prices.
func benchMarket(b *testing.B, wallets, trips int) ([]Action, *Series) {
	b.Helper()
	const coins, minutes = 10, 60 * 24 * 60 // 60 days
	s := NewSeries()
	for c := range coins {
		addWalk(s, "C"+strconv.Itoa(c), uint64(c+1), minutes, time.Minute, 0.001)
	}
	s.Seal()
	r := rand.New(rand.NewPCG(1, 2))
	as := make([]Action, 0, wallets*trips*2)
	for w := range wallets {
		wallet := fmt.Sprintf("0x%040x", w)
		for range trips {
			coin := "C" + strconv.Itoa(r.IntN(coins))
			at := epoch().Add(time.Duration(r.IntN(minutes-200)) * time.Minute)
			until := at.Add(time.Duration(5+r.IntN(180)) * time.Minute)
			p0, _ := s.At(coin, at)
			p1, _ := s.At(coin, until)
			dir := 1 - 2*r.IntN(2)
			as = append(as, roundTrip(wallet, coin, dir, 1000+9000*r.Float64(), at, p0, until, p1)...)
		}
	}
	SortActions(as)
	return as, s
}

// BenchmarkScoreOutcomes scores 1000 wallets of 1000 actions each from outcomes
// already measured.
func BenchmarkScoreOutcomes(b *testing.B) {
	as, s := benchMarket(b, 1000, 500)
	sc := mustScorer(b, Config{})
	r, err := NewReturns(sc.Config().Returns, s)
	if err != nil {
		b.Fatal(err)
	}
	outs := r.Outcomes(as)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		sc.ScoreOutcomes(as, outs, time.Time{})
	}
	b.ReportMetric(float64(len(as))*float64(b.N)/b.Elapsed().Seconds(), "actions/s")
}

// BenchmarkScore measures outcomes and scores 1000 wallets of 1000 actions each.
func BenchmarkScore(b *testing.B) {
	as, s := benchMarket(b, 1000, 500)
	sc := mustScorer(b, Config{})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		sc.Score(as, s, time.Time{})
	}
	b.ReportMetric(float64(len(as))*float64(b.N)/b.Elapsed().Seconds(), "actions/s")
}

// BenchmarkActionsFromFills derives actions from 100 wallets' fills.
func BenchmarkActionsFromFills(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	var evs []event.Event
	for w := range 100 {
		wallet := fmt.Sprintf("0x%040x", w)
		pos := int64(0)
		for i := range 1000 {
			side, q := event.Buy, int64(1+r.IntN(5))
			if r.IntN(2) == 0 && pos > 0 {
				side, q = event.Sell, min(q, pos)
			}
			e := event.Event{Kind: event.KindFill, TS: epoch().Add(time.Duration(i) * time.Minute), Wallet: wallet, Coin: "BTC",
				Side: side, Px: decimal.New(int64(90000+r.IntN(10000)), 0), Sz: decimal.New(q, -2),
				StartPosition: decimal.NullDecimal{Decimal: decimal.New(pos, -2), Valid: true}}
			if side == event.Buy {
				pos += q
			} else {
				pos -= q
			}
			evs = append(evs, e)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := ActionsFromFills(evs, ActionConfig{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "fills/s")
}
