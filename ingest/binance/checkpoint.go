package binance

import (
	"encoding/json"
	"fmt"

	"github.com/coattailcapital/coattail/ingest"
)

var _ ingest.Checkpointer = (*Source)(nil)

// checkpoint is the JSON form of a Source's position: the last trade id emitted (or
// dead-lettered) per BASE-QUOTE symbol.
type checkpoint struct {
	LastIDs map[string]int64 `json:"last_ids"`
}

// Checkpoint returns the source's position, {"last_ids":{"ETH-USDT":123,...}}
// (ingest.Checkpointer). A symbol's id is stored only once the emit (or reject) of
// its trade has returned, so the position never covers a trade still being handed
// over. Pass it back with Config.WithCheckpoint. Safe to call while Run runs.
func (s *Source) Checkpoint() ([]byte, error) {
	b, err := json.Marshal(checkpoint{LastIDs: s.LastIDs()})
	if err != nil {
		return nil, fmt.Errorf("binance: encode checkpoint: %w", err)
	}
	return b, nil
}

// WithCheckpoint returns c with Resume set from pos, a value returned by
// Source.Checkpoint: the first connection then backfills from REST what was traded
// since. Set Symbols first: the positions of symbols no longer followed are dropped
// (they would be stale by the time the symbol is followed again). An empty pos
// (no checkpoint yet) leaves c as it is.
func (c Config) WithCheckpoint(pos []byte) (Config, error) {
	if len(pos) == 0 {
		return c, nil
	}
	var cp checkpoint
	if err := json.Unmarshal(pos, &cp); err != nil {
		return c, fmt.Errorf("binance: read checkpoint: %w", err)
	}
	followed := map[string]bool{}
	for _, s := range c.Symbols {
		if sym, err := parseSymbol(s); err == nil {
			followed[sym.wire] = true
		}
	}
	resume := make(map[string]int64, len(cp.LastIDs))
	for k, id := range cp.LastIDs {
		sym, err := parseSymbol(k)
		if err != nil {
			return c, fmt.Errorf("binance: read checkpoint: %w", err)
		}
		if id < 0 {
			return c, fmt.Errorf("binance: read checkpoint: symbol %s: negative id %d", k, id)
		}
		if followed[sym.wire] {
			resume[sym.name] = id
		}
	}
	c.Resume = resume
	return c, nil
}
