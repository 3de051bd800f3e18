// Package paper is the paper trader: when an admin enables it for a scope (global, a
// Telegram chat, a Discord server), the signals the risk gate approves open simulated
// positions at the next observed price plus slippage and fees; stop loss, take profit,
// trailing stop and time exit close them at the first price through their level (the
// observed price, so a gap fills worse than the stop); open positions are marked to
// market and the account keeps an equity curve, PnL, win rate, drawdown and exposure.
//
// The Trader runs inside the signal stage's transaction (it is a signal.Consumer):
// signals and prices reach it in the same commit as the stream position, so a crash or
// a replay neither loses nor repeats a simulated trade. Execution is behind the
// Executor interface so a live executor can sit behind the same gate.
package paper

import (
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/risk"
)

// GlobalScope is the scope of the account every signal may trade in.
const GlobalScope = "global"

// ValidScope reports whether s names a scope: "global", "telegram:<chat>" or
// "discord:<guild>".
func ValidScope(s string) error {
	if s == GlobalScope {
		return nil
	}
	p, id, ok := strings.Cut(s, ":")
	if !ok || id == "" || (p != "telegram" && p != "discord") || strings.ContainsAny(id, " \t\n") {
		return fmt.Errorf("paper scope %q: want global, telegram:<chat> or discord:<guild>", s)
	}
	return nil
}

// Config configures the paper trader. Zero values are defaults.
type Config struct {
	// StartingEquity of a new account, USD. Defaults to 10,000.
	StartingEquity float64
	// SlippageBps is paid on every fill against the observed price. Defaults to 5.
	SlippageBps float64
	// FeeBps is charged on every fill's notional. Defaults to 4.5.
	FeeBps float64
	// StopLossPct below (long) or above (short) the entry. Defaults to 0.05; negative: none.
	StopLossPct float64
	// TakeProfitPct above (long) or below (short) the entry. Defaults to 0.10; negative: none.
	TakeProfitPct float64
	// TrailingPct trails the best price since entry; 0: no trailing stop.
	TrailingPct float64
	// MaxHold closes a position held this long; 0 defaults to 24h, negative: never.
	MaxHold time.Duration
	// CloseOnWalletExit closes a position at the next price when the wallet it copied
	// closes (or flips) its own. Defaults to false.
	CloseOnWalletExit bool
	// Rules whose entry signals are traded. Defaults to alpha_move and consensus.
	Rules []string
	// VolHalfLife is the number of price ticks over which a coin's volatility estimate
	// halves its weight. Defaults to 50.
	VolHalfLife float64
	// MinVolTicks is how many ticks the volatility estimate needs before it is used.
	// Defaults to 20.
	MinVolTicks int64
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.StartingEquity == 0 {
		c.StartingEquity = 10000
	}
	if c.SlippageBps == 0 {
		c.SlippageBps = 5
	}
	if c.FeeBps == 0 {
		c.FeeBps = 4.5
	}
	if c.StopLossPct == 0 {
		c.StopLossPct = 0.05
	}
	if c.TakeProfitPct == 0 {
		c.TakeProfitPct = 0.10
	}
	if c.MaxHold == 0 {
		c.MaxHold = 24 * time.Hour
	}
	if len(c.Rules) == 0 {
		c.Rules = []string{"alpha_move", "consensus"}
	}
	if c.VolHalfLife == 0 {
		c.VolHalfLife = 50
	}
	if c.MinVolTicks == 0 {
		c.MinVolTicks = 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Order is an entry the risk gate approved.
type Order struct {
	Scope    string
	SignalID int64
	Wallet   string
	Coin     string
	Dir      int // +1 long, −1 short
	SizeUSD  float64
	SignalTS time.Time
}

// Executor carries out what the gate approved, for one batch of the signal stage: the
// gate asks it for the portfolio it judges against, hands it approved entries and the
// followed wallets' exits. The paper trader's batch session is one (in memory, written
// back with the batch); a live Hyperliquid executor would be another, behind the same
// gate, without touching the signal engine.
type Executor interface {
	// Portfolio is the scope's account as the gate sees it now.
	Portfolio(scope string) (risk.Portfolio, error)
	// Submit places an approved entry.
	Submit(o Order) error
	// Exit closes the scope's positions that copied wallet in coin.
	Exit(scope, wallet, coin string, at time.Time) error
}

// Position is a simulated position.
type Position struct {
	ID         int64      `json:"id"`
	Scope      string     `json:"scope"`
	SignalID   int64      `json:"signal_id"`
	Wallet     string     `json:"wallet"`
	Coin       string     `json:"coin"`
	Dir        int        `json:"dir"`
	Status     string     `json:"status"` // pending | open | closed
	SizeUSD    float64    `json:"size_usd"`
	Qty        float64    `json:"qty"`
	EntryPx    float64    `json:"entry_px"`
	SignalTS   time.Time  `json:"signal_ts"`
	OpenedAt   *time.Time `json:"opened_at,omitempty"`
	StopPx     float64    `json:"stop_px"`
	TakePx     float64    `json:"take_px"`
	TrailPct   float64    `json:"trail_pct"`
	BestPx     float64    `json:"best_px"`
	MarkPx     float64    `json:"mark_px"`
	MarkTS     *time.Time `json:"mark_ts,omitempty"`
	ExitAsked  bool       `json:"exit_asked"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
	ExitPx     float64    `json:"exit_px"`
	ExitReason string     `json:"exit_reason"`
	Fees       float64    `json:"fees"`
	PnL        float64    `json:"pnl"` // closed: net of both fees; open: unrealized less the entry fee
}

// Exit reasons.
const (
	ExitStop       = "stop_loss"
	ExitTrailing   = "trailing_stop"
	ExitTake       = "take_profit"
	ExitTime       = "time_exit"
	ExitWallet     = "wallet_exit"
	ExitNeverFills = "cancelled" // the wallet exited before the entry filled
)

// fillEntry opens a pending position at the observed price px (at ts): the fill
// price is px moved against the trader by the slippage; the fee is on the notional.
// It returns the entry fee.
func (c Config) fillEntry(p *Position, px float64, ts time.Time) float64 {
	fpx := px * (1 + float64(p.Dir)*c.SlippageBps/1e4)
	p.Qty = p.SizeUSD / fpx
	p.EntryPx = fpx
	fee := p.SizeUSD * c.FeeBps / 1e4
	p.Fees = fee
	p.Status = "open"
	t := ts
	p.OpenedAt = &t
	if c.StopLossPct > 0 {
		p.StopPx = fpx * (1 - float64(p.Dir)*c.StopLossPct)
	}
	if c.TakeProfitPct > 0 {
		p.TakePx = fpx * (1 + float64(p.Dir)*c.TakeProfitPct)
	}
	p.TrailPct = math.Max(c.TrailingPct, 0)
	p.BestPx = px
	p.MarkPx = px
	p.MarkTS = &t
	return fee
}

// exitReason says whether the observed price px at ts closes an open position, and
// why. The effective stop is the tighter of the stop loss and the trailing stop; a
// price at or through it closes the position first, then the take profit, then a
// wallet exit, then the time exit.
func (c Config) exitReason(p *Position, px float64, ts time.Time) string {
	d := float64(p.Dir)
	stop, why := p.StopPx, ExitStop
	if p.TrailPct > 0 {
		trail := p.BestPx * (1 - d*p.TrailPct)
		if stop == 0 || d*(trail-stop) > 0 {
			stop, why = trail, ExitTrailing
		}
	}
	switch {
	case stop > 0 && d*(px-stop) <= 0:
		return why
	case p.TakePx > 0 && d*(px-p.TakePx) >= 0:
		return ExitTake
	case p.ExitAsked:
		return ExitWallet
	case c.MaxHold > 0 && p.OpenedAt != nil && ts.Sub(*p.OpenedAt) >= c.MaxHold:
		return ExitTime
	}
	return ""
}

// fillExit closes an open position at the observed price px: the fill price is px
// moved against the trader by the slippage. It returns the realized PnL change of
// the account (price PnL less the exit fee; the entry fee was charged at entry).
func (c Config) fillExit(p *Position, px float64, ts time.Time, reason string) (realized, fee float64) {
	fpx := px * (1 - float64(p.Dir)*c.SlippageBps/1e4)
	fee = p.Qty * fpx * c.FeeBps / 1e4
	gross := float64(p.Dir) * p.Qty * (fpx - p.EntryPx)
	p.Fees += fee
	p.PnL = gross - p.Fees
	p.ExitPx = fpx
	p.ExitReason = reason
	p.Status = "closed"
	t := ts
	p.ClosedAt = &t
	p.MarkPx = px
	p.MarkTS = &t
	return gross - fee, fee
}

// unrealized is an open position's price PnL at its mark.
func (p *Position) unrealized() float64 {
	if p.Status != "open" {
		return 0
	}
	return float64(p.Dir) * p.Qty * (p.MarkPx - p.EntryPx)
}
