package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// TestBookWritesMatchTheOneStatementForms: the book stage's writes queued into one
// pipeline (one implicit transaction) and its read batch leave and read what the
// one-statement functions (which send the same queued statements alone, in the
// caller's transaction) do, and the inserts that take every event to be new fail with
// ErrEventsStored on a stored one.
func TestBookWritesMatchTheOneStatementForms(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const (
		wallet = "0x00000000000000000000000000000000000000a1"
		exch   = "0x28c6c06298d514db089934071355e5743bf21d60"
	)
	events := []store.EventRow{
		{Key: key(1), Kind: "fill", Src: "test", TS: t0, Body: []byte(`{"n":1}`)},
		{Key: key(2), Kind: "transfer", Src: "test", TS: t0, Body: []byte(`{"n":2}`)},
		{Key: key(3), Kind: "transfer", Src: "test", TS: t0, Body: []byte(`{"n":3}`)}, // retracts key 4's
	}
	positions := []store.PositionRow{
		{PositionKey: store.PositionKey{Wallet: wallet, Coin: "ETH"}, Size: d("-1.5"), EntryPx: d("3300.25"),
			RealizedPnl: d("12.5"), Fees: d("0.75"), N: 3, UnknownBasis: true, UnknownCloses: 1,
			MarkPx: decimal.NewNullDecimal(d("3310")), LastTS: t0, LastDelta: d("-0.5"), LastPx: d("3301"), UpdatedAt: t0},
		{PositionKey: store.PositionKey{Wallet: wallet, Coin: "BTC"}, Size: d("0"), EntryPx: d("0"),
			RealizedPnl: d("0"), Fees: d("0"), UpdatedAt: t0},
	}
	prices := [][]store.PriceRow{
		{{Symbol: "ETH", Price: d("3300"), TS: t0, Src: "a", EventKey: key(9)}, {Symbol: "BTC", Price: d("95000"), TS: t0, Src: "a", EventKey: key(9)}},
		// older, then a tie broken by the larger key
		{{Symbol: "ETH", Price: d("3000"), TS: t0.Add(-time.Second), Src: "b", EventKey: key(10)}, {Symbol: "BTC", Price: d("96000"), TS: t0, Src: "b", EventKey: key(10)}},
	}
	transfers := []store.ExchangeTransferRow{
		{EventKey: key(2), TS: t0, Wallet: wallet, Exchange: "Binance 14", ExchangeAddress: exch, Direction: store.DirDeposit,
			Token: "", Symbol: "ETH", Amount: d("2"), USD: decimal.NewNullDecimal(d("6600")), Tx: "0x1", Block: 7},
		{EventKey: key(4), TS: t0, Wallet: wallet, Exchange: "Binance 14", ExchangeAddress: exch, Direction: store.DirDeposit,
			Token: "", Symbol: "ETH", Amount: d("1"), Tx: "0x2", Block: 8, RetractedBy: key(3)}, // its retraction is stored: no row
		{EventKey: key(5), TS: t0, Wallet: wallet, Exchange: "Binance 14", ExchangeAddress: exch, Direction: store.DirWithdrawal,
			Token: "", Symbol: "ETH", Amount: d("1"), Tx: "0x3", Block: 9},
	}
	labels := []store.Label{
		{Address: exch, Source: "a", Name: "", Categories: []string{"binance"}, UpdatedAt: t0.Add(time.Hour)},
		{Address: exch, Source: "b", Name: "Binance 14", Categories: []string{"hot-wallet"}, UpdatedAt: t0},
	}
	setup := func(st *store.Store) {
		t.Helper()
		if _, _, err := st.ImportLabels(ctx, labels); err != nil {
			t.Fatal(err)
		}
	}

	one := testenv.Store(t)
	setup(one)
	err := pgx.BeginFunc(ctx, one.Pool(), func(tx pgx.Tx) error {
		if _, err := store.InsertEvents(ctx, tx, events); err != nil {
			return err
		}
		if err := store.InsertExchangeTransfers(ctx, tx, transfers); err != nil {
			return err
		}
		if err := store.DeleteExchangeTransfers(ctx, tx, [][]byte{key(5)}); err != nil {
			return err
		}
		if err := store.UpsertPositions(ctx, tx, positions); err != nil {
			return err
		}
		for _, ps := range prices {
			if err := store.UpsertPrices(ctx, tx, ps); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	queued := testenv.Store(t)
	setup(queued)
	var w store.Writes
	w.NewEvents(events)
	w.ExchangeTransfers(transfers)
	w.DeleteExchangeTransfers([][]byte{key(5)})
	w.Positions(positions)
	for _, ps := range prices {
		w.Prices(ps)
	}
	if err := w.Commit(ctx, queued.Pool()); err != nil {
		t.Fatal(err)
	}
	want := testenv.StateChecksum(t, one.Pool())
	testenv.SameState(t, "queued writes", testenv.StateChecksum(t, queued.Pool()), want)
	if want["exchange_transfers"][:2] != "1:" || want["positions"][:2] != "2:" {
		t.Fatalf("the one-statement forms wrote %v: the test's rows changed?", want)
	}

	// The read batch reads what LoadPositions and LookupLabels do.
	keys := []store.PositionKey{positions[0].PositionKey, positions[1].PositionKey, {Wallet: wallet, Coin: "SOL"}}
	addrs := []string{exch, wallet}
	gotPos, gotLabels, err := store.ReadBook(ctx, queued.Pool(), keys, addrs)
	if err != nil {
		t.Fatal(err)
	}
	var wantPos map[store.PositionKey]store.PositionRow
	err = pgx.BeginFunc(ctx, one.Pool(), func(tx pgx.Tx) error {
		wantPos, err = store.LoadPositions(ctx, tx, keys)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	wantLabels, err := store.LookupLabels(ctx, one.Pool(), addrs)
	if err != nil {
		t.Fatal(err)
	}
	if len(gotPos) != 2 || !reflect.DeepEqual(gotPos, wantPos) {
		t.Errorf("ReadBook positions:\n got  %+v\n want %+v", gotPos, wantPos)
	}
	if len(gotLabels) != 1 || gotLabels[exch].Name != "Binance 14" || !reflect.DeepEqual(gotLabels, wantLabels) {
		t.Errorf("ReadBook labels:\n got  %+v\n want %+v", gotLabels, wantLabels)
	}

	// A stored event fails the inserts that take all to be new, and the transaction.
	again := []store.EventRow{{Key: key(6), Kind: "fill", Src: "test", TS: t0, Body: []byte(`{"n":6}`)}, events[0]}
	var w2 store.Writes
	w2.NewEvents(again)
	if err := w2.Commit(ctx, queued.Pool()); !errors.Is(err, store.ErrEventsStored) {
		t.Errorf("NewEvents with a stored event: %v, want ErrEventsStored", err)
	}
	err = pgx.BeginFunc(ctx, queued.Pool(), func(tx pgx.Tx) error { return store.CopyNewEvents(ctx, tx, again) })
	if !errors.Is(err, store.ErrEventsStored) {
		t.Errorf("CopyNewEvents with a stored event: %v, want ErrEventsStored", err)
	}
	if n, err := queued.EventCount(ctx); err != nil || n != int64(len(events)) {
		t.Fatalf("events after the failed inserts: %d (%v), want %d", n, err, len(events))
	}
	// The checked form stores the new one and reports it alone.
	fresh := map[[16]byte]bool{}
	var w3 store.Writes
	w3.StoreEvents(again, fresh)
	if err := w3.Commit(ctx, queued.Pool()); err != nil {
		t.Fatal(err)
	}
	if len(fresh) != 1 || !fresh[[16]byte(key(6))] {
		t.Errorf("StoreEvents reported %v as new, want key 6 alone", fresh)
	}
}
