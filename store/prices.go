package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// LatestPrices returns the latest price of each symbol in symbols (as UpsertPrices
// keeps them: price events' coins such as "ETH", exchange trades' pairs such as
// "ETH-USDT"), or of every symbol when symbols is empty, in symbol order. A symbol
// without a price is left out. Symbols match exactly (case kept).
func (s *Store) LatestPrices(ctx context.Context, symbols []string) ([]PriceRow, error) {
	const cols = `SELECT symbol, price::text, ts, src, event_key FROM prices`
	var (
		rows pgx.Rows
		err  error
	)
	if len(symbols) == 0 {
		rows, err = s.pool.Query(ctx, cols+` ORDER BY symbol`)
	} else {
		rows, err = s.pool.Query(ctx, cols+` WHERE symbol = ANY($1::text[]) ORDER BY symbol`, symbols)
	}
	if err != nil {
		return nil, fmt.Errorf("latest prices: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PriceRow, error) {
		var (
			p  PriceRow
			px string
			ts time.Time
		)
		if err := r.Scan(&p.Symbol, &px, &ts, &p.Src, &p.EventKey); err != nil {
			return p, err
		}
		d, err := decimal.NewFromString(px)
		if err != nil {
			return p, fmt.Errorf("price of %s %q: %w", p.Symbol, px, err)
		}
		p.Price, p.TS = d, ts.UTC()
		return p, nil
	})
	if err != nil {
		return nil, fmt.Errorf("latest prices: %w", err)
	}
	return out, nil
}
