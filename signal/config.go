package signal

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/jackc/pgx/v5"
)

// Config configures the signal stage. The zero value is usable.
type Config struct {
	// DedupWindow is the time bucket of the dedup key of followed_move and alpha_move:
	// the same rule, wallet, coin and action within one bucket fires once (the fills
	// of one order are one signal). Defaults to 1 minute.
	DedupWindow time.Duration
	// AlphaMinUSD is the smallest notional of an alpha_move. Defaults to 10,000.
	AlphaMinUSD float64
	// AlphaTopN and AlphaMinLCB: a wallet is high-alpha when its score's lower
	// confidence bound is above AlphaMinLCB, or when it is within the top N of the
	// latest run with a positive skill estimate. Default to 20 and 0.
	AlphaTopN   int
	AlphaMinLCB float64
	// ScoreWindow is the score_runs window read. Defaults to "all".
	ScoreWindow string
	// ConsensusK is how many high-alpha wallets make a consensus. Defaults to 3.
	ConsensusK int
	// ConsensusWindow is the consensus window. Defaults to 1 hour.
	ConsensusWindow time.Duration
	// ConsensusMinUSD is the smallest entry counted toward a consensus. Defaults to 1,000.
	ConsensusMinUSD float64
	// FollowedMinUSD is the smallest notional of a followed_move. Defaults to 0.
	FollowedMinUSD float64

	// OnSignals, if set, is called inside the batch's transaction with the signals
	// the batch newly inserted (never again for a replayed one): the alert outbox.
	OnSignals func(ctx context.Context, tx pgx.Tx, sigs []Stored) error
	// Consumers act inside the transaction after OnSignals (the paper trader).
	Consumers []Consumer
	// Context, if set, derives context signals (exchange flows, anomalies) from the
	// batch's events inside the transaction; they are deduplicated and passed on like
	// the others. The events are the batch's decoded events in stream order.
	Context func(ctx context.Context, tx pgx.Tx, evs []event.Event) ([]Signal, error)
	// ContextKinds are the kinds of event Context reads; empty: every kind. The stage
	// does not decode entries of kinds neither its rules nor Context read (trades,
	// half of a market's events, when Context is ExchangeFlows).
	ContextKinds []event.Kind
	// Committed, if set, is called after a batch committed, with its new signals
	// (metrics, latency measurement). It must not block.
	Committed func(sigs []Stored)
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.DedupWindow == 0 {
		c.DedupWindow = time.Minute
	}
	if c.AlphaMinUSD == 0 {
		c.AlphaMinUSD = 10000
	}
	if c.AlphaTopN == 0 {
		c.AlphaTopN = 20
	}
	if c.ScoreWindow == "" {
		c.ScoreWindow = "all"
	}
	if c.ConsensusK == 0 {
		c.ConsensusK = 3
	}
	if c.ConsensusWindow == 0 {
		c.ConsensusWindow = time.Hour
	}
	if c.ConsensusMinUSD == 0 {
		c.ConsensusMinUSD = 1000
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// highAlpha: the score's lower bound clears AlphaMinLCB, or the wallet is in the top
// AlphaTopN with a positive skill estimate. The rank alone is not enough: when every
// wallet loses after costs (a quiet market, a young leaderboard), the top N are still
// ranked, and their moves are not the moves of wallets with an edge.
func (c Config) highAlpha(sc scoreRow) bool {
	return sc.lcb > c.AlphaMinLCB || (sc.rank <= c.AlphaTopN && sc.score > 0)
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.DedupWindow < 0:
		return fmt.Errorf("signal dedup window %s: must be positive", c.DedupWindow)
	case c.ConsensusWindow < 0:
		return fmt.Errorf("signal consensus window %s: must be positive", c.ConsensusWindow)
	case c.ConsensusK < 2:
		return fmt.Errorf("signal consensus k %d: must be at least 2", c.ConsensusK)
	case c.AlphaTopN < 0 || c.AlphaMinUSD < 0 || c.ConsensusMinUSD < 0 || c.FollowedMinUSD < 0:
		return fmt.Errorf("signal thresholds must not be negative")
	}
	return nil
}
