package testenv

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// stateTable is one result table and the columns compared.
type stateTable struct{ name, cols string }

// stateTables lists the result tables and the columns compared: everything but the
// insertion timestamps (stream_checkpoints hold stream ids that differ run to run).
func stateTables() []stateTable {
	return []stateTable{
		{"events", "key, kind, src, ts, body"},
		{"positions", "wallet, coin, size, entry_px, realized_pnl, fees, n, unknown_basis, unknown_closes, mark_px, last_ts, last_delta, last_px, updated_at"},
		{"prices", "symbol, price, ts, src, event_key"},
		{"dead_letters", "key, reason, detail, source, raw"},
		{"exchange_transfers", "event_key, ts, wallet, exchange, exchange_address, direction, token, symbol, amount, usd, tx, block"},
		// The windowed stage (migrations/007_windows.sql).
		{"price_bars", "venue, symbol, res, start, \"end\", open, high, low, close, open_ts, close_ts, volume, quote_volume, vwap, trades, ticks, late, final"},
		{"exchange_flows", "token, symbol, exchange, res, start, \"end\", shard, inflow, outflow, inflow_usd, outflow_usd, deposits, withdrawals, large_deposits, large_withdrawals, late, final"},
		{"anomalies", "id, kind, venue, symbol, ts, value, baseline, score, evidence"},
		{"wallet_profiles", "wallet, volume_usd, trades, avg_size_usd, largest_usd, typical_hold_seconds, coins, first_seen, last_seen, style, buy_share, max_trades_per_minute, bot_high_frequency, bot_market_maker, state"},
		// Signals and the alert outbox (migrations 009, 010): ids are serial, so rows
		// are compared by their dedup key; an alert is (chat, signal) — one row each,
		// never two, whatever crashed.
		{"signals", "dedup_key, rule, wallet, coin, side, action, usd, price, ts"},
		{"alert_outbox", "platform, chat_id, (SELECT dedup_key FROM signals s WHERE s.id = signal_id), reason, subscriber"},
	}
}

// StateChecksum returns "rows:md5" per result table (events, positions, prices,
// dead_letters, exchange_transfers and the windowed stage's tables), insertion timestamps excluded, so two runs can be compared.
func StateChecksum(t testing.TB, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tb := range stateTables() {
		var sum string
		q := `SELECT count(*)::text || ':' || coalesce(md5(string_agg(r::text, E'\n' ORDER BY r::text)), '')
			FROM (SELECT ` + tb.cols + ` FROM ` + tb.name + `) r`
		if err := pool.QueryRow(context.Background(), q).Scan(&sum); err != nil {
			t.Fatalf("checksum of %s: %v", tb.name, err)
		}
		out[tb.name] = sum
	}
	return out
}

// SameState fails the test (without stopping it) when two StateChecksum results
// differ, naming the tables; what names the run being compared.
func SameState(t testing.TB, what string, got, want map[string]string) {
	t.Helper()
	var diff []string
	for _, tb := range stateTables() {
		if got[tb.name] != want[tb.name] {
			diff = append(diff, fmt.Sprintf("%s: got %s, want %s", tb.name, got[tb.name], want[tb.name]))
		}
	}
	if len(diff) > 0 {
		t.Errorf("%s: state differs from an uninterrupted run:\n  %s", what, strings.Join(diff, "\n  "))
	}
}

// Reasons formats counts by reason as "a=1 b=2", sorted by reason, for messages.
func Reasons(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, m[k])
	}
	return strings.TrimSpace(b.String())
}
