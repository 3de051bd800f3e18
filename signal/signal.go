// Package signal is the signal engine: a stream stage (consumer group "signals") that
// reads wallet events (fills, position observations, swaps) from the shard streams,
// keeps its own book per (wallet, coin) to tell what each event did (open, add,
// reduce, close, flip), and fires signals into the signals table (migration 009):
//
//   - followed_move: a wallet someone follows moved;
//   - alpha_move: a high-alpha wallet (latest score run of window 'all': ranked, and
//     lcb above a threshold or rank within the top N) moved at least a size threshold;
//   - consensus: k or more high-alpha wallets entered the same coin on the same side
//     within one window (fixed windows aligned to the Unix epoch).
//
// Every batch is one Postgres transaction: the epoch-fenced checkpoint, the stage's
// book, the actions, the signals (deduplicated by their dedup_key, so a replay or a
// restart never fires twice) and whatever the hooks (alert outbox, the paper trader)
// write. Consensus is counted in Postgres from signal_actions under a per-coin
// transaction lock, so shards committing at the same time see each other's actions and
// which windows fire does not depend on shard order or worker count.
package signal

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Group is the consumer group of the signal stage.
const Group = "signals"

// Rules, as stored in signals.rule.
const (
	RuleFollowed  = "followed_move"
	RuleAlpha     = "alpha_move"
	RuleConsensus = "consensus"
	RuleFlow      = "exchange_flow"
	RuleAnomaly   = "anomaly"
)

// Signal is one conclusion of the engine.
type Signal struct {
	DedupKey   string    `json:"dedup_key"`
	Rule       string    `json:"rule"`
	Wallet     string    `json:"wallet"`
	Coin       string    `json:"coin"`
	Side       string    `json:"side"`   // long|short, buy|sell, in|out
	Action     string    `json:"action"` // open|add|reduce|close|flip|""
	USD        float64   `json:"usd"`
	Price      float64   `json:"price"`
	Confidence float64   `json:"confidence"`
	TS         time.Time `json:"ts"` // event time of the action that fired it
	// Edge is the wallet's (for consensus: the participants' mean) alpha score, the
	// edge per trade the risk gate sizes by; 0 when unknown. Kept in evidence as "edge".
	Edge     float64        `json:"edge"`
	Evidence map[string]any `json:"evidence"`

	pos int // index of the causing entry in its batch (orders consumers' input)
}

// Stored is a signal as inserted, with its id.
type Stored struct {
	ID int64 `json:"id"`
	Signal
}

// Entry reports whether the signal is a move into a position (open, add, flip, or a
// consensus of entries): what a follower would copy.
func (s *Signal) Entry() bool {
	switch s.Action {
	case "open", "add", "flip":
		return true
	}
	return s.Rule == RuleConsensus
}

// Dir is +1 for a long (or buy) signal, −1 for a short (or sell), 0 otherwise.
func (s *Signal) Dir() int {
	switch s.Side {
	case "long", "buy":
		return 1
	case "short", "sell":
		return -1
	}
	return 0
}

// Tick is a price event the stage read: the paper trader fills, stops and marks by them.
type Tick struct {
	Coin string
	Px   float64
	TS   time.Time
}

// Step is one step of a batch as a Consumer sees it, in stream order: either the price
// ticks read before the next signals' causing entry, or the signals one entry fired.
type Step struct {
	Ticks   []Tick
	Signals []Stored
}

// Consumer acts on what the stage commits, inside the stage's transaction: the paper
// trader implements it. OnBatch gets the batch once, as steps in stream order: the
// signals are only those newly inserted by the batch, each step of signals preceded by
// the prices read before its causing entry, so a price seen before a signal never
// fills its order and one seen after it does. One call per batch lets a consumer read
// and write its state once per batch, not once per signal.
type Consumer interface {
	OnBatch(ctx context.Context, tx pgx.Tx, steps []Step) error
}
