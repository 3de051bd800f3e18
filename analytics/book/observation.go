package book

import (
	"fmt"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/shopspring/decimal"
)

// Observation is the wallet's position in the coin as seen at a time (a position event).
type Observation struct {
	Size decimal.Decimal // signed: long > 0, short < 0
	// Px is the price an observed change of size is taken to have traded at: the mark
	// price, or the entry price if there is no mark; zero if neither is known.
	Px decimal.Decimal
	// EntryPx is the venue's own average entry price for the position, when it gives
	// one. The book uses it only where its own basis is unknown.
	EntryPx decimal.NullDecimal
	TS      time.Time
}

// ObservationFromEvent takes the book's fields from a position event: Px is the mark
// price, or the entry price when there is no mark.
func ObservationFromEvent(e *event.Event) Observation {
	o := Observation{Size: e.Size, EntryPx: e.EntryPx, TS: e.TS}
	switch {
	case e.MarkPx.Valid:
		o.Px = e.MarkPx.Decimal
	case e.EntryPx.Valid:
		o.Px = e.EntryPx.Decimal
	}
	return o
}

// ApplyObservation applies o and reports what it did. On error the book is unchanged.
//
// On a book's first event, a non-zero observed size existed before the known history:
// the book takes it (ActionSync) with the venue's EntryPx as its basis when given, and
// an unknown basis otherwise.
//
// Later, a change of size since the book's last state is a trade by the wallet at
// o.Px (docs/EVENTS.md): it is applied like a fill, a buy for an increase and a sell
// for a decrease. If o.Px is zero the change cannot be priced; the book takes the
// observed size (ActionSync) with an unknown basis, unless it is flat; if that closed
// some of the book's size, the close counts in UnknownCloses.
//
// Whenever the book's basis is still unknown after that, a positive EntryPx from the
// venue becomes the basis. A known basis is never overwritten by the venue's.
func (p *Position) ApplyObservation(o Observation) (Change, error) {
	if o.Px.IsNegative() {
		return Change{}, fmt.Errorf("observation px %s: want >= 0: %w", o.Px, ErrInvalid)
	}
	if o.EntryPx.Valid && o.EntryPx.Decimal.IsNegative() {
		return Change{}, fmt.Errorf("observation entry px %s: want >= 0: %w", o.EntryPx.Decimal, ErrInvalid)
	}
	if p.Started && o.TS.Before(p.UpdatedAt) {
		return Change{}, fmt.Errorf("observation at %s, book at %s: %w",
			o.TS.Format(time.RFC3339Nano), p.UpdatedAt.Format(time.RFC3339Nano), ErrOutOfOrder)
	}
	c := Change{Action: ActionNone}
	delta := o.Size.Sub(p.Size)
	switch {
	case delta.IsZero():
	case !p.Started, !o.Px.IsPositive():
		c.Action = ActionSync
		if reduces(p.Size, o.Size) {
			p.UnknownCloses++ // an unpriced close: its PnL is left out of Realized
		}
		p.resetTo(o.Size)
	default:
		c = p.trade(delta, o.Px)
	}
	if p.UnknownBasis && o.EntryPx.Valid && o.EntryPx.Decimal.IsPositive() && !p.Size.IsZero() {
		p.EntryPx = o.EntryPx.Decimal
		p.UnknownBasis = false
	}
	p.N++
	p.Started = true
	p.UpdatedAt = o.TS
	p.Last = LastFill{}
	return c, nil
}

// reduces reports whether going from size from to size to closes some of from.
func reduces(from, to decimal.Decimal) bool {
	return !from.IsZero() && (from.Sign() != to.Sign() || to.Abs().LessThan(from.Abs()))
}
