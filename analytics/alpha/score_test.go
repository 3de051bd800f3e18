package alpha

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

// population returns the actions of n no-skill traders in coin X of s, each with a
// round trip of hold every gap.
func population(tb testing.TB, s Prices, n int, hold, gap time.Duration) []Action {
	tb.Helper()
	var out []Action
	for i := range n {
		tr := trader{wallet: fmt.Sprintf("noise%02d", i), coin: "X", usd: 1000, skill: 0.5, hold: hold, gap: gap,
			seed: uint64(100 + i), offset: time.Duration(i) * time.Minute}
		out = append(out, tr.trips(tb, s)...)
	}
	return out
}

func minuteConfig() Config {
	return Config{Returns: ReturnConfig{Horizons: []time.Duration{10 * time.Minute, 30 * time.Minute}}}
}

func TestShrinkageFewObservations(t *testing.T) {
	s := walk("X", 1, 30*24*60, time.Minute, 0.002)
	as := population(t, s, 30, 10*time.Minute, 2*time.Hour)
	// Three trades, all right: a great mean on no evidence.
	as = append(as, trader{wallet: "lucky", coin: "X", usd: 1000, skill: 1, hold: 10 * time.Minute, gap: 5 * 24 * time.Hour, seed: 1}.trips(t, s)[:6]...)
	// Hundreds of trades, right 60% of the time.
	as = append(as, trader{wallet: "solid", coin: "X", usd: 1000, skill: 0.6, hold: 10 * time.Minute, gap: 2 * time.Hour, seed: 2}.trips(t, s)...)

	cfg := minuteConfig()
	cfg.MinObs = 1 // score the lucky wallet too
	scores := mustScorer(t, cfg).Score(as, s, time.Time{})
	lucky, solid := scoreOf(t, scores, "lucky"), scoreOf(t, scores, "solid")
	t.Logf("lucky: n %d mean %.3f B %.3f shrunk %.3f score %.3f", lucky.N, lucky.Mean, lucky.Shrinkage, lucky.Shrunk, lucky.Score)
	t.Logf("solid: n %d mean %.3f B %.3f shrunk %.3f score %.3f", solid.N, solid.Mean, solid.Shrinkage, solid.Shrunk, solid.Score)
	if lucky.N != 3 {
		t.Fatalf("lucky has %d observations, want 3", lucky.N)
	}
	if !(lucky.Mean > solid.Mean) {
		t.Fatalf("the lucky wallet's raw mean %.3f is not above the solid one's %.3f: the test proves nothing", lucky.Mean, solid.Mean)
	}
	if !(lucky.Shrinkage < 0.5 && lucky.Shrinkage < solid.Shrinkage) {
		t.Errorf("shrinkage: lucky %.3f, solid %.3f; want lucky < 0.5 and < solid", lucky.Shrinkage, solid.Shrinkage)
	}
	if !(math.Abs(lucky.Shrunk) < 0.5*math.Abs(lucky.Mean)) {
		t.Errorf("lucky shrunk %.3f from %.3f: not pulled halfway to zero", lucky.Shrunk, lucky.Mean)
	}
	if !(solid.Score > lucky.Score) {
		t.Errorf("lucky scores %.3f, above solid %.3f", lucky.Score, solid.Score)
	}
	if rk := Rank(scores); rk[0].Wallet != "solid" {
		t.Errorf("top of the board is %s (%.3f), want solid", rk[0].Wallet, rk[0].Score.Score)
	}

	// With the default MinObs the lucky wallet is not ranked at all.
	lucky = scoreOf(t, mustScorer(t, minuteConfig()).Score(as, s, time.Time{}), "lucky")
	if !lucky.Excluded || lucky.Reason != ReasonFewObs {
		t.Errorf("lucky: excluded %v reason %q, want few_observations", lucky.Excluded, lucky.Reason)
	}

	// A fixed prior strength: B = NEff / (NEff + PriorStrength).
	cfg.PriorStrength = 50
	solid = scoreOf(t, mustScorer(t, cfg).Score(as, s, time.Time{}), "solid")
	if want := solid.NEff / (solid.NEff + 50); !near(solid.Shrinkage, want, 1e-12) {
		t.Errorf("fixed prior: B %v, want %v", solid.Shrinkage, want)
	}
}

// zActions returns actions of wallet w in coin X, a minute apart from start, and their
// outcomes with the given z values at the single horizon.
func zActions(w string, start time.Time, zs ...float64) ([]Action, []Outcome) {
	as := make([]Action, len(zs))
	outs := make([]Outcome, len(zs))
	for i, z := range zs {
		as[i] = Action{Wallet: w, Coin: "X", TS: start.Add(time.Duration(i) * time.Minute), Kind: KindOpen, Dir: 1, Size: 1, Px: 1, NotionalUSD: 1}
		o := Outcome{RoundTrip: math.NaN(), RoundTripZ: math.NaN()}
		for h := range o.Forward {
			o.Forward[h], o.Z[h] = math.NaN(), math.NaN()
		}
		o.Forward[0], o.Z[0] = z/100, z
		outs[i] = o
	}
	return as, outs
}

func TestTradeShareCap(t *testing.T) {
	zs := make([]float64, 0, 41)
	for i := range 40 {
		zs = append(zs, 0.5*float64(1-2*(i%2)))
	}
	zs = append(zs, 40) // one huge lucky trade
	as, outs := zActions("w", epoch(), zs...)
	cfg := Config{Returns: ReturnConfig{Horizons: []time.Duration{time.Hour}}, Bots: BotConfig{Disable: true}, HalfLife: -1}
	cfg.MaxTradeShare = 1
	free := scoreOf(t, mustScorer(t, cfg).ScoreOutcomes(as, outs, time.Time{}), "w")
	cfg.MaxTradeShare = 0.1
	capped := scoreOf(t, mustScorer(t, cfg).ScoreOutcomes(as, outs, time.Time{}), "w")
	t.Logf("uncapped mean %.4f score %.4f; capped mean %.4f score %.4f", free.Mean, free.Score, capped.Mean, capped.Score)
	if !near(free.Mean, 40.0/41, 1e-12) || free.Capped != 0 {
		t.Fatalf("uncapped mean %v capped %d, want %v 0", free.Mean, free.Capped, 40.0/41)
	}
	// The big trade is clipped to L with L = 0.1 × (20 + L): L = 20/9.
	if want := (20.0 / 9) / 41; !near(capped.Mean, want, 1e-12) || capped.Capped != 1 {
		t.Errorf("capped mean %v (%d clipped), want %v (1)", capped.Mean, capped.Capped, want)
	}
	// Clipped, the trade no longer inflates the variance either.
	if !(capped.StdErr < free.StdErr/3) {
		t.Errorf("capped standard error %v, uncapped %v", capped.StdErr, free.StdErr)
	}
}

func TestCapShare(t *testing.T) {
	tests := []struct {
		name    string
		xs, ws  []float64
		share   float64
		clipped int
	}{
		{"under the cap", []float64{1, -1, 1, -1, 1}, []float64{1, 1, 1, 1, 1}, 0.25, 0},
		{"one outlier", []float64{1, -1, 1, -1, 1, -1, 1, -1, 1, 30}, nil, 0.2, 1},
		{"two outliers, weighted", []float64{1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 20, -9}, []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.5, 1}, 0.15, 2},
		{"too few to cap", []float64{1, 2, 3}, nil, 0.1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := make([]obsv, len(tt.xs))
			for i, x := range tt.xs {
				obs[i] = obsv{x: x, w: 1}
				if tt.ws != nil {
					obs[i].w = tt.ws[i]
				}
			}
			n := capShare(obs, tt.share)
			if n != tt.clipped {
				t.Errorf("clipped %d, want %d", n, tt.clipped)
			}
			var total, top float64
			for i, o := range obs {
				c := math.Abs(o.x) * o.w
				total += c
				top = max(top, c)
				if math.Signbit(o.x) != math.Signbit(tt.xs[i]) {
					t.Errorf("obs %d changed sign", i)
				}
			}
			if len(obs) >= int(1/tt.share) && top > tt.share*total*(1+1e-12) {
				t.Errorf("largest share %v > %v", top/total, tt.share)
			}
		})
	}
}

func TestSizeNeutral(t *testing.T) {
	s := walk("X", 5, 20*24*60, time.Minute, 0.002)
	as := population(t, s, 20, 10*time.Minute, 2*time.Hour)
	minnow := trader{wallet: "minnow", coin: "X", usd: 500, skill: 0.6, hold: 10 * time.Minute, gap: 2 * time.Hour, seed: 9}
	whale := minnow
	whale.wallet, whale.usd = "whale", 500*100
	as = append(as, minnow.trips(t, s)...)
	as = append(as, whale.trips(t, s)...)
	scores := mustScorer(t, minuteConfig()).Score(as, s, time.Time{})
	m, w := scoreOf(t, scores, "minnow"), scoreOf(t, scores, "whale")
	if m.N < 100 || m.Excluded {
		t.Fatalf("minnow: n %d excluded %v", m.N, m.Excluded)
	}
	if !near(m.Score, w.Score, 1e-12) || !near(m.Mean, w.Mean, 1e-12) || !near(m.StdErr, w.StdErr, 1e-12) || m.N != w.N {
		t.Errorf("minnow %+v\nwhale %+v", m, w)
	}
}

func TestBotsExcluded(t *testing.T) {
	s := walk("X", 7, 10*24*60, time.Minute, 0.002)
	as := population(t, s, 20, 20*time.Minute, 3*time.Hour)
	// A fast trader: a round trip every 2 minutes.
	as = append(as, trader{wallet: "fast", coin: "X", usd: 50, skill: 0.5, hold: time.Minute, gap: 2 * time.Minute, seed: 3}.trips(t, s)...)
	// A churner: trades as often as the others but holds for a minute.
	as = append(as, trader{wallet: "churn", coin: "X", usd: 50, skill: 0.5, hold: time.Minute, gap: 3 * time.Hour, seed: 4}.trips(t, s)...)
	tests := []struct {
		name    string
		bots    BotConfig
		flagged map[string]bool
		reason  map[string]Reason
	}{
		{"on", BotConfig{}, nil, map[string]Reason{"fast": ReasonBotRate, "churn": ReasonBotChurn, "noise00": ReasonNone}},
		{"off", BotConfig{Disable: true}, nil, map[string]Reason{"fast": ReasonNone, "churn": ReasonNone, "noise00": ReasonNone}},
		// The profiler's flags exclude a wallet the relative heuristic lets through; a
		// wallet both flag keeps the heuristic's reason.
		{"profiled", BotConfig{}, map[string]bool{"noise03": true, "fast": true},
			map[string]Reason{"fast": ReasonBotRate, "churn": ReasonBotChurn, "noise03": ReasonProfiledBot}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := minuteConfig()
			cfg.Bots, cfg.Flagged = tt.bots, tt.flagged
			scores := mustScorer(t, cfg).Score(as, s, time.Time{})
			for _, sc := range scores {
				want, named := tt.reason[sc.Wallet]
				if !named {
					want = ReasonNone
				}
				if sc.Reason != want || sc.Excluded != (want != ReasonNone) {
					t.Errorf("%s: excluded %v reason %q (%.1f actions/h, median hold %s), want %q",
						sc.Wallet, sc.Excluded, sc.Reason, sc.ActionsPerHour, sc.MedianHold, want)
				}
			}
		})
	}
}

func TestRecency(t *testing.T) {
	day := 24 * time.Hour
	zs := make([]float64, 60)
	for i := range zs {
		zs[i] = 0.3 + 0.8*float64(1-2*(i%2)) // mean 0.3
	}
	oldAs, oldOuts := zActions("old", epoch(), zs...)
	newAs, newOuts := zActions("new", epoch().Add(200*day), zs...)
	as, outs := append(oldAs, newAs...), append(oldOuts, newOuts...)
	asOf := epoch().Add(201 * day)
	cfg := Config{Returns: ReturnConfig{Horizons: []time.Duration{time.Hour}}, Bots: BotConfig{Disable: true}, HalfLife: 30 * day}
	scores := mustScorer(t, cfg).ScoreOutcomes(as, outs, asOf)
	o, n := scoreOf(t, scores, "old"), scoreOf(t, scores, "new")
	if !near(o.Mean, n.Mean, 1e-9) {
		t.Errorf("means differ: old %v new %v", o.Mean, n.Mean)
	}
	if !(o.NEff < 0.02*n.NEff && o.StdErr > n.StdErr && o.Score < n.Score) {
		t.Errorf("old: neff %.3f se %.3f score %.3f; new: neff %.3f se %.3f score %.3f", o.NEff, o.StdErr, o.Score, n.NEff, n.StdErr, n.Score)
	}
	// Without decay they are the same.
	cfg.HalfLife = -1
	scores = mustScorer(t, cfg).ScoreOutcomes(as, outs, asOf)
	o, n = scoreOf(t, scores, "old"), scoreOf(t, scores, "new")
	if !near(o.Score, n.Score, 1e-12) || o.NEff != 60 {
		t.Errorf("no decay: old %v (neff %v), new %v", o.Score, o.NEff, n.Score)
	}
}

func TestAsOf(t *testing.T) {
	s := walk("X", 8, 5*24*60, time.Minute, 0.002)
	as := population(t, s, 10, 10*time.Minute, time.Hour)
	mid := epoch().Add(60 * time.Hour)
	sc := mustScorer(t, minuteConfig())
	got := sc.Score(as, s, mid)
	var before []Action
	for _, a := range as {
		if !a.TS.After(mid) {
			before = append(before, a)
		}
	}
	// The same as if nothing after mid had happened.
	cut := NewSeries()
	for i := 0; i <= 60*60; i++ {
		ts := epoch().Add(time.Duration(i) * time.Minute)
		p, _ := s.At("X", ts)
		cut.Add("X", ts, p)
	}
	want := sc.Score(before, cut, mid)
	if len(got) != len(want) {
		t.Fatalf("%d scores, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Score != want[i].Score || got[i].Actions != want[i].Actions || got[i].N != want[i].N {
			t.Errorf("%s: %+v\nwant %+v", got[i].Wallet, got[i], want[i])
		}
	}
}

func TestRank(t *testing.T) {
	scores := []Score{
		{Wallet: "c", Score: 1},
		{Wallet: "b", Score: 2},
		{Wallet: "a", Score: 1},
		{Wallet: "d", Score: 9, Excluded: true, Reason: ReasonBotRate},
		{Wallet: "e", Score: math.NaN()},
	}
	got := Rank(scores)
	want := []string{"b", "a", "c"}
	if len(got) != len(want) {
		t.Fatalf("%d ranked, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Wallet != w || got[i].Rank != i+1 {
			t.Errorf("rank %d: %s (#%d), want %s", i+1, got[i].Wallet, got[i].Rank, w)
		}
	}
}

func TestConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"bad returns", Config{Returns: ReturnConfig{Delay: -1}}},
		{"horizon weights mismatch", Config{HorizonWeights: []float64{1}}},
		{"negative horizon weight", Config{HorizonWeights: []float64{1, -1, 1}}},
		{"nothing weighed", Config{HorizonWeights: []float64{0, 0, 0}}},
		{"kind weight above 1", Config{KindWeights: map[Kind]float64{KindOpen: 2}}},
		{"round trip weight above 1", Config{RoundTripWeight: 1.5}},
		{"negative min obs", Config{MinObs: -1}},
		{"NaN z", Config{LowerBoundZ: math.NaN()}},
		{"negative prior strength", Config{PriorStrength: -1}},
		{"negative trade share", Config{MaxTradeShare: -0.1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewScorer(tt.cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("err %v, want ErrInvalidConfig", err)
			}
		})
	}
	// Defaults are idempotent: a scorer built from another's config is the same.
	s := mustScorer(t, Config{Returns: ReturnConfig{CostBps: -1}, LowerBoundZ: -1, VarPrior: -1, HalfLife: -1})
	again := mustScorer(t, s.Config())
	if c := again.Config(); c.Returns.CostBps >= 0 || c.LowerBoundZ >= 0 || c.VarPrior >= 0 || c.HalfLife >= 0 {
		t.Errorf("defaults applied twice: %+v", c)
	}
}
