package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// latestOnly hides a store's reference prices: a PriceStore that is not a
// ReferenceStore, as the pricer was before it knew them.
type latestOnly struct{ st *store.Store }

func (l latestOnly) LatestPrices(ctx context.Context, symbols []string) ([]store.PriceRow, error) {
	return l.st.LatestPrices(ctx, symbols)
}

func TestUSDPricerPrefersTheReferencePrice(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	// The prices table: a broken mid for ETH (the coin's own row comes first there), a
	// sane ETH-USDT print, and SOL, which has no bars.
	upsertPrices(t, st,
		price("ETH", "2600", t0.Add(-10*time.Second)),
		price("ETH-USDT", "2000", t0.Add(-5*time.Second)),
		price("SOL", "150", t0),
	)
	bar := func(venue, symbol string, end time.Time, close, quote float64) store.BarRow {
		return store.BarRow{Venue: venue, Symbol: symbol, Res: "1m", Start: end.Add(-time.Minute), End: end,
			Open: close, High: close, Low: close, Close: close, OpenTS: end.Add(-time.Minute), CloseTS: end.Add(-time.Second),
			Volume: quote / close, Quote: quote, Trades: 1, Ticks: 1, Final: true}
	}
	bars := []store.BarRow{
		bar("binance", "ETH-USDT", t0, 2001, 4e6),
		bar("coinbase", "ETH-USD", t0.Add(-time.Minute), 2003, 5e6),
		bar("hyperliquid", "ETH", t0, 2600, 0), // the broken mid: no volume, outweighed
	}
	if err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error { return store.WriteBars(ctx, tx, bars, false) }); err != nil {
		t.Fatal(err)
	}
	ref, err := st.ReferencePrice(ctx, "ETH", t0)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Price != 2003 {
		t.Fatalf("reference price of ETH %v, want 2003 (the volume-weighted median)", ref.Price)
	}

	cfg := pipeline.USDPricerConfig{Now: func() time.Time { return t0 }}
	withRef, err := pipeline.NewUSDPricer(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	without, err := pipeline.NewUSDPricer(latestOnly{st}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*pipeline.USDPricer{withRef, without} {
		if err := p.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	d := decimal.RequireFromString
	transfer := func(sym, token, amount string, ts time.Time) event.Event {
		return event.Event{Kind: event.KindTransfer, Src: "ethereum", TS: ts, Symbol: sym, Token: token, Amount: d(amount)}
	}
	for _, tc := range []struct {
		name          string
		ev            event.Event
		want, without string
	}{
		{"WETH at the reference, not the broken mid", transfer("WETH", cWETH, "2", t0), "4006.00", "5200.00"},
		{"native ETH too", transfer("ETH", "", "1", t0), "2003.00", "2600.00"},
		{"a coin without bars: the prices table", transfer("SOL", cOther, "2", t0), "300.00", "300.00"},
		{"the reference is too old for the event", transfer("WETH", cWETH, "1", t0.Add(2*time.Hour)), "none", "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, ev2 := tc.ev, tc.ev
			withRef.Enrich(&ev)
			without.Enrich(&ev2)
			if got := usdOf(ev); got != tc.want {
				t.Errorf("with reference prices: usd %s, want %s", got, tc.want)
			}
			if got := usdOf(ev2); got != tc.without {
				t.Errorf("from the prices table only: usd %s, want %s", got, tc.without)
			}
		})
	}
	if got := withRef.USD("eth", d("1")); !got.Valid || got.Decimal.StringFixed(2) != "2003.00" {
		t.Errorf("USD(eth, 1) = %v, want the reference 2003.00", got)
	}
}
