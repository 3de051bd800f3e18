package quality

import (
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/analytics/demo"
	"github.com/coattailcapital/coattail/event"
)

type step struct {
	line string
	want event.Reason // "" accepted
}

// run feeds steps through g and checks each verdict.
func run(t *testing.T, g *Gate, steps []step) {
	t.Helper()
	for i, s := range steps {
		ev := mustDecode(t, s.line)
		rej := g.Check(&ev)
		if reason(rej) != s.want {
			t.Errorf("step %d: got %v, want %q\n%s", i, rej, s.want, s.line)
		}
		if rej != nil && rej.Detail == "" {
			t.Errorf("step %d: reject without detail", i)
		}
	}
}

func TestGateRules(t *testing.T) {
	// Lines of distinct keys: a transfer's key is (src, tx, log_index).
	xfer := func(logIndex int, pairs ...string) string {
		return edit(t, edit(t, lineTransfer, `"log_index":1`, `"log_index":`+strconv.Itoa(logIndex)), pairs...)
	}
	const (
		from = "0x8032eaede5c55f744387ca53aaf0499abcd783e5"
		to   = "0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc"
		weth = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
		usdc = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
	)
	price := func(sym, ts, px string) string {
		return edit(t, linePrice, `"ETH"`, `"`+sym+`"`, "2026-06-01T11:00:00Z", "2026-06-01T"+ts+"Z", `"2251.4"`, `"`+px+`"`)
	}
	tests := []struct {
		rule, name string
		cfg        Config
		steps      []step
	}{
		{"duplicate_key", "same key", Config{}, []step{
			{lineTrade, ""},
			{lineTrade, ReasonDuplicate},
			// Spelled otherwise, the same event: same key.
			{edit(t, lineTrade, `"id":"15683430"`, `"id":15683430`, `"price":"0.3528"`, `"price":"0.35280"`), ReasonDuplicate},
			{edit(t, lineTrade, `"id":"15683430"`, `"id":"15683431"`), ""},
			{lineFill, ""},
			// One trade id names both sides of a Hyperliquid trade: another wallet is another fill.
			{edit(t, lineFill, `0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2`, `0x1111111111111111111111111111111111111111`), ""},
			{lineFill, ReasonDuplicate},
			{lineTransfer, ""},
			// A retraction is another event than the one it retracts.
			{edit(t, lineTransfer, `"decimals":18`, `"decimals":18,"removed":true`), ""},
			{edit(t, lineTransfer, `"decimals":18`, `"decimals":18,"removed":true`), ReasonDuplicate},
		}},
		{"duplicate_key", "off", Config{DuplicateWindow: Off}, []step{
			{lineTrade, ""}, {lineTrade, ""},
		}},
		{"zero_value_transfer", "zero amounts", Config{}, []step{
			{xfer(1, `"raw_amount":"26369360912168932"`, `"raw_amount":"000"`), ReasonZeroValue},
			{xfer(2, `"raw_amount":"26369360912168932","decimals":18`, `"amount":"0.000"`), ReasonZeroValue},
			{xfer(3, `"raw_amount":"26369360912168932","decimals":18`, `"amount":"0.000001"`), ""},
			{xfer(4, `"raw_amount":"26369360912168932"`, `"raw_amount":"1"`), ""},
		}},
		{"zero_value_transfer", "allowed", Config{AllowZeroTransfers: true}, []step{
			{xfer(1, `"raw_amount":"26369360912168932"`, `"raw_amount":"0"`), ""},
		}},
		{"self_transfer", "from is to", Config{}, []step{
			{xfer(1, to, from), ReasonSelfTransfer},
			{xfer(2, to, from, `"decimals":18`, `"decimals":18,"removed":true`), ReasonSelfTransfer},
			// A native transfer to oneself (a cancelled transaction's usual shape).
			{xfer(-1, to, from, `"token":"`+weth+`",`, ``), ReasonSelfTransfer},
			{xfer(3), ""},
		}},
		{"self_transfer", "allowed", Config{AllowSelfTransfers: true}, []step{
			{xfer(1, to, from), ""},
		}},
		{"decimals_consistent", "first seen wins", Config{}, []step{
			{xfer(1), ""},
			{xfer(2, `"decimals":18`, `"decimals":6`), ReasonDecimalsMismatch},
			{xfer(3), ""},
			// Another token, the same token on another chain, a transfer given in units.
			{xfer(4, weth, usdc, `"decimals":18`, `"decimals":6`), ""},
			{xfer(5, `"src":"ethereum"`, `"src":"arbitrum"`, `"decimals":18`, `"decimals":6`), ""},
			{xfer(6, `"raw_amount":"26369360912168932","decimals":18`, `"amount":"5"`), ""},
			{xfer(7, weth, usdc, `"decimals":18`, `"decimals":18`), ReasonDecimalsMismatch},
		}},
		{"within_lateness", "per partition", Config{}, []step{
			{price("ETH", "11:00:00", "2250"), ""},
			{price("ETH", "10:51:00", "2250"), ""},
			{price("ETH", "10:49:59", "2250"), ReasonLate},
			{price("BTC", "10:00:00", "90000"), ""}, // its own partition
			{price("ETH", "11:30:00", "2250"), ""},
			{price("ETH", "11:20:00", "2250"), ""}, // exactly the lateness: not late
			{price("ETH", "11:19:59", "2250"), ReasonLate},
			{edit(t, lineTrade, `"2026-06-01T11:00:00Z"`, `"2026-06-01T10:00:00Z"`), ""}, // another kind and src
			{xfer(1, "11:00:00", "11:30:00"), ""},
			{xfer(2, "11:00:00", "10:00:00", `"decimals":18`, `"decimals":18,"removed":true`), ""}, // a retraction is never late
			{xfer(3, "11:00:00", "10:00:00"), ReasonLate},
			{xfer(4, "11:00:00", "10:00:00", weth, usdc, `"decimals":18`, `"decimals":6`), ""}, // another token
		}},
		{"within_lateness", "fills per wallet and coin", Config{}, []step{
			{lineFill, ""},
			{edit(t, lineFill, `"id":"189324432"`, `"id":"1"`, "11:00:00", "10:00:00"), ReasonLate},
			{edit(t, lineFill, `"id":"189324432"`, `"id":"2"`, "11:00:00", "10:00:00", `"SUI"`, `"ETH"`, `"1.3189"`, `"2000"`), ""},
			{edit(t, lineFill, `"id":"189324432"`, `"id":"3"`, "11:00:00", "10:00:00", "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2", "0x1111111111111111111111111111111111111111"), ""},
		}},
		{"within_lateness", "off", Config{AllowedLateness: Off}, []step{
			{price("ETH", "11:00:00", "2250"), ""},
			{price("ETH", "09:00:00", "2250"), ""},
		}},
		{"price_deviation", "moves and prints", Config{}, []step{
			{price("ETH", "11:00:00", "2000"), ""},
			{price("ETH", "11:01:00", "2500"), ReasonPriceDeviation}, // +25%: a lone bad print
			{price("ETH", "11:02:00", "2100"), ""},                   // judged against 2000 as before
			{price("ETH", "11:03:00", "1500"), ReasonPriceDeviation}, // -28.6% from 2100
			{price("ETH", "11:04:00", "1490"), ""},                   // confirms 1500: a real move
			{price("ETH", "11:05:00", "1480"), ""},                   // against 1490
			{price("ETH", "11:06:00", "1776"), ""},                   // +20% exactly
			{price("ETH", "11:20:00", "3000"), ""},                   // the reference is 14 min old
			{price("ETH", "11:16:00", "2500"), ""},                   // 4 min before it: within 20%
			{price("ETH", "11:17:00", "1000"), ReasonPriceDeviation},
			// The same bad print re-sent (same ts) does not confirm itself.
			{edit(t, price("ETH", "11:17:00", "1000"), `"ETH"`, `"ETH"`), ReasonPriceDeviation},
			{price("ETH", "11:17:30", "1000.5"), ""}, // a later print does
			{price("BTC", "11:17:30", "1"), ""},      // another symbol has its own reference
		}},
		{"price_deviation", "kinds share a symbol's reference within a src", Config{}, []step{
			{edit(t, lineFill, `"SUI"`, `"ETH"`, `"1.3189"`, `"2000"`), ""},
			{edit(t, linePosition, `"PENDLE"`, `"ETH"`, `"1.5431"`, `"3000"`), ReasonPriceDeviation},
			{edit(t, linePosition, `"PENDLE"`, `"ETH"`, `"1.5431"`, `"2010"`), ""},
			{edit(t, linePosition, `"PENDLE"`, `"ETH"`, `,"mark_px":"1.5431"`, ``, "11:00:00", "11:00:01"), ""}, // no price
			{price("ETH", "11:00:00", "3000"), ReasonPriceDeviation},
			{edit(t, lineTrade, `"NKN-USDT"`, `"ETH-USDT"`, `"0.3528"`, `"3000"`), ""}, // another src
		}},
		{"price_deviation", "off", Config{MaxDeviation: Off}, []step{
			{price("ETH", "11:00:00", "2000"), ""},
			{price("ETH", "11:01:00", "20000"), ""},
		}},
	}
	covered := map[string]bool{}
	for _, tc := range tests {
		covered[tc.rule] = true
		t.Run(tc.rule+"/"+tc.name, func(t *testing.T) {
			r, ok := RuleFor(tc.steps[len(tc.steps)-1].want)
			if ok && r.Name != tc.rule {
				t.Fatalf("case of rule %s ends in a %s reject", tc.rule, r.Name)
			}
			run(t, mustGate(t, tc.cfg), tc.steps)
		})
	}
	for _, r := range Rules() {
		if r.Stage == StageGate && !covered[r.Name] {
			t.Errorf("gate rule %s has no test case", r.Name)
		}
	}
}

// A rejected event is not remembered: sent again, it is judged again (not a duplicate).
func TestGateRejectedNotRemembered(t *testing.T) {
	g := mustGate(t, Config{})
	late := edit(t, linePrice, "11:00:00", "10:00:00")
	self := edit(t, lineTransfer, "0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc", "0x8032eaede5c55f744387ca53aaf0499abcd783e5")
	run(t, g, []step{
		{linePrice, ""},
		{late, ReasonLate},
		{late, ReasonLate},
		{self, ReasonSelfTransfer},
		{self, ReasonSelfTransfer},
	})
}

// The duplicate window remembers the last DuplicateWindow keys: older ones are
// forgotten, and its memory stays bounded.
func TestDuplicateWindowEvicts(t *testing.T) {
	g := mustGate(t, Config{DuplicateWindow: 3})
	trade := func(id int) string {
		return edit(t, lineTrade, `"id":"15683430"`, `"id":"`+strconv.Itoa(id)+`"`)
	}
	run(t, g, []step{
		{trade(1), ""}, {trade(2), ""}, {trade(3), ""},
		{trade(1), ReasonDuplicate}, // still in the window
		{trade(4), ""},              // evicts 1
		{trade(1), ""},              // forgotten: accepted, evicts 2
		{trade(3), ReasonDuplicate},
		{trade(2), ""},
	})
	for i := 5; i < 1000; i++ {
		ev := mustDecode(t, trade(i))
		if rej := g.Check(&ev); rej != nil {
			t.Fatalf("trade %d: %v", i, rej)
		}
	}
	if n, r := g.seen.len(), len(g.seen.ring); n != 3 || r != 3 {
		t.Errorf("window holds %d keys in a ring of %d, want 3 and 3", n, r)
	}
	run(t, g, []step{{trade(999), ReasonDuplicate}, {trade(996), ""}})
}

// The per-key tables are bounded by Tracked whatever the number of symbols, partitions
// and tokens seen.
func TestGateTablesBounded(t *testing.T) {
	const tracked = 8
	g := mustGate(t, Config{Tracked: tracked})
	base := mustDecode(t, lineFill)
	xfer := mustDecode(t, lineTransfer)
	for i := range 1000 {
		ev := base
		ev.Coin, ev.ID = fmt.Sprintf("C%d", i), strconv.Itoa(i)
		if rej := g.Check(&ev); rej != nil {
			t.Fatalf("fill %d: %v", i, rej)
		}
		x := xfer
		x.Token, x.LogIndex = fmt.Sprintf("0x%040x", i), int64(i)
		if rej := g.Check(&x); rej != nil {
			t.Fatalf("transfer %d: %v", i, rej)
		}
	}
	for name, n := range map[string][2]int{
		"references": {g.refs.len(), len(g.refs.ring)},
		"watermarks": {g.marks.len(), len(g.marks.ring)},
		"decimals":   {g.decs.len(), len(g.decs.ring)},
	} {
		if n[0] > tracked || n[1] > tracked {
			t.Errorf("%s: %d entries, ring of %d; want at most %d", name, n[0], n[1], tracked)
		}
	}
	// The newest entries are still judged: a fill of the last coin far off its price.
	ev := base
	ev.Coin, ev.ID, ev.Px = "C999", "x", base.Px.Mul(base.Px)
	if rej := g.Check(&ev); reason(rej) != ReasonPriceDeviation {
		t.Errorf("fill of a tracked coin off its price: %v", rej)
	}
}

// Deviation against a reference: only a recent one (in event time, either way) judges.
func TestPriceDeviationReferenceAge(t *testing.T) {
	at := func(ts time.Time, px string) string {
		return edit(t, linePrice, "2026-06-01T11:00:00Z", ts.Format(time.RFC3339), `"2251.4"`, `"`+px+`"`)
	}
	t0 := time.Date(2026, 6, 1, 11, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		cfg   Config
		delta time.Duration
		want  event.Reason
	}{
		{"fresh after", Config{}, 4 * time.Minute, ReasonPriceDeviation},
		{"at the limit", Config{}, 5 * time.Minute, ReasonPriceDeviation},
		{"stale after", Config{}, 5*time.Minute + time.Second, ""},
		{"fresh before", Config{}, -4 * time.Minute, ReasonPriceDeviation},
		{"stale before", Config{}, -6 * time.Minute, ""},
		{"longer max age", Config{ReferenceMaxAge: time.Hour}, 59 * time.Minute, ReasonPriceDeviation},
		{"wider deviation", Config{MaxDeviation: 0.6}, time.Minute, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run(t, mustGate(t, tc.cfg), []step{
				{at(t0, "100"), ""},
				{at(t0.Add(tc.delta), "150"), tc.want},
			})
		})
	}
}

func TestNewGateConfig(t *testing.T) {
	g := mustGate(t, Config{})
	want := Config{DuplicateWindow: DefaultDuplicateWindow, MaxDeviation: DefaultMaxDeviation,
		ReferenceMaxAge: DefaultReferenceMaxAge, AllowedLateness: DefaultAllowedLateness, Tracked: DefaultTracked}
	if g.Config() != want {
		t.Errorf("defaults %+v, want %+v", g.Config(), want)
	}
	off := mustGate(t, Config{DuplicateWindow: Off, MaxDeviation: Off, AllowedLateness: Off})
	if off.seen != nil || off.refs != nil || off.marks != nil {
		t.Errorf("rules switched off still keep state")
	}
	for name, cfg := range map[string]Config{
		"NaN deviation":      {MaxDeviation: math.NaN()},
		"infinite deviation": {MaxDeviation: math.Inf(1)},
		"negative max age":   {ReferenceMaxAge: -time.Second},
		"negative tracked":   {Tracked: -1},
	} {
		if _, err := NewGate(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// The demo market is clean data: the gate, live or replay configured, accepts all of it.
func TestGateAcceptsDemoMarket(t *testing.T) {
	for _, cfg := range []Config{{}, {AllowedLateness: Off}} {
		for seed := int64(1); seed <= 6; seed++ {
			m, err := demo.New(demo.Config{Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			g := mustGate(t, cfg)
			n := 0
			for range 1500 {
				evs := m.Next()
				for i := range evs {
					ev := evs[i]
					if err := ev.Validate(event.Rules{MaxFuture: 1 << 62}); err != nil {
						t.Fatalf("seed %d: demo event invalid: %v", seed, err)
					}
					if rej := g.Check(&ev); rej != nil {
						t.Fatalf("seed %d, event %d (%s %s): %v", seed, n, ev.Kind, ev.Src, rej)
					}
					n++
				}
			}
			if n < 1000 {
				t.Fatalf("seed %d: only %d events", seed, n)
			}
		}
	}
}

func BenchmarkGateCheck(b *testing.B) {
	m, err := demo.New(demo.Config{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	var evs []event.Event
	for len(evs) < 100000 {
		evs = append(evs, m.Next()...)
	}
	g, err := NewGate(Config{})
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if i == len(evs) {
			// A new gate for the next pass: the same events again would be duplicates.
			g, _ = NewGate(Config{})
			i = 0
		}
		g.Check(&evs[i])
		i++
	}
}

// BenchmarkGateCheckKey is the gate's own cost: the key hash is the ingress's.
func BenchmarkGateCheckKey(b *testing.B) {
	m, err := demo.New(demo.Config{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	var evs []event.Event
	for len(evs) < 100000 {
		evs = append(evs, m.Next()...)
	}
	keys := make([][16]byte, len(evs))
	for i := range evs {
		keys[i] = evs[i].KeyHash()
	}
	g, err := NewGate(Config{})
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if i == len(evs) {
			g, _ = NewGate(Config{})
			i = 0
		}
		g.CheckKey(&evs[i], keys[i])
		i++
	}
}
