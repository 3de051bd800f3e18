package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// PositionKey names a book row.
type PositionKey struct{ Wallet, Coin string }

// PositionRow is a stored book row.
type PositionRow struct {
	PositionKey
	Size          decimal.Decimal
	EntryPx       decimal.Decimal
	RealizedPnl   decimal.Decimal
	Fees          decimal.Decimal
	N             int64
	UnknownBasis  bool
	UnknownCloses int64
	MarkPx        decimal.NullDecimal
	LastTS        time.Time // last fill applied (zero: none)
	LastDelta     decimal.Decimal
	LastPx        decimal.Decimal
	UpdatedAt     time.Time
}

// LoadPositions reads the rows for keys (missing keys are absent from the map).
func LoadPositions(ctx context.Context, tx pgx.Tx, keys []PositionKey) (map[PositionKey]PositionRow, error) {
	out, _, err := ReadBook(ctx, tx, keys, nil)
	return out, err
}

// UpsertPositions writes rows in one round trip. Rows must have distinct keys.
func UpsertPositions(ctx context.Context, tx pgx.Tx, rows []PositionRow) error {
	return sendOne(ctx, tx, func(w *Writes) { w.Positions(rows) })
}

// PriceRow is a price observation.
type PriceRow struct {
	Symbol   string
	Price    decimal.Decimal
	TS       time.Time
	Src      string
	EventKey []byte
}

// UpsertPrices keeps, per symbol, the observation with the latest (ts, event key), so
// the result does not depend on commit order. Rows must have distinct symbols; they are
// written in symbol order so concurrent writers cannot deadlock.
func UpsertPrices(ctx context.Context, tx pgx.Tx, rows []PriceRow) error {
	return sendOne(ctx, tx, func(w *Writes) { w.Prices(rows) })
}
