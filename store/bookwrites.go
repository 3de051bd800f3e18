package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// The book stage's statements in queued form (Writes and one read batch), so that a
// batch of events is stored and applied in as few round trips as possible: the reads
// it needs in one, before its transaction, and every write, fence first, in one more
// (Writes.Commit). The one-statement functions (InsertEvents, UpsertPositions,
// UpsertPrices, InsertExchangeTransfers, DeleteExchangeTransfers, LoadPositions,
// LookupLabels) run the same statements in a transaction of the caller's.

// ErrEventsStored is the error of a transaction whose Writes.NewEvents or
// CopyNewEvents met an event stored before. The transaction is void; redo it with
// Writes.StoreEvents, which skips stored events and reports which were new.
var ErrEventsStored = errors.New("some events were stored before")

// BatchSender sends a batch of queries: a *pgxpool.Pool, a pgx.Tx or a *pgx.Conn.
type BatchSender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// eventArrays returns rows as the columns of the events insert.
func eventArrays(rows []EventRow) (keys [][]byte, kinds, srcs []string, tss []time.Time, bodies []string) {
	n := len(rows)
	keys, kinds, srcs, tss, bodies = make([][]byte, n), make([]string, n), make([]string, n), make([]time.Time, n), make([]string, n)
	for i, r := range rows {
		keys[i], kinds[i], srcs[i], tss[i], bodies[i] = r.Key, r.Kind, r.Src, r.TS, string(r.Body)
	}
	return keys, kinds, srcs, tss, bodies
}

// Defer hands the queued statements to tx as Defer does: on a pipelined transaction
// (BeginPipelined) they go with its COMMIT, no round trip of their own.
func (w *Writes) Defer(ctx context.Context, tx pgx.Tx) error {
	return Defer(ctx, tx, &w.b)
}

// NewEvents queues the insert of rows, all of them new and with distinct keys: a
// plain insert, cheaper than the upsert that tolerates stored keys. A key stored
// before (or stored meanwhile by a concurrent transaction, which the insert waits for)
// fails the statement, and so the transaction, with ErrEventsStored.
func (w *Writes) NewEvents(rows []EventRow) {
	if len(rows) == 0 {
		return
	}
	keys, kinds, srcs, tss, bodies := eventArrays(rows)
	qq := w.b.Queue(`INSERT INTO events (key, kind, src, ts, body)
		SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])`,
		keys, kinds, srcs, tss, bodies)
	qq.Fn = func(br pgx.BatchResults) error {
		_, err := br.Exec()
		if isUniqueViolation(err) {
			return ErrEventsStored
		}
		if err != nil {
			return fmt.Errorf("insert %d events: %w", len(rows), err)
		}
		return nil
	}
}

// CopyNewEvents is NewEvents as a binary COPY in tx, for large batches: two round trips
// of its own, but cheaper per row than the insert from arrays once a batch has about
// a thousand rows. Rows must have distinct keys; ErrEventsStored as NewEvents.
func CopyNewEvents(ctx context.Context, tx pgx.Tx, rows []EventRow) error {
	if len(rows) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"key", "kind", "src", "ts", "body"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := &rows[i]
			return []any{r.Key, r.Kind, r.Src, r.TS, string(r.Body)}, nil
		}))
	if isUniqueViolation(err) {
		return ErrEventsStored
	}
	if err != nil {
		return fmt.Errorf("copy %d events: %w", len(rows), err)
	}
	return nil
}

// StoreEvents queues the upsert of InsertEvents' second path: rows are stored unless
// their key is, and the keys stored now are added to fresh when the batch is read.
func (w *Writes) StoreEvents(rows []EventRow, fresh map[[16]byte]bool) {
	if len(rows) == 0 {
		return
	}
	keys, kinds, srcs, tss, bodies := eventArrays(rows)
	w.b.Queue(`INSERT INTO events (key, kind, src, ts, body)
		SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
		ON CONFLICT (key) DO NOTHING RETURNING key`, keys, kinds, srcs, tss, bodies).Query(func(res pgx.Rows) error {
		var k []byte
		_, err := pgx.ForEachRow(res, []any{&k}, func() error {
			if len(k) == 16 {
				fresh[[16]byte(k)] = true
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("insert %d events: %w", len(rows), err)
		}
		return nil
	})
}

// Positions queues the upsert of rows (UpsertPositions sends it alone). Rows must have
// distinct keys.
func (w *Writes) Positions(rows []PositionRow) {
	if len(rows) == 0 {
		return
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
	w.queue("upsert %d positions", []any{n}, `INSERT INTO positions AS p (wallet, coin, size, entry_px, realized_pnl, fees, n,
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
}

// Prices queues the upsert of rows (UpsertPrices sends it alone): per symbol the observation with
// the latest (ts, event key) is kept, whatever the order of commits. Rows must have
// distinct symbols.
func (w *Writes) Prices(rows []PriceRow) {
	if len(rows) == 0 {
		return
	}
	n := len(rows)
	sym, px, src := make([]string, n), make([]string, n), make([]string, n)
	ts := make([]time.Time, n)
	keys := make([][]byte, n)
	for i, r := range rows {
		sym[i], px[i], ts[i], src[i], keys[i] = r.Symbol, r.Price.String(), r.TS, r.Src, r.EventKey
	}
	w.queue("upsert %d prices", []any{n}, `INSERT INTO prices AS p (symbol, price, ts, src, event_key)
		SELECT * FROM unnest($1::text[], $2::numeric[], $3::timestamptz[], $4::text[], $5::bytea[]) ORDER BY 1
		ON CONFLICT (symbol) DO UPDATE SET price = EXCLUDED.price, ts = EXCLUDED.ts, src = EXCLUDED.src,
			event_key = EXCLUDED.event_key
		WHERE (p.ts, p.event_key) < (EXCLUDED.ts, EXCLUDED.event_key)`, sym, px, ts, src, keys)
}

// ExchangeTransfers queues the insert of rows (InsertExchangeTransfers sends it alone): a row whose
// retraction is stored, this transaction's events included, is not written.
func (w *Writes) ExchangeTransfers(rows []ExchangeTransferRow) {
	if len(rows) == 0 {
		return
	}
	n := len(rows)
	keys, retr := make([][]byte, n), make([][]byte, n)
	ts := make([]time.Time, n)
	wallet, exch, exAddr, dir := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	token, sym, amt, txs := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	usd := make([]*string, n)
	block := make([]int64, n)
	for i, r := range rows {
		keys[i], retr[i], ts[i] = r.EventKey, r.RetractedBy, r.TS
		wallet[i], exch[i], exAddr[i], dir[i] = r.Wallet, r.Exchange, r.ExchangeAddress, r.Direction
		token[i], sym[i], amt[i], txs[i] = r.Token, r.Symbol, r.Amount.String(), r.Tx
		if r.USD.Valid {
			s := r.USD.Decimal.String()
			usd[i] = &s
		}
		block[i] = int64(r.Block)
	}
	w.queue("insert %d exchange transfers", []any{n}, `INSERT INTO exchange_transfers (event_key, ts, wallet, exchange, exchange_address,
			direction, token, symbol, amount, usd, tx, block)
		SELECT k, ts, w, ex, ea, dir, tok, sym, amt, usd, txh, blk
		FROM unnest($1::bytea[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::text[], $9::numeric[], $10::numeric[], $11::text[], $12::bigint[], $13::bytea[])
			AS r(k, ts, w, ex, ea, dir, tok, sym, amt, usd, txh, blk, retr)
		WHERE retr IS NULL OR NOT EXISTS (SELECT 1 FROM events e WHERE e.key = r.retr)
		ORDER BY k
		ON CONFLICT (event_key) DO NOTHING`,
		keys, ts, wallet, exch, exAddr, dir, token, sym, amt, usd, txs, block, retr)
}

// DeleteExchangeTransfers queues the delete of the rows of keys (the function of the
// same name sends it alone).
func (w *Writes) DeleteExchangeTransfers(keys [][]byte) {
	if len(keys) == 0 {
		return
	}
	w.queue("delete %d retracted exchange transfers", []any{len(keys)},
		`DELETE FROM exchange_transfers WHERE event_key = ANY($1::bytea[])`, keys)
}

// ReadBook reads, in one round trip on db, the book rows of keys (LoadPositions; a key
// without a row is absent) and the merged labels of addresses (LookupLabels). The
// book stage reads them before its transaction: only the owner of a wallet's shard
// writes its rows, and a claim of the shard waits for the previous owner's last
// transaction, whose fence fails if it began after the claim.
func ReadBook(ctx context.Context, db BatchSender, keys []PositionKey, addresses []string) (map[PositionKey]PositionRow, map[string]AddressLabel, error) {
	positions := make(map[PositionKey]PositionRow, len(keys))
	labels := map[string]AddressLabel{}
	b := &pgx.Batch{}
	if len(keys) > 0 {
		ws, cs := make([]string, len(keys)), make([]string, len(keys))
		for i, k := range keys {
			ws[i], cs[i] = k.Wallet, k.Coin
		}
		b.Queue(`SELECT p.wallet, p.coin, p.size::text, p.entry_px::text, p.realized_pnl::text,
				p.fees::text, p.n, p.unknown_basis, p.unknown_closes, p.mark_px::text, p.updated_at,
				p.last_ts, coalesce(p.last_delta, 0)::text, coalesce(p.last_px, 0)::text
			FROM unnest($1::text[], $2::text[]) AS k(wallet, coin)
			CROSS JOIN LATERAL (SELECT * FROM positions WHERE wallet = k.wallet AND coin = k.coin) p`, ws, cs).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				r, err := scanPosition(rows)
				if err != nil {
					return err
				}
				positions[r.PositionKey] = r
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("load %d positions: %w", len(keys), err)
			}
			return nil
		})
	}
	if len(addresses) > 0 {
		addrs := make([]string, len(addresses))
		for i, a := range addresses {
			addrs[i], _ = NormalizeAddress(a)
		}
		b.Queue(`SELECT address, source, name, categories, classes, updated_at
			FROM labels WHERE address = ANY($1) ORDER BY address, updated_at DESC, source`, addrs).Query(func(rows pgx.Rows) error {
			ls, err := pgx.CollectRows(rows, scanLabel)
			if err != nil {
				return fmt.Errorf("look up labels of %d addresses: %w", len(addrs), err)
			}
			mergeLabels(labels, ls)
			return nil
		})
	}
	if b.Len() == 0 {
		return positions, labels, nil
	}
	if err := db.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, err
	}
	return positions, labels, nil
}

// scanPosition scans a row of LoadPositions' columns.
func scanPosition(rows pgx.Rows) (PositionRow, error) {
	var r PositionRow
	var size, entry, real, fees string
	var mark *string
	var lastTS *time.Time
	var lastDelta, lastPx string
	if err := rows.Scan(&r.Wallet, &r.Coin, &size, &entry, &real, &fees, &r.N, &r.UnknownBasis,
		&r.UnknownCloses, &mark, &r.UpdatedAt, &lastTS, &lastDelta, &lastPx); err != nil {
		return r, fmt.Errorf("scan position: %w", err)
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
	return r, nil
}

// mergeLabels merges every source's label of an address into one, as LookupLabels
// does; ls is in LookupLabels' order (by address, most recently updated first).
func mergeLabels(out map[string]AddressLabel, ls []Label) {
	for _, l := range ls {
		m, ok := out[l.Address]
		if !ok {
			m = AddressLabel{Address: l.Address, Categories: []string{}, Classes: []string{}}
		}
		if m.Name == "" {
			m.Name = l.Name
		}
		m.Categories = normalizeCategories(append(m.Categories, l.Categories...))
		m.Classes = normalizeCategories(append(m.Classes, l.Classes...))
		m.Sources = append(m.Sources, l.Source)
		out[l.Address] = m
	}
}
