package alpha

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/coattailcapital/coattail/analytics/book"
	"github.com/coattailcapital/coattail/event"
	"github.com/shopspring/decimal"
)

// Kind names what an action did to the wallet's exposure in the coin.
type Kind string

// Kinds of action. The first five come from fills and position changes (package book
// decides which); the rest come from DEX swaps and exchange transfers and are labelled
// separately because they say less about a wallet's position than a fill does.
const (
	KindOpen     Kind = "open"     // from flat
	KindAdd      Kind = "add"      // grew the position in its direction
	KindReduce   Kind = "reduce"   // shrank it, not to zero
	KindClose    Kind = "close"    // shrank it to exactly zero
	KindFlip     Kind = "flip"     // went through zero to the other side
	KindSwap     Kind = "swap"     // a DEX swap between a stablecoin and a token
	KindDeposit  Kind = "deposit"  // a transfer of a token to an exchange
	KindWithdraw Kind = "withdraw" // a transfer of a token from an exchange
)

// Entry reports whether the action added exposure (open, add, flip, swap): the
// decisions the score judges by default.
func (k Kind) Entry() bool {
	return k == KindOpen || k == KindAdd || k == KindFlip || k == KindSwap
}

// Action is one decision of a wallet in one coin: one fill, or the fills of one order
// (consecutive fills on the same side within ActionConfig.MergeWindow), or an observed
// change of position. Prices and sizes are float64: actions feed statistics, not
// accounting; the book keeps money in decimals.
type Action struct {
	Wallet string
	Coin   string
	TS     time.Time // time of the first fill
	Kind   Kind
	// Dir is the sign of the trade: +1 the wallet bought (its net exposure to the coin
	// went up: a long opened or grown, or a short reduced or closed), −1 it sold. A
	// flip's Dir is the side of the new position. Scores sign the coin's forward
	// return by Dir.
	Dir         int
	Size        float64 // coins traded, > 0
	Px          float64 // size-weighted average price of the fills
	NotionalUSD float64 // Size × Px
	PosBefore   float64 // signed position before the action
	PosAfter    float64 // signed position after the action
	// EntryPx is the average entry price of the position before the action: the cost
	// basis of what a reduce, close or flip closed. 0 when flat or unknown.
	EntryPx float64
	// EntryPxAfter is the average entry price after the action (0: flat or unknown).
	EntryPxAfter float64
	// OpenedAt is when the position the action reduced or closed was opened (from
	// flat, or by a flip); zero when unknown or for an entry into a flat book.
	OpenedAt time.Time
	// ClosedSize is the size the action closed (reduce, close, flip), 0 otherwise.
	ClosedSize float64
	// RealizedPnl is the PnL realised in USD, gross of fees (the book's average-cost
	// rule). BasisUnknown tells a true zero from a close the book could not price.
	RealizedPnl  float64
	BasisUnknown bool
	Fee          float64 // fees paid in USD; negative for a rebate
	Fills        int     // events merged into the action
}

// ActionConfig controls how fills become actions. The zero value is usable.
type ActionConfig struct {
	// MergeWindow merges a fill into the previous action of the same (wallet, coin)
	// when both are on the same side and it comes at most this long after the
	// action's first fill: the fills of one order, which venues report one per
	// counterparty, are one decision. Defaults to 0: only fills at the same time merge.
	MergeWindow time.Duration
}

// ActionsFromFills derives actions from fill and position events; other kinds are
// ignored. Each (wallet, coin) is kept by a book.Position, which names what the event
// did (open, add, reduce, close, flip); a position observation that matches the book
// is no action, one that does not is a trade at the mark price (docs/EVENTS.md).
//
// Events are taken in event-time order per (wallet, coin) (a stable sort by time is
// applied first, so events at the same time keep their order). The result is sorted
// by time, then wallet, then coin. An event the book refuses makes the whole call fail
// with an error naming it and wrapping the book's error.
func ActionsFromFills(evs []event.Event, cfg ActionConfig) ([]Action, error) {
	idx := make([]int, 0, len(evs))
	for i := range evs {
		if evs[i].Kind == event.KindFill || evs[i].Kind == event.KindPosition {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		ea, eb := &evs[a], &evs[b]
		return cmp.Or(cmp.Compare(ea.Wallet, eb.Wallet), cmp.Compare(ea.Coin, eb.Coin), ea.TS.Compare(eb.TS))
	})
	var out []Action
	var b builder
	for k, i := range idx {
		e := &evs[i]
		if k == 0 || e.Wallet != evs[idx[k-1]].Wallet || e.Coin != evs[idx[k-1]].Coin {
			out = b.flush(out)
			b = builder{wallet: e.Wallet, coin: e.Coin, window: cfg.MergeWindow}
		}
		var err error
		out, err = b.apply(out, e)
		if err != nil {
			return nil, fmt.Errorf("actions from %s %s of wallet %s in %s at %s: %w",
				e.Kind, e.ID, e.Wallet, e.Coin, e.TS.Format(time.RFC3339Nano), err)
		}
	}
	out = b.flush(out)
	SortActions(out)
	return out, nil
}

// SortActions sorts actions by time, then wallet, then coin, keeping the order of
// equal ones.
func SortActions(as []Action) {
	// Sort indices, not the large structs, then permute once.
	idx := make([]int, len(as))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int {
		a, b := &as[i], &as[j]
		return cmp.Or(a.TS.Compare(b.TS), cmp.Compare(a.Wallet, b.Wallet), cmp.Compare(a.Coin, b.Coin), cmp.Compare(i, j))
	})
	sorted := make([]Action, len(as))
	for k, i := range idx {
		sorted[k] = as[i]
	}
	copy(as, sorted)
}

// builder turns one (wallet, coin)'s events into actions, holding the action being
// merged until a fill that does not merge, or the end, completes it.
type builder struct {
	wallet, coin string
	window       time.Duration
	pos          book.Position
	openedAt     time.Time // when the current position was opened; zero if unknown
	cur          Action
	pending      bool
	curObs       bool    // the pending action is an observed change, which never merges
	pxSz         float64 // Σ px×sz of the pending action's fills
}

func (b *builder) apply(out []Action, e *event.Event) ([]Action, error) {
	before := b.pos
	var ch book.Change
	var err error
	var px decimal.Decimal
	if e.Kind == event.KindFill {
		ch, err = b.pos.ApplyFill(book.FillFromEvent(e))
		px = e.Px
	} else {
		o := book.ObservationFromEvent(e)
		ch, err = b.pos.ApplyObservation(o)
		px = o.Px
	}
	if err != nil {
		return out, err
	}
	if ch.Resynced || ch.Action == book.ActionSync {
		// A gap in the history: whatever was held before is of unknown age.
		b.openedAt = time.Time{}
	}
	if ch.Action == book.ActionNone || ch.Action == book.ActionSync {
		if ch.Action == book.ActionSync {
			out = b.flush(out)
		}
		return out, nil
	}
	dir := ch.Delta.Sign()
	sz := ch.Delta.Abs().InexactFloat64()
	fpx := px.InexactFloat64()
	fee := 0.0
	if e.Kind == event.KindFill && e.Fee.Valid {
		fee = e.Fee.Decimal.InexactFloat64()
	}
	startSize := before.Size
	if ch.Resynced && e.StartPosition.Valid {
		startSize = e.StartPosition.Decimal
	}
	entryBefore := before.EntryPx
	if ch.Resynced || before.UnknownBasis {
		entryBefore = decimal.Zero
	}
	obs := e.Kind == event.KindPosition
	merge := b.pending && !obs && !b.curObs && dir == b.cur.Dir &&
		!ch.Resynced && e.TS.Sub(b.cur.TS) <= b.window
	if !merge {
		out = b.flush(out)
		b.cur = Action{
			Wallet:    b.wallet,
			Coin:      b.coin,
			TS:        e.TS,
			Dir:       dir,
			PosBefore: startSize.InexactFloat64(),
			EntryPx:   entryBefore.InexactFloat64(),
			OpenedAt:  b.openedAt,
		}
		b.pxSz = 0
		b.pending = true
		b.curObs = obs
	}
	a := &b.cur
	a.Size += sz
	b.pxSz += fpx * sz
	a.Px = b.pxSz / a.Size
	a.NotionalUSD = b.pxSz
	a.PosAfter = b.pos.Size.InexactFloat64()
	a.RealizedPnl += ch.RealizedDelta.InexactFloat64()
	a.BasisUnknown = a.BasisUnknown || ch.BasisUnknown
	a.Fee += fee
	a.Fills++
	if !b.pos.UnknownBasis {
		a.EntryPxAfter = b.pos.EntryPx.InexactFloat64()
	} else {
		a.EntryPxAfter = 0
	}
	a.Kind = kindOf(a.PosBefore, a.PosAfter)
	if a.Kind == KindReduce || a.Kind == KindClose || a.Kind == KindFlip {
		a.ClosedSize = min(a.Size, abs(a.PosBefore))
	}
	switch a.Kind {
	case KindOpen, KindFlip:
		b.openedAt = a.TS
	case KindClose:
		b.openedAt = time.Time{}
	}
	if a.Kind == KindOpen || a.Kind == KindAdd {
		a.OpenedAt = time.Time{}
		if a.Kind == KindAdd {
			a.OpenedAt = b.openedAt
		}
	}
	return out, nil
}

// kindOf names the change from a signed position to another.
func kindOf(from, to float64) Kind {
	switch {
	case from == 0:
		return KindOpen
	case to == 0:
		return KindClose
	case (from > 0) != (to > 0):
		return KindFlip
	case abs(to) > abs(from):
		return KindAdd
	}
	return KindReduce
}

func (b *builder) flush(out []Action) []Action {
	if b.pending {
		out = append(out, b.cur)
		b.pending = false
	}
	return out
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
