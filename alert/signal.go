// Package alert turns signals into chat messages that are delivered exactly once
// in the common case and at least once always: a durable outbox in Postgres,
// written in the signal's own transaction ([Enqueue]), and a [Dispatcher] that
// delivers it under the platforms' rate limits.
//
// # Delivery guarantee
//
// A row is claimed with a lease (FOR UPDATE SKIP LOCKED, then lease_until), sent,
// and marked delivered in Postgres as soon as the platform accepted it. A
// dispatcher that dies after claiming but before sending loses nothing: the lease
// runs out and another dispatcher (or the restarted one) sends it. The one window
// left is between the platform's "OK" and the Postgres commit that records it: a
// crash there (the process killed, the database unreachable for longer than the
// confirmation's retries) sends that one message again after the lease runs out.
// Telegram's Bot API has no idempotency key and no way to list what a bot sent, so
// the window cannot be closed from our side; it is narrowed by confirming each
// message on its own right after it is accepted, with a context that a shutdown
// does not cancel, and a message re-sent after an expired lease is marked
// "possibly a repeat" so the reader is not misled.
package alert

import (
	"encoding/json"
	"time"
)

// Signal rules, as the signal engine writes them into signals.rule.
const (
	RuleFollowedMove = "followed_move"
	RuleAlphaMove    = "alpha_move"
	RuleConsensus    = "consensus"
	RuleExchangeFlow = "exchange_flow"
	RuleAnomaly      = "anomaly"
)

// Rules lists the signal rules a user or channel may subscribe to.
var Rules = []string{RuleFollowedMove, RuleAlphaMove, RuleConsensus, RuleExchangeFlow, RuleAnomaly}

// Signal is one committed row of the signals table, as Enqueue needs it. ID must
// be the row's id: the outbox references it.
type Signal struct {
	ID         int64
	Rule       string
	Wallet     string // lowercase 0x address; "" for market-wide signals
	Coin       string
	Side       string // long | short | buy | sell | in | out
	Action     string // open | add | reduce | close | flip | ""
	USD        float64
	Price      float64
	Confidence float64
	TS         time.Time // event time of the action that fired it
	Evidence   json.RawMessage
}
