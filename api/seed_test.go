package api_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/paper"
	"github.com/coattailcapital/coattail/risk"
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
)

// seedT0 is the event time the seeded windows, anomalies and paper rows are built
// around.
var seedT0 = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

func tx(t *testing.T, st *store.Store, f func(ctx context.Context, tx pgx.Tx) error) {
	t.Helper()
	ctx := context.Background()
	if err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error { return f(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
}

// seedWindows writes what the windows stage would: progress of two sources on two
// shards (binance: watermarks 10:00 and 10:00:30, 3 + 4 late events), three 1m bars
// of ETH-USDT on binance and one on coinbase, a 1h flow window of USDT into binance
// computed by two shards, and three anomalies.
func seedWindows(t *testing.T, st *store.Store) {
	t.Helper()
	vwap := 2001.5
	tx(t, st, func(ctx context.Context, tx pgx.Tx) error {
		if err := store.SaveSourceProgress(ctx, tx, "p:events:{0}", "windows", []store.SourceProgress{
			{Source: "binance", Watermark: seedT0, MaxEvent: seedT0.Add(30 * time.Second), Late: 3},
			{Source: "ethereum", Watermark: seedT0.Add(-time.Minute), MaxEvent: seedT0, Late: 0},
		}); err != nil {
			return err
		}
		if err := store.SaveSourceProgress(ctx, tx, "p:events:{1}", "windows", []store.SourceProgress{
			{Source: "binance", Watermark: seedT0.Add(30 * time.Second), MaxEvent: seedT0.Add(time.Minute), Late: 4},
		}); err != nil {
			return err
		}
		var bars []store.BarRow
		for i := range 3 {
			s := seedT0.Add(time.Duration(i) * time.Minute)
			px := 2000 + float64(i)*10
			bars = append(bars, store.BarRow{Venue: "binance", Symbol: "ETH-USDT", Res: "1m", Start: s, End: s.Add(time.Minute),
				Open: px, High: px + 5, Low: px - 5, Close: px + 2, OpenTS: s, CloseTS: s.Add(59 * time.Second),
				Volume: 10, Quote: 10 * px, VWAP: &vwap, Trades: 7, Ticks: 7, Final: i < 2})
		}
		bars = append(bars, store.BarRow{Venue: "coinbase", Symbol: "ETH-USDT", Res: "1m", Start: seedT0, End: seedT0.Add(time.Minute),
			Open: 1999, High: 2001, Low: 1998, Close: 2000, OpenTS: seedT0, CloseTS: seedT0.Add(time.Second), Ticks: 2, Final: true})
		if err := store.WriteBars(ctx, tx, bars, false); err != nil {
			return err
		}
		flow := func(shard int, in, out float64) store.FlowRow {
			return store.FlowRow{Token: "0xdac17f958d2ee523a2206206994597c13d831ec7", Symbol: "USDT", Exchange: "binance",
				Res: "1h", Start: seedT0, End: seedT0.Add(time.Hour), Shard: shard, In: in, Out: out, InUSD: in, OutUSD: out,
				Deposits: 1, Withdrawals: 1, LargeIn: 1, Final: true}
		}
		if err := store.WriteFlows(ctx, tx, []store.FlowRow{flow(0, 1e6, 2e5), flow(1, 5e5, 1e5)}, false); err != nil {
			return err
		}
		ev := json.RawMessage(`{"median":12.5}`)
		return store.InsertAnomalies(ctx, tx, []store.AnomalyRow{
			{ID: []byte{1}, Kind: "volume_spike", Venue: "binance", Symbol: "ETH-USDT", TS: seedT0, Value: 120, Baseline: 12.5, Score: 9.6, Evidence: ev, Stream: "p:events:{0}"},
			{ID: []byte{2}, Kind: "large_trade", Venue: "binance", Symbol: "ETH-USDT", TS: seedT0.Add(time.Minute), Value: 2e6, Baseline: 1e4, Score: 200, Evidence: ev, Stream: "p:events:{0}"},
			{ID: []byte{3}, Kind: "large_trade", Venue: "coinbase", Symbol: "BTC-USD", TS: seedT0.Add(2 * time.Minute), Value: 3e6, Baseline: 2e4, Score: 150, Evidence: ev, Stream: "p:events:{1}"},
		})
	})
}

// seedTrading makes a signal with an approved and a rejected decision, a second one
// with none, a paper account for telegram:7 with an open position, a closed one, two
// fills and three equity points, a disabled scope without an account, and one alert
// delivered 2 s after its signal's event time. It returns the two signal ids.
func seedTrading(t *testing.T, st *store.Store, wallet string) (decided, plain int64) {
	t.Helper()
	ctx := context.Background()
	decided = insertSignal(t, st, "followed_move", wallet, "ETH", 25000)
	plain = insertSignal(t, st, "alpha_move", wallet, "BTC", 40000)
	svc := paper.NewService(st, paper.Config{})
	if err := svc.SetEnabled(ctx, "telegram:7", true); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetEnabled(ctx, "discord:99", false); err != nil {
		t.Fatal(err)
	}
	tx(t, st, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := risk.Record(ctx, tx, decided, "telegram:7", risk.Decision{Approved: true, SizeUSD: 500,
			Checks: []risk.CheckResult{{Name: risk.CheckSize, Passed: true, Value: 500, Limit: 1000}}}); err != nil {
			return err
		}
		if _, err := risk.Record(ctx, tx, decided, "global", risk.Decision{Reject: risk.CheckCooldown,
			Checks: []risk.CheckResult{{Name: risk.CheckCooldown, Reason: "ETH traded 2m ago", Value: 120, Limit: 900}}}); err != nil {
			return err
		}
		var open, closed int64
		if err := tx.QueryRow(ctx, `INSERT INTO paper_positions (scope, signal_id, wallet, coin, dir, status, size_usd, qty,
			entry_px, signal_ts, opened_at, mark_px) VALUES ('telegram:7', $1, $2, 'ETH', 1, 'open', 500, 0.25, 2000, $3, $3, 2100)
			RETURNING id`, decided, wallet, seedT0).Scan(&open); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO paper_positions (scope, signal_id, wallet, coin, dir, status, size_usd, qty,
			entry_px, signal_ts, opened_at, closed_at, exit_px, exit_reason, pnl) VALUES ('telegram:7', $1, $2, 'BTC', -1, 'closed',
			400, 0.01, 40000, $3, $3, $4, 39000, 'take_profit', 9.5) RETURNING id`, plain, wallet, seedT0, seedT0.Add(time.Hour)).Scan(&closed); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO paper_fills (position_id, scope, ts, side, qty, observed_px, px, fee, reason) VALUES
			($1, 'telegram:7', $3, 'buy', 0.25, 1999, 2000, 0.225, 'entry'),
			($2, 'telegram:7', $4, 'buy', 0.01, 38990, 39000, 0.18, 'take_profit')`, open, closed, seedT0, seedT0.Add(time.Hour)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO paper_equity (scope, ts, equity) VALUES ('telegram:7', $1, 10000),
			('telegram:7', $2, 10025), ('telegram:7', $3, 10034.5)`, seedT0, seedT0.Add(time.Minute), seedT0.Add(time.Hour)); err != nil {
			return err
		}
		// One alert of the first signal, delivered 2 s after its event time.
		if _, err := tx.Exec(ctx, `UPDATE signals SET ts = now() - interval '2 seconds' WHERE id = $1`, decided); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO users (platform, user_id) VALUES ('telegram', '7') ON CONFLICT DO NOTHING`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO chats (platform, chat_id) VALUES ('telegram', '7')`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO alert_outbox (platform, chat_id, signal_id, reason, subscriber, state, due_at, delivered_at)
			SELECT 'telegram', '7', id, 'followed', 'user:7', 'delivered', ts, ts + interval '2 seconds' FROM signals WHERE id = $1`, decided)
		return err
	})
	return decided, plain
}
