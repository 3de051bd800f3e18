package alpha

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// Reason says why a wallet is not ranked.
type Reason string

// Reasons.
const (
	ReasonNone     Reason = ""
	ReasonFewObs   Reason = "few_observations" // fewer than MinObs scored actions
	ReasonBotRate  Reason = "bot_rate"         // trades far faster than the typical wallet
	ReasonBotChurn Reason = "bot_churn"        // holds far shorter than the typical wallet
	// ReasonProfiledBot: the whale profiler flags the wallet as bot-like (Config.Flagged).
	ReasonProfiledBot Reason = "profiled_bot"
)

// Score is a wallet's skill estimate. Outcomes are in z units (see Outcome): excess
// returns divided by the coin's volatility over the holding time. They are returns,
// never PnL, so a whale and a minnow with the same edge score the same.
type Score struct {
	Wallet string
	// Score is the lower confidence bound of the shrunk mean outcome per action:
	// Shrunk − LowerBoundZ × PostSD. Rank by it.
	Score float64
	// Mean is the recency-weighted mean outcome per action after the trade-share cap,
	// before shrinkage; StdErr its standard error.
	Mean   float64
	StdErr float64
	// Shrunk is the posterior mean (Shrinkage × Mean, shrunk toward zero); PostSD its
	// posterior standard deviation.
	Shrunk float64
	PostSD float64
	// Shrinkage is the factor B in [0, 1] that Mean was multiplied by: near 1 for a
	// long, consistent record, near 0 for a short or noisy one.
	Shrinkage float64
	// N is the number of actions with an outcome; NEff their total recency weight
	// (an action a half-life old counts half).
	N    int
	NEff float64
	// Actions is the number of actions of the wallet up to the as-of time, scored
	// or not.
	Actions int
	// MeanReturn[i] is the weighted mean excess forward return (a fraction, net of
	// cost) over Horizons[i] of the scored actions: the edge in plain return terms.
	// NaN when none reached that horizon.
	MeanReturn [MaxHorizons]float64
	// RoundTrips is the number of closes with a realised return; MeanRoundTrip their
	// mean (a fraction, net of cost), NaN when none.
	RoundTrips    int
	MeanRoundTrip float64
	// ActionsPerHour and MedianHold are what the bot heuristic looked at.
	ActionsPerHour float64
	MedianHold     time.Duration
	// Capped is the number of actions whose outcome the trade-share cap clipped.
	Capped int
	// Excluded wallets are not ranked; Reason says why.
	Excluded bool
	Reason   Reason
}

// Scorer scores wallets. It holds only its configuration and is safe for concurrent
// use.
type Scorer struct {
	cfg Config
}

// NewScorer returns a scorer for cfg (defaults applied). It returns an error wrapping
// ErrInvalidConfig when cfg cannot be used.
func NewScorer(cfg Config) (*Scorer, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Scorer{cfg: cfg}, nil
}

// Config returns the configuration with defaults applied.
func (s *Scorer) Config() Config {
	c := s.cfg
	c.Returns.Horizons = slices.Clone(c.Returns.Horizons)
	c.HorizonWeights = slices.Clone(c.HorizonWeights)
	c.KindWeights = maps.Clone(c.KindWeights)
	return c
}

// Score scores every wallet in actions as of asOf: actions after asOf are left out,
// and so are prices after it, so a past leaderboard uses only what was known then. A
// zero asOf means the time of the last action. The result is sorted by wallet.
func (s *Scorer) Score(actions []Action, prices Prices, asOf time.Time) []Score {
	asOf = asOfOr(actions, asOf)
	known := actions
	for i := range actions {
		if actions[i].TS.After(asOf) {
			known = make([]Action, 0, len(actions))
			for j := range actions {
				if !actions[j].TS.After(asOf) {
					known = append(known, actions[j])
				}
			}
			break
		}
	}
	r, err := NewReturns(s.cfg.Returns, Until(prices, asOf))
	if err != nil {
		panic(fmt.Sprintf("alpha: a validated config fails: %v", err)) // a bug
	}
	return s.ScoreOutcomes(known, r.Outcomes(known), asOf)
}

// asOfOr returns asOf, or when it is zero the time of the last action.
func asOfOr(actions []Action, asOf time.Time) time.Time {
	if !asOf.IsZero() {
		return asOf
	}
	for i := range actions {
		if actions[i].TS.After(asOf) {
			asOf = actions[i].TS
		}
	}
	return asOf
}

// ScoreOutcomes scores wallets from actions and their outcomes: outs[i] is the
// outcome of actions[i], as Returns.Outcomes measures it with this scorer's
// ReturnConfig (measure them once, score them under several settings). Actions after
// asOf are left out; a zero asOf means the time of the last action. The result is
// sorted by wallet. It panics if the lengths differ.
func (s *Scorer) ScoreOutcomes(actions []Action, outs []Outcome, asOf time.Time) []Score {
	if len(outs) != len(actions) {
		panic(fmt.Sprintf("alpha: %d outcomes for %d actions", len(outs), len(actions)))
	}
	asOf = asOfOr(actions, asOf)
	byWallet := map[string][]int{}
	for i := range actions {
		if !actions[i].TS.After(asOf) {
			byWallet[actions[i].Wallet] = append(byWallet[actions[i].Wallet], i)
		}
	}
	wallets := slices.Sorted(maps.Keys(byWallet))
	scores := make([]Score, len(wallets))
	var obs []obsv // reused across wallets
	for wi, w := range wallets {
		idx := byWallet[w]
		slices.SortStableFunc(idx, func(a, b int) int { return actions[a].TS.Compare(actions[b].TS) })
		scores[wi], obs = s.wallet(w, actions, outs, idx, asOf, obs[:0])
	}
	s.flagBots(scores)
	for i := range scores {
		if !scores[i].Excluded && s.cfg.Flagged[scores[i].Wallet] {
			scores[i].Excluded, scores[i].Reason = true, ReasonProfiledBot
		}
		if !scores[i].Excluded && scores[i].N < s.cfg.MinObs {
			scores[i].Excluded, scores[i].Reason = true, ReasonFewObs
		}
	}
	s.shrink(scores)
	return scores
}

// obsv is one scored action: its outcome in z units and its weight.
type obsv struct{ x, w float64 }

// wallet computes one wallet's record (everything but the shrinkage) from its actions
// idx, in time order. obs is scratch space, returned for reuse.
func (s *Scorer) wallet(w string, actions []Action, outs []Outcome, idx []int, asOf time.Time, obs []obsv) (Score, []obsv) {
	cfg := &s.cfg
	sc := Score{Wallet: w, Actions: len(idx), MeanRoundTrip: math.NaN()}
	sc.ActionsPerHour, sc.MedianHold = activity(actions, idx)
	nh := len(cfg.Returns.Horizons)
	var retSum, retW [MaxHorizons]float64
	var rtSum float64
	for _, i := range idx {
		a, o := &actions[i], &outs[i]
		if !math.IsNaN(o.RoundTrip) {
			sc.RoundTrips++
			rtSum += o.RoundTrip
		}
		rec := 1.0
		if cfg.HalfLife > 0 {
			rec = math.Exp2(-float64(asOf.Sub(a.TS)) / float64(cfg.HalfLife))
		}
		// The forward component: the horizons' z outcomes, averaged by weight.
		kw := cfg.KindWeights[a.Kind]
		fz, fw := 0.0, 0.0
		if kw > 0 {
			for h := range nh {
				hw := cfg.HorizonWeights[h]
				if hw == 0 || math.IsNaN(o.Z[h]) {
					continue
				}
				fz += hw * o.Z[h]
				fw += hw
				retSum[h] += rec * kw * o.Forward[h]
				retW[h] += rec * kw
			}
		}
		// The round-trip component.
		rw := cfg.RoundTripWeight
		if rw > 0 && math.IsNaN(o.RoundTripZ) {
			rw = 0
		}
		// The action's outcome is the weighted average of its components; its weight
		// in the wallet's mean is the larger component weight (at most 1: an action is
		// at most one observation), discounted by age.
		var x, cw float64
		switch {
		case fw > 0 && rw > 0:
			x, cw = (kw*fz/fw+rw*o.RoundTripZ)/(kw+rw), max(kw, rw)
		case fw > 0:
			x, cw = fz/fw, kw
		case rw > 0:
			x, cw = o.RoundTripZ, rw
		default:
			continue
		}
		obs = append(obs, obsv{x: x, w: rec * cw})
	}
	for h := range MaxHorizons {
		sc.MeanReturn[h] = math.NaN()
		if h < nh && retW[h] > 0 {
			sc.MeanReturn[h] = retSum[h] / retW[h]
		}
	}
	if sc.RoundTrips > 0 {
		sc.MeanRoundTrip = rtSum / float64(sc.RoundTrips)
	}
	sc.N = len(obs)
	sc.Capped = capShare(obs, cfg.MaxTradeShare)
	sc.Mean, sc.StdErr, sc.NEff = s.moments(obs)
	return sc, obs
}

// moments returns the weighted mean of obs, its standard error and the total weight.
// The variance is pulled toward 1, the variance of a no-skill outcome in z units, by
// VarPrior pseudo-observations; the standard error divides it by the total weight,
// not the effective sample size, so that old evidence (weight < 1) counts as less
// evidence.
func (s *Scorer) moments(obs []obsv) (mean, se, wsum float64) {
	var swx float64
	for _, o := range obs {
		wsum += o.w
		swx += o.w * o.x
	}
	if wsum <= 0 {
		return 0, math.Inf(1), 0
	}
	mean = swx / wsum
	var ss float64
	for _, o := range obs {
		d := o.x - mean
		ss += o.w * d * d
	}
	n := float64(len(obs))
	v := ss / wsum
	if n > 1 {
		v *= n / (n - 1)
	}
	vp := max(0, s.cfg.VarPrior)
	if n-1+vp > 0 {
		v = (max(0, n-1)*v + vp) / (max(0, n-1) + vp)
	} else {
		v = 1 // a single observation and no prior: assume no-skill variance
	}
	return mean, math.Sqrt(v / wsum), wsum
}

// capShare clips the largest |x|·w so that none is more than share of the sum of all
// of them, and returns how many it clipped. With fewer than 1/share observations the
// cap cannot hold for all; then they are all clipped to the smallest.
func capShare(obs []obsv, share float64) int {
	if share >= 1 || len(obs) == 0 {
		return 0
	}
	var total, top float64
	for _, o := range obs {
		c := math.Abs(o.x) * o.w
		total += c
		top = max(top, c)
	}
	if top <= share*total {
		return 0
	}
	cs := make([]float64, len(obs))
	for i, o := range obs {
		cs[i] = math.Abs(o.x) * o.w
	}
	slices.SortFunc(cs, func(a, b float64) int { return cmp.Compare(b, a) })
	// With the k largest clipped to L, L = share × (rest + k×L), so
	// L = share × rest / (1 − share×k), valid when cs[k] <= L.
	limit := cs[len(cs)-1]
	rest := total
	for k := range cs {
		if share*float64(k) >= 1 {
			break
		}
		if l := share * rest / (1 - share*float64(k)); cs[k] <= l {
			limit = l
			break
		}
		rest -= cs[k]
	}
	n := 0
	for i := range obs {
		o := &obs[i]
		if c := math.Abs(o.x) * o.w; c > limit && o.w > 0 {
			o.x = math.Copysign(limit/o.w, o.x)
			n++
		}
	}
	return n
}

// minPriorVar keeps the empirical-Bayes spread of skill from collapsing to zero,
// which would shrink every wallet to the same score and rank nothing: a spread of
// 0.01 of a typical move per action.
const minPriorVar = 1e-4

// shrink sets each wallet's posterior and score. The prior on a wallet's true mean
// outcome is normal around zero (no edge); its variance is PriorStrength-derived or
// estimated from the eligible wallets (empirical Bayes).
func (s *Scorer) shrink(scores []Score) {
	cfg := &s.cfg
	tau2 := priorVar(scores)
	z := max(0, cfg.LowerBoundZ)
	for i := range scores {
		sc := &scores[i]
		se2 := sc.StdErr * sc.StdErr
		var b float64
		switch {
		case math.IsInf(se2, 1):
			b = 0
		case cfg.PriorStrength > 0:
			b = sc.NEff / (sc.NEff + cfg.PriorStrength)
		default:
			b = tau2 / (tau2 + se2)
		}
		sc.Shrinkage = b
		sc.Shrunk = b * sc.Mean
		if math.IsInf(se2, 1) {
			sc.PostSD = math.Sqrt(tau2)
		} else {
			sc.PostSD = math.Sqrt(b) * sc.StdErr
		}
		sc.Score = sc.Shrunk - z*sc.PostSD
	}
}

// priorVar estimates the variance of true skill across eligible wallets by the method
// of moments: the mean squared outcome around zero minus the mean squared standard
// error, at least minPriorVar.
func priorVar(scores []Score) float64 {
	sum, n := 0.0, 0
	for i := range scores {
		sc := &scores[i]
		if sc.Excluded || math.IsInf(sc.StdErr, 1) {
			continue
		}
		sum += sc.Mean*sc.Mean - sc.StdErr*sc.StdErr
		n++
	}
	if n == 0 {
		return minPriorVar
	}
	return max(minPriorVar, sum/float64(n))
}

// Ranked is one row of a leaderboard.
type Ranked struct {
	Rank int // 1-based
	Score
}

// Rank returns the eligible wallets (not Excluded) sorted by Score descending, ties
// by wallet address ascending, numbered from 1.
func Rank(scores []Score) []Ranked {
	out := make([]Ranked, 0, len(scores))
	for _, s := range scores {
		if !s.Excluded && !math.IsNaN(s.Score) {
			out = append(out, Ranked{Score: s})
		}
	}
	slices.SortFunc(out, func(a, b Ranked) int {
		return cmp.Or(cmp.Compare(b.Score.Score, a.Score.Score), cmp.Compare(a.Wallet, b.Wallet))
	})
	for i := range out {
		out[i].Rank = i + 1
	}
	return out
}
