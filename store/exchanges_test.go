package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
)

// TestLeaderboardLeavesOutInfrastructure: an exchange, DEX, bridge or MEV-bot address
// with positions never appears on the leaderboard and is unranked in its wallet view
// (whose positions and totals it keeps), however good its score; a fund does appear;
// the ranks of the others close up.
func TestLeaderboardLeavesOutInfrastructure(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const (
		mevBot = "0x00000000003b3cc22af3ae1eac0440bcee416b40"
		fund   = "0x00000000000000000000000000000000000000f0"
		plain  = "0x00000000000000000000000000000000000000aa"
	)
	// Scores: each labelled address far above the plain wallet, the fund just above it.
	score := map[string]string{binance14: "9000", uniswapRouter: "8000", arbBridge: "7000", mevBot: "6000", fund: "200", plain: "100"}
	var rows []store.PositionRow
	for w, s := range score {
		rows = append(rows, store.PositionRow{PositionKey: store.PositionKey{Wallet: w, Coin: "BTC"},
			Size: d("0"), EntryPx: d("0"), RealizedPnl: d(s), Fees: d("0"), N: 1, UpdatedAt: t0})
	}
	err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error { return store.UpsertPositions(ctx, tx, rows) })
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.ImportLabels(ctx, []store.Label{
		{Address: binance14, Source: "a", Name: "Binance 14", Categories: []string{"binance"}, UpdatedAt: t0},
		{Address: uniswapRouter, Source: "a", Name: "Uniswap V2: Router 2", Categories: []string{"dex"}, UpdatedAt: t0},
		{Address: arbBridge, Source: "a", Name: "Arbitrum: Bridge", Categories: []string{"bridge"}, UpdatedAt: t0},
		// The MEV bot is labelled by a second source only, beside an unclassed label.
		{Address: mevBot, Source: "a", Name: "0x000...b40", Categories: []string{"contract"}, UpdatedAt: t0},
		{Address: mevBot, Source: "b", Name: "MEV Bot: 0x000...b40", Categories: []string{"mev-bot"}, UpdatedAt: t0},
		{Address: fund, Source: "a", Name: "Alameda Research 1", Categories: []string{"alameda-research"}, UpdatedAt: t0},
	}); err != nil {
		t.Fatal(err)
	}
	lb, err := st.Leaderboard(ctx, store.LeaderboardQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(lb) != 2 || lb[0].Wallet != fund || lb[0].Rank != 1 || lb[1].Wallet != plain || lb[1].Rank != 2 {
		t.Fatalf("leaderboard = %+v, want only the fund (rank 1) and the plain wallet (rank 2)", lb)
	}
	for _, w := range []string{binance14, uniswapRouter, arbBridge, mevBot} {
		v, err := st.Wallet(ctx, w)
		if err != nil {
			t.Fatalf("wallet %s: %v", w, err)
		}
		if v.Rank != 0 || len(v.Positions) != 1 || !v.RealizedPnl.Equal(d(score[w])) {
			t.Errorf("wallet %s: rank %d, %d positions, realized %s; want unranked with its one position and realized %s",
				w, v.Rank, len(v.Positions), v.RealizedPnl, score[w])
		}
	}
	for i, w := range []string{fund, plain} {
		v, err := st.Wallet(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		if v.Rank != i+1 {
			t.Errorf("wallet %s: rank %d, want %d", w, v.Rank, i+1)
		}
		if v.ExchangeFlows.Deposits.Count != 0 || v.ExchangeFlows.Withdrawals.Count != 0 {
			t.Errorf("wallet %s: exchange flows %+v, want none", w, v.ExchangeFlows)
		}
	}
}

// TestExchangeTransfersAreIdempotentAndSummed: rows are stored once whatever is
// inserted again, a row whose retraction is already among the events is not written,
// deleting by key removes the row, and ExchangeFlows sums deposits and withdrawals
// (internal moves not counted).
func TestExchangeTransfersAreIdempotentAndSummed(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	const w = "0x00000000000000000000000000000000000000aa"
	mk := func(k byte, dir, amount string, usd string) store.ExchangeTransferRow {
		r := store.ExchangeTransferRow{EventKey: key(k), TS: t0, Wallet: w, Exchange: "Binance 14", ExchangeAddress: binance14,
			Direction: dir, Token: "", Symbol: "ETH", Amount: d(amount), Tx: "0x01", Block: 1, RetractedBy: key(k + 100)}
		if usd != "" {
			r.USD.Decimal, r.USD.Valid = d(usd), true
		}
		return r
	}
	rows := []store.ExchangeTransferRow{
		mk(1, store.DirDeposit, "1", "3000"), mk(2, store.DirDeposit, "2", "6000.25"), mk(3, store.DirDeposit, "5", ""),
		mk(4, store.DirWithdrawal, "1", "2900"), mk(5, store.DirInternal, "100", "300000"),
		mk(6, store.DirDeposit, "7", "1"), // its retraction is stored: not written
	}
	err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		if _, err := store.InsertEvents(ctx, tx, []store.EventRow{{Key: key(106), Kind: "transfer", Src: "ethereum", TS: t0, Body: []byte("{}")}}); err != nil {
			return err
		}
		if err := store.InsertExchangeTransfers(ctx, tx, rows); err != nil {
			return err
		}
		return store.InsertExchangeTransfers(ctx, tx, rows[:2]) // again: nothing
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := st.ExchangeFlows(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if f.Deposits.Count != 3 || !f.Deposits.USD.Equal(d("9000.25")) || f.Deposits.Priced != 2 ||
		f.Withdrawals.Count != 1 || !f.Withdrawals.USD.Equal(d("2900")) || f.Withdrawals.Priced != 1 {
		t.Fatalf("flows = %+v, want 3 deposits (9000.25 USD, 2 priced), 1 withdrawal (2900 USD)", f)
	}
	err = pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		return store.DeleteExchangeTransfers(ctx, tx, [][]byte{key(1), key(99)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if f, err = st.ExchangeFlows(ctx, w); err != nil || f.Deposits.Count != 2 || !f.Deposits.USD.Equal(d("6000.25")) {
		t.Fatalf("flows after deleting deposit 1 = %+v (err %v), want 2 deposits of 6000.25 USD", f, err)
	}
}
