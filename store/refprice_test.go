package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
)

// bar1m is a one-minute bar of venue/symbol starting at start, closing at close one
// second before its end with quote volume quote.
func bar1m(venue, symbol string, start time.Time, close, quote float64) store.BarRow {
	return store.BarRow{Venue: venue, Symbol: symbol, Res: "1m", Start: start, End: start.Add(time.Minute),
		Open: close, High: close, Low: close, Close: close, OpenTS: start, CloseTS: start.Add(59 * time.Second),
		Volume: quote / close, Quote: quote, Trades: 1, Ticks: 1, Final: true}
}

func writeBars(t *testing.T, st *store.Store, bars []store.BarRow) {
	t.Helper()
	ctx := context.Background()
	if err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error { return store.WriteBars(ctx, tx, bars, false) }); err != nil {
		t.Fatalf("write bars: %v", err)
	}
}

func venuesOf(r store.RefPrice) []string {
	var out []string
	for _, v := range r.Venues {
		out = append(out, v.Venue+" "+v.Symbol)
	}
	return out
}

func TestReferencePriceIsTheVolumeWeightedMedianOfFreshUSDVenues(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	at := t0.Add(10 * time.Minute)
	var bars []store.BarRow
	for i := range 10 { // ends t0+1m .. t0+10m = at
		bars = append(bars, bar1m("binance", "ETH-USDT", t0.Add(time.Duration(i)*time.Minute), 2000+float64(i), 3e6))
	}
	// A bar ending after at is not known at at.
	bars = append(bars, bar1m("binance", "ETH-USDT", at, 9999, 3e6))
	thin := bar1m("tiny", "ETH-USDC", at.Add(-time.Minute), 2500, 1e3) // a thin venue far off: outweighed
	thin.CloseTS = at.Add(-30 * time.Second)
	mids := bar1m("hyperliquid", "ETH", at.Add(-2*time.Minute), 2011, 0) // price events: no volume
	mids.Volume = 0
	bars = append(bars,
		bar1m("coinbase", "ETH-USD", at.Add(-3*time.Minute), 2010, 4e6), // ends 2 minutes before at: fresh
		thin, mids,
		bar1m("okx", "ETH-USDT", at.Add(-7*time.Minute), 1000, 9e9),   // ends 6 minutes before at: stale
		bar1m("binance", "ETH-BTC", at.Add(-time.Minute), 0.05, 1e9),  // not a USD quote
		bar1m("binance", "SOL-USDT", at.Add(-time.Minute), 150, 1e6),  // another coin
		bar1m("hyperliquid", "kPEPE", at.Add(-time.Minute), 0.012, 0), // a bare coin in mixed case
	)
	fiveMin := bar1m("binance", "ETH-USDT", at.Add(-5*time.Minute), 7777, 1e12)
	fiveMin.Res, fiveMin.End = "5m", at
	bars = append(bars, fiveMin) // only one-minute bars count
	writeBars(t, st, bars)

	refs, err := st.ReferencePrices(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	var coins []string
	for _, r := range refs {
		coins = append(coins, r.Coin)
	}
	if want := []string{"ETH", "KPEPE", "SOL"}; !slices.Equal(coins, want) {
		t.Fatalf("coins %v, want %v", coins, want)
	}
	eth := refs[0]
	// Sorted: 2009 (3e6), 2010 (4e6), 2011 (no volume: the smallest weight, 1e3), 2500
	// (1e3). Half the total weight (7.002e6) is reached at 2010.
	if eth.Price != 2010 {
		t.Errorf("ETH reference %v, want 2010 (the volume-weighted median)", eth.Price)
	}
	wantVenues := []string{"binance ETH-USDT", "coinbase ETH-USD", "hyperliquid ETH", "tiny ETH-USDC"}
	if got := venuesOf(eth); !slices.Equal(got, wantVenues) {
		t.Errorf("ETH venues %v, want %v", got, wantVenues)
	}
	if eth.Venues[0].Close != 2009 || !eth.Venues[0].End.Equal(at) {
		t.Errorf("binance's bar used %+v, want the one ending at %s (close 2009)", eth.Venues[0], at)
	}
	if !eth.TS.Equal(at.Add(-time.Second)) || eth.Staleness != time.Second || !eth.At.Equal(at) {
		t.Errorf("ETH ts %s staleness %s at %s; want the newest close %s, 1s, %s", eth.TS, eth.Staleness, eth.At, at.Add(-time.Second), at)
	}

	one, err := st.ReferencePrice(ctx, "eth", at)
	if err != nil {
		t.Fatal(err)
	}
	if one.Price != eth.Price || !slices.Equal(venuesOf(one), wantVenues) {
		t.Errorf("ReferencePrice(eth) = %v from %v, want what ReferencePrices says", one.Price, venuesOf(one))
	}
	if _, err := st.ReferencePrice(ctx, "DOGE", at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DOGE: err %v, want ErrNotFound", err)
	}
	// Half an hour later every bar is stale.
	if later, err := st.ReferencePrices(ctx, at.Add(30*time.Minute)); err != nil || len(later) != 0 {
		t.Errorf("30 minutes on: %v, %v; want no reference prices", later, err)
	}
	// Just before the coinbase bar ended, only binance's bar of the minute before and
	// okx's (fresh then) are known.
	early, err := st.ReferencePrice(ctx, "ETH", at.Add(-2*time.Minute-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got := venuesOf(early); !slices.Equal(got, []string{"binance ETH-USDT", "okx ETH-USDT"}) {
		t.Errorf("two minutes earlier the venues are %v, want binance and okx (fresh then)", got)
	}
}

func TestReferenceSeriesAgreesWithReferencePriceAtEveryMinute(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	var bars []store.BarRow
	for i := range 20 {
		s := t0.Add(time.Duration(i) * time.Minute)
		bars = append(bars, bar1m("binance", "ZRO-USDT", s, 3+float64(i)/100, 2e5))
		if i%3 == 0 { // a venue that trades now and then
			bars = append(bars, bar1m("coinbase", "ZRO-USD", s, 3.5+float64(i)/100, 5e5))
		}
	}
	// A gap: nothing for 10 minutes, then one venue again.
	bars = append(bars, bar1m("binance", "ZRO-USDT", t0.Add(30*time.Minute), 4, 1e5))
	writeBars(t, st, bars)

	until := t0.Add(25 * time.Minute)
	series, err := st.ReferenceSeries(ctx, []string{"ZRO", "NOPE"}, until)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 1 || len(series["ZRO"]) != 20 {
		t.Fatalf("series %v: want 20 points of ZRO (one per minute end up to %s)", series, until)
	}
	for _, p := range series["ZRO"] {
		r, err := st.ReferencePrice(ctx, "ZRO", p.End)
		if err != nil {
			t.Fatalf("at %s: %v", p.End, err)
		}
		if r.Price != p.Price {
			t.Errorf("at %s the series says %v, ReferencePrice %v", p.End, p.Price, r.Price)
		}
	}
	// The coinbase bars outweigh binance's while fresh: the minute after one is theirs.
	if p := series["ZRO"][1]; p.Price != 3.5 {
		t.Errorf("at %s: %v, want coinbase's 3.5 (fresh for five minutes, heavier)", p.End, p.Price)
	}
	all, err := st.ReferenceSeries(ctx, []string{"ZRO"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(all["ZRO"]); n != 21 || all["ZRO"][20].Price != 4 {
		t.Errorf("without a bound: %d points ending %v, want 21 ending at 4", n, all["ZRO"][n-1])
	}
}
