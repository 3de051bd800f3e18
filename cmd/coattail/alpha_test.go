package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/analytics/sim"
)

// TestCLIAlphaRealPath runs the real path on a simulated market: simulate writes the
// events and the ground truth, replay stores them, the first leaderboard scores them
// on demand, and its top k must be mostly the planted skilled wallets, well above the
// ranking by realised PnL. Then --as-of, --window, rescore and backfill.
func TestCLIAlphaRealPath(t *testing.T) {
	s := newSchema(t)
	dir := t.TempDir()
	events, truthF := filepath.Join(dir, "market.ndjson"), filepath.Join(dir, "truth.json")
	if r := s.cli.run(t, "simulate", "--seed", "1", "--out", events, "--truth", truthF); r.code != 0 {
		t.Fatalf("simulate: %s", r)
	}
	raw, err := os.ReadFile(truthF)
	if err != nil {
		t.Fatal(err)
	}
	var truth sim.Truth
	if err := json.Unmarshal(raw, &truth); err != nil {
		t.Fatal(err)
	}
	k := len(truth.Skilled)
	if k < 3 {
		t.Fatalf("truth names %d skilled wallets", k)
	}
	if r := s.cli.run(t, "replay", "--quiet", events); r.code != 0 {
		t.Fatalf("replay: %s", r)
	}
	r := s.cli.run(t, "leaderboard", "--json", "--limit", "1000")
	if r.code != 0 {
		t.Fatalf("leaderboard: %s", r)
	}
	var rows []struct {
		Rank        int    `json:"rank"`
		Wallet      string `json:"wallet"`
		RealizedPnl string `json:"realized_pnl"`
		Fees        string `json:"fees"`
	}
	if err := json.Unmarshal([]byte(lastLine(r.stdout)), &rows); err != nil {
		t.Fatalf("leaderboard --json: %v\n%s", err, r)
	}
	var board []string
	pnl := map[string]float64{}
	for _, row := range rows {
		board = append(board, row.Wallet)
	}
	// Realised PnL net of fees of every wallet, from the same run (window all) as the
	// wallets the board leaves out, via the store.
	_, all, err := s.st.LatestScores(t.Context(), "all")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range all {
		pnl[w.Wallet] = w.Stats.RealizedPnl - w.Stats.Fees
	}
	pBoard, pPnL := sim.PrecisionAtK(board, truth.Skilled, k), sim.PrecisionAtK(sim.SortByValue(pnl), truth.Skilled, k)
	t.Logf("replayed market, seed 1: precision@%d board %.2f, realised PnL %.2f (%d ranked of %d)", k, pBoard, pPnL, len(rows), len(all))
	if pBoard < 0.6 || pBoard < pPnL+0.3 {
		t.Errorf("precision@%d: board %.2f, realised PnL %.2f; want the board >= 0.6 and clearly above PnL", k, pBoard, pPnL)
	}

	// The board as of the middle of the market: scored on demand as of then, and a
	// later as-of between runs answers with that run.
	mid := truth.Start.Add(truth.End.Sub(truth.Start) / 2).Format(time.RFC3339)
	if r := s.cli.run(t, "leaderboard", "--as-of", mid, "--window", "30d", "--limit", "3"); r.code != 0 ||
		!strings.Contains(r.stdout, "as of "+mid) {
		t.Fatalf("leaderboard --as-of %s: %s", mid, r)
	}
	later := truth.Start.Add(truth.End.Sub(truth.Start) / 2).Add(time.Minute).Format(time.RFC3339)
	if r := s.cli.run(t, "leaderboard", "--as-of", later, "--window", "30d", "--no-rescore"); r.code != 0 ||
		!strings.Contains(r.stdout, "as of "+mid) {
		t.Fatalf("leaderboard --as-of %s --no-rescore: want the run as of %s: %s", later, mid, r)
	}
	if r := s.cli.run(t, "leaderboard", "--window", "24h"); r.code != 2 {
		t.Errorf("leaderboard --window 24h: want exit 2: %s", r)
	}
	// Paging: page 2 of 2 rows starts at rank 3.
	if r := s.cli.run(t, "leaderboard", "--json", "--limit", "2", "--page", "2"); r.code != 0 || !strings.Contains(r.stdout, `[{"rank":3,`) {
		t.Errorf("leaderboard --page 2: %s", r)
	}

	// rescore and backfill.
	r = s.cli.run(t, "rescore", "--json", "--window", "7d")
	var sum struct {
		AsOf time.Time `json:"as_of"`
		Runs []struct {
			Window string `json:"window"`
			Ranked int    `json:"ranked"`
		} `json:"runs"`
	}
	if r.code != 0 || json.Unmarshal([]byte(lastLine(r.stdout)), &sum) != nil || len(sum.Runs) != 1 || sum.Runs[0].Window != "7d" ||
		!sum.AsOf.Equal(truth.End) {
		t.Fatalf("rescore --window 7d: %s", r)
	}
	r = s.cli.run(t, "backfill", "--every", "20d", "--window", "all")
	if r.code != 0 || !strings.Contains(r.stdout, "backfilled 3 as-of times") || !strings.Contains(r.stderr, "backfill: 3/3") {
		t.Fatalf("backfill --every 20d: %s", r)
	}
	runs, err := s.st.ScoreRuns(t.Context(), "all", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// The on-demand runs (end and middle) plus three backfilled ones.
	if len(runs) != 4 && len(runs) != 5 {
		t.Errorf("%d runs of window all, want the backfilled three beside the earlier ones: %+v", len(runs), runs)
	}

	// eval on the same file, with the truth.
	r = s.cli.run(t, "eval", "--json", "--k", "5", "--splits", "3", "--truth", truthF, events)
	var ev struct {
		Splits []json.RawMessage `json:"splits"`
		Mean   struct {
			Score struct{ Precision float64 }
			PnL   struct{ Precision float64 }
		} `json:"mean"`
	}
	if r.code != 0 || json.Unmarshal([]byte(lastLine(r.stdout)), &ev) != nil || len(ev.Splits) != 3 {
		t.Fatalf("eval: %s", r)
	}
	t.Logf("eval: mean precision@5 over 3 splits: score %.2f, PnL %.2f", ev.Mean.Score.Precision, ev.Mean.PnL.Precision)

	// The whale profiler's bot flags: a wallet it flags leaves the board as of now (a
	// rescore, and the periodic one of `run`), not a board as of an earlier time.
	top := board[0]
	if _, err := s.st.Pool().Exec(t.Context(), `UPDATE wallet_profiles SET bot_market_maker = true WHERE wallet = $1`, top); err != nil {
		t.Fatal(err)
	}
	if r := s.cli.run(t, "rescore", "--window", "all"); r.code != 0 {
		t.Fatalf("rescore: %s", r)
	}
	_, all, err = s.st.LatestScores(t.Context(), "all")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range all {
		if w.Wallet == top && (w.Rank != 0 || w.Eligible || w.Reason != "profiled_bot") {
			t.Errorf("wallet %s flagged by the profiler: rank %d, eligible %v, reason %q; want it unranked as profiled_bot", top, w.Rank, w.Eligible, w.Reason)
		}
	}
	if r := s.cli.run(t, "leaderboard", "--json", "--limit", "1000"); r.code != 0 || strings.Contains(r.stdout, top) {
		t.Errorf("the board as of now still shows the flagged wallet %s: %s", top, r)
	}
	if r := s.cli.run(t, "rescore", "--window", "all", "--as-of", mid); r.code != 0 {
		t.Fatalf("rescore --as-of %s: %s", mid, r)
	}
	if r := s.cli.run(t, "leaderboard", "--json", "--limit", "1000", "--as-of", mid, "--no-rescore"); r.code != 0 {
		t.Fatalf("leaderboard --as-of %s: %s", mid, r)
	} else if !strings.Contains(r.stdout, top) {
		t.Errorf("the board as of %s, before the profile, lost the flagged wallet %s: %s", mid, top, r)
	}
}
