// Package pipeline wires the spine: sources produce interchange events into the shard
// streams, the book stage's consumer group applies them to Postgres, and replay runs
// the whole path in-process until everything it produced is committed.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/coattailcapital/coattail/analytics/book"
	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/jackc/pgx/v5"
)

// BookGroup is the consumer group of the book stage.
const BookGroup = "book"

// BookSink is the book stage's durable side, a stream.BatchSink: one transaction
// applies the batches of one or more shards. It fences each shard's checkpoint, stores
// the raw events, applies the new ones to the wallet book, the price table and the
// exchange transfers, records dead letters and advances the checkpoints.
//
// Round trips are what a commit costs here, so the book rows and address labels a
// commit needs are read first, outside the transaction (store.ReadBook says why that
// is safe), and, taking every event not repeated in the batches to be new (the normal
// case: each event arrives once), the fences, a plain insert of the events and every
// derived write go as one pipeline, which Postgres commits as one transaction: one
// round trip. Large batches store their events with a COPY instead, in a transaction
// of a few round trips. An event stored before makes the insert, and so the
// transaction, fail (store.ErrEventsStored); the batches are then redone in a
// transaction that stores the events first, skipping the stored ones, and applies only
// the new. Repeats come in runs (a file replayed again), so a shard that met one takes
// that way for its next batches (dupBatches).
type BookSink struct {
	st    *store.Store
	rules event.Rules

	mu   sync.Mutex
	dups map[string]int // per stream: batches left that take the checked way
}

// NewBookSink returns the book stage's sink.
func NewBookSink(st *store.Store) *BookSink {
	// Events in the stream were validated when produced; re-validation here must not
	// reject them for being "in the future" relative to a replay's pacing, so the
	// future-time rule is relaxed to a year.
	return &BookSink{st: st, rules: event.Rules{MaxFuture: 365 * 24 * time.Hour}, dups: map[string]int{}}
}

var _ stream.BatchSink = (*BookSink)(nil)

// dupBatches is how many batches of a shard, after one held an event stored before,
// store their events with the statement that skips stored ones instead of the insert
// that a repeat makes fail.
const dupBatches = 16

// copyMin is the number of new events from which a commit stores them with a COPY
// rather than the pipelined insert: measured here with 170-byte events, the insert
// from arrays is as fast up to about 500 rows and half as fast at 2000, while the
// COPY's transaction costs four round trips more (six in all, measured).
const copyMin = 1000

// Claim implements stream.Sink.
func (s *BookSink) Claim(ctx context.Context, streamName, group, owner string) (int64, string, error) {
	return s.st.ClaimShard(ctx, streamName, group, owner)
}

// Commit implements stream.Sink.
func (s *BookSink) Commit(ctx context.Context, b stream.Batch) error {
	return s.CommitMany(ctx, []stream.Batch{b})
}

// CommitMany implements stream.BatchSink: the batches' entries are applied as one
// batch (each shard's in its order; shards hold distinct wallets, and prices keep the
// newest observation whatever the order), every checkpoint advanced in the same
// transaction.
func (s *BookSink) CommitMany(ctx context.Context, bs []stream.Batch) error {
	in := s.decode(bs)
	err := s.commit(ctx, bs, in)
	if errors.Is(err, store.ErrFenced) {
		return fmt.Errorf("commit %s: %w", stream.Positions(bs), stream.ErrFenced)
	}
	if err != nil {
		return classify(err)
	}
	return nil
}

// bookInput is the decoded entries of a commit's batches.
type bookInput struct {
	evs   []event.Event
	rows  []store.EventRow
	batch []int  // index in the batches of rows[i]'s
	first []bool // rows[i]'s key is no earlier row's: the rows to store
	dead  []store.DeadLetter
}

// decode decodes the batches' entries; the undecodable ones become dead letters.
func (s *BookSink) decode(bs []stream.Batch) *bookInput {
	n := 0
	for _, b := range bs {
		n += len(b.Entries)
	}
	in := &bookInput{evs: make([]event.Event, 0, n), rows: make([]store.EventRow, 0, n),
		batch: make([]int, 0, n), first: make([]bool, 0, n)}
	seen := make(map[[16]byte]bool, n)
	for bi, b := range bs {
		for _, d := range b.Dead {
			in.dead = append(in.dead, store.DeadLetter{Reason: d.Reason, Detail: d.Detail, Source: b.Stream + ":" + d.Entry.ID, Raw: clip(d.Entry.Body)})
		}
		for _, e := range b.Entries {
			ev, err := event.Decode(e.Body, s.rules)
			if err != nil {
				in.dead = append(in.dead, store.DeadLetter{Reason: event.ReasonOf(err, "bad_entry"), Detail: err.Error(), Source: b.Stream + ":" + e.ID, Raw: clip(e.Body)})
				continue
			}
			key := ev.KeyHashOr(e.Key)
			in.evs = append(in.evs, ev)
			in.rows = append(in.rows, store.EventRow{Key: key[:], Kind: string(ev.Kind), Src: ev.Src, TS: ev.TS, Body: e.Body})
			in.batch = append(in.batch, bi)
			in.first = append(in.first, !seen[key])
			seen[key] = true
		}
	}
	return in
}

// toStore returns the rows to store: each key's first.
func (in *bookInput) toStore() []store.EventRow {
	out := make([]store.EventRow, 0, len(in.rows))
	for i, r := range in.rows {
		if in.first[i] {
			out = append(out, r)
		}
	}
	return out
}

// commit reads what the batches need, then commits them the fresh way unless one of
// their shards met repeats lately or the fresh way meets one now.
func (s *BookSink) commit(ctx context.Context, bs []stream.Batch, in *bookInput) error {
	r, err := s.read(ctx, in)
	if err != nil {
		return err
	}
	if !s.takeChecked(bs) {
		err := s.commitFresh(ctx, bs, in, r)
		if !errors.Is(err, store.ErrEventsStored) {
			return err
		}
		// Some were stored before: the transaction is void. Redo it storing the events
		// first; what was read still holds (the void transaction wrote nothing).
	}
	repeats, err := s.commitChecked(ctx, bs, in, r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, b := range bs {
		if repeats[i] {
			s.dups[b.Stream] = dupBatches
		}
	}
	return nil
}

// takeChecked reports whether any of the batches' shards met repeats within its last
// dupBatches batches, counting this one.
func (s *BookSink) takeChecked(bs []stream.Batch) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	checked := false
	for _, b := range bs {
		if n := s.dups[b.Stream]; n > 0 {
			checked = true
			if n == 1 {
				delete(s.dups, b.Stream)
			} else {
				s.dups[b.Stream] = n - 1
			}
		}
	}
	return checked
}

// bookReads is what applying a commit's events reads first.
type bookReads struct {
	positions map[store.PositionKey]store.PositionRow
	labels    map[string]store.AddressLabel
}

// read reads, in one round trip outside any transaction, the book rows of the wallets
// and coins of the batches' fills and positions and the labels of their transfers'
// addresses: those of every event stored or not, a superset of what the new ones need.
func (s *BookSink) read(ctx context.Context, in *bookInput) (bookReads, error) {
	var keys []store.PositionKey
	var addrs []string
	seenKey := map[store.PositionKey]bool{}
	seenAddr := map[string]bool{}
	for i := range in.evs {
		ev := &in.evs[i]
		if !in.first[i] {
			continue
		}
		switch {
		case ev.Kind == event.KindFill || ev.Kind == event.KindPosition:
			pk := store.PositionKey{Wallet: ev.Wallet, Coin: ev.Coin}
			if !seenKey[pk] {
				seenKey[pk] = true
				keys = append(keys, pk)
			}
		case ev.Kind == event.KindTransfer && !ev.Removed:
			for _, a := range [2]string{ev.From, ev.To} {
				if !seenAddr[a] {
					seenAddr[a] = true
					addrs = append(addrs, a)
				}
			}
		}
	}
	pos, labels, err := store.ReadBook(ctx, s.st.Pool(), keys, addrs)
	return bookReads{positions: pos, labels: labels}, err
}

// commitFresh commits the batches taking every event not repeated within them to be
// new: the fences, the events and every write in one pipeline, Postgres's implicit
// transaction; with a COPY of the events in an explicit one for large batches. A key
// stored before fails it with store.ErrEventsStored.
func (s *BookSink) commitFresh(ctx context.Context, bs []stream.Batch, in *bookInput, r bookReads) error {
	var w store.Writes
	for _, b := range bs {
		w.Fence(b.Stream, b.Group, b.Epoch, b.LastID)
	}
	rows := in.toStore()
	if len(rows) >= copyMin {
		return store.BeginPipelined(ctx, s.st.Pool(), func(tx pgx.Tx) error {
			if err := w.Send(ctx, tx); err != nil { // BEGIN and the fences
				return err
			}
			if err := store.CopyNewEvents(ctx, tx, rows); err != nil {
				return err
			}
			var rest store.Writes
			queueApply(&rest, in, in.first, r)
			return rest.Defer(ctx, tx) // with the COMMIT
		})
	}
	w.NewEvents(rows)
	queueApply(&w, in, in.first, r)
	return w.Commit(ctx, s.st.Pool())
}

// commitChecked commits the batches in a transaction that stores their events first,
// skipping those stored before, and applies only the new ones. repeats[i] tells
// whether bs[i] held events stored before.
func (s *BookSink) commitChecked(ctx context.Context, bs []stream.Batch, in *bookInput, r bookReads) ([]bool, error) {
	var repeats []bool
	err := store.BeginPipelined(ctx, s.st.Pool(), func(tx pgx.Tx) error {
		var w store.Writes
		for _, b := range bs {
			w.Fence(b.Stream, b.Group, b.Epoch, b.LastID)
		}
		stored := map[[16]byte]bool{}
		w.StoreEvents(in.toStore(), stored)
		if err := w.Send(ctx, tx); err != nil { // with BEGIN
			return err
		}
		repeats = make([]bool, len(bs))
		fresh := make([]bool, len(in.rows))
		for i, row := range in.rows {
			if in.first[i] {
				fresh[i] = stored[[16]byte(row.Key)]
				repeats[in.batch[i]] = repeats[in.batch[i]] || !fresh[i]
			}
		}
		var rest store.Writes
		queueApply(&rest, in, fresh, r)
		return rest.Defer(ctx, tx) // with the COMMIT
	})
	return repeats, err
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

// queueApply queues what the new events (fresh[i] for in.evs[i]) change, after the
// events themselves: the exchange transfers, the wallet book, the prices, then the
// dead letters, the book's refusals included.
func queueApply(w *store.Writes, in *bookInput, fresh []bool, r bookReads) {
	transfers, retracted := exchangeTransfers(in, fresh, r.labels)
	w.ExchangeTransfers(transfers)
	w.DeleteExchangeTransfers(retracted)
	positions, prices, refused := applyBook(in, fresh, r.positions)
	w.Positions(positions)
	w.Prices(prices)
	w.DeadLetters(append(slices.Clip(in.dead), refused...))
}

// applyBook applies the new fill, position, price and trade events, in stream order,
// to the wallet book rows read before (book; a key without one starts empty) and the
// latest prices, and returns the rows to write and the events the book refused.
func applyBook(in *bookInput, fresh []bool, book map[store.PositionKey]store.PositionRow) (
	[]store.PositionRow, []store.PriceRow, []store.DeadLetter) {
	var keys []store.PositionKey
	rows := map[store.PositionKey]*store.PositionRow{}
	prices := map[string]store.PriceRow{}
	var refused []store.DeadLetter
	for i := range in.evs {
		if !fresh[i] {
			continue
		}
		ev := &in.evs[i]
		switch ev.Kind {
		case event.KindFill, event.KindPosition:
			pk := store.PositionKey{Wallet: ev.Wallet, Coin: ev.Coin}
			row := rows[pk]
			if row == nil {
				r, ok := book[pk]
				if !ok {
					r = store.PositionRow{PositionKey: pk}
				}
				row = &r
				rows[pk] = row
				keys = append(keys, pk)
			}
			if err := applyToRow(row, ev); err != nil {
				refused = append(refused, store.DeadLetter{Reason: "book_refused", Detail: err.Error(),
					Source: "book", Raw: clip(in.rows[i].Body)})
			}
		case event.KindPrice, event.KindTrade:
			key := in.rows[i].Key
			cur, ok := prices[ev.Symbol]
			if !ok || later(ev.TS, key, cur.TS, cur.EventKey) {
				prices[ev.Symbol] = store.PriceRow{Symbol: ev.Symbol, Price: ev.Price, TS: ev.TS, Src: ev.Src, EventKey: key}
			}
		}
	}
	positions := make([]store.PositionRow, 0, len(keys))
	for _, k := range keys {
		positions = append(positions, *rows[k])
	}
	out := make([]store.PriceRow, 0, len(prices))
	for _, p := range prices {
		out = append(out, p)
	}
	return positions, out, refused
}

// exchangeTransfers returns the rows of the new transfers that touch an
// exchange-labelled address, as deposits, withdrawals or internal moves
// (exchange_transfers), and the keys of the transfers the new retractions
// (removed: true) retract. labels holds the addresses' labels.
func exchangeTransfers(in *bookInput, fresh []bool, labels map[string]store.AddressLabel) (
	[]store.ExchangeTransferRow, [][]byte) {
	var out []store.ExchangeTransferRow
	var retracted [][]byte
	for i := range in.evs {
		ev := &in.evs[i]
		if !fresh[i] || ev.Kind != event.KindTransfer {
			continue
		}
		if ev.Removed {
			orig := *ev
			orig.Removed = false
			h := orig.KeyHash()
			retracted = append(retracted, h[:])
			continue
		}
		from, fromEx := labels[ev.From]
		to, toEx := labels[ev.To]
		fromEx = fromEx && from.Is(store.ClassExchange)
		toEx = toEx && to.Is(store.ClassExchange)
		if !fromEx && !toEx {
			continue
		}
		r := store.ExchangeTransferRow{EventKey: in.rows[i].Key, TS: ev.TS, Token: ev.Token, Symbol: ev.Symbol,
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
	return out, retracted
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
