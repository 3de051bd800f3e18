package sim_test

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strconv"
	"testing"

	"github.com/coattailcapital/coattail/analytics/alpha/rescore"
	"github.com/coattailcapital/coattail/analytics/sim"
	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/store"
)

// precision scores a market the way the leaderboard does (window all, as of its end)
// and returns precision@k of the board and of the ranking by realised PnL net of fees
// against the planted skilled wallets, k being their number.
func precision(t testing.TB, m *sim.Market) (board, pnl float64) {
	t.Helper()
	h, err := rescore.FromEvents(m.Events, rescore.Config{}.Actions)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := rescore.Score(h, rescore.Config{Windows: []string{store.WindowAll}}, m.Truth.End)
	if err != nil {
		t.Fatal(err)
	}
	var ranked []string
	pnls := map[string]float64{}
	for _, r := range ws[0].Rows {
		if r.Rank > 0 {
			ranked = append(ranked, r.Wallet)
		}
		pnls[r.Wallet] = r.Stats.RealizedPnl - r.Stats.Fees
	}
	k := len(m.Truth.Skilled)
	return sim.PrecisionAtK(ranked, m.Truth.Skilled, k), sim.PrecisionAtK(sim.SortByValue(pnls), m.Truth.Skilled, k)
}

func TestPrecisionFixedSeed(t *testing.T) {
	m, err := sim.Generate(sim.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	board, pnl := precision(t, m)
	t.Logf("seed 1: precision@%d board %.2f, realised PnL %.2f", len(m.Truth.Skilled), board, pnl)
	if board < 0.6 {
		t.Errorf("precision@k of the board %.2f, want >= 0.6", board)
	}
	if board < pnl+0.3 {
		t.Errorf("board %.2f is not clearly above ranking by realised PnL %.2f", board, pnl)
	}
}

// TestPrecisionSeeds checks several markets; COATTAIL_SIM_SEEDS sets how many
// (default 4; 20 for the figures in docs/ALPHA.md).
func TestPrecisionSeeds(t *testing.T) {
	n := 4
	if v := os.Getenv("COATTAIL_SIM_SEEDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("COATTAIL_SIM_SEEDS=%q: want a positive integer", v)
		}
	}
	if testing.Short() {
		n = min(n, 2)
	}
	var sumB, sumP float64
	for seed := int64(2); seed < int64(2+n); seed++ {
		m, err := sim.Generate(sim.Config{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		b, p := precision(t, m)
		t.Logf("seed %d: board %.2f, realised PnL %.2f", seed, b, p)
		sumB += b
		sumP += p
	}
	mb, mp := sumB/float64(n), sumP/float64(n)
	t.Logf("mean over %d seeds: board %.3f, realised PnL %.3f", n, mb, mp)
	if mb < 0.6 || mb < mp+0.25 {
		t.Errorf("mean precision@k board %.3f, PnL %.3f: want board >= 0.6 and clearly above PnL", mb, mp)
	}
}

func TestGenerateIsDeterministicAndValid(t *testing.T) {
	cfg := sim.Config{Seed: 7, Wallets: 20, Days: 3}
	a, err := sim.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := sim.Generate(cfg)
	var ba, bb bytes.Buffer
	if _, err := a.WriteNDJSON(&ba); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WriteNDJSON(&bb); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ba.Bytes(), bb.Bytes()) {
		t.Fatal("the same config gave different events")
	}
	if len(a.Truth.Skilled) != 3 || len(a.Truth.Whales) != 3 || len(a.Truth.Noise) != 14 {
		t.Errorf("roles: %d skilled, %d whales, %d noise; want 3, 3, 14", len(a.Truth.Skilled), len(a.Truth.Whales), len(a.Truth.Noise))
	}
	// Every line decodes and passes the interchange rules, and the fills replay
	// through the book without a gap: each fill's start_position is the position the
	// wallet's earlier fills left.
	sc := bufio.NewScanner(&ba)
	sc.Buffer(nil, event.MaxLineBytes)
	pos := map[string]string{}
	fills := 0
	for sc.Scan() {
		e, err := event.Decode(sc.Bytes(), event.Rules{})
		if err != nil {
			t.Fatalf("line does not decode: %v: %s", err, sc.Text())
		}
		if err := e.Validate(event.Rules{}); err != nil {
			t.Fatalf("line fails validation: %v: %s", err, sc.Text())
		}
		if e.Kind != event.KindFill {
			continue
		}
		fills++
		k := e.Wallet + " " + e.Coin
		if want := pos[k]; want == "" && !e.StartPosition.Decimal.IsZero() || want != "" && want != e.StartPosition.Decimal.String() {
			t.Fatalf("fill %s: start_position %s, but the wallet's earlier fills leave %q", e.ID, e.StartPosition.Decimal, want)
		}
		d := e.Sz
		if e.Side == event.Sell {
			d = d.Neg()
		}
		pos[k] = e.StartPosition.Decimal.Add(d).String()
	}
	if fills < 100 {
		t.Errorf("%d fills in 3 days of 20 wallets; want a market", fills)
	}
	h, err := rescore.FromEvents(a.Events, rescore.Config{}.Actions)
	if err != nil {
		t.Fatal(err)
	}
	for _, act := range h.Actions {
		if act.BasisUnknown {
			t.Fatalf("action %+v has an unknown basis: the simulated history starts flat", act)
		}
	}
}

func TestGenerateRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]sim.Config{
		"too many roles": {Wallets: 5, Skilled: 3, Whales: 3},
		"negative days":  {Days: -1},
		"tiny step":      {Step: 1},
		"bad accuracy":   {Accuracy: [2]float64{0.7, 0.6}},
		"repeated coin":  {Coins: []string{"BTC", "BTC"}},
	} {
		if _, err := sim.Generate(cfg); !errors.Is(err, sim.ErrInvalidConfig) {
			t.Errorf("%s: err %v, want ErrInvalidConfig", name, err)
		}
	}
}
