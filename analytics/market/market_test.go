package market

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/analytics/window"
	"github.com/shopspring/decimal"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestBarsThroughWindows(t *testing.T) {
	op, err := window.New(window.Config{Specs: BarSpecs(), Lateness: 2 * time.Second, Policy: window.Correction}, FoldTick)
	if err != nil {
		t.Fatal(err)
	}
	add := func(sec float64, px, qty float64) []window.Window[Bar] {
		ts := t0.Add(time.Duration(sec * float64(time.Second)))
		return op.Add("binance", "ETH-USDT", ts, Tick{TS: ts.UnixNano(), Px: px, Qty: qty, Trade: qty > 0}).Emitted
	}
	add(10, 100, 1)
	add(30, 110, 2)
	add(5, 90, 1) // out of order: the open, and the low
	add(40, 105, 0)
	var got []window.Window[Bar]
	got = append(got, add(63, 120, 1)...) // watermark 61: the first minute closes
	if len(got) != 1 || got[0].Spec != "1m" {
		t.Fatalf("emitted %+v, want the first 1m bar", got)
	}
	b := got[0].Agg
	if b.Open != 90 || b.High != 110 || b.Low != 90 || b.Close != 105 || b.Volume != 4 || b.Trades != 3 || b.Ticks != 4 {
		t.Fatalf("bar %+v", b)
	}
	if v, ok := b.VWAP(); !ok || math.Abs(v-(100+220+90)/4.0) > 1e-12 {
		t.Errorf("vwap %v", v)
	}
	// A trade beyond the lateness corrects the emitted bar.
	c := add(20, 200, 1)
	if len(c) != 1 || !c[0].Correction {
		t.Fatalf("late trade gave %+v, want one correction", c)
	}
	m := b.Merge(c[0].Agg)
	if m.High != 200 || m.Volume != 5 || m.Trades != 4 || m.Close != 105 || m.Open != 90 {
		t.Errorf("corrected bar %+v", m)
	}
}

func TestBarMergeIsOrderFree(t *testing.T) {
	ticks := []Tick{{TS: 3, Px: 5, Qty: 1, Trade: true}, {TS: 1, Px: 7, Qty: 2, Trade: true}, {TS: 9, Px: 6}, {TS: 4, Px: 2, Qty: 1, Trade: true}}
	var all Bar
	for _, tk := range ticks {
		FoldTick(&all, tk)
	}
	var a, b Bar
	FoldTick(&a, ticks[2])
	FoldTick(&a, ticks[0])
	FoldTick(&b, ticks[3])
	FoldTick(&b, ticks[1])
	if got := b.Merge(a); got != all {
		t.Errorf("merge %+v, want %+v", got, all)
	}
}

func TestCoin(t *testing.T) {
	for sym, want := range map[string]struct {
		coin string
		usd  bool
	}{"ETH-USDT": {"ETH", true}, "btc-usd": {"BTC", true}, "SOL-USDC": {"SOL", true}, "ETH-BTC": {"ETH", false}, "PENDLE": {"PENDLE", true}} {
		c, u := Coin(sym)
		if c != want.coin || u != want.usd {
			t.Errorf("%s: %s %v", sym, c, u)
		}
	}
}

func TestReferencePrice(t *testing.T) {
	// A thin venue far off does not move the reference price.
	p, ok := ReferencePrice([]VenueClose{{"binance", "ETH-USDT", 2000, 5e6}, {"coinbase", "ETH-USD", 2002, 3e6}, {"tiny", "ETH-USDT", 2500, 1e3}})
	if !ok || p != 2000 {
		t.Errorf("reference %v %v, want 2000", p, ok)
	}
	p, _ = ReferencePrice([]VenueClose{{"a", "X", 1, 1}, {"b", "X", 3, 10}, {"c", "X", 2, 1}})
	if p != 3 {
		t.Errorf("reference %v, want the heavy venue's 3", p)
	}
	if _, ok := ReferencePrice(nil); ok {
		t.Error("reference of nothing")
	}
}

func TestRobustZ(t *testing.T) {
	base := []float64{10, 11, 9, 10, 12, 8, 10}
	if z := RobustZ(10, base); z != 0 {
		t.Errorf("z of the median %v", z)
	}
	if z := RobustZ(100, base); z < 30 {
		t.Errorf("z of an outlier %v", z)
	}
	if z := RobustZ(5, []float64{1, 1, 1}); z != 0 {
		t.Errorf("flat baseline z %v, want 0", z)
	}
}

func TestDetector(t *testing.T) {
	var d Detector
	cfg := DetectorConfig{}
	var found []Anomaly
	for i := range 60 {
		start := t0.Add(time.Duration(i) * time.Minute)
		vol := 1000.0 + float64(i%5)*50
		open, close := 100.0, 100.0+float64(i%3)*0.05
		if i == 45 {
			vol, close = 20000, 104
		}
		found = append(found, d.OnBar(cfg, "binance", "ETH-USDT", start, start.Add(time.Minute),
			Bar{Open: open, Close: close, Quote: vol, Trades: 10, Ticks: 10})...)
	}
	if len(found) != 2 || found[0].Kind != KindVolumeSpike || found[1].Kind != KindPriceMove || found[0].TS != t0.Add(46*time.Minute) {
		t.Fatalf("found %+v, want a volume spike and a price move at minute 45", found)
	}
	for i := range 300 {
		size := 1.0 + float64(i%7)*0.1
		if i == 250 {
			size = 50
		}
		if a := d.OnTrade(cfg, "binance", "ETH-USDT", t0, 100, size, func() string { return "k" }); a != nil {
			if i != 250 || a.Kind != KindLargeTrade {
				t.Errorf("trade %d flagged: %+v", i, a)
			}
			found = append(found, *a)
		}
	}
	if len(found) != 3 {
		t.Errorf("large trades: found %d anomalies in all, want 3", len(found))
	}
	// The state survives JSON unchanged.
	b, _ := json.Marshal(d)
	var r Detector
	if err := json.Unmarshal(b, &r); err != nil || !reflect.DeepEqual(r, d) {
		t.Errorf("detector state does not round-trip: %v", err)
	}
}

func TestProfile(t *testing.T) {
	var p Profile
	tr := func(sec int, buy bool, sz string) Trade {
		s := decimal.RequireFromString(sz)
		return Trade{TS: t0.Add(time.Duration(sec) * time.Second), Coin: "ETH", Buy: buy, Px: decimal.NewFromInt(100), Sz: s, USD: 100 * s.InexactFloat64()}
	}
	// Open, add, close after 120s; open short, close after 60s; open long, close after 30s.
	for _, x := range []Trade{tr(0, true, "1"), tr(10, true, "1"), tr(120, false, "2"), tr(200, false, "1"), tr(260, true, "1"), tr(300, true, "3"), tr(330, false, "3")} {
		p.Apply(x)
	}
	s := p.Summarize(ProfileConfig{})
	if s.Trades != 7 || s.LargestUSD != 300 || s.VolumeUSD != 1200 || s.TypicalHoldSec == nil || *s.TypicalHoldSec != 60 {
		t.Fatalf("summary %+v", s)
	}
	if !reflect.DeepEqual(s.Coins, []string{"ETH"}) || !s.FirstSeen.Equal(t0) || !s.LastSeen.Equal(t0.Add(330*time.Second)) {
		t.Errorf("coins/first/last %+v", s)
	}
	if s.Style != StyleUnknown && s.Style != StyleSwing { // 7 trades, 3 holds of ~1m: not 10 trades, so not a scalper
		t.Errorf("style %s", s.Style)
	}
	// A market maker: alternating sides, many a minute, balanced.
	var mm Profile
	for i := range 120 {
		mm.Apply(tr(i*5, i%2 == 0, "1"))
	}
	ms := mm.Summarize(ProfileConfig{})
	if !ms.BotMarketMaker || ms.BotHighFreq || ms.Style != StyleScalper {
		t.Errorf("market maker summary %+v", ms)
	}
	// High frequency: 40 trades in one minute; one-sided buying makes an accumulator.
	var hf Profile
	for i := range 40 {
		hf.Apply(tr(i, true, "1"))
	}
	hs := hf.Summarize(ProfileConfig{})
	if !hs.BotHighFreq || hs.BotMarketMaker || hs.Style != StyleAccumulator {
		t.Errorf("high-frequency summary %+v", hs)
	}
}

// TestMedianSelection: the selection-based Median equals the median of a sorted copy,
// with repeats, negative values and NaNs (which sort first), for odd and even lengths.
func TestMedianSelection(t *testing.T) {
	sorted := func(xs []float64) float64 {
		s := slices.Clone(xs)
		slices.Sort(s)
		n := len(s)
		if n%2 == 1 {
			return s[n/2]
		}
		return (s[n/2-1] + s[n/2]) / 2
	}
	same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 300; n++ {
		for round := 0; round < 20; round++ {
			xs := make([]float64, n)
			for i := range xs {
				switch rng.IntN(10) {
				case 0:
					xs[i] = float64(rng.IntN(3)) // many repeats
				case 1:
					if round%4 == 0 {
						xs[i] = math.NaN()
					}
				default:
					xs[i] = rng.NormFloat64() * 1000
				}
			}
			in := slices.Clone(xs)
			if got, want := Median(xs), sorted(xs); !same(got, want) {
				t.Fatalf("n %d: Median %v, sorted median %v", n, got, want)
			}
			for i := range xs {
				if !same(xs[i], in[i]) {
					t.Fatalf("n %d: Median modified its input", n)
				}
			}
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("the median of nothing must be NaN")
	}
}
