package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// Genuine mainnet contracts and an impostor borrowing their symbols.
const (
	cWETH     = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
	cWBTC     = "0x2260fac5e5542a773aa44fbcfedf7c193bc2c599"
	cUSDC     = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
	cUSDT     = "0xdac17f958d2ee523a2206206994597c13d831ec7"
	cImpostor = "0x00000000000000000000000000000000deadbeef"
	cOther    = "0x1111111111111111111111111111111111111111"
)

// upsertPrices writes rows to the prices table as the book sink does.
func upsertPrices(t *testing.T, st *store.Store, rows ...store.PriceRow) {
	t.Helper()
	ctx := context.Background()
	tx, err := st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for i := range rows {
		if rows[i].Src == "" {
			rows[i].Src = "test"
		}
		rows[i].EventKey = []byte(rows[i].Symbol)
	}
	if err := store.UpsertPrices(ctx, tx, rows); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func price(sym, px string, ts time.Time) store.PriceRow {
	return store.PriceRow{Symbol: sym, Price: decimal.RequireFromString(px), TS: ts}
}

func usdOf(ev event.Event) string {
	if !ev.USD.Valid {
		return "none"
	}
	return ev.USD.Decimal.StringFixed(2)
}

func TestUSDPricerEnrich(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	upsertPrices(t, st,
		price("ETH", "2000", t0.Add(-10*time.Minute)), // a price event's coin
		price("ETH-USDT", "1", t0),                    // COIN comes first: never used
		price("BTC-USDT", "60000", t0),
		price("PEPE-USD", "0.00001", t0),
		price("SOL", "100", t0.Add(-2*time.Hour)), // stale: the fresh pair below is used
		price("SOL-USDC", "150", t0.Add(-5*time.Minute)),
		price("LINK", "10", t0.Add(-2*time.Hour)), // stale, nothing else
		price("USDC-USDT", "0.98", t0),            // a stablecoin is 1 whatever this says
		price("ETH-BTC", "0.05", t0),              // not a USD price
	)
	p, err := pipeline.NewUSDPricer(st, pipeline.USDPricerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	d := decimal.RequireFromString
	transfer := func(sym, token, amount string) event.Event {
		return event.Event{Kind: event.KindTransfer, Src: "ethereum", TS: t0, Symbol: sym, Token: token, Amount: d(amount)}
	}
	swap := func(symIn, tokIn, amtIn, symOut, tokOut, amtOut string) event.Event {
		return event.Event{Kind: event.KindSwap, Src: "ethereum", TS: t0, SymbolIn: symIn, TokenIn: tokIn, AmountIn: d(amtIn),
			SymbolOut: symOut, TokenOut: tokOut, AmountOut: d(amtOut)}
	}
	at := func(ev event.Event, ts time.Time) event.Event { ev.TS = ts; return ev }
	withUSD := func(ev event.Event, usd string) event.Event { ev.USD = decimal.NewNullDecimal(d(usd)); return ev }

	// Before the first refresh nothing is priced.
	before := transfer("WETH", cWETH, "1")
	p.Enrich(&before)
	if before.USD.Valid {
		t.Fatalf("priced before any refresh: %s", usdOf(before))
	}
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		ev   event.Event
		want string
	}{
		{"WETH as ETH", transfer("WETH", cWETH, "1.5"), "3000.00"},
		{"WETH symbol case-insensitive", transfer("weth", cWETH, "0.333"), "666.00"},
		{"rounded to cents", transfer("WETH", cWETH, "0.0001234"), "0.25"},
		{"native ETH", transfer("ETH", "", "10"), "20000.00"},
		{"USDC at 1", transfer("USDC", cUSDC, "1234.567"), "1234.57"},
		{"USDC impostor", transfer("USDC", cImpostor, "1000000"), "none"},
		{"WETH impostor", transfer("WETH", cImpostor, "1000"), "none"},
		{"token calling itself ETH", transfer("ETH", cImpostor, "1000"), "none"},
		{"WBTC as BTC via BTC-USDT", transfer("WBTC", cWBTC, "0.5"), "30000.00"},
		{"COIN-USD fallback, any contract", transfer("PEPE", cOther, "1000000"), "10.00"},
		{"stale COIN, fresh COIN-USDC", transfer("SOL", cOther, "1.5"), "225.00"},
		{"only a stale price", transfer("LINK", cOther, "3"), "none"},
		{"unknown token", transfer("FOO", cOther, "5"), "none"},
		{"no symbol", transfer("", cOther, "5"), "none"},
		{"pair of another quote is not a price", transfer("ETH-BTC", cOther, "5"), "none"},
		{"event long after the price", at(transfer("WETH", cWETH, "1"), t0.Add(2*time.Hour)), "none"},
		{"event long before the price", at(transfer("WETH", cWETH, "1"), t0.Add(-2*time.Hour)), "none"},
		{"event just within max age", at(transfer("WETH", cWETH, "1"), t0.Add(50*time.Minute)), "2000.00"},
		{"stablecoin has no age", at(transfer("USDT", cUSDT, "7"), t0.Add(-48*time.Hour)), "7.00"},
		{"source's USD kept", withUSD(transfer("WETH", cWETH, "1"), "1.23"), "1.23"},
		{"source's USD kept on a swap", withUSD(swap("USDC", cUSDC, "10", "WETH", cWETH, "1"), "9.99"), "9.99"},
		{"swap: stable in", swap("USDC", cUSDC, "178646.129499", "WETH", cWETH, "96.4"), "178646.13"},
		{"swap: stable out preferred", swap("WETH", cWETH, "1", "USDT", cUSDT, "1990.5"), "1990.50"},
		{"swap: priced in", swap("WETH", cWETH, "2", "FOO", cOther, "5"), "4000.00"},
		{"swap: priced out", swap("FOO", cOther, "5", "WBTC", cWBTC, "0.1"), "6000.00"},
		{"swap: impostor stable ignored", swap("USDT", cImpostor, "999999", "WETH", cWETH, "1"), "2000.00"},
		{"swap: nothing priced", swap("FOO", cOther, "5", "BAR", cOther, "6"), "none"},
		{"a trade is not valued", event.Event{Kind: event.KindTrade, TS: t0, Symbol: "ETH-USDT", Price: d("2000"), Qty: d("1")}, "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := tc.ev
			p.Enrich(&ev)
			if got := usdOf(ev); got != tc.want {
				t.Errorf("usd %s, want %s", got, tc.want)
			}
		})
	}
}

func TestUSDPricerUSDAndConfig(t *testing.T) {
	st := testenv.Store(t)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	upsertPrices(t, st, price("ETH", "2000", t0), price("kPEPE", "0.01", t0))
	now := t0
	p, err := pipeline.NewUSDPricer(st, pipeline.USDPricerConfig{
		MaxAge: 30 * time.Minute,
		Now:    func() time.Time { return now },
		Tokens: map[string]pipeline.Token{"stEth": {PriceAs: "eth"}, "usdx": {Stable: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := decimal.RequireFromString
	check := func(sym, amount, want string) {
		t.Helper()
		got := p.USD(sym, d(amount))
		if s := usdOf(event.Event{USD: got}); s != want {
			t.Errorf("USD(%s, %s) at %v = %s, want %s", sym, amount, now.Sub(t0), s, want)
		}
	}
	check("ETH", "2", "4000.00")
	check("STETH", "1", "2000.00") // own rule, case-insensitive both ways
	check("USDX", "3.456", "3.46")
	check("KPEPE", "100", "1.00")
	check("WETH", "1", "none") // Tokens replaced the defaults: no WETH alias
	check("USDC", "1", "none")
	now = t0.Add(31 * time.Minute) // the clock moved past MaxAge
	check("ETH", "2", "none")
	check("USDX", "1", "1.00")

	for _, tc := range []struct {
		name string
		cfg  pipeline.USDPricerConfig
	}{
		{"negative refresh", pipeline.USDPricerConfig{Refresh: -time.Second}},
		{"negative max age", pipeline.USDPricerConfig{MaxAge: -time.Second}},
		{"duplicate symbol by case", pipeline.USDPricerConfig{Tokens: map[string]pipeline.Token{"weth": {}, "WETH": {}}}},
		{"stable and aliased", pipeline.USDPricerConfig{Tokens: map[string]pipeline.Token{"X": {Stable: true, PriceAs: "Y"}}}},
	} {
		if _, err := pipeline.NewUSDPricer(st, tc.cfg); err == nil {
			t.Errorf("%s: NewUSDPricer accepted it", tc.name)
		}
	}
}

// Run reads new prices as they come; a failed read keeps the last prices in use.
func TestUSDPricerRunRefreshes(t *testing.T) {
	url := testenv.Schema(t)
	st := testenv.StoreAt(t, url)
	now := time.Now().UTC()
	upsertPrices(t, st, price("ETH", "2000", now))
	p, err := pipeline.NewUSDPricer(st, pipeline.USDPricerConfig{Refresh: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	usd := func() string {
		ev := event.Event{Kind: event.KindTransfer, TS: now, Symbol: "WETH", Token: cWETH, Amount: decimal.NewFromInt(1)}
		p.Enrich(&ev)
		return usdOf(ev)
	}
	if !testenv.WaitFor(ctx, func() bool { return usd() == "2000.00" }) {
		t.Fatalf("Run never loaded the price: %s", usd())
	}
	upsertPrices(t, st, price("ETH", "2500", now.Add(time.Second)))
	if !testenv.WaitFor(ctx, func() bool { return usd() == "2500.00" }) {
		t.Fatalf("Run never picked up the new price: %s", usd())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v after cancel, want nil", err)
	}

	// The database is gone: Refresh fails, the prices read before stay in use.
	st.Close()
	if err := p.Refresh(context.Background()); err == nil {
		t.Error("Refresh on a closed store succeeded")
	}
	if got := usd(); got != "2500.00" {
		t.Errorf("after a failed refresh usd %s, want the last price's 2500.00", got)
	}
}

// RunSourceWith applies the enrich hook before offering: the committed event body
// carries the USD value, and a source's own value survives.
func TestRunSourceEnrichesWithUSD(t *testing.T) {
	st := testenv.Store(t)
	rdb, prefix := testenv.Redis(t)
	scfg := stream.Config{Prefix: prefix}
	ts := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	upsertPrices(t, st, price("ETH", "2000", ts))
	pricer, err := pipeline.NewUSDPricer(st, pipeline.USDPricerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pricer.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	tx := func(i int) string { return fmt.Sprintf("0x%064x", i) }
	xfer := func(i int, sym, token, amount string) event.Event {
		return event.Event{Kind: event.KindTransfer, Src: "ethereum", TS: ts, Block: 20000000, Tx: tx(i), LogIndex: int64(i),
			Token: token, Symbol: sym, From: "0x8032eaede5c55f744387ca53aaf0499abcd783e5",
			To: "0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc", Amount: decimal.RequireFromString(amount)}
	}
	kept := xfer(3, "WETH", cWETH, "1")
	kept.USD = decimal.NewNullDecimal(decimal.RequireFromString("1999.99"))
	src := scripted{evs: []event.Event{xfer(1, "WETH", cWETH, "1.5"), xfer(2, "FOO", cOther, "7"), kept}}
	want := map[string]string{tx(1): "3000", tx(2): "", tx(3): "1999.99"}

	ok := runSourceWithBook(t, st, rdb, scfg, func(ctx context.Context, in *pipeline.Ingress) error {
		return pipeline.RunSourceWith(ctx, src, in, pipeline.SourceConfig{Enrich: pricer.Enrich})
	}, func(ctx context.Context) bool {
		var n int
		err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE kind = 'transfer'`).Scan(&n)
		return err == nil && n == len(want)
	})
	if !ok {
		t.Fatalf("the %d transfers were not committed", len(want))
	}
	rows, err := st.Pool().Query(context.Background(), `SELECT body FROM events WHERE kind = 'transfer'`)
	if err != nil {
		t.Fatal(err)
	}
	bodies, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bodies {
		var body struct {
			Tx  string `json:"tx"`
			USD string `json:"usd"`
		}
		if err := json.Unmarshal([]byte(b), &body); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		w, known := want[body.Tx]
		if !known {
			t.Errorf("unexpected transfer %s", b)
			continue
		}
		if body.USD != w {
			t.Errorf("tx %s: usd %q, want %q; body %s", body.Tx, body.USD, w, b)
		}
	}
}

func BenchmarkUSDPricerEnrich(b *testing.B) {
	st := testenv.Store(b)
	ts := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	tx, err := st.Pool().Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if err := store.UpsertPrices(ctx, tx, []store.PriceRow{{Symbol: "ETH", Price: decimal.RequireFromString("2000.12"), TS: ts,
		Src: "test", EventKey: []byte{1}}}); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	p, err := pipeline.NewUSDPricer(st, pipeline.USDPricerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	amount := decimal.RequireFromString("1.234567890123456789")
	b.ReportAllocs()
	for b.Loop() {
		ev := event.Event{Kind: event.KindTransfer, TS: ts, Symbol: "WETH", Token: cWETH, Amount: amount}
		p.Enrich(&ev)
		if !ev.USD.Valid {
			b.Fatal("not priced")
		}
	}
}
