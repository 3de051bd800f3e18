package alpha

import (
	"slices"
	"time"
)

// activity returns the wallet's actions per hour over its active span and the median
// holding time of the positions its actions closed (0 when none is known). idx holds
// the wallet's action indices in time order.
func activity(actions []Action, idx []int) (perHour float64, medianHold time.Duration) {
	if len(idx) >= 2 {
		span := actions[idx[len(idx)-1]].TS.Sub(actions[idx[0]].TS)
		if span > 0 {
			perHour = float64(len(idx)-1) / span.Hours()
		} else {
			perHour = float64(len(idx)-1) / (time.Millisecond.Hours()) // all at once
		}
	}
	var holds []time.Duration
	for _, i := range idx {
		a := &actions[i]
		if a.ClosedSize > 0 && !a.OpenedAt.IsZero() && a.TS.After(a.OpenedAt) {
			holds = append(holds, a.TS.Sub(a.OpenedAt))
		}
	}
	if len(holds) > 0 {
		slices.Sort(holds)
		medianHold = holds[len(holds)/2]
	}
	return perHour, medianHold
}

// flagBots marks bot and market-maker wallets as Excluded. The typical wallet is the
// median over wallets with at least MinObs actions.
func (s *Scorer) flagBots(scores []Score) {
	b := &s.cfg.Bots
	if b.Disable {
		return
	}
	var rates []float64
	var holds []time.Duration
	for i := range scores {
		sc := &scores[i]
		if sc.Actions < s.cfg.MinObs {
			continue
		}
		rates = append(rates, sc.ActionsPerHour)
		if sc.MedianHold > 0 {
			holds = append(holds, sc.MedianHold)
		}
	}
	if len(rates) == 0 {
		return
	}
	slices.Sort(rates)
	rateLimit := max(b.MinRate, b.RateFactor*rates[len(rates)/2])
	holdLimit := time.Duration(-1)
	if len(holds) > 0 {
		slices.Sort(holds)
		holdLimit = min(b.MaxHold, time.Duration(b.HoldFactor*float64(holds[len(holds)/2])))
	}
	for i := range scores {
		sc := &scores[i]
		if sc.Actions < s.cfg.MinObs {
			continue
		}
		switch {
		case sc.ActionsPerHour > rateLimit:
			sc.Excluded, sc.Reason = true, ReasonBotRate
		case sc.MedianHold > 0 && sc.MedianHold < holdLimit:
			sc.Excluded, sc.Reason = true, ReasonBotChurn
		}
	}
}
