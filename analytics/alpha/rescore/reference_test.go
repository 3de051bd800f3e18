package rescore_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/analytics/alpha"
	"github.com/coattailcapital/coattail/analytics/alpha/rescore"
	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
)

const zroWallet = "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"

// storeEvents stores interchange lines in the events table as the book stage does.
func storeEvents(t *testing.T, st *store.Store, lines ...string) {
	t.Helper()
	rows := make([]store.EventRow, len(lines))
	for i, l := range lines {
		ev, err := event.Decode([]byte(l), event.Rules{})
		if err != nil {
			t.Fatalf("decode %s: %v", l, err)
		}
		k := ev.KeyHash()
		rows[i] = store.EventRow{Key: k[:], Kind: string(ev.Kind), Src: ev.Src, TS: ev.TS, Body: []byte(l)}
	}
	ctx := context.Background()
	if err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		_, err := store.InsertEvents(ctx, tx, rows)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestACoinPricedOnlyByExchangeTradesGetsOutcomes: a wallet opens a long in ZRO, which
// has no price events (no venue sends mids of it); only exchanges trade it, so the
// windows stage has one-minute bars of ZRO-USDT and ZRO-USD. The wallet's action gets
// a forward return measured on the cross-venue reference series; without the bars
// its only price is its own fill, and its outcome is missing.
func TestACoinPricedOnlyByExchangeTradesGetsOutcomes(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 2, 4, 9, 0, 0, 0, time.UTC)
	fill := fmt.Sprintf(`{"kind":"fill","src":"hyperliquid","ts":%q,"wallet":%q,"coin":"ZRO","side":"buy","px":"3.01","sz":"1000","dir":"Open Long","start_position":"0","id":"1"}`,
		t0.Format(time.RFC3339), zroWallet)
	// A stray print of a thin venue an hour later: the reference, not it, prices ZRO.
	stray := fmt.Sprintf(`{"kind":"trade","src":"tiny","ts":%q,"symbol":"ZRO-USDT","price":"99","qty":"1","side":"buy","id":"7"}`,
		t0.Add(time.Hour).Format(time.RFC3339))
	var bars []store.BarRow
	for k := -5; k < 120; k++ {
		s := t0.Add(time.Duration(k) * time.Minute)
		px := 3 + 0.01*float64(k)
		bar := func(venue, symbol string, close, quote float64) store.BarRow {
			return store.BarRow{Venue: venue, Symbol: symbol, Res: "1m", Start: s, End: s.Add(time.Minute),
				Open: close, High: close, Low: close, Close: close, OpenTS: s, CloseTS: s.Add(50 * time.Second),
				Volume: quote / close, Quote: quote, Trades: 3, Ticks: 3, Final: true}
		}
		bars = append(bars, bar("binance", "ZRO-USDT", px, 1e5), bar("coinbase", "ZRO-USD", px+0.005, 2e5))
	}
	until := t0.Add(3 * time.Hour)
	rc := alpha.ReturnConfig{Horizons: []time.Duration{time.Hour}, CostBps: -1, Benchmark: alpha.BenchmarkNone}

	withBars := testenv.Store(t)
	storeEvents(t, withBars, fill, stray)
	if err := pgx.BeginFunc(ctx, withBars.Pool(), func(tx pgx.Tx) error { return store.WriteBars(ctx, tx, bars, false) }); err != nil {
		t.Fatal(err)
	}
	h, err := rescore.Load(ctx, withBars, until, rescore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Actions) != 1 || h.Actions[0].Coin != "ZRO" || h.Actions[0].Dir != 1 {
		t.Fatalf("actions %+v, want the wallet's one long entry in ZRO", h.Actions)
	}
	ref := func(at time.Time) float64 {
		t.Helper()
		r, err := withBars.ReferencePrice(ctx, "ZRO", at)
		if err != nil {
			t.Fatalf("reference price at %s: %v", at, err)
		}
		return r.Price
	}
	for _, at := range []time.Time{t0, t0.Add(time.Hour), t0.Add(time.Hour + 30*time.Second), t0.Add(119 * time.Minute)} {
		px, ok := h.Prices.At("ZRO", at)
		if !ok || px != ref(at) {
			t.Errorf("ZRO at %s: %v (%v), want the reference price %v", at.Format(time.TimeOnly), px, ok, ref(at))
		}
	}
	if _, last, _ := h.Prices.Span("ZRO"); !last.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("ZRO's prices end at %s, want the last bar's end %s", last, t0.Add(2*time.Hour))
	}
	ret, err := alpha.NewReturns(rc, h.Prices)
	if err != nil {
		t.Fatal(err)
	}
	out := ret.Outcomes(h.Actions)
	want := ref(t0.Add(time.Hour))/ref(t0) - 1
	if got := out[0].Forward[0]; math.IsNaN(got) || math.Abs(got-want) > 1e-12 || want < 0.15 {
		t.Errorf("forward 1h return %v, want %v (the reference's move over the hour)", got, want)
	}

	// The fill alone, without bars: the wallet's own fill is ZRO's only price, and
	// nothing is known of it an hour later.
	noBars := testenv.Store(t)
	storeEvents(t, noBars, fill)
	h2, err := rescore.Load(ctx, noBars, until, rescore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ret2, err := alpha.NewReturns(rc, h2.Prices)
	if err != nil {
		t.Fatal(err)
	}
	if got := ret2.Outcomes(h2.Actions)[0].Forward[0]; !math.IsNaN(got) {
		t.Errorf("without bars the forward return is %v, want none (the fill is the only price)", got)
	}
}
