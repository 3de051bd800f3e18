package alpha

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/analytics/demo"
	"github.com/coattailcapital/coattail/event"
)

// demoRun is a synthetic market run: its fills' actions, its prices, the ground truth
// and each wallet's realised PnL net of fees.
type demoRun struct {
	actions []Action
	prices  *Series
	roles   map[string]demo.Role
	pnl     map[string]float64
	end     time.Time
}

// runDemo runs a demo market for ticks ticks and derives actions from its fills.
func runDemo(tb testing.TB, cfg demo.Config, ticks int) demoRun {
	tb.Helper()
	m, err := demo.New(cfg)
	if err != nil {
		tb.Fatalf("demo.New: %v", err)
	}
	var fills []event.Event
	prices := NewSeries()
	pnl := map[string]float64{}
	for range ticks {
		for _, e := range m.Next() {
			switch e.Kind {
			case event.KindPrice:
				prices.AddEvent(&e)
			case event.KindFill:
				fills = append(fills, e)
				pnl[e.Wallet] += e.ClosedPnl.Decimal.InexactFloat64() - e.Fee.Decimal.InexactFloat64()
			}
		}
	}
	acts, err := ActionsFromFills(fills, ActionConfig{})
	if err != nil {
		tb.Fatalf("ActionsFromFills: %v", err)
	}
	roles := map[string]demo.Role{}
	for _, w := range m.Wallets() {
		roles[w.Address] = w.Role
	}
	prices.Seal()
	return demoRun{actions: acts, prices: prices, roles: roles, pnl: pnl, end: m.Time()}
}

// precisionAt returns the share of the first k wallets that are skilled.
func precisionAt(k int, wallets []string, roles map[string]demo.Role) float64 {
	k = min(k, len(wallets))
	if k == 0 {
		return 0
	}
	hit := 0
	for _, w := range wallets[:k] {
		if roles[w] == demo.RoleSkilled {
			hit++
		}
	}
	return float64(hit) / float64(k)
}

// rankByPnL returns the wallets sorted by realised PnL, best first.
func rankByPnL(pnl map[string]float64) []string {
	ws := make([]string, 0, len(pnl))
	for w := range pnl {
		ws = append(ws, w)
	}
	slices.SortFunc(ws, func(a, b string) int { return cmp.Or(cmp.Compare(pnl[b], pnl[a]), cmp.Compare(a, b)) })
	return ws
}

func walletsOf(rs []Ranked) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Wallet
	}
	return out
}

// demoScoreConfig is the scorer configuration for a demo market of one-second ticks:
// the defaults, with horizons in the demo's time scale (positions last 5 to 40 ticks).
func demoScoreConfig() Config {
	return Config{Returns: ReturnConfig{Horizons: []time.Duration{30 * time.Second, 60 * time.Second, 120 * time.Second}}}
}

// demoMarket is the market of the precision tests: 60 wallets of which 5 skilled, 6
// whales and 2 bots, as the issue describes. The skilled wallets' edge is the subtle
// one (right 60-70% of the time, choosing among 3 spots), which fees nearly eat and
// lucky whales hide in a ranking by PnL, not the demo's showcase default.
func demoMarket(seed int64) demo.Config {
	return demo.Config{Seed: seed, Wallets: 60, Skilled: 5, Whales: 6, Bots: 2, SkillRight: 0.6, SkillPicks: 3}
}

// demoPrecision scores a demo run and returns precision@k of the leaderboard and of
// the ranking by realised PnL, against the planted skilled wallets.
func demoPrecision(tb testing.TB, run demoRun, k int) (skill, pnl float64, board []Ranked) {
	tb.Helper()
	s := mustScorer(tb, demoScoreConfig())
	board = Rank(s.Score(run.actions, run.prices, run.end))
	return precisionAt(k, walletsOf(board), run.roles), precisionAt(k, rankByPnL(run.pnl), run.roles), board
}

func TestDemoPrecisionFixedSeed(t *testing.T) {
	run := runDemo(t, demoMarket(1), 6000)
	skill, pnl, board := demoPrecision(t, run, 5)
	for _, r := range board[:10] {
		t.Logf("#%d %s %-7s score %+.3f mean %+.3f se %.3f n %d", r.Rank, r.Wallet[:10], run.roles[r.Wallet], r.Score.Score, r.Mean, r.StdErr, r.N)
	}
	t.Logf("seed 1, 6000 ticks: precision@5 %.2f, by realised PnL %.2f", skill, pnl)
	if skill < 0.6 {
		t.Errorf("precision@5 %.2f, want >= 0.6", skill)
	}
	if skill <= pnl {
		t.Errorf("precision@5 %.2f does not beat the realised-PnL ranking's %.2f", skill, pnl)
	}
	// Bots are never on the board; every wallet on it has enough observations.
	for _, r := range board {
		if run.roles[r.Wallet] == demo.RoleBot {
			t.Errorf("bot %s ranked #%d", r.Wallet, r.Rank)
		}
		if r.N < DefaultMinObs {
			t.Errorf("%s ranked with %d observations", r.Wallet, r.N)
		}
	}
}

func TestDemoPrecisionSeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("several demo markets: skipped with -short")
	}
	const seeds, ticks = 8, 4000
	var sumSkill, sumPnL float64
	for seed := int64(1); seed <= seeds; seed++ {
		run := runDemo(t, demoMarket(seed), ticks)
		skill, pnl, _ := demoPrecision(t, run, 5)
		t.Logf("seed %d, %d ticks: precision@5 %.2f, by realised PnL %.2f", seed, ticks, skill, pnl)
		sumSkill += skill
		sumPnL += pnl
	}
	skill, pnl := sumSkill/seeds, sumPnL/seeds
	t.Logf("mean over %d seeds: precision@5 %.3f, by realised PnL %.3f", seeds, skill, pnl)
	if skill < 0.6 || skill <= pnl {
		t.Errorf("mean precision@5 %.3f, by PnL %.3f: want >= 0.6 and above PnL", skill, pnl)
	}
}

func TestDemoSizeNeutral(t *testing.T) {
	// A copy of a wallet trading at 100 times the size scores the same.
	run := runDemo(t, demoMarket(2), 1500)
	var src string
	for w, r := range run.roles {
		if r == demo.RoleSkilled && (src == "" || w < src) {
			src = w
		}
	}
	const big = "0xbig"
	acts := slices.Clone(run.actions)
	for _, a := range run.actions {
		if a.Wallet == src {
			a.Wallet = big
			for _, p := range []*float64{&a.Size, &a.NotionalUSD, &a.PosBefore, &a.PosAfter, &a.ClosedSize, &a.RealizedPnl, &a.Fee} {
				*p *= 100
			}
			acts = append(acts, a)
		}
	}
	SortActions(acts)
	scores := mustScorer(t, demoScoreConfig()).Score(acts, run.prices, run.end)
	a, b := scoreOf(t, scores, src), scoreOf(t, scores, big)
	if a.N < DefaultMinObs || a.Score != b.Score || a.Mean != b.Mean || a.StdErr != b.StdErr {
		t.Errorf("original %+v\n100x %+v", a, b)
	}
}

// TestDemoDefaultShowsSkill: the demo's default market (what `make run` plays) has an
// edge that clears costs, so its skill board is led by skilled wallets whose lower
// bound is positive, and high-alpha signals can fire there.
func TestDemoDefaultShowsSkill(t *testing.T) {
	run := runDemo(t, demo.Config{Seed: 1}, 6000)
	board := Rank(mustScorer(t, demoScoreConfig()).Score(run.actions, run.prices, run.end))
	if len(board) < 5 {
		t.Fatalf("%d wallets ranked, want at least 5", len(board))
	}
	for _, r := range board[:5] {
		t.Logf("#%d %s %-7s lower bound %+.3f", r.Rank, r.Wallet[:10], run.roles[r.Wallet], r.Score.Score)
	}
	for _, r := range board[:2] {
		if run.roles[r.Wallet] != demo.RoleSkilled || r.Score.Score <= 0 {
			t.Errorf("#%d is %s with lower bound %+.3f, want a skilled wallet with a positive one", r.Rank, run.roles[r.Wallet], r.Score.Score)
		}
	}
}
