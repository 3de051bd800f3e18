package rescore

import (
	"math"
	"slices"
	"time"

	"github.com/coattailcapital/coattail/analytics/alpha"
	"github.com/coattailcapital/coattail/store"
)

// EvalConfig configures a walk-forward evaluation. The zero value is usable.
type EvalConfig struct {
	// Splits is the number of split times, evenly spaced over the history (at 1/(n+1),
	// 2/(n+1), ... of it). Defaults to 4.
	Splits int
	// K is how many top wallets each ranking picks. Defaults to 10.
	K int
	// Horizon is how long after a split the picked wallets' actions are followed.
	// Defaults to 7 days.
	Horizon time.Duration
	// Score configures the ranking (window all, as of the split).
	Score Config
	// Truth, when given, is the set of wallets known to be skilled (simulated
	// markets): each split also reports the precision@K of both rankings against it.
	Truth []string
}

// Group is how a set of wallets did after a split: the copy-trade returns of their
// entries in (split, split + horizon], measured as the score measures outcomes (from
// the market price at the action, following the wallet's exits, net of the cost, in
// excess of the coin's drift), with prices known up to split + horizon only.
type Group struct {
	Picked int `json:"picked"` // wallets in the group
	Active int `json:"active"` // of them, wallets with an entry after the split
	// MeanReturn is the mean over active wallets of their mean return per entry (a
	// fraction: 0.01 = 1%); Profitable the share of active wallets whose mean is > 0.
	MeanReturn float64 `json:"mean_return"`
	Profitable float64 `json:"profitable"`
	Entries    int     `json:"entries"`
	// PnL is the group's realised PnL net of fees in the period, USD (size-dependent).
	PnL float64 `json:"pnl_usd"`
	// Precision is the share of the picked wallets in EvalConfig.Truth (-1: no truth).
	Precision float64 `json:"precision"`
}

// Split is one walk-forward step.
type Split struct {
	At     time.Time `json:"at"`
	Until  time.Time `json:"until"`
	Ranked int       `json:"ranked"` // wallets the score ranked with data before At
	Score  Group     `json:"score"`  // the top K by alpha score
	PnL    Group     `json:"pnl"`    // the top K by trailing realised PnL net of fees
	All    Group     `json:"all"`    // every wallet that acted after the split
}

// EvalResult is a walk-forward evaluation.
type EvalResult struct {
	Splits  []Split       `json:"splits"`
	K       int           `json:"k"`
	Horizon time.Duration `json:"-"`
	// Mean is the average of each group over the splits (Active-weighted nothing:
	// each split counts once).
	Mean struct {
		Score, PnL, All Group
	} `json:"mean"`
	HorizonText string `json:"horizon"`
}

// Evaluate walks forward over the history: at each split time it ranks the wallets
// with the actions and prices before the split only (the board as it was then), picks
// the top K by score and the top K by trailing realised PnL, and measures what their
// actions earned over the following horizon, beside the whole population's.
func Evaluate(h *History, cfg EvalConfig) (EvalResult, error) {
	if cfg.Splits <= 0 {
		cfg.Splits = 4
	}
	if cfg.K <= 0 {
		cfg.K = 10
	}
	if cfg.Horizon <= 0 {
		cfg.Horizon = 7 * 24 * time.Hour
	}
	res := EvalResult{K: cfg.K, Horizon: cfg.Horizon, HorizonText: cfg.Horizon.String()}
	if len(h.Actions) == 0 {
		return res, nil
	}
	first, last := h.Actions[0].TS, h.Actions[len(h.Actions)-1].TS
	span := last.Sub(first)
	sc := cfg.Score
	sc.Windows = []string{store.WindowAll}
	for i := 1; i <= cfg.Splits; i++ {
		at := first.Add(time.Duration(float64(span) * float64(i) / float64(cfg.Splits+1)))
		ws, err := Score(h, sc, at)
		if err != nil {
			return res, err
		}
		var byScore []string
		pnl := map[string]float64{}
		for _, r := range ws[0].Rows {
			if r.Rank > 0 {
				byScore = append(byScore, r.Wallet)
			}
			pnl[r.Wallet] = r.Stats.RealizedPnl - r.Stats.Fees
		}
		byPnL := sortByValue(pnl)
		until := at.Add(cfg.Horizon)
		fwd := forward(h, sc, at, until)
		var all []string
		for w := range fwd {
			all = append(all, w)
		}
		slices.Sort(all)
		sp := Split{At: at, Until: until, Ranked: len(byScore),
			Score: group(fwd, top(byScore, cfg.K), cfg.Truth),
			PnL:   group(fwd, top(byPnL, cfg.K), cfg.Truth),
			All:   group(fwd, all, nil)}
		res.Splits = append(res.Splits, sp)
	}
	res.Mean.Score = meanGroup(res.Splits, func(s Split) Group { return s.Score })
	res.Mean.PnL = meanGroup(res.Splits, func(s Split) Group { return s.PnL })
	res.Mean.All = meanGroup(res.Splits, func(s Split) Group { return s.All })
	return res, nil
}

// walletFwd is one wallet's record after a split.
type walletFwd struct {
	sum     float64
	entries int
	pnl     float64
}

// forward measures every wallet's entries in (at, until] with prices up to until.
func forward(h *History, cfg Config, at, until time.Time) map[string]*walletFwd {
	var acts []alpha.Action
	for i := range h.Actions {
		if t := h.Actions[i].TS; t.After(at) && !t.After(until) {
			acts = append(acts, h.Actions[i])
		}
	}
	out := map[string]*walletFwd{}
	if len(acts) == 0 {
		return out
	}
	rc := cfg.Alpha.Returns
	if len(rc.Horizons) == 0 {
		rc.Horizons = AutoHorizons(h.Actions)
	}
	ret, err := alpha.NewReturns(rc, alpha.Until(h.Prices, until))
	if err != nil {
		return out
	}
	outs := ret.Outcomes(acts)
	for i := range acts {
		a := &acts[i]
		w := out[a.Wallet]
		if w == nil {
			w = &walletFwd{}
			out[a.Wallet] = w
		}
		w.pnl += a.RealizedPnl - a.Fee
		if !a.Kind.Entry() {
			continue
		}
		// The longest horizon the action has an outcome for.
		r := math.NaN()
		for k := alpha.MaxHorizons - 1; k >= 0; k-- {
			if !math.IsNaN(outs[i].Forward[k]) {
				r = outs[i].Forward[k]
				break
			}
		}
		if !math.IsNaN(r) {
			w.sum += r
			w.entries++
		}
	}
	return out
}

func group(fwd map[string]*walletFwd, picked []string, truth []string) Group {
	g := Group{Picked: len(picked), Precision: -1}
	if truth != nil && len(picked) > 0 {
		hits := 0
		for _, w := range picked {
			if slices.Contains(truth, w) {
				hits++
			}
		}
		g.Precision = float64(hits) / float64(len(picked))
	}
	var means float64
	wins := 0
	for _, w := range picked {
		f := fwd[w]
		if f == nil {
			continue
		}
		g.PnL += f.pnl
		if f.entries == 0 {
			continue
		}
		g.Active++
		g.Entries += f.entries
		m := f.sum / float64(f.entries)
		means += m
		if m > 0 {
			wins++
		}
	}
	if g.Active > 0 {
		g.MeanReturn = means / float64(g.Active)
		g.Profitable = float64(wins) / float64(g.Active)
	}
	return g
}

func meanGroup(splits []Split, get func(Split) Group) Group {
	var g Group
	if len(splits) == 0 {
		return g
	}
	n := float64(len(splits))
	prec, precN := 0.0, 0
	for _, s := range splits {
		x := get(s)
		g.Picked += x.Picked
		g.Active += x.Active
		g.Entries += x.Entries
		g.MeanReturn += x.MeanReturn / n
		g.Profitable += x.Profitable / n
		g.PnL += x.PnL / n
		if x.Precision >= 0 {
			prec += x.Precision
			precN++
		}
	}
	g.Precision = -1
	if precN > 0 {
		g.Precision = prec / float64(precN)
	}
	return g
}

func top(ws []string, k int) []string {
	if len(ws) > k {
		return ws[:k]
	}
	return ws
}

// sortByValue returns the keys of m by value descending, ties by key.
func sortByValue(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b string) int {
		switch {
		case m[a] > m[b]:
			return -1
		case m[a] < m[b]:
			return 1
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	})
	return out
}
