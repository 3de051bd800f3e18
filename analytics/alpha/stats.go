package alpha

import (
	"maps"
	"math"
	"slices"
	"time"
)

// Window is a trailing period stats are computed over.
type Window struct {
	Name   string        // e.g. "7d"
	Length time.Duration // 0: all history
}

// DefaultWindows returns the windows 7d, 30d and all.
func DefaultWindows() []Window {
	return []Window{{"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}, {"all", 0}}
}

// Stats are a wallet's conventional performance figures over a window, in USD where
// money is meant. Unlike Score they depend on size and luck; they are shown beside it.
type Stats struct {
	Wallet string
	Window string
	From   time.Time // the window holds actions after From (zero: all history)
	To     time.Time // and up to To, the as-of time
	// Trades is the number of actions in the window; Closes the number of them that
	// closed size with a known basis (reduce, close, flip).
	Trades int
	Closes int
	// RealizedPnl is the PnL realised in the window net of the fees paid in it.
	RealizedPnl float64
	Fees        float64
	// UnrealizedPnl is the PnL of the positions open at To, at the price then (those
	// with an unknown basis or no price count zero).
	UnrealizedPnl float64
	// Capital is the largest cost of all open positions at once during the window
	// (Σ|size|×entry price), and ROI = (RealizedPnl + UnrealizedPnl) / Capital; 0
	// when no capital was deployed.
	Capital float64
	ROI     float64
	// WinRate is the share of Closes with a positive net PnL.
	WinRate float64
	// ProfitFactor is the gross profit of the Closes over their gross loss (net of
	// their fees); +Inf when there was profit and no loss, 0 when neither.
	ProfitFactor float64
	// MaxDrawdown is the largest fall, in USD, of the cumulative net realised PnL
	// from a previous peak within the window (starting from 0), ≥ 0.
	MaxDrawdown float64
	// Sortino is the mean return of the Closes (net PnL over the cost of the closed
	// size) over their downside deviation (target 0), per close, not annualised;
	// +Inf when positive with no losing close, 0 with fewer than two closes.
	Sortino float64
}

// ComputeStats computes every wallet's stats over each window ending at asOf (a zero
// asOf: the last action's time), from actions as ActionsFromFills makes them (all of a
// wallet's actions, from its first, so that positions carried into a window are
// known). prices mark open positions at asOf; nil leaves UnrealizedPnl zero. The
// result is sorted by wallet, then in the order of windows (nil: DefaultWindows).
func ComputeStats(actions []Action, prices Prices, asOf time.Time, windows []Window) []Stats {
	if windows == nil {
		windows = DefaultWindows()
	}
	asOf = asOfOr(actions, asOf)
	byWallet := map[string][]int{}
	for i := range actions {
		if !actions[i].TS.After(asOf) {
			byWallet[actions[i].Wallet] = append(byWallet[actions[i].Wallet], i)
		}
	}
	wallets := slices.Sorted(maps.Keys(byWallet))
	out := make([]Stats, 0, len(wallets)*len(windows))
	for _, w := range wallets {
		idx := byWallet[w]
		slices.SortStableFunc(idx, func(a, b int) int { return actions[a].TS.Compare(actions[b].TS) })
		unreal := unrealized(actions, idx, prices, asOf)
		for _, win := range windows {
			st := windowStats(actions, idx, win, asOf)
			st.Wallet = w
			st.UnrealizedPnl = unreal
			if st.Capital > 0 {
				st.ROI = (st.RealizedPnl + st.UnrealizedPnl) / st.Capital
			}
			out = append(out, st)
		}
	}
	return out
}

// unrealized returns the PnL at asOf of the wallet's open positions.
func unrealized(actions []Action, idx []int, prices Prices, asOf time.Time) float64 {
	if prices == nil {
		return 0
	}
	last := map[string]*Action{}
	for _, i := range idx {
		last[actions[i].Coin] = &actions[i]
	}
	u := 0.0
	for _, c := range slices.Sorted(maps.Keys(last)) { // a fixed order of float additions
		a := last[c]
		if a.PosAfter == 0 || a.EntryPxAfter <= 0 {
			continue
		}
		if px, ok := prices.At(c, asOf); ok {
			u += a.PosAfter * (px - a.EntryPxAfter)
		}
	}
	return u
}

// windowStats computes the stats of one wallet (actions idx in time order) over win.
func windowStats(actions []Action, idx []int, win Window, asOf time.Time) Stats {
	st := Stats{Window: win.Name, To: asOf}
	if win.Length > 0 {
		st.From = asOf.Add(-win.Length)
	}
	// Cost of open positions per coin, to find the peak capital in the window.
	cost := map[string]float64{}
	total := 0.0
	var equity, peak float64
	var wins, gain, loss float64
	var rets []float64
	for _, i := range idx {
		a := &actions[i]
		in := win.Length == 0 || a.TS.After(st.From)
		total -= cost[a.Coin]
		cost[a.Coin] = math.Abs(a.PosAfter) * a.EntryPxAfter
		total += cost[a.Coin]
		if !in {
			continue
		}
		st.Capital = max(st.Capital, total)
		st.Trades++
		st.Fees += a.Fee
		net := a.RealizedPnl - a.Fee
		st.RealizedPnl += net
		equity += net
		peak = max(peak, equity)
		st.MaxDrawdown = max(st.MaxDrawdown, peak-equity)
		if a.ClosedSize <= 0 || a.BasisUnknown || a.EntryPx <= 0 {
			continue
		}
		st.Closes++
		switch {
		case net > 0:
			wins++
			gain += net
		case net < 0:
			loss -= net
		}
		rets = append(rets, net/(a.ClosedSize*a.EntryPx))
	}
	// Capital held into the window from before it counts too.
	if win.Length > 0 {
		st.Capital = max(st.Capital, capitalAt(actions, idx, st.From))
	}
	if st.Closes > 0 {
		st.WinRate = wins / float64(st.Closes)
	}
	switch {
	case loss > 0:
		st.ProfitFactor = gain / loss
	case gain > 0:
		st.ProfitFactor = math.Inf(1)
	}
	st.Sortino = sortino(rets)
	return st
}

// capitalAt returns the cost of the wallet's open positions just after t.
func capitalAt(actions []Action, idx []int, t time.Time) float64 {
	cost := map[string]float64{}
	for _, i := range idx {
		a := &actions[i]
		if a.TS.After(t) {
			break
		}
		cost[a.Coin] = math.Abs(a.PosAfter) * a.EntryPxAfter
	}
	total := 0.0
	for _, c := range slices.Sorted(maps.Keys(cost)) {
		total += cost[c]
	}
	return total
}

// sortino returns mean(rets) / sqrt(mean(min(r, 0)²)).
func sortino(rets []float64) float64 {
	if len(rets) < 2 {
		return 0
	}
	var sum, down float64
	for _, r := range rets {
		sum += r
		if r < 0 {
			down += r * r
		}
	}
	mean := sum / float64(len(rets))
	if down == 0 {
		if mean > 0 {
			return math.Inf(1)
		}
		return 0
	}
	return mean / math.Sqrt(down/float64(len(rets)))
}
