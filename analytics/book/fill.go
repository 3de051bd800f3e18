package book

import (
	"fmt"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/shopspring/decimal"
)

// Fill is one of the wallet's own executions in the coin.
type Fill struct {
	Side          event.Side          // buy or sell
	Px            decimal.Decimal     // positive
	Sz            decimal.Decimal     // positive
	StartPosition decimal.NullDecimal // signed size before the fill, as the venue reports it
	Fee           decimal.NullDecimal // fee paid; negative for a rebate
	TS            time.Time
}

// FillFromEvent takes the book's fields from a fill event.
func FillFromEvent(e *event.Event) Fill {
	return Fill{Side: e.Side, Px: e.Px, Sz: e.Sz, StartPosition: e.StartPosition, Fee: e.Fee, TS: e.TS}
}

// ApplyFill applies f and reports what it did. On error the book is unchanged.
//
// StartPosition, when given, is checked against the book:
//   - On a book's first event, a non-zero StartPosition is size opened before the known
//     history: the book takes it with an unknown basis, then applies the fill.
//   - On a later fill, a StartPosition that disagrees with Size is a gap in the history
//     (fills the book never saw). The book resyncs Size to it with an unknown basis — the
//     missed trades' prices are unknown, and a mere missed reduction cannot be told from
//     a close and re-open — applies the fill, and reports Resynced.
//   - Except for the second half of a self-trade. Hyperliquid reports both fills of the
//     wallet's own orders matched against each other (same time, price and size,
//     opposite sides) with the same start position, so the second disagrees with the
//     book by exactly the first. The book recognises it from Last and applies it
//     without a resync.
//
// A fill without StartPosition is trusted to follow the book; on an empty book that
// means from flat.
func (p *Position) ApplyFill(f Fill) (Change, error) {
	if err := f.validate(); err != nil {
		return Change{}, err
	}
	if p.Started && f.TS.Before(p.UpdatedAt) {
		return Change{}, fmt.Errorf("fill at %s, book at %s: %w",
			f.TS.Format(time.RFC3339Nano), p.UpdatedAt.Format(time.RFC3339Nano), ErrOutOfOrder)
	}
	delta := f.Sz
	if f.Side == event.Sell {
		delta = delta.Neg()
	}
	var resynced, pair bool
	if f.StartPosition.Valid {
		start := f.StartPosition.Decimal
		switch {
		case !p.Started:
			p.resetTo(start)
		case start.Equal(p.Size):
		case p.secondHalf(f, delta, start):
			pair = true
		default:
			p.resetTo(start)
			resynced = true
		}
	}
	c := p.trade(delta, f.Px)
	c.Resynced = resynced
	if f.Fee.Valid {
		p.Fees = p.Fees.Add(f.Fee.Decimal)
	}
	p.N++
	p.Started = true
	p.UpdatedAt = f.TS
	if pair {
		p.Last = LastFill{} // a pair is complete; do not match a third fill against it
	} else {
		p.Last = LastFill{TS: f.TS, Delta: delta, Px: f.Px}
	}
	return c, nil
}

// secondHalf reports whether a fill (signed size delta) whose venue start position
// disagrees with the book is the second half of a self-trade whose first half was the
// last fill: same time and price, opposite size, and the same start position.
func (p *Position) secondHalf(f Fill, delta, start decimal.Decimal) bool {
	l := &p.Last
	return !l.Delta.IsZero() &&
		f.TS.Equal(l.TS) &&
		f.Px.Equal(l.Px) &&
		delta.Add(l.Delta).IsZero() &&
		start.Equal(p.Size.Sub(l.Delta))
}

func (f *Fill) validate() error {
	if f.Side != event.Buy && f.Side != event.Sell {
		return fmt.Errorf("fill side %q: want buy or sell: %w", f.Side, ErrInvalid)
	}
	if !f.Px.IsPositive() {
		return fmt.Errorf("fill px %s: want > 0: %w", f.Px, ErrInvalid)
	}
	if !f.Sz.IsPositive() {
		return fmt.Errorf("fill sz %s: want > 0: %w", f.Sz, ErrInvalid)
	}
	return nil
}
