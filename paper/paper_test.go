package paper_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/paper"
	"github.com/coattailcapital/coattail/risk"
	"github.com/coattailcapital/coattail/signal"
	"github.com/coattailcapital/coattail/stream"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }

// TestPaperPathStopsBreakerResume replays a price path on one shard: an approved
// signal opens at the next price plus slippage, a gap through the stop fills at the
// observed price, the loss trips the daily-loss breaker, the next signal is rejected
// for it, and after a resume a later signal trades again. Equity reconciles exactly to
// the price path.
func TestPaperPathStopsBreakerResume(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	rdb, prefix := testenv.Redis(t)
	scfg := stream.Config{Prefix: prefix, Shards: 1}
	wB, wC, wD := wallet('b'), wallet('c'), wallet('d')
	scoreRun(t, st, time.Date(2024, 5, 31, 0, 0, 0, 0, time.UTC), map[string][3]float64{
		wB: {1, 0.6, 0.2}, wC: {2, 0.6, 0.2}, wD: {3, 0.6, 0.2},
	})
	rs := risk.NewService(st)
	for name, v := range map[string]float64{"kelly_cap": 0.5, "max_position_share": 1, "cooldown_minutes": 0,
		"daily_loss_pct": 0.03, "max_drawdown_pct": 0.5, "max_staleness_seconds": 120} {
		if err := rs.Set(ctx, name, v); err != nil {
			t.Fatal(err)
		}
	}
	ps := paper.NewService(st, paper.Config{})
	if err := ps.SetEnabled(ctx, paper.GlobalScope, true); err != nil {
		t.Fatal(err)
	}
	pcfg := paper.Config{}
	cfg := signal.Config{Consumers: []signal.Consumer{paper.NewTrader(pcfg)}}

	produce(t, rdb, scfg, writeFile(t, []string{
		price("ETH", "2000", "2024-06-01T10:00:00Z"),
		fill(wB, "ETH", "buy", "2000", "10", "0", "2024-06-01T10:01:00Z", "1"),
		price("ETH", "2010", "2024-06-01T10:02:00Z"),
		price("ETH", "1990", "2024-06-01T10:03:00Z"),
		price("ETH", "1850", "2024-06-01T10:04:00Z"), // gaps through the stop (entry × 0.95 ≈ 1910.5)
		fill(wC, "ETH", "buy", "1850", "6", "0", "2024-06-01T10:05:00Z", "2"),
	}))
	runStage(t, st, rdb, scfg, cfg, 1)

	const slip, feeR, start = 5e-4, 4.5e-4, 10000.0
	size1 := 0.5 * start // min(0.25 × 0.6 / 0.05 default vol, cap 0.5) of equity
	entry1 := 2010 * (1 + slip)
	qty1 := size1 / entry1
	exit1 := 1850 * (1 - slip)
	pnl1 := qty1*(exit1-entry1) - size1*feeR - qty1*exit1*feeR

	hist, err := ps.History(ctx, paper.GlobalScope, 10)
	if err != nil || len(hist) != 1 {
		d, _ := rs.Decisions(ctx, risk.DecisionQuery{})
		sg, _ := signal.Recent(ctx, st, signal.Query{})
		pos, _ := ps.Positions(ctx, paper.GlobalScope)
		t.Fatalf("history: %v %v\ndecisions %+v\nsignals %+v\npositions %+v", hist, err, d, sg, pos)
	}
	h := hist[0]
	if h.ExitReason != paper.ExitStop || !near(h.EntryPx, entry1) || !near(h.ExitPx, exit1) || !near(h.PnL, pnl1) {
		t.Errorf("trade 1: reason %s entry %v exit %v pnl %v; want stop_loss %v %v %v", h.ExitReason, h.EntryPx, h.ExitPx, h.PnL, entry1, exit1, pnl1)
	}
	var observed float64
	if err := st.Pool().QueryRow(ctx, `SELECT observed_px FROM paper_fills WHERE reason = 'stop_loss'`).Scan(&observed); err != nil || observed != 1850 {
		t.Errorf("stop filled at observed %v (%v), want the gap price 1850", observed, err)
	}
	stt, err := ps.Status(ctx, paper.GlobalScope)
	if err != nil {
		t.Fatal(err)
	}
	if !near(stt.Equity, start+pnl1) || stt.Closed != 1 || stt.Losses != 1 || stt.WinRate != 0 {
		t.Errorf("status after trade 1: %+v, want equity %v", stt, start+pnl1)
	}
	view, err := rs.Show(ctx)
	if err != nil || len(view.Breakers) != 1 || !view.Breakers[0].Tripped {
		t.Fatalf("breaker not tripped: %+v %v", view, err)
	}
	rej, err := rs.Decisions(ctx, risk.DecisionQuery{Rejected: true})
	if err != nil || len(rej) != 1 || rej[0].Reject != risk.CheckBreaker || rej[0].Wallet != wC {
		t.Fatalf("rejections: %+v %v", rej, err)
	}

	// Still tripped for the next signal until resumed; then it trades again.
	produce(t, rdb, scfg, writeFile(t, []string{
		fill(wD, "ETH", "buy", "1850", "10", "0", "2024-06-01T10:06:00Z", "3"),
	}))
	runStage(t, st, rdb, scfg, cfg, 1)
	// d's entry fires alpha_move and completes the b, c, d consensus: both rejected.
	if rej, _ := rs.Decisions(ctx, risk.DecisionQuery{Check: risk.CheckBreaker}); len(rej) != 3 {
		t.Fatalf("signals while tripped: %d breaker rejections, want 3", len(rej))
	}
	if err := rs.Resume(ctx, ""); err != nil {
		t.Fatal(err)
	}
	wF := wallet('f')
	scoreRun(t, st, time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), map[string][3]float64{wF: {1, 0.6, 0.2}})
	produce(t, rdb, scfg, writeFile(t, []string{
		fill(wF, "ETH", "buy", "1855", "10", "0", "2024-06-01T10:05:30Z", "4"),
		price("ETH", "1860", "2024-06-01T10:07:00Z"),
		price("ETH", "1870", "2024-06-01T10:08:00Z"),
	}))
	runStage(t, st, rdb, scfg, cfg, 1)
	eq1 := start + pnl1
	size2 := 0.5 * eq1
	entry2 := 1860 * (1 + slip)
	qty2 := size2 / entry2
	want := eq1 - size2*feeR + qty2*(1870-entry2)
	stt, err = ps.Status(ctx, paper.GlobalScope)
	if err != nil {
		t.Fatal(err)
	}
	if stt.Open != 1 || !near(stt.Equity, want) {
		t.Errorf("after resume: open %d equity %v, want 1 open and equity %v", stt.Open, stt.Equity, want)
	}
	curve, err := ps.Equity(ctx, paper.GlobalScope)
	if err != nil || len(curve) == 0 || !near(curve[len(curve)-1].Equity, want) {
		t.Errorf("equity curve ends %v (%v), want %v", curve, err, want)
	}
}
