package alpha

import "time"

// Until returns prices as known at t: nothing after t exists. Scoring as of a past
// time through it cannot look ahead.
func Until(p Prices, t time.Time) Prices { return until{p: p, t: t} }

type until struct {
	p Prices
	t time.Time
}

func (u until) At(coin string, t time.Time) (float64, bool) {
	if t.After(u.t) {
		t = u.t
	}
	return u.p.At(coin, t)
}

func (u until) Span(coin string) (first, last time.Time, ok bool) {
	first, last, ok = u.p.Span(coin)
	if !ok || first.After(u.t) {
		return time.Time{}, time.Time{}, false
	}
	if last.After(u.t) {
		last = u.t
	}
	return first, last, true
}
