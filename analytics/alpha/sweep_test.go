//go:build alphasweep

package alpha

// The sweep behind docs/ALPHA.md's tables: many seeds and several market shapes,
// too slow for every test run. Run it with
//
//	go test -tags alphasweep -run TestSweep -v ./analytics/alpha/

import (
	"testing"
	"time"

	"github.com/coattailcapital/coattail/analytics/demo"
)

func TestSweepDemo(t *testing.T) {
	sec := time.Second
	demoHz := []time.Duration{30 * sec, 60 * sec, 120 * sec}
	scens := []struct {
		name  string
		cfg   demo.Config
		ticks int
		hz    []time.Duration // nil: the defaults 1h, 4h, 24h
		k     int
		seeds int
	}{
		{"60 wallets (5 skilled, 6 whales, 2 bots), 2000 ticks", demoMarket(0), 2000, demoHz, 5, 30},
		{"60 wallets (5 skilled, 6 whales, 2 bots), 4000 ticks", demoMarket(0), 4000, demoHz, 5, 30},
		{"60 wallets (5 skilled, 6 whales, 2 bots), 4000 ticks, default horizons", demoMarket(0), 4000, nil, 5, 30},
		{"60 wallets (5 skilled, 6 whales, 2 bots), 6000 ticks", demoMarket(0), 6000, demoHz, 5, 30},
		{"200 wallets (10 skilled, 20 whales, 5 bots), 4000 ticks, k=10", demo.Config{Wallets: 200, Skilled: 10, Whales: 20, Bots: 5}, 4000, demoHz, 10, 10},
		{"60 wallets (5 skilled, 20 whales, 2 bots), 3000 ticks", demo.Config{Wallets: 60, Skilled: 5, Whales: 20, Bots: 2}, 3000, demoHz, 5, 20},
		{"60 wallets, 1-minute ticks, 4000 ticks, default horizons", demo.Config{Wallets: 60, Skilled: 5, Whales: 6, Bots: 2, Step: time.Minute}, 4000, nil, 5, 20},
	}
	for _, sc := range scens {
		var skill, pnl float64
		low := 0
		for seed := 1; seed <= sc.seeds; seed++ {
			c := sc.cfg
			c.Seed = int64(seed)
			run := runDemo(t, c, sc.ticks)
			s := mustScorer(t, Config{Returns: ReturnConfig{Horizons: sc.hz}})
			p := precisionAt(sc.k, walletsOf(Rank(s.Score(run.actions, run.prices, run.end))), run.roles)
			skill += p
			pnl += precisionAt(sc.k, rankByPnL(run.pnl), run.roles)
			if p < 0.6 {
				low++
			}
		}
		n := float64(sc.seeds)
		t.Logf("%-70s seeds 1-%d: precision@%d %.3f (below 0.6: %d), by realised PnL %.3f", sc.name, sc.seeds, sc.k, skill/n, low, pnl/n)
	}
}

// TestSweepVariants measures the alternatives docs/ALPHA.md discusses, each a change
// of one setting from the defaults.
func TestSweepVariants(t *testing.T) {
	demoHz := []time.Duration{30 * time.Second, 60 * time.Second, 120 * time.Second}
	exits := map[Kind]float64{KindOpen: 1, KindAdd: 1, KindFlip: 1, KindReduce: 1, KindClose: 1}
	variants := []struct {
		name string
		cfg  Config
	}{
		{"defaults", Config{}},
		{"LowerBoundZ 0 (posterior mean)", Config{LowerBoundZ: -1}},
		{"LowerBoundZ 1.645", Config{LowerBoundZ: 1.645}},
		{"equal horizon weights", Config{HorizonWeights: []float64{1, 1, 1}}},
		{"HoldFull", Config{Returns: ReturnConfig{HoldFull: true}}},
		{"exits weigh 1", Config{KindWeights: exits}},
		{"RoundTripWeight 0.5", Config{RoundTripWeight: 0.5}},
		{"no cost", Config{Returns: ReturnConfig{CostBps: -1}}},
		{"MaxTradeShare off", Config{MaxTradeShare: 1}},
	}
	const seeds = 30
	sum := make([]float64, len(variants))
	for seed := 1; seed <= seeds; seed++ {
		run := runDemo(t, demoMarket(int64(seed)), 4000)
		for i, v := range variants {
			c := v.cfg
			c.Returns.Horizons = demoHz
			sum[i] += precisionAt(5, walletsOf(Rank(mustScorer(t, c).Score(run.actions, run.prices, run.end))), run.roles)
		}
	}
	for i, v := range variants {
		t.Logf("demo 4000 ticks, seeds 1-%d, %-32s precision@5 %.3f", seeds, v.name, sum[i]/seeds)
	}
}

// TestSweepHalfLife measures the half-life on real ETH prices with planted wallets.
func TestSweepHalfLife(t *testing.T) {
	prices, ts, px := loadKlines(t, ethKlines, "ETH")
	day := 24 * time.Hour
	lives := []time.Duration{30 * day, 90 * day, 180 * day, 365 * day, -1}
	const seeds = 8
	sum := make([]float64, len(lives))
	for seed := uint64(1); seed <= seeds; seed++ {
		roles := plantedRoles()
		acts, err := ActionsFromFills(plant(seed, "ETH", ts, px, roles), ActionConfig{})
		if err != nil {
			t.Fatal(err)
		}
		for i, hl := range lives {
			board := walletsOf(Rank(mustScorer(t, Config{HalfLife: hl}).Score(acts, prices, time.Time{})))
			hit := 0
			for _, w := range board[:5] {
				if roles[w] == planSkilled {
					hit++
				}
			}
			sum[i] += float64(hit) / 5
		}
	}
	for i, hl := range lives {
		t.Logf("real ETH, seeds 1-%d, HalfLife %-12s precision@5 %.3f", seeds, hl, sum[i]/seeds)
	}
}
