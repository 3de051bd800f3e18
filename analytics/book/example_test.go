package book_test

import (
	"fmt"
	"time"

	"github.com/coattailcapital/coattail/analytics/book"
	"github.com/coattailcapital/coattail/event"
	"github.com/shopspring/decimal"
)

func Example() {
	d := decimal.RequireFromString
	ts := time.Date(2023, 5, 5, 0, 18, 4, 0, time.UTC)
	var p book.Position

	// The first fill we see starts from a long of 4623.5 opened before our history:
	// selling part of it realizes nothing, as its basis is unknown.
	c, _ := p.ApplyFill(book.Fill{Side: event.Sell, Px: d("1.3189"), Sz: d("142.7"),
		StartPosition: decimal.NewNullDecimal(d("4623.5")), TS: ts})
	fmt.Println(c.Action, c.RealizedDelta, c.BasisUnknown, p.Size, p.UnknownCloses)

	// Selling the rest, and more, flips to a short whose basis is known.
	c, _ = p.ApplyFill(book.Fill{Side: event.Sell, Px: d("1.32"), Sz: d("5000"),
		StartPosition: decimal.NewNullDecimal(d("4480.8")), TS: ts.Add(time.Second)})
	fmt.Println(c.Action, p.Size, p.EntryPx, p.UnknownBasis)

	// Buying back 200 at 1.31 realizes 200 × (1.32 − 1.31).
	c, _ = p.ApplyFill(book.Fill{Side: event.Buy, Px: d("1.31"), Sz: d("200"),
		StartPosition: decimal.NewNullDecimal(d("-519.2")), TS: ts.Add(2 * time.Second)})
	fmt.Println(c.Action, c.RealizedDelta, p.Size, p.Unrealized(d("1.30")))
	// Output:
	// reduce 0 true 4480.8 1
	// flip -519.2 1.32 false
	// reduce 2 -319.2 6.384
}
