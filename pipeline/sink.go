// Package pipeline wires the spine: sources produce interchange events into the shard
// streams, the book stage's consumer group applies them to Postgres, and replay runs
// the whole path in-process until everything it produced is committed.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coattailcapital/coattail/analytics/book"
	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/jackc/pgx/v5"
)

// BookGroup is the consumer group of the book stage.
const BookGroup = "book"

// BookSink is the book stage's durable side: in one transaction per batch it fences
// the shard's checkpoint, stores the raw events idempotently, applies the new ones to
// the wallet book, the price table and the exchange transfers, records dead letters
// and advances the checkpoint.
type BookSink struct {
	st    *store.Store
	rules event.Rules
}

// NewBookSink returns the book stage's sink.
func NewBookSink(st *store.Store) *BookSink {
	// Events in the stream were validated when produced; re-validation here must not
	// reject them for being "in the future" relative to a replay's pacing, so the
	// future-time rule is relaxed to a year.
	return &BookSink{st: st, rules: event.Rules{MaxFuture: 365 * 24 * time.Hour}}
}

// Claim implements stream.Sink.
func (s *BookSink) Claim(ctx context.Context, streamName, group, owner string) (int64, string, error) {
	return s.st.ClaimShard(ctx, streamName, group, owner)
}

// Commit implements stream.Sink.
func (s *BookSink) Commit(ctx context.Context, b stream.Batch) error {
	evs := make([]event.Event, 0, len(b.Entries))
	rows := make([]store.EventRow, 0, len(b.Entries))
	var dead []store.DeadLetter
	for _, d := range b.Dead {
		dead = append(dead, store.DeadLetter{Reason: d.Reason, Detail: d.Detail, Source: b.Stream + ":" + d.Entry.ID, Raw: clip(d.Entry.Body)})
	}
	for _, e := range b.Entries {
		ev, err := event.Decode(e.Body, s.rules)
		if err != nil {
			dead = append(dead, store.DeadLetter{Reason: event.ReasonOf(err, "bad_entry"), Detail: err.Error(), Source: b.Stream + ":" + e.ID, Raw: clip(e.Body)})
			continue
		}
		key := e.Key
		if len(key) != 16 { // the producer sends the key hash; recompute when it did not
			kh := ev.KeyHash()
			key = kh[:]
		}
		evs = append(evs, ev)
		rows = append(rows, store.EventRow{Key: key, Kind: string(ev.Kind), Src: ev.Src, TS: ev.TS, Body: e.Body})
	}
	err := pgx.BeginFunc(ctx, s.st.Pool(), func(tx pgx.Tx) error {
		if err := store.AdvanceCheckpoint(ctx, tx, b.Stream, b.Group, b.Epoch, b.LastID); err != nil {
			return err
		}
		fresh, err := store.InsertEvents(ctx, tx, rows)
		if err != nil {
			return err
		}
		// Before applyBook, which consumes fresh.
		if err := applyExchangeTransfers(ctx, tx, evs, rows, fresh); err != nil {
			return err
		}
		all := dead
		if err := applyBook(ctx, tx, evs, rows, fresh, &all); err != nil {
			return err
		}
		return store.InsertDeadLetters(ctx, tx, all)
	})
	if errors.Is(err, store.ErrFenced) {
		return fmt.Errorf("commit %s up to %s: %w", b.Stream, b.LastID, stream.ErrFenced)
	}
	if err != nil {
		return classify(err)
	}
	return nil
}

// classify marks data errors permanent so the runtime dead-letters the entry that
// causes them instead of retrying forever; everything else (connection loss, a
// restarting server, serialization) is retried.
func classify(err error) error {
	var rj *event.Reject
	if store.DataError(err) || errors.As(err, &rj) {
		return &stream.PermanentError{Err: err}
	}
	return err
}

// applyBook applies the batch's new fill, position, price and trade events to the
// wallet book and the price table, in stream order.
func applyBook(ctx context.Context, tx pgx.Tx, evs []event.Event, rows []store.EventRow, fresh map[[16]byte]bool, refused *[]store.DeadLetter) error {
	if len(fresh) == 0 {
		return nil
	}
	var keys []store.PositionKey
	seenKey := map[store.PositionKey]bool{}
	prices := map[string]store.PriceRow{}
	applied := make([]bool, len(evs))
	for i := range evs {
		var k [16]byte
		copy(k[:], rows[i].Key)
		if !fresh[k] {
			continue
		}
		delete(fresh, k) // a key repeated within the batch applies once
		applied[i] = true
		ev := &evs[i]
		switch ev.Kind {
		case event.KindFill, event.KindPosition:
			pk := store.PositionKey{Wallet: ev.Wallet, Coin: ev.Coin}
			if !seenKey[pk] {
				seenKey[pk] = true
				keys = append(keys, pk)
			}
		case event.KindPrice, event.KindTrade:
			px := ev.Price
			cur, ok := prices[ev.Symbol]
			if !ok || later(ev.TS, rows[i].Key, cur.TS, cur.EventKey) {
				prices[ev.Symbol] = store.PriceRow{Symbol: ev.Symbol, Price: px, TS: ev.TS, Src: ev.Src, EventKey: rows[i].Key}
			}
		}
	}
	if len(keys) > 0 {
		loaded, err := store.LoadPositions(ctx, tx, keys)
		if err != nil {
			return err
		}
		book := make(map[store.PositionKey]*store.PositionRow, len(keys))
		for _, k := range keys {
			r, ok := loaded[k]
			if !ok {
				r = store.PositionRow{PositionKey: k}
			}
			book[k] = &r
		}
		for i := range evs {
			ev := &evs[i]
			if !applied[i] || (ev.Kind != event.KindFill && ev.Kind != event.KindPosition) {
				continue
			}
			if err := applyToRow(book[store.PositionKey{Wallet: ev.Wallet, Coin: ev.Coin}], ev); err != nil {
				*refused = append(*refused, store.DeadLetter{Reason: "book_refused", Detail: err.Error(),
					Source: "book", Raw: clip(rows[i].Body)})
			}
		}
		out := make([]store.PositionRow, 0, len(keys))
		for _, k := range keys {
			out = append(out, *book[k])
		}
		if err := store.UpsertPositions(ctx, tx, out); err != nil {
			return err
		}
	}
	if len(prices) > 0 {
		out := make([]store.PriceRow, 0, len(prices))
		for _, p := range prices {
			out = append(out, p)
		}
		if err := store.UpsertPrices(ctx, tx, out); err != nil {
			return err
		}
	}
	return nil
}

// applyExchangeTransfers records the batch's new transfers that touch an
// exchange-labelled address as deposits, withdrawals or internal moves
// (exchange_transfers), and deletes the rows of the transfers its new retractions
// (removed: true) retract. The labels of every sender and receiver are read in one
// query inside the transaction. It only reads fresh.
func applyExchangeTransfers(ctx context.Context, tx pgx.Tx, evs []event.Event, rows []store.EventRow, fresh map[[16]byte]bool) error {
	if len(fresh) == 0 {
		return nil
	}
	var idx []int
	var retracted [][]byte
	var addrs []string
	seen := map[[16]byte]bool{}
	seenAddr := map[string]bool{}
	for i := range evs {
		ev := &evs[i]
		if ev.Kind != event.KindTransfer {
			continue
		}
		k := [16]byte(rows[i].Key)
		if !fresh[k] || seen[k] {
			continue
		}
		seen[k] = true
		if ev.Removed {
			orig := *ev
			orig.Removed = false
			h := orig.KeyHash()
			retracted = append(retracted, h[:])
			continue
		}
		idx = append(idx, i)
		for _, a := range [2]string{ev.From, ev.To} {
			if !seenAddr[a] {
				seenAddr[a] = true
				addrs = append(addrs, a)
			}
		}
	}
	if len(idx) > 0 {
		labels, err := store.LookupLabels(ctx, tx, addrs)
		if err != nil {
			return err
		}
		var out []store.ExchangeTransferRow
		for _, i := range idx {
			ev := &evs[i]
			from, fromEx := labels[ev.From]
			to, toEx := labels[ev.To]
			fromEx = fromEx && from.Is(store.ClassExchange)
			toEx = toEx && to.Is(store.ClassExchange)
			if !fromEx && !toEx {
				continue
			}
			r := store.ExchangeTransferRow{EventKey: rows[i].Key, TS: ev.TS, Token: ev.Token, Symbol: ev.Symbol,
				Amount: ev.Amount, USD: ev.USD, Tx: ev.Tx, Block: ev.Block}
			switch {
			case fromEx && toEx:
				r.Direction, r.Wallet, r.Exchange, r.ExchangeAddress = store.DirInternal, ev.From, to.Name, ev.To
			case toEx:
				r.Direction, r.Wallet, r.Exchange, r.ExchangeAddress = store.DirDeposit, ev.From, to.Name, ev.To
			default:
				r.Direction, r.Wallet, r.Exchange, r.ExchangeAddress = store.DirWithdrawal, ev.To, from.Name, ev.From
			}
			retraction := *ev
			retraction.Removed = true
			h := retraction.KeyHash()
			r.RetractedBy = h[:]
			out = append(out, r)
		}
		if err := store.InsertExchangeTransfers(ctx, tx, out); err != nil {
			return err
		}
	}
	return store.DeleteExchangeTransfers(ctx, tx, retracted)
}

func later(ts time.Time, key []byte, curTS time.Time, curKey []byte) bool {
	if !ts.Equal(curTS) {
		return ts.After(curTS)
	}
	return string(key) > string(curKey)
}

// applyToRow runs the book's accounting for one event on a stored row. An event the
// book refuses (older than the position, or invalid for the book) leaves the row as
// it was and is returned as an error for the caller to record.
func applyToRow(r *store.PositionRow, ev *event.Event) error {
	p := book.Position{
		Size: r.Size, EntryPx: r.EntryPx, Realized: r.RealizedPnl, Fees: r.Fees, N: r.N,
		UnknownBasis: r.UnknownBasis, UnknownCloses: r.UnknownCloses, Started: r.N > 0, UpdatedAt: r.UpdatedAt,
		Last: book.LastFill{TS: r.LastTS, Delta: r.LastDelta, Px: r.LastPx},
	}
	var err error
	switch ev.Kind {
	case event.KindFill:
		_, err = p.ApplyFill(book.FillFromEvent(ev))
	case event.KindPosition:
		_, err = p.ApplyObservation(book.ObservationFromEvent(ev))
		if err == nil && ev.MarkPx.Valid {
			r.MarkPx = ev.MarkPx
		}
	}
	if err != nil {
		return err
	}
	r.Size, r.EntryPx, r.RealizedPnl, r.Fees, r.N = p.Size, p.EntryPx, p.Realized, p.Fees, p.N
	r.UnknownBasis, r.UnknownCloses, r.UpdatedAt = p.UnknownBasis, p.UnknownCloses, p.UpdatedAt
	r.LastTS, r.LastDelta, r.LastPx = p.Last.TS, p.Last.Delta, p.Last.Px
	return nil
}

// clip bounds what a dead letter keeps of its input.
func clip(b []byte) []byte {
	const max = 4096
	if len(b) > max {
		return b[:max]
	}
	return b
}
