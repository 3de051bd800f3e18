package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/api"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"
)

const wallet = "0x51f63885534cb494f4592a0311551f369bff2b39"

func server(t *testing.T) *httptest.Server {
	t.Helper()
	st := testenv.Store(t)
	rdb, _ := testenv.Redis(t)
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		return store.UpsertPositions(ctx, tx, []store.PositionRow{{
			PositionKey: store.PositionKey{Wallet: wallet, Coin: "ETH"},
			Size:        decimal.RequireFromString("1"), EntryPx: decimal.RequireFromString("100"),
			RealizedPnl: decimal.RequireFromString("42"), Fees: decimal.RequireFromString("2"), N: 4,
			UpdatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		}})
	})
	if err != nil {
		t.Fatal(err)
	}
	// The leaderboard is the alpha board: a scoring run ranks the wallet.
	if _, err := st.SaveScoreRun(ctx, store.ScoreRun{Window: store.WindowAll, AsOf: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		[]store.WalletScore{{Wallet: wallet, Rank: 1, Score: 0.25, LCB: 0.125, N: 24, Eligible: true,
			Stats: store.ScoreStats{RealizedPnl: 42, Fees: 2, Trades: 24}}}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "coattail_test_total", Help: "t"})
	reg.MustRegister(c)
	c.Inc()
	srv := httptest.NewServer(api.New(api.Config{Store: st, Redis: rdb, Gatherer: reg}).Handler())
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEndpoints(t *testing.T) {
	srv := server(t)
	tests := []struct {
		path     string
		code     int
		contains string
	}{
		{"/healthz", 200, "ok"},
		{"/readyz", 200, `"postgres":"ok"`},
		{"/metrics", 200, "coattail_test_total 1"},
		{"/api/leaderboard?limit=5", 200, `"wallet":"` + wallet + `"`},
		{"/api/leaderboard?limit=0", 400, "limit must be"},
		{"/api/leaderboard?window=24h", 400, "window must be"},
		{"/api/leaderboard?window=7d", 200, "[]"},
		{"/api/leaderboard?as_of=2025-12-31T00:00:00Z", 200, "[]"},
		{"/api/leaderboard?as_of=yesterday", 400, "as_of must be"},
		{"/api/wallets/" + strings.ToUpper(wallet[2:4]) + "zz", 400, "40 hex digits"},
		{"/api/wallets/0x00000000000000000000000000000000000000dd", 404, "not seen"},
		{"/api/wallets/" + wallet, 200, `"realized_pnl":"42"`},
		{"/", 200, "Coat Tail Capital"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, body := get(t, srv.URL+tt.path)
			if code != tt.code || !strings.Contains(body, tt.contains) {
				t.Fatalf("GET %s = %d %q, want %d containing %q", tt.path, code, body, tt.code, tt.contains)
			}
		})
	}
}

func TestLeaderboardJSONShape(t *testing.T) {
	srv := server(t)
	_, body := get(t, srv.URL+"/api/leaderboard")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(body), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	for _, k := range []string{"rank", "wallet", "score", "n"} {
		if _, ok := rows[0][k]; !ok {
			t.Errorf("row lacks %q: %v", k, rows[0])
		}
	}
	// The score is the run's lower confidence bound; money stays a decimal string.
	if rows[0]["score"] != 0.125 || rows[0]["lcb"] != 0.125 || rows[0]["skill"] != 0.25 || rows[0]["realized_pnl"] != "42" {
		t.Errorf("row = %v, want score and lcb 0.125, skill 0.25, realized_pnl \"42\"", rows[0])
	}
}
