package coinbase

import (
	"slices"

	"github.com/coattailcapital/coattail/ingest"
	"github.com/coattailcapital/coattail/ingest/lastids"
)

var _ ingest.Checkpointer = (*Source)(nil)

// Checkpoint returns the source's position, {"last_ids":{"BTC-USD":123,...}}
// (ingest.Checkpointer; the format is package lastids'). A product's id is stored only
// once the emit (or reject) of its trade has returned. Pass it back with
// Config.WithCheckpoint. Safe to call while Run runs.
func (s *Source) Checkpoint() ([]byte, error) { return lastids.Encode("coinbase", s.LastIDs()) }

// WithCheckpoint returns c with Resume set from pos, a value returned by
// Source.Checkpoint, so that the trades Coinbase replays on subscribing are not
// emitted again. Set ProductIDs first: the positions of products no longer followed
// are dropped. An empty pos (no checkpoint yet) leaves c as it is.
func (c Config) WithCheckpoint(pos []byte) (Config, error) {
	resume, err := lastids.Decode("coinbase", "product", pos, func(p string) (string, bool, error) {
		return p, slices.Contains(c.ProductIDs, p), nil
	})
	if resume != nil { // nil: an error, or no checkpoint yet
		c.Resume = resume
	}
	return c, err
}
