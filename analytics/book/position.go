// Package book is the pure accounting core of the wallet book: one wallet's position in
// one coin, kept by average-cost accounting from fills and position observations.
//
// Realized PnL follows Hyperliquid's current closedPnl rule: gross of fees, by average
// cost. An opening trade (one that grows |size|) moves the entry price to the
// size-weighted average and realizes nothing; a closing trade realizes
// closed size × (price − entry) for a long, closed size × (entry − price) for a short,
// and leaves the entry price unchanged; a trade through zero closes the whole old size
// and opens the remainder at the trade price. (Hyperliquid fills recorded in May 2023
// were priced otherwise — the venue then moved the entry on closes too — so their
// closedPnl differs from the book's after a partial close; see hyperliquid_test.go.)
//
// Size that was opened before the known history has an unknown basis. The book never
// guesses one: reducing such size realizes nothing and is counted in UnknownCloses, and
// adding to it keeps the basis unknown until the position goes flat or flips.
//
// Events must be applied in event-time order per (wallet, coin); an event older than the
// book is refused with ErrOutOfOrder. Idempotency (one fill applied once) is the
// caller's: the book applies whatever it is given.
package book

import (
	"errors"
	"time"

	"github.com/shopspring/decimal"
)

// entryPlaces is the number of decimal places the average entry price is kept to. A
// weighted average rarely terminates; 18 places keep 12 significant digits even for a
// coin priced at 1e-6, and bound the size of every product computed from it.
const entryPlaces = 18

// ErrInvalid is returned (wrapped) for an event the book cannot apply: a fill with a
// side other than buy or sell, or a non-positive price or size; an observation with a
// negative price. The book is left unchanged.
var ErrInvalid = errors.New("book: invalid event")

// ErrOutOfOrder is returned (wrapped) for an event older than the book's UpdatedAt. The
// book is left unchanged; the caller counts the event as late.
var ErrOutOfOrder = errors.New("book: event older than the book")

// Action names what an event did to a position.
type Action string

// Actions.
const (
	ActionNone   Action = "none"   // nothing traded: an observation that matched the book
	ActionOpen   Action = "open"   // from flat
	ActionAdd    Action = "add"    // grew the position in its direction
	ActionReduce Action = "reduce" // shrank it, not to zero
	ActionClose  Action = "close"  // shrank it to exactly zero
	ActionFlip   Action = "flip"   // went through zero: closed the old side, opened the other
	ActionSync   Action = "sync"   // took a size the book did not see traded (first observation, unpriced change)
)

// Change is what one event did to a position.
type Change struct {
	Action Action
	// Delta is the signed size traded: positive bought, negative sold. Zero for none
	// and sync.
	Delta decimal.Decimal
	// RealizedDelta is the PnL this event realized, gross of fees. Zero when the
	// reduced size had an unknown basis.
	RealizedDelta decimal.Decimal
	// BasisUnknown: the trade was applied to a position whose basis was unknown, so a
	// reduction realized nothing (and was counted in UnknownCloses).
	BasisUnknown bool
	// Resynced: the fill's start position disagreed with the book (a gap in history),
	// so the book's size was reset to it before the fill, with an unknown basis unless
	// it was zero.
	Resynced bool
}

// Position is one wallet's position in one coin, as the book holds it. The zero value
// is an empty book. Persist every exported field, Last included.
type Position struct {
	Size          decimal.Decimal // signed: long > 0, short < 0
	EntryPx       decimal.Decimal // average entry price of the open size; 0 when flat or the basis is unknown
	Realized      decimal.Decimal // realized PnL, gross of fees (as Hyperliquid's closedPnl), only over closes with a known basis
	Fees          decimal.Decimal // sum of fees paid (negative fees, rebates, reduce it)
	N             int64           // number of events applied (fills and observations)
	UnknownBasis  bool            // the open size (or part of it) was opened before the known history
	Started       bool            // at least one event applied
	UnknownCloses int64           // closes left out of Realized because their basis (or, for an unpriced observed change, price) was unknown
	UpdatedAt     time.Time       // event time of the latest event applied
	// Last is the latest fill applied, kept to recognise the second half of a
	// self-trade (see ApplyFill). Zero after an observation.
	Last LastFill
}

// LastFill is what the book remembers of the latest fill.
type LastFill struct {
	TS    time.Time
	Delta decimal.Decimal // signed size; zero: no fill remembered
	Px    decimal.Decimal
}

// Unrealized is the open size's PnL at mark: Size × (mark − EntryPx), which is
// |Size| × (EntryPx − mark) for a short. It is zero when flat or when the basis is
// unknown; check UnknownBasis to tell an unknown from a true zero.
func (p Position) Unrealized(mark decimal.Decimal) decimal.Decimal {
	if p.UnknownBasis || p.Size.IsZero() {
		return decimal.Zero
	}
	return p.Size.Mul(mark.Sub(p.EntryPx))
}

// resetTo sets the size to start, taken on trust from the venue: its basis is unknown
// unless start is zero.
func (p *Position) resetTo(start decimal.Decimal) {
	p.Size = start
	p.EntryPx = decimal.Zero
	p.UnknownBasis = !start.IsZero()
}

// trade applies a signed size delta (non-zero) traded at px (positive) and reports it.
func (p *Position) trade(delta, px decimal.Decimal) Change {
	c := Change{Delta: delta, BasisUnknown: p.UnknownBasis}
	switch {
	case p.Size.IsZero():
		c.Action = ActionOpen
		c.BasisUnknown = false
		p.Size = delta
		p.EntryPx = px
		p.UnknownBasis = false
	case p.Size.Sign() == delta.Sign():
		c.Action = ActionAdd
		size := p.Size.Add(delta)
		if !p.UnknownBasis {
			cost := p.Size.Abs().Mul(p.EntryPx).Add(delta.Abs().Mul(px))
			p.EntryPx = cost.DivRound(size.Abs(), entryPlaces)
		}
		p.Size = size
	default:
		held, qty := p.Size.Abs(), delta.Abs()
		closed := decimal.Min(held, qty)
		if p.UnknownBasis {
			p.UnknownCloses++
		} else {
			pnl := closed.Mul(px.Sub(p.EntryPx))
			if p.Size.Sign() < 0 {
				pnl = pnl.Neg()
			}
			c.RealizedDelta = pnl
			p.Realized = p.Realized.Add(pnl)
		}
		p.Size = p.Size.Add(delta)
		switch qty.Cmp(held) {
		case -1:
			c.Action = ActionReduce // entry price unchanged, basis as it was
		case 0:
			c.Action = ActionClose
			p.EntryPx = decimal.Zero
			p.UnknownBasis = false
		default:
			c.Action = ActionFlip
			p.EntryPx = px
			p.UnknownBasis = false
		}
	}
	return c
}
