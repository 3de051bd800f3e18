package rescore

import (
	"math"
	"time"

	"github.com/coattailcapital/coattail/analytics/alpha"
	"github.com/coattailcapital/coattail/store"
)

// Config configures scoring. The zero value is usable.
type Config struct {
	// Alpha is the scorer's configuration. With no Returns.Horizons, the horizons are
	// chosen from the data (AutoHorizons). Defaults to alpha's defaults.
	Alpha alpha.Config
	// Actions says how fills become actions. Defaults to merging same-time fills.
	Actions alpha.ActionConfig
	// Windows are the windows scored. Defaults to store.ScoreWindows(): 7d, 30d, all.
	Windows []string
	// ProfiledBots, for Rescore, also excludes the wallets the whale profiler flags as
	// bot-like (store.ProfiledBots, into Alpha.Flagged). The profiles are as of now, so
	// set it only for a board as of the newest stored event (Fresh clears it for an
	// earlier one): a board as of an earlier time would know what the wallets did later.
	ProfiledBots bool
}

func (c Config) windows() []string {
	if len(c.Windows) == 0 {
		return store.ScoreWindows()
	}
	return c.Windows
}

// Params are the parameters of a run, stored with it (score_runs.params) so a board
// can be explained later.
type Params struct {
	Window        string   `json:"window"`
	Horizons      []string `json:"horizons"`
	CostBps       float64  `json:"cost_bps"`
	MinObs        int      `json:"min_obs"`
	HalfLife      string   `json:"half_life"`
	LowerBoundZ   float64  `json:"lower_bound_z"`
	MaxTradeShare float64  `json:"max_trade_share"`
	PriorStrength float64  `json:"prior_strength"`
	Actions       int      `json:"actions"`
	Wallets       int      `json:"wallets"`
	Ranked        int      `json:"ranked"`
}

// WindowScores is the result of scoring one window as of a time.
type WindowScores struct {
	Window string
	AsOf   time.Time
	Rows   []store.WalletScore // sorted by rank (ranked first), then wallet
	Params Params
}

// Score scores the history as of asOf over each configured window: actions and prices
// after asOf are left out, so a past board uses only what was known then. Outcomes are
// measured once over all actions known at asOf (an entry before a window's start still
// follows the wallet's exits); each window then scores the actions in (asOf − length,
// asOf] and computes the conventional stats over the same span.
func Score(h *History, cfg Config, asOf time.Time) ([]WindowScores, error) {
	var known []alpha.Action
	for i := range h.Actions {
		if !h.Actions[i].TS.After(asOf) {
			known = append(known, h.Actions[i])
		}
	}
	acfg := cfg.Alpha
	if len(acfg.Returns.Horizons) == 0 {
		acfg.Returns.Horizons = AutoHorizons(known)
	}
	scorer, err := alpha.NewScorer(acfg)
	if err != nil {
		return nil, err
	}
	rc := scorer.Config()
	prices := alpha.Until(h.Prices, asOf)
	ret, err := alpha.NewReturns(rc.Returns, prices)
	if err != nil {
		return nil, err
	}
	outs := ret.Outcomes(known)
	var out []WindowScores
	for _, w := range cfg.windows() {
		length, err := ParseWindow(w)
		if err != nil {
			return nil, err
		}
		var acts []alpha.Action
		var os []alpha.Outcome
		from := asOf.Add(-length)
		for i := range known {
			if length == 0 || known[i].TS.After(from) {
				acts = append(acts, known[i])
				os = append(os, outs[i])
			}
		}
		scores := scorer.ScoreOutcomes(acts, os, asOf)
		ranks := map[string]int{}
		for _, r := range alpha.Rank(scores) {
			ranks[r.Wallet] = r.Rank
		}
		stats := map[string]alpha.Stats{}
		for _, s := range alpha.ComputeStats(known, prices, asOf, []alpha.Window{{Name: w, Length: length}}) {
			stats[s.Wallet] = s
		}
		rows := make([]store.WalletScore, 0, len(scores))
		for _, s := range scores {
			rows = append(rows, store.WalletScore{
				Wallet: s.Wallet, Rank: ranks[s.Wallet], Score: s.Shrunk, LCB: s.Score, N: s.N,
				Eligible: !s.Excluded, Reason: string(s.Reason), Stats: statsOf(stats[s.Wallet]),
			})
		}
		sortRows(rows)
		p := paramsOf(rc, w)
		p.Actions, p.Wallets, p.Ranked = len(acts), len(rows), len(ranks)
		out = append(out, WindowScores{Window: w, AsOf: asOf, Rows: rows, Params: p})
	}
	return out, nil
}

// sortRows puts ranked rows first by rank, then the others by wallet (scores come
// sorted by wallet).
func sortRows(rows []store.WalletScore) {
	ranked := make([]store.WalletScore, 0, len(rows))
	for _, r := range rows {
		if r.Rank > 0 {
			ranked = append(ranked, r)
		}
	}
	byRank := make([]store.WalletScore, len(ranked))
	for _, r := range ranked {
		byRank[r.Rank-1] = r
	}
	rest := rows[:0:0]
	for _, r := range rows {
		if r.Rank == 0 {
			rest = append(rest, r)
		}
	}
	copy(rows, append(byRank, rest...))
}

func statsOf(s alpha.Stats) store.ScoreStats {
	out := store.ScoreStats{
		// alpha's realised PnL is net of fees; the board reports it gross, as venues do,
		// with the fees beside it.
		RealizedPnl:   s.RealizedPnl + s.Fees,
		UnrealizedPnl: s.UnrealizedPnl,
		Fees:          s.Fees,
		ROI:           s.ROI,
		WinRate:       s.WinRate,
		MaxDrawdown:   s.MaxDrawdown,
		Trades:        s.Trades,
		Closes:        s.Closes,
	}
	if !math.IsInf(s.ProfitFactor, 0) {
		pf := s.ProfitFactor
		out.ProfitFactor = &pf
	}
	if !math.IsInf(s.Sortino, 0) {
		so := s.Sortino
		out.Sortino = &so
	}
	return out
}

func paramsOf(c alpha.Config, window string) Params {
	p := Params{Window: window, CostBps: c.Returns.CostBps, MinObs: c.MinObs, HalfLife: c.HalfLife.String(),
		LowerBoundZ: c.LowerBoundZ, MaxTradeShare: c.MaxTradeShare, PriorStrength: c.PriorStrength}
	for _, h := range c.Returns.Horizons {
		p.Horizons = append(p.Horizons, h.String())
	}
	return p
}
