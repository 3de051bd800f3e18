package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// markPrice is the price a position is marked at: the coin's own latest price (a
// `price` event for "ETH"), else its latest USD-quoted exchange price ("ETH-USDT",
// "ETH-USD", "ETH-USDC" from trades or klines), else the wallet's own last observed
// mark, else its entry (no move).
const markJoin = `
	LEFT JOIN prices pr ON pr.symbol = p.coin
	LEFT JOIN prices pt ON pt.symbol = p.coin || '-USDT'
	LEFT JOIN prices pu ON pu.symbol = p.coin || '-USD'
	LEFT JOIN prices pc ON pc.symbol = p.coin || '-USDC'`

const markPrice = `coalesce(pr.price, pt.price, pu.price, pc.price, p.mark_px)`

// walletTotals is the per-wallet aggregate behind the leaderboard. Unrealized PnL marks
// each open position with a known basis at its mark price; a position whose basis is
// unknown contributes nothing. The score is realized + unrealized PnL net of fees.
const walletTotals = `
	SELECT p.wallet,
		sum(p.realized_pnl) AS realized,
		sum(CASE WHEN p.unknown_basis OR p.size = 0 THEN 0
			ELSE p.size * (coalesce(` + markPrice + `, p.entry_px) - p.entry_px) END) AS unrealized,
		sum(p.fees) AS fees,
		sum(p.n) AS n,
		max(p.updated_at) AS last_seen
	FROM positions p` + markJoin

// notInfrastructure keeps out of the ranking every wallet that some label source
// classes as an exchange, a DEX contract, a bridge or an MEV bot (labels, 004): such an
// address moves other people's money, or trades without conviction, so its "PnL" says
// nothing about skill, and the ingest issue requires that it never appear as a whale.
// Its positions stay in the book and `wallet` still shows them, unranked. Funds,
// mixers, sanctioned and burn addresses are not excluded here: a fund is exactly the
// kind of wallet worth following, and the others are flagged by their own detectors.
// The lookup is by the labels primary key (address first), one probe per wallet.
const notInfrastructure = `NOT EXISTS (SELECT 1 FROM labels l WHERE l.address = p.wallet
		AND l.classes && ARRAY['exchange', 'dex', 'bridge', 'mev-bot']::text[])`

// scoreExpr is the score, from the same rounded parts that are shown beside it, so a
// row's score always equals its realized + unrealized - fees exactly.
const scoreExpr = `(round(realized, 8) + round(unrealized, 8) - round(fees, 8))`

// Leaderboard ranks wallets by score, best first; ties broken by wallet address.
// Exchange, DEX, bridge and MEV-bot addresses are left out (notInfrastructure).
func (s *Store) Leaderboard(ctx context.Context, q LeaderboardQuery) ([]LeaderRow, error) {
	if q.Limit <= 0 {
		q.Limit = 10
	}
	if q.Limit > 1000 {
		q.Limit = 1000
	}
	if q.Offset < 0 {
		q.Offset = 0
	}
	if q.Window != "" && q.Window != "all" {
		return nil, fmt.Errorf("leaderboard window %q: only \"all\" is available until alpha scoring lands", q.Window)
	}
	rows, err := s.pool.Query(ctx, `WITH w AS (`+walletTotals+` WHERE `+notInfrastructure+` GROUP BY p.wallet)
		SELECT wallet, `+scoreExpr+`::text, n, round(realized, 8)::text, round(unrealized, 8)::text, round(fees, 8)::text, last_seen
		FROM w ORDER BY `+scoreExpr+` DESC, wallet LIMIT $1 OFFSET $2`, q.Limit, q.Offset)
	if err != nil {
		return nil, fmt.Errorf("leaderboard: %w", err)
	}
	defer rows.Close()
	var out []LeaderRow
	for rows.Next() {
		var r LeaderRow
		var score, real, unreal, fees string
		if err := rows.Scan(&r.Wallet, &score, &r.N, &real, &unreal, &fees, &r.LastSeen); err != nil {
			return nil, fmt.Errorf("leaderboard: scan: %w", err)
		}
		r.Score, r.RealizedPnl, r.UnrealizedPnl, r.Fees = dec(score), dec(real), dec(unreal), dec(fees)
		r.Rank = q.Offset + len(out) + 1
		r.LastSeen = r.LastSeen.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("leaderboard: %w", err)
	}
	return out, nil
}

// Wallet returns the book's view of one wallet (address lower-case) and its exchange
// flows; ErrNotFound when the book has never seen it. Its rank is among the
// leaderboard's wallets, so an exchange, DEX, bridge or MEV-bot address has rank 0.
func (s *Store) Wallet(ctx context.Context, address string) (WalletView, error) {
	rows, err := s.pool.Query(ctx, `SELECT p.coin, p.size::text, round(p.entry_px, 10)::text, round(p.realized_pnl, 8)::text,
			round(p.fees, 8)::text, p.n, p.unknown_basis, `+markPrice+`::text, p.updated_at
		FROM positions p`+markJoin+`
		WHERE p.wallet = $1 ORDER BY p.coin`, address)
	if err != nil {
		return WalletView{}, fmt.Errorf("wallet %s: %w", address, err)
	}
	v := WalletView{Wallet: address, Positions: []PositionView{}}
	var coin, size, entry, real, fees string
	var mark *string
	var n int64
	var unknown bool
	var upd time.Time
	found := false
	_, err = pgx.ForEachRow(rows, []any{&coin, &size, &entry, &real, &fees, &n, &unknown, &mark, &upd}, func() error {
		found = true
		p := PositionView{Coin: coin, Size: dec(size), EntryPx: dec(entry), RealizedPnl: dec(real), Fees: dec(fees),
			N: n, UnknownBasis: unknown, UpdatedAt: upd.UTC()}
		if mark != nil {
			p.MarkPx = decimal.NewNullDecimal(dec(*mark))
			if !unknown && !p.Size.IsZero() {
				p.UnrealizedPnl = p.Size.Mul(p.MarkPx.Decimal.Sub(p.EntryPx)).Round(8)
			}
		}
		v.RealizedPnl = v.RealizedPnl.Add(p.RealizedPnl)
		v.UnrealizedPnl = v.UnrealizedPnl.Add(p.UnrealizedPnl)
		v.Fees = v.Fees.Add(p.Fees)
		v.N += p.N
		if p.UpdatedAt.After(v.LastSeen) {
			v.LastSeen = p.UpdatedAt
		}
		v.Positions = append(v.Positions, p)
		return nil
	})
	if err != nil {
		return WalletView{}, fmt.Errorf("wallet %s: %w", address, err)
	}
	if !found {
		return WalletView{}, fmt.Errorf("wallet %s: %w", address, ErrNotFound)
	}
	// Totals from the leaderboard's own aggregate, so the two always agree.
	var totReal, totUnreal, totFees string
	err = s.pool.QueryRow(ctx, `WITH w AS (`+walletTotals+` WHERE p.wallet = $1 GROUP BY p.wallet)
		SELECT round(realized, 8)::text, round(unrealized, 8)::text, round(fees, 8)::text FROM w`,
		address).Scan(&totReal, &totUnreal, &totFees)
	if err != nil {
		return WalletView{}, fmt.Errorf("wallet %s totals: %w", address, err)
	}
	v.RealizedPnl, v.UnrealizedPnl, v.Fees = dec(totReal), dec(totUnreal), dec(totFees)
	err = s.pool.QueryRow(ctx, `WITH w AS (`+walletTotals+` WHERE `+notInfrastructure+` GROUP BY p.wallet),
		me AS (SELECT `+scoreExpr+` AS score FROM w WHERE wallet = $1)
		SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM me) THEN 0 ELSE
			(SELECT count(*) + 1 FROM w, me WHERE `+scoreExpr+` > me.score OR (`+scoreExpr+` = me.score AND w.wallet < $1))
		END`,
		address).Scan(&v.Rank)
	if err != nil {
		return WalletView{}, fmt.Errorf("wallet %s rank: %w", address, err)
	}
	if v.ExchangeFlows, err = s.ExchangeFlows(ctx, address); err != nil {
		return WalletView{}, fmt.Errorf("wallet %s: %w", address, err)
	}
	return v, nil
}

func dec(s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero
	}
	return d
}

// MatchWallets returns up to limit known wallets (those with a row in the book) whose
// address starts with prefix and ends with suffix, in address order. It is how the
// bots resolve the abbreviated addresses their tables show ("0x2460…b286"). prefix is
// "0x" and lowercase hex digits, suffix lowercase hex digits.
func (s *Store) MatchWallets(ctx context.Context, prefix, suffix string, limit int) ([]string, error) {
	if !strings.HasPrefix(prefix, "0x") || !isLowerHex(prefix[2:]) || !isLowerHex(suffix) {
		return nil, fmt.Errorf("match wallets %q…%q: want 0x and lowercase hex digits", prefix, suffix)
	}
	// The range [prefix, next) is every address starting with prefix (hex digits sort
	// alike in every collation) and lets the book's primary key find them.
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT wallet FROM positions
		WHERE wallet >= $1 AND wallet < $2 AND right(wallet, $3) = $4
		ORDER BY wallet LIMIT $5`, prefix, nextHexPrefix(prefix), len(suffix), suffix, limit)
	if err != nil {
		return nil, fmt.Errorf("match wallets %s…%s: %w", prefix, suffix, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("match wallets %s…%s: %w", prefix, suffix, err)
	}
	return out, nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// nextHexPrefix is the smallest string above every string that starts with p ("0x"
// and hex digits): the last digit below f incremented, the f's after it dropped;
// "0y" when every digit is f.
func nextHexPrefix(p string) string {
	for i := len(p) - 1; i >= 2; i-- {
		switch c := p[i]; {
		case c == '9':
			return p[:i] + "a"
		case c != 'f':
			return p[:i] + string(c+1)
		}
	}
	return "0y"
}
