package binance

import (
	"github.com/coattailcapital/coattail/ingest"
	"github.com/coattailcapital/coattail/ingest/lastids"
)

var _ ingest.Checkpointer = (*Source)(nil)

// Checkpoint returns the source's position, {"last_ids":{"ETH-USDT":123,...}}
// (ingest.Checkpointer; the format is package lastids'). A symbol's id is stored only
// once the emit (or reject) of its trade has returned, so the position never covers a
// trade still being handed over. Pass it back with Config.WithCheckpoint. Safe to call
// while Run runs.
func (s *Source) Checkpoint() ([]byte, error) { return lastids.Encode("binance", s.LastIDs()) }

// WithCheckpoint returns c with Resume set from pos, a value returned by
// Source.Checkpoint: the first connection then backfills from REST what was traded
// since. Set Symbols first: the positions of symbols no longer followed are dropped
// (they would be stale by the time the symbol is followed again). An empty pos
// (no checkpoint yet) leaves c as it is.
func (c Config) WithCheckpoint(pos []byte) (Config, error) {
	followed := map[string]bool{}
	for _, s := range c.Symbols {
		if sym, err := parseSymbol(s); err == nil {
			followed[sym.wire] = true
		}
	}
	resume, err := lastids.Decode("binance", "symbol", pos, func(k string) (string, bool, error) {
		sym, err := parseSymbol(k)
		return sym.name, followed[sym.wire], err
	})
	if resume != nil { // nil: an error, or no checkpoint yet
		c.Resume = resume
	}
	return c, err
}
