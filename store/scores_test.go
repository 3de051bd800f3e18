package store_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
)

func scoreRow(wallet string, rank int, lcb float64) store.WalletScore {
	pf := 2.5
	return store.WalletScore{Wallet: wallet, Rank: rank, Score: lcb + 0.1, LCB: lcb, N: 30 + rank, Eligible: rank > 0,
		Stats: store.ScoreStats{RealizedPnl: float64(rank) * 10, Fees: 1, Trades: 40, ProfitFactor: &pf}}
}

func TestScoreRunsAsOfAndReplace(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(24 * time.Hour)

	if _, _, err := st.Board(ctx, store.BoardQuery{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("board with no runs: err %v, want ErrNotFound", err)
	}
	inf := math.Inf(1)
	bot := store.WalletScore{Wallet: "0xbot", Score: math.NaN(), LCB: -1, N: 500, Reason: "bot_rate",
		Stats: store.ScoreStats{Sortino: &inf}}
	if _, err := st.SaveScoreRun(ctx, store.ScoreRun{Window: "all", AsOf: t1},
		[]store.WalletScore{scoreRow("0xa", 1, 0.5), scoreRow("0xb", 2, 0.2), bot}); err != nil {
		t.Fatal(err)
	}
	id2, err := st.SaveScoreRun(ctx, store.ScoreRun{Window: "all", AsOf: t2, Params: []byte(`{"k":1}`)},
		[]store.WalletScore{scoreRow("0xb", 1, 0.9), scoreRow("0xa", 2, 0.1), scoreRow("0xc", 3, 0.05)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveScoreRun(ctx, store.ScoreRun{Window: "24h", AsOf: t2}, nil); err == nil {
		t.Error("a run of window 24h was saved; want an error")
	}

	// As of a time between the runs: the first board.
	run, rows, err := st.Board(ctx, store.BoardQuery{Window: "all", AsOf: t1.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !run.AsOf.Equal(t1) || len(rows) != 2 || rows[0].Wallet != "0xa" || rows[1].Wallet != "0xb" {
		t.Fatalf("board as of t1+1h: run %v rows %+v, want the t1 run with 0xa, 0xb (the bot unranked)", run.AsOf, rows)
	}
	if rows[0].Score != rows[0].LCB || rows[0].LCB != 0.5 || rows[0].N != 31 || rows[0].RealizedPnl.String() != "10" ||
		rows[0].ProfitFactor == nil || *rows[0].ProfitFactor != 2.5 {
		t.Errorf("row 1 = %+v", rows[0])
	}
	// Before any run: not found; latest: the second, paged.
	if _, _, err := st.Board(ctx, store.BoardQuery{AsOf: t1.Add(-time.Second)}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("board before the first run: err %v, want ErrNotFound", err)
	}
	run, rows, err = st.Board(ctx, store.BoardQuery{Limit: 2, Offset: 1})
	if err != nil {
		t.Fatal(err)
	}
	if run.ID != id2 || string(run.Params) != `{"k": 1}` || len(rows) != 2 || rows[0].Rank != 2 || rows[0].Wallet != "0xa" || rows[1].Wallet != "0xc" {
		t.Fatalf("latest board page 2: run %+v rows %+v", run, rows)
	}

	// Replacing the second run (same window and as-of) swaps its rows atomically.
	id3, err := st.SaveScoreRun(ctx, store.ScoreRun{Window: "all", AsOf: t2}, []store.WalletScore{scoreRow("0xd", 1, 2)})
	if err != nil {
		t.Fatal(err)
	}
	_, rows, err = st.Board(ctx, store.BoardQuery{AsOf: t2})
	if err != nil {
		t.Fatal(err)
	}
	if id3 != id2 || len(rows) != 1 || rows[0].Wallet != "0xd" {
		t.Fatalf("after replacing: id %d (was %d), rows %+v, want only 0xd", id3, id2, rows)
	}
	runs, err := st.ScoreRuns(ctx, "all", time.Time{}, time.Time{})
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs = %v, %v; want 2", runs, err)
	}

	// A wallet's latest score, and an unranked one with its reason.
	_, ws, err := st.WalletScore(ctx, "0xbot", "all", t1)
	if err != nil {
		t.Fatal(err)
	}
	if ws.Rank != 0 || ws.Eligible || ws.Reason != "bot_rate" || ws.Score != 0 || ws.Stats.Sortino != nil {
		t.Errorf("bot row = %+v; want unranked, bot_rate, NaN stored as 0, infinite Sortino as null", ws)
	}
	if _, _, err := st.WalletScore(ctx, "0xa", "all", time.Time{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("0xa is not in the latest run: err %v, want ErrNotFound", err)
	}
	run, all, err := st.LatestScores(ctx, "all")
	if err != nil || run.ID != id2 || len(all) != 1 || all[0].Wallet != "0xd" || all[0].Rank != 1 {
		t.Errorf("LatestScores = %+v %+v %v", run, all, err)
	}
}

func TestNewestEventTimeAndScoringEvents(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	if got, err := st.NewestEventTime(ctx); err != nil || !got.IsZero() {
		t.Fatalf("empty: %v %v", got, err)
	}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	_, err := st.Pool().Exec(ctx, `INSERT INTO events (key, kind, src, ts, body) VALUES
		('\x01', 'price', 'x', $1, 'a'), ('\x02', 'fill', 'x', $2, 'b'), ('\x03', 'transfer', 'x', $3, 'c')`,
		t0, t0.Add(time.Hour), t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.NewestEventTime(ctx)
	if err != nil || !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("newest = %v %v, want the fill's time (transfers do not count)", got, err)
	}
	var bodies []string
	err = st.ScoringEvents(ctx, t0.Add(30*time.Minute), func(b []byte) error { bodies = append(bodies, string(b)); return nil })
	if err != nil || len(bodies) != 1 || bodies[0] != "a" {
		t.Errorf("scoring events until t0+30m = %v %v, want [a]", bodies, err)
	}
}
