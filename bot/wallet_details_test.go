package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// /wallet on the real store shows the alpha score, the whale profile and the latest
// signalled moves beside the PnL and positions.
func TestWalletShowsScoreProfileAndMoves(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	const w = "0x51f63885534cb494f4592a0311551f369bff2b39"
	asOf := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		if err := store.UpsertPositions(ctx, tx, []store.PositionRow{{PositionKey: store.PositionKey{Wallet: w, Coin: "ETH"},
			Size: decimal.NewFromInt(2), EntryPx: decimal.NewFromInt(3000), N: 3, UpdatedAt: asOf}}); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO wallet_profiles (wallet, volume_usd, trades, avg_size_usd, largest_usd,
			coins, first_seen, last_seen, style, buy_share, max_trades_per_minute, bot_high_frequency, bot_market_maker, state)
			VALUES ($1, 250000, 12, 20833, 90000, '{ETH}', $2, $2, 'swing', 0.6, 2, false, false, '{}')`, w, asOf); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO signals (dedup_key, rule, wallet, coin, side, action, usd, price, confidence, ts)
			VALUES ('k1', 'followed_move', $1, 'ETH', 'long', 'open', 6000, 3000, 0.5, $2)`, w, asOf)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveScoreRun(ctx, store.ScoreRun{Window: "all", AsOf: asOf},
		[]store.WalletScore{{Wallet: w, Rank: 1, Score: 0.21, LCB: 0.12, N: 40, Eligible: true}}); err != nil {
		t.Fatal(err)
	}
	r, err := bot.NewRouter(bot.Config{Reader: st, Now: func() time.Time { return asOf.Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	rep := r.Handle(ctx, bot.Request{Platform: "console", UserID: "u", ChatID: "c", Text: "/wallet " + w})
	text := rep.String()
	for _, want := range []string{"Alpha: #1, score +0.120 (skill +0.210 over 40 decisions", "Profile: swing, $250,000 volume over 12 trades",
		"Latest moves:", "open long ETH $6,000", "PnL rank: #1", "Open positions: 1"} {
		if !strings.Contains(text, want) {
			t.Errorf("/wallet reply lacks %q:\n%s", want, text)
		}
	}
}
