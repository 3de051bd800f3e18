package store

import (
	"errors"
	"time"

	"github.com/shopspring/decimal"
)

// ErrNotFound is returned by lookups (Wallet) when nothing is known of the key.
var ErrNotFound = errors.New("not found")

// LeaderboardQuery selects a leaderboard page. Zero values are defaults.
type LeaderboardQuery struct {
	Limit  int    // rows per page. Defaults to 10; at most 1000.
	Offset int    // rows to skip. Defaults to 0.
	Window string // "" or "all" for all time; reserved for the alpha-scoring windows (24h, 7d, 30d).
}

// LeaderRow is one ranked wallet.
type LeaderRow struct {
	Rank          int             `json:"rank"`
	Wallet        string          `json:"wallet"`
	Score         decimal.Decimal `json:"score"` // the ranking measure: realized + unrealized PnL net of fees, in USD
	N             int64           `json:"n"`     // observations (fills and position changes) behind the score
	RealizedPnl   decimal.Decimal `json:"realized_pnl"`
	UnrealizedPnl decimal.Decimal `json:"unrealized_pnl"`
	Fees          decimal.Decimal `json:"fees"`
	LastSeen      time.Time       `json:"last_seen"`
}

// PositionView is one (wallet, coin) position as the book holds it.
type PositionView struct {
	Coin          string              `json:"coin"`
	Size          decimal.Decimal     `json:"size"` // signed: long > 0, short < 0
	EntryPx       decimal.Decimal     `json:"entry_px"`
	MarkPx        decimal.NullDecimal `json:"mark_px"` // latest known price of the coin, if any
	RealizedPnl   decimal.Decimal     `json:"realized_pnl"`
	UnrealizedPnl decimal.Decimal     `json:"unrealized_pnl"`
	Fees          decimal.Decimal     `json:"fees"`
	N             int64               `json:"n"`
	UnknownBasis  bool                `json:"unknown_basis"` // opened before the known history: cost basis unknown
	UpdatedAt     time.Time           `json:"updated_at"`
}

// WalletView is everything the book knows of one wallet.
type WalletView struct {
	Wallet        string          `json:"wallet"`
	RealizedPnl   decimal.Decimal `json:"realized_pnl"`
	UnrealizedPnl decimal.Decimal `json:"unrealized_pnl"`
	Fees          decimal.Decimal `json:"fees"`
	N             int64           `json:"n"`
	Rank          int             `json:"rank,omitempty"` // 0 when not ranked
	Positions     []PositionView  `json:"positions"`
	LastSeen      time.Time       `json:"last_seen"`
	ExchangeFlows ExchangeFlows   `json:"exchange_flows"` // transfers to and from exchange addresses
}
