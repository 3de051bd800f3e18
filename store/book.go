package store

import (
	"context"
	"fmt"
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
	out := make(map[PositionKey]PositionRow, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	ws := make([]string, len(keys))
	cs := make([]string, len(keys))
	for i, k := range keys {
		ws[i], cs[i] = k.Wallet, k.Coin
	}
	rows, err := tx.Query(ctx, `SELECT p.wallet, p.coin, p.size::text, p.entry_px::text, p.realized_pnl::text,
			p.fees::text, p.n, p.unknown_basis, p.unknown_closes, p.mark_px::text, p.updated_at,
			p.last_ts, coalesce(p.last_delta, 0)::text, coalesce(p.last_px, 0)::text
		FROM unnest($1::text[], $2::text[]) AS k(wallet, coin)
		CROSS JOIN LATERAL (SELECT * FROM positions WHERE wallet = k.wallet AND coin = k.coin) p`, ws, cs)
	if err != nil {
		return nil, fmt.Errorf("load %d positions: %w", len(keys), err)
	}
	defer rows.Close()
	for rows.Next() {
		var r PositionRow
		var size, entry, real, fees string
		var mark *string
		var lastTS *time.Time
		var lastDelta, lastPx string
		if err := rows.Scan(&r.Wallet, &r.Coin, &size, &entry, &real, &fees, &r.N, &r.UnknownBasis,
			&r.UnknownCloses, &mark, &r.UpdatedAt, &lastTS, &lastDelta, &lastPx); err != nil {
			return nil, fmt.Errorf("scan position: %w", err)
		}
		r.Size, r.EntryPx, r.RealizedPnl, r.Fees = decimal.RequireFromString(size), decimal.RequireFromString(entry),
			decimal.RequireFromString(real), decimal.RequireFromString(fees)
		if mark != nil {
			r.MarkPx = decimal.NewNullDecimal(decimal.RequireFromString(*mark))
		}
		if lastTS != nil {
			r.LastTS = *lastTS
		}
		r.LastDelta, r.LastPx = decimal.RequireFromString(lastDelta), decimal.RequireFromString(lastPx)
		out[r.PositionKey] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load positions: %w", err)
	}
	return out, nil
}

// UpsertPositions writes rows in one round trip. Rows must have distinct keys.
func UpsertPositions(ctx context.Context, tx pgx.Tx, rows []PositionRow) error {
	if len(rows) == 0 {
		return nil
	}
	n := len(rows)
	ws, cs := make([]string, n), make([]string, n)
	size, entry, real, fees := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	cnt, ucl := make([]int64, n), make([]int64, n)
	ub := make([]bool, n)
	mark := make([]*string, n)
	upd := make([]time.Time, n)
	lastTS := make([]*time.Time, n)
	lastDelta, lastPx := make([]*string, n), make([]*string, n)
	for i, r := range rows {
		if !r.LastTS.IsZero() {
			ts, d, p := r.LastTS, r.LastDelta.String(), r.LastPx.String()
			lastTS[i], lastDelta[i], lastPx[i] = &ts, &d, &p
		}
		ws[i], cs[i] = r.Wallet, r.Coin
		size[i], entry[i], real[i], fees[i] = r.Size.String(), r.EntryPx.String(), r.RealizedPnl.String(), r.Fees.String()
		cnt[i], ucl[i], ub[i], upd[i] = r.N, r.UnknownCloses, r.UnknownBasis, r.UpdatedAt
		if r.MarkPx.Valid {
			s := r.MarkPx.Decimal.String()
			mark[i] = &s
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO positions AS p (wallet, coin, size, entry_px, realized_pnl, fees, n,
			unknown_basis, unknown_closes, mark_px, updated_at, last_ts, last_delta, last_px)
		SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::numeric[], $5::numeric[], $6::numeric[],
			$7::bigint[], $8::bool[], $9::bigint[], $10::numeric[], $11::timestamptz[], $12::timestamptz[],
			$13::numeric[], $14::numeric[])
		ON CONFLICT (wallet, coin) DO UPDATE SET size = EXCLUDED.size, entry_px = EXCLUDED.entry_px,
			realized_pnl = EXCLUDED.realized_pnl, fees = EXCLUDED.fees, n = EXCLUDED.n,
			unknown_basis = EXCLUDED.unknown_basis, unknown_closes = EXCLUDED.unknown_closes,
			mark_px = EXCLUDED.mark_px, updated_at = EXCLUDED.updated_at, last_ts = EXCLUDED.last_ts,
			last_delta = EXCLUDED.last_delta, last_px = EXCLUDED.last_px`,
		ws, cs, size, entry, real, fees, cnt, ub, ucl, mark, upd, lastTS, lastDelta, lastPx)
	if err != nil {
		return fmt.Errorf("upsert %d positions: %w", n, err)
	}
	return nil
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
	if len(rows) == 0 {
		return nil
	}
	n := len(rows)
	sym, px, src := make([]string, n), make([]string, n), make([]string, n)
	ts := make([]time.Time, n)
	keys := make([][]byte, n)
	for i, r := range rows {
		sym[i], px[i], ts[i], src[i], keys[i] = r.Symbol, r.Price.String(), r.TS, r.Src, r.EventKey
	}
	_, err := tx.Exec(ctx, `INSERT INTO prices AS p (symbol, price, ts, src, event_key)
		SELECT * FROM unnest($1::text[], $2::numeric[], $3::timestamptz[], $4::text[], $5::bytea[]) ORDER BY 1
		ON CONFLICT (symbol) DO UPDATE SET price = EXCLUDED.price, ts = EXCLUDED.ts, src = EXCLUDED.src,
			event_key = EXCLUDED.event_key
		WHERE (p.ts, p.event_key) < (EXCLUDED.ts, EXCLUDED.event_key)`, sym, px, ts, src, keys)
	if err != nil {
		return fmt.Errorf("upsert %d prices: %w", n, err)
	}
	return nil
}
