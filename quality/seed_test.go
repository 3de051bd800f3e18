package quality

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// seedTrade is a trade of symbol on src at 2026-06-01T<ts>Z; n makes its key unique.
func seedTrade(t *testing.T, src, symbol, ts, px string, n int) string {
	t.Helper()
	return edit(t, lineTrade, `"binance"`, `"`+src+`"`, `"NKN-USDT"`, `"`+symbol+`"`, "11:00:00", ts,
		`"0.3528"`, `"`+px+`"`, `"15683430"`, `"`+strconv.Itoa(n)+`"`)
}

func TestSeededReferenceJudgesTheFirstPriceAfterARestart(t *testing.T) {
	at := time.Date(2026, 6, 1, 11, 0, 0, 0, time.UTC)

	// Unseeded, a restarted source takes its first price as the reference, however wild.
	run(t, mustGate(t, Config{}), []step{
		{seedTrade(t, "binance", "ETH-USDT", "11:01:00", "5000", 1), ""},
		{seedTrade(t, "binance", "ETH-USDT", "11:01:10", "2000", 2), ReasonPriceDeviation}, // the good price is the outlier now
	})

	g := mustGate(t, Config{})
	g.SeedReference("ETH", 2000, at)
	g.SeedReference("kpepe", 0.01, at)
	g.SeedReference("BAD", math.NaN(), at) // ignored, as are 0, negative and infinite prices
	g.SeedReference("BAD", 0, at)
	g.SeedReference("BAD", math.Inf(1), at)
	if _, ok := g.seeds.get("BAD"); ok || g.seeds.len() != 2 {
		t.Fatalf("seeds %v: want ETH and KPEPE only", g.seeds.m)
	}
	run(t, g, []step{
		// binance's first ETH-USDT price after the restart: 150% off the seed.
		{seedTrade(t, "binance", "ETH-USDT", "11:01:00", "5000", 1), ReasonPriceDeviation},
		{seedTrade(t, "binance", "ETH-USDT", "11:01:30", "2300", 2), ""}, // 15%: accepted, binance's own reference now
		// Its own reference judges it from now on: 17% from 2300 (35% from the seed).
		{seedTrade(t, "binance", "ETH-USDT", "11:02:00", "2700", 3), ""},
		// Another venue, USD or USDC quoted, and a fill or a mark in the bare coin: the seed.
		{seedTrade(t, "coinbase", "ETH-USD", "11:02:00", "2600", 4), ReasonPriceDeviation},
		{edit(t, lineFill, `"SUI"`, `"ETH"`, `"1.3189"`, `"2600"`), ReasonPriceDeviation},
		{edit(t, linePrice, "11:00:00", "11:02:00", `"2251.4"`, `"1500"`), ReasonPriceDeviation},
		// A real move confirmed by a later price of the same (src, symbol) is accepted.
		{seedTrade(t, "okx", "ETH-USDC", "11:02:00", "2600", 5), ReasonPriceDeviation},
		{seedTrade(t, "okx", "ETH-USDC", "11:02:05", "2610", 6), ""},
		// Not quoted in USD: the seed says nothing.
		{seedTrade(t, "binance", "ETH-BTC", "11:02:00", "0.9", 7), ""},
		// Coins match in any case.
		{edit(t, linePrice, `"ETH"`, `"kPEPE"`, "11:00:00", "11:02:00", `"2251.4"`, `"0.02"`), ReasonPriceDeviation},
		{edit(t, linePrice, `"ETH"`, `"kPEPE"`, "11:00:00", "11:02:01", `"2251.4"`, `"0.0105"`), ""},
		// More than ReferenceMaxAge after the seed, it no longer judges.
		{seedTrade(t, "kraken", "ETH-USD", "11:06:00", "5000", 10), ""},
	})

	ev := mustDecode(t, seedTrade(t, "bitstamp", "ETH-USD", "11:01:00", "900", 11))
	rej := g.Check(&ev)
	if reason(rej) != ReasonPriceDeviation || !strings.Contains(rej.Detail, "reference price 2000 of ETH-USD across venues") {
		t.Errorf("reject %v: want the seeded reference named in the detail", rej)
	}

	// With the rule off, seeding does nothing and nothing is judged.
	off := mustGate(t, Config{MaxDeviation: Off})
	off.SeedReference("ETH", 2000, at)
	run(t, off, []step{{seedTrade(t, "binance", "ETH-USDT", "11:01:00", "5000", 1), ""}})
}
