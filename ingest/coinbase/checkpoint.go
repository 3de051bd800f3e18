package coinbase

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/coattailcapital/coattail/ingest"
)

var _ ingest.Checkpointer = (*Source)(nil)

// checkpoint is the JSON form of a Source's position: the highest trade id emitted
// (or dead-lettered) per product.
type checkpoint struct {
	LastIDs map[string]int64 `json:"last_ids"`
}

// Checkpoint returns the source's position, {"last_ids":{"BTC-USD":123,...}}
// (ingest.Checkpointer). A product's id is stored only once the emit (or reject) of
// its trade has returned. Pass it back with Config.WithCheckpoint. Safe to call while
// Run runs.
func (s *Source) Checkpoint() ([]byte, error) {
	b, err := json.Marshal(checkpoint{LastIDs: s.LastIDs()})
	if err != nil {
		return nil, fmt.Errorf("coinbase: encode checkpoint: %w", err)
	}
	return b, nil
}

// WithCheckpoint returns c with Resume set from pos, a value returned by
// Source.Checkpoint, so that the trades Coinbase replays on subscribing are not
// emitted again. Set ProductIDs first: the positions of products no longer followed
// are dropped. An empty pos (no checkpoint yet) leaves c as it is.
func (c Config) WithCheckpoint(pos []byte) (Config, error) {
	if len(pos) == 0 {
		return c, nil
	}
	var cp checkpoint
	if err := json.Unmarshal(pos, &cp); err != nil {
		return c, fmt.Errorf("coinbase: read checkpoint: %w", err)
	}
	resume := make(map[string]int64, len(cp.LastIDs))
	for p, id := range cp.LastIDs {
		if id < 0 {
			return c, fmt.Errorf("coinbase: read checkpoint: product %s: negative trade id %d", p, id)
		}
		if slices.Contains(c.ProductIDs, p) {
			resume[p] = id
		}
	}
	c.Resume = resume
	return c, nil
}
