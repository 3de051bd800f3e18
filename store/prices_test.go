package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
	"github.com/shopspring/decimal"
)

// upsertPrices writes rows through store.UpsertPrices in one transaction.
func upsertPrices(t *testing.T, st *store.Store, rows []store.PriceRow) {
	t.Helper()
	ctx := context.Background()
	tx, err := st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := store.UpsertPrices(ctx, tx, rows); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLatestPrices(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	t0 := time.Date(2025, 2, 4, 9, 34, 27, 568479000, time.UTC)
	px := decimal.RequireFromString
	upsertPrices(t, st, []store.PriceRow{
		{Symbol: "ETH", Price: px("2000.5"), TS: t0, Src: "hyperliquid", EventKey: []byte{1}},
		{Symbol: "ETH-USDT", Price: px("2001.123456789012345678"), TS: t0, Src: "binance", EventKey: []byte{2}},
		{Symbol: "kPEPE", Price: px("0.0123"), TS: t0, Src: "hyperliquid", EventKey: []byte{3}},
	})
	// A newer ETH replaces the older; an older ETH-USDT does not replace the newer.
	upsertPrices(t, st, []store.PriceRow{
		{Symbol: "ETH", Price: px("2100"), TS: t0.Add(time.Minute), Src: "hyperliquid", EventKey: []byte{4}},
		{Symbol: "ETH-USDT", Price: px("1"), TS: t0.Add(-time.Minute), Src: "binance", EventKey: []byte{5}},
	})
	show := func(rows []store.PriceRow) string {
		var b strings.Builder
		for _, r := range rows {
			b.WriteString(r.Symbol + "=" + r.Price.String() + "@" + r.TS.Format(time.RFC3339Nano) + "/" + r.Src + ";")
		}
		return b.String()
	}
	at := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339Nano) }
	for _, tc := range []struct {
		name    string
		symbols []string
		want    string
	}{
		{"all", nil, "ETH=2100@" + at(time.Minute) + "/hyperliquid;ETH-USDT=2001.123456789012345678@" + at(0) + "/binance;kPEPE=0.0123@" + at(0) + "/hyperliquid;"},
		{"some", []string{"ETH-USDT", "kPEPE"}, "ETH-USDT=2001.123456789012345678@" + at(0) + "/binance;kPEPE=0.0123@" + at(0) + "/hyperliquid;"},
		{"unknown and case kept", []string{"BTC", "KPEPE", "ETH"}, "ETH=2100@" + at(time.Minute) + "/hyperliquid;"},
		{"none known", []string{"DOGE"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := st.LatestPrices(ctx, tc.symbols)
			if err != nil {
				t.Fatal(err)
			}
			if got := show(rows); got != tc.want {
				t.Errorf("LatestPrices(%v)\n got %s\nwant %s", tc.symbols, got, tc.want)
			}
			for _, r := range rows {
				if r.TS.Location() != time.UTC || len(r.EventKey) != 1 {
					t.Errorf("%s: ts %v (want UTC), event key %x", r.Symbol, r.TS, r.EventKey)
				}
			}
		})
	}
}
