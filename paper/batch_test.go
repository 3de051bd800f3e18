package paper_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/sigtest"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/paper"
	"github.com/coattailcapital/coattail/risk"
	"github.com/coattailcapital/coattail/signal"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
)

// TestBatchSizeDoesNotChangeThePaperBook replays one scenario several times: one
// stream entry per batch (every signal and price in its own transaction), four per
// batch, the whole file in one batch (the trader's in-memory session over all of it),
// and through the paper inbox applied by a runner in rounds of 7 rows. Two scopes trade; the
// scenario fills and cancels orders, follows wallets out, trails, stops through a
// gap, exits on time, trips the daily-loss breaker, rejects on cooldown and breaker,
// and resets the breaker by time. Positions, fills, decisions, the equity curve,
// accounts, breakers and marks must come out identical.
func TestBatchSizeDoesNotChangeThePaperBook(t *testing.T) {
	at := func(hm string) string { return "2024-06-01T" + hm + "Z" }
	b, c, d, e, f, g, h := wallet('b'), wallet('c'), wallet('d'), wallet('e'), wallet('f'), wallet('a'), wallet('9')
	lines := []string{
		price("ETH", "2000", at("10:00:00")),
		price("BTC", "60000", at("10:00:00")),
		fill(b, "ETH", "buy", "2000", "10", "0", at("10:01:00"), "1"),    // approved in both scopes
		fill(c, "BTC", "sell", "60000", "0.5", "0", at("10:01:30"), "2"), // a short
		price("ETH", "2010", at("10:02:00")),                             // fills b's order
		price("BTC", "60100", at("10:02:00")),                            // fills c's short
		fill(d, "ETH", "buy", "2010", "10", "0", at("10:02:30"), "3"),    // cooldown rejects
		price("SOL", "150", at("10:02:45")),
		fill(e, "SOL", "buy", "150", "100", "0", at("10:03:00"), "4"),    // approved, pending
		fill(e, "SOL", "sell", "150", "100", "100", at("10:03:10"), "5"), // e exits first: cancelled
		price("SOL", "151", at("10:04:00")),
		fill(b, "ETH", "sell", "2015", "10", "10", at("10:05:00"), "6"), // b exits: its copy closes at the next price
		price("ETH", "2020", at("10:05:30")),
		price("BTC", "61500", at("10:06:00")), // through c's trailing stop
		price("ETH", "2020", at("10:09:30")),
		fill(f, "ETH", "buy", "2020", "10", "0", at("10:10:00"), "7"), // completes b, d, f: consensus; f's own is in cooldown
		price("ETH", "2020", at("10:11:00")),                          // fills f
		price("ETH", "2021", at("10:45:00")),                          // held 34 min: time exit
		price("BTC", "60000", at("10:50:00")),
		fill(g, "BTC", "buy", "60000", "0.5", "0", at("10:50:10"), "8"),
		price("BTC", "60000", at("10:51:00")), // fills g
		price("BTC", "50000", at("10:52:00")), // gaps through g's stop: the day's loss trips the breaker
		price("ETH", "2022", at("10:52:30")),
		fill(h, "ETH", "buy", "2022", "10", "0", at("10:53:00"), "9"), // breaker rejects
		price("ETH", "2030", at("11:54:00")),
		fill(h, "ETH", "buy", "2030", "5", "10", at("11:55:00"), "10"), // an hour on: reset, approved
		price("ETH", "2040", at("11:56:00")),
	}
	dump := func(batch int, inbox bool) string {
		ctx := context.Background()
		st := testenv.Store(t)
		rdb, prefix := testenv.Redis(t)
		scfg := stream.Config{Prefix: prefix, Shards: 1}
		scores := map[string][3]float64{}
		for i, w := range []string{b, c, d, e, f, g, h} {
			scores[w] = [3]float64{float64(i + 1), 0.6, 0.2}
		}
		scoreRun(t, st, time.Date(2024, 5, 31, 0, 0, 0, 0, time.UTC), scores)
		rs := risk.NewService(st)
		for name, v := range map[string]float64{"kelly_cap": 0.5, "max_position_share": 1, "max_gross_exposure": 3,
			"cooldown_minutes": 2, "daily_loss_pct": 0.05, "max_drawdown_pct": 0.5, "max_staleness_seconds": 120,
			"breaker_reset_hours": 1, "min_liquidity_usd": 5000} {
			if err := rs.Set(ctx, name, v); err != nil {
				t.Fatal(err)
			}
		}
		ps := paper.NewService(st, paper.Config{})
		for _, sc := range []string{paper.GlobalScope, "telegram:42"} {
			if err := ps.SetEnabled(ctx, sc, true); err != nil {
				t.Fatal(err)
			}
		}
		tr := paper.NewTrader(paper.Config{CloseOnWalletExit: true, TrailingPct: 0.02, MaxHold: 30 * time.Minute})
		cfg := signal.Config{Consumers: []signal.Consumer{tr}}
		if inbox {
			cfg.Consumers = []signal.Consumer{paper.NewInbox(tr)}
		}
		produce(t, rdb, scfg, writeFile(t, lines))
		sigtest.RunStageBatch(t, st, rdb, scfg, cfg, 1, batch)
		if inbox {
			// Two runners at once: they take turns, and each row is applied once.
			var rows int
			if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM paper_inbox`).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			type result struct {
				n   int
				err error
			}
			done := make(chan result, 2)
			for range 2 {
				go func() {
					n, err := paper.NewRunner(st, tr, paper.RunnerConfig{Batch: 7}).Drain(ctx)
					done <- result{n, err}
				}()
			}
			a, b := <-done, <-done
			if a.err != nil || b.err != nil || a.n+b.n != rows || rows == 0 {
				t.Fatalf("two runners drained %d + %d rows (%v, %v) of %d", a.n, b.n, a.err, b.err, rows)
			}
			var left int
			if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM paper_inbox`).Scan(&left); err != nil || left != 0 {
				t.Fatalf("paper inbox after drain: %d rows (%v)", left, err)
			}
		}
		return dumpPaper(t, st)
	}
	one := dump(1, false)
	all := dump(0, false)
	if one != all {
		t.Errorf("one entry per batch and one batch differ:\n%s", lineDiff(one, all))
	}
	// Batches of a few entries: signals share batches with others minutes apart (the
	// liquidity windows then overlap in part).
	if four := dump(4, false); one != four {
		t.Errorf("one entry per batch and four per batch differ:\n%s", lineDiff(one, four))
	}
	// Through the inbox and two runners taking 7 rows a round (rounds end mid-batch).
	for _, batch := range []int{0, 3} {
		if got := dump(batch, true); one != got {
			t.Errorf("through the inbox (stage batches of %d) differs:\n%s", batch, lineDiff(one, got))
		}
	}
	// The scenario did what it says (so the comparison is not of two empty books).
	for _, want := range []string{"wallet_exit", "cancelled", "trailing_stop", "time_exit",
		"reject coin_cooldown", "reject circuit_breaker", "breaker global false", "equity global"} {
		if !strings.Contains(all, want) {
			t.Errorf("scenario never produced %q:\n%s", want, all)
		}
	}
	if n := strings.Count(all, "reject -"); n < 12 {
		t.Errorf("%d approved decisions, want at least 12 (6 entries x 2 scopes):\n%s", n, all)
	}
}

// dumpPaper renders the paper and risk tables without ids or wall-clock times.
func dumpPaper(t *testing.T, st *store.Store) string {
	t.Helper()
	ctx := context.Background()
	var out strings.Builder
	for _, q := range []struct{ name, sql string }{
		{"position", `SELECT p.scope, s.dedup_key, p.wallet, p.coin, p.dir, p.status, p.size_usd, p.qty, p.entry_px, p.signal_ts,
			p.opened_at, p.stop_px, p.take_px, p.trail_pct, p.best_px, p.mark_px, p.mark_ts, p.exit_asked, p.closed_at, p.exit_px,
			p.exit_reason, p.fees, p.pnl FROM paper_positions p JOIN signals s ON s.id = p.signal_id ORDER BY 1, 2`},
		{"fill", `SELECT f.scope, s.dedup_key, f.ts, f.side, f.qty, f.observed_px, f.px, f.fee, f.reason
			FROM paper_fills f JOIN paper_positions p ON p.id = f.position_id JOIN signals s ON s.id = p.signal_id ORDER BY 1, 3, 2, 9`},
		{"decision", `SELECT d.scope, s.dedup_key, d.approved, d.size_usd, 'reject ' || coalesce(nullif(d.reject, ''), '-'), d.checks::text
			FROM risk_decisions d JOIN signals s ON s.id = d.signal_id ORDER BY 1, 2`},
		{"equity", `SELECT 'equity ' || scope, ts, equity FROM paper_equity ORDER BY 1, 2`},
		{"account", `SELECT scope, start_equity, equity, realized, fees, peak_equity, max_drawdown, day, day_start_equity
			FROM paper_accounts ORDER BY 1`},
		{"breaker", `SELECT 'breaker ' || scope || ' ' || tripped, reason, tripped_at FROM risk_breakers ORDER BY 1`},
		{"mark", `SELECT coin, px, ts, var_sec, n FROM paper_marks ORDER BY 1`},
	} {
		rows, err := st.Pool().Query(ctx, q.sql)
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, "%s %v\n", q.name, vals)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
	}
	return out.String()
}

// lineDiff lists the lines only in a (-) and only in b (+).
func lineDiff(a, b string) string {
	count := map[string]int{}
	for _, l := range strings.Split(a, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(b, "\n") {
		count[l]--
	}
	var out strings.Builder
	for _, l := range strings.Split(a, "\n") {
		if count[l] > 0 {
			out.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if count[l] < 0 {
			out.WriteString("+ " + l + "\n")
		}
	}
	return out.String()
}
