package hyperliquid

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/coattailcapital/coattail/ingest"
)

var _ ingest.Checkpointer = (*Source)(nil)

// TradeCursor is where the websocket trades of one coin stand: the time (Unix ms) of
// the latest trade delivered and the ids of the trades of that millisecond delivered
// so far. Hyperliquid's trade ids are not ordered, but its trade feed is in time
// order per coin, so a trade is covered by the cursor when it is older than Time, or
// of Time with an id in Tids.
type TradeCursor struct {
	Time int64    `json:"time"`
	Tids []uint64 `json:"tids"`
}

// covers reports whether the trade of time ms and id tid is behind the cursor. A time
// that is not an integer is not covered (it is rejected downstream).
func (c TradeCursor) covers(ms json.Number, tid uint64) bool {
	t, err := ms.Int64()
	if err != nil {
		return false
	}
	return t < c.Time || (t == c.Time && slices.Contains(c.Tids, tid))
}

// cursors are a Source's trade cursors, advanced by the sink once both fills of a
// trade have been emitted and read by Checkpoint from any goroutine.
type cursors struct {
	mu sync.Mutex
	m  map[string]TradeCursor
}

func newCursors(resume map[string]TradeCursor) *cursors {
	c := &cursors{m: make(map[string]TradeCursor, len(resume))}
	for coin, cur := range resume {
		c.m[coin] = TradeCursor{Time: cur.Time, Tids: slices.Clone(cur.Tids)}
	}
	return c
}

// advance records the delivery of trade tid of coin at ms. An older trade (the feed
// is in time order, so it is a resend) leaves the cursor where it is.
func (c *cursors) advance(coin string, ms int64, tid uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, ok := c.m[coin]
	switch {
	case !ok || ms > cur.Time:
		c.m[coin] = TradeCursor{Time: ms, Tids: []uint64{tid}}
	case ms == cur.Time && !slices.Contains(cur.Tids, tid):
		cur.Tids = append(cur.Tids, tid)
		c.m[coin] = cur
	}
}

// snapshot returns a deep copy of the cursors.
func (c *cursors) snapshot() map[string]TradeCursor {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]TradeCursor, len(c.m))
	for coin, cur := range c.m {
		out[coin] = TradeCursor{Time: cur.Time, Tids: slices.Clone(cur.Tids)}
	}
	return out
}

// checkpoint is the JSON form of a Source's position.
type checkpoint struct {
	Trades map[string]TradeCursor `json:"trades"`
}

// Checkpoint returns the source's position (ingest.Checkpointer): the cursor of the
// websocket trades of every coin, {"trades":{"ETH":{"time":1767878803001,"tids":[...]}}}.
// A trade enters it only once the emit of its second fill has returned. Wallet
// positions and fills are not part of it: a restart polls positions afresh and
// backfills tracked wallets' fills again, which the events' keys make harmless. Pass
// it back with Config.WithCheckpoint. Safe to call while Run runs.
func (s *Source) Checkpoint() ([]byte, error) {
	b, err := json.Marshal(checkpoint{Trades: s.cursors.snapshot()})
	if err != nil {
		return nil, fmt.Errorf("hyperliquid: encode checkpoint: %w", err)
	}
	return b, nil
}

// WithCheckpoint returns c with Resume set from pos, a value returned by
// Source.Checkpoint. An empty pos (no checkpoint yet) leaves c as it is.
func (c Config) WithCheckpoint(pos []byte) (Config, error) {
	if len(pos) == 0 {
		return c, nil
	}
	var cp checkpoint
	if err := json.Unmarshal(pos, &cp); err != nil {
		return c, fmt.Errorf("hyperliquid: read checkpoint: %w", err)
	}
	for coin, cur := range cp.Trades {
		if err := checkCoin(coin); err != nil {
			return c, fmt.Errorf("hyperliquid: read checkpoint: %w", err)
		}
		if cur.Time < 0 {
			return c, fmt.Errorf("hyperliquid: read checkpoint: coin %s: negative time %d", coin, cur.Time)
		}
	}
	c.Resume = cp.Trades
	return c, nil
}
