package alert

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/coattailcapital/coattail/bot"
)

var (
	_ bot.MarketReader = (*Store)(nil)
	_ bot.ChatRecorder = (*Store)(nil)
)

// Whales lists the wallets with the largest open positions, at the latest mark
// (the prices table, else the wallet's own mark, else the entry price).
func (s *Store) Whales(ctx context.Context, limit int) ([]bot.Whale, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT p.wallet,
			sum(abs(p.size) * coalesce(pr.price, p.mark_px, p.entry_px))::float8 AS notional,
			count(*) FILTER (WHERE p.size <> 0) AS open,
			sum(p.n) AS n
		FROM positions p LEFT JOIN prices pr ON pr.symbol = p.coin
		GROUP BY p.wallet
		HAVING count(*) FILTER (WHERE p.size <> 0) > 0
		ORDER BY notional DESC, p.wallet
		LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("whales: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (bot.Whale, error) {
		var w bot.Whale
		err := r.Scan(&w.Wallet, &w.Notional, &w.Positions, &w.N)
		return w, err
	})
}

// RecentSignals lists the latest signals, newest first; of one wallet when
// wallet is not "".
func (s *Store) RecentSignals(ctx context.Context, limit int, wallet string) ([]bot.SignalRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, rule, wallet, coin, side, action, usd, confidence, ts
		FROM signals WHERE ($2 = '' OR wallet = $2) ORDER BY ts DESC, id DESC LIMIT $1`, limit, wallet)
	if err != nil {
		return nil, fmt.Errorf("recent signals: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (bot.SignalRow, error) {
		var x bot.SignalRow
		err := r.Scan(&x.ID, &x.Rule, &x.Wallet, &x.Coin, &x.Side, &x.Action, &x.USD, &x.Confidence, &x.TS)
		return x, err
	})
}

// SeenChat records a user and the chat they wrote from, reactivating the chat
// if it had been deactivated (they unblocked the bot). A chat whose id is the
// user's own is the user's private chat; any other is a group or channel.
func (s *Store) SeenChat(ctx context.Context, platform, userID, chatID string) error {
	kind := "group"
	if chatID == userID {
		kind = "private"
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO users (platform, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, platform, userID)
	b.Queue(`INSERT INTO chats (platform, chat_id, kind) VALUES ($1, $2, $3)
		ON CONFLICT (platform, chat_id) DO UPDATE SET active = true, deactivated_at = NULL, deactivated_reason = ''
		WHERE chats.active = false`, platform, chatID, kind)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("record chat %s/%s: %w", platform, chatID, err)
	}
	return nil
}
