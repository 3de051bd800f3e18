package alpha

import "github.com/coattailcapital/coattail/event"

// ExchangeFunc reports whether an address (lower-case 0x hex) belongs to an
// exchange, e.g. from an address-label list.
type ExchangeFunc func(addr string) bool

// ActionsFromTransfers derives KindDeposit and KindWithdraw actions from transfer
// events (other kinds are ignored): a transfer from a wallet to an exchange address is
// the wallet's deposit (Dir −1: coins readied to sell), one from an exchange to a
// wallet its withdrawal (Dir +1). Transfers between two exchange addresses, or
// between two others, are skipped, and so are retracted ones (Removed) with their
// retraction. NotionalUSD and Px are set when the event gives its USD value. They are
// labelled separately because they are weak signals: the default kind weights leave
// them out of the score. The result is sorted like ActionsFromFills's.
func ActionsFromTransfers(evs []event.Event, exchange ExchangeFunc) []Action {
	type key struct {
		src, tx string
		log     int64
	}
	removed := map[key]bool{}
	for i := range evs {
		if e := &evs[i]; e.Kind == event.KindTransfer && e.Removed {
			removed[key{e.Src, e.Tx, e.LogIndex}] = true
		}
	}
	var out []Action
	for i := range evs {
		e := &evs[i]
		if e.Kind != event.KindTransfer || removed[key{e.Src, e.Tx, e.LogIndex}] || exchange == nil {
			continue
		}
		amt := e.Amount.InexactFloat64()
		if !(amt > 0) {
			continue
		}
		fromX, toX := exchange(e.From), exchange(e.To)
		a := Action{Coin: coinOf(e.Token, e.Symbol), TS: e.TS, Size: amt, Fills: 1}
		switch {
		case toX && !fromX:
			a.Wallet, a.Kind, a.Dir = e.From, KindDeposit, -1
		case fromX && !toX:
			a.Wallet, a.Kind, a.Dir = e.To, KindWithdraw, +1
		default:
			continue
		}
		if e.USD.Valid && e.USD.Decimal.IsPositive() {
			a.NotionalUSD = e.USD.Decimal.InexactFloat64()
			a.Px = a.NotionalUSD / amt
		}
		out = append(out, a)
	}
	SortActions(out)
	return out
}
