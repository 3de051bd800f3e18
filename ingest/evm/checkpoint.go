package evm

import (
	"encoding/json"
	"fmt"
)

// position is the stored checkpoint: {"last_block": N}.
type position struct {
	LastBlock uint64 `json:"last_block"`
}

// Checkpoint implements ingest.Checkpointer: the last block whose events were all
// emitted (and whose emit calls returned). Before that is known it returns nil, which
// is not saved.
func (s *Source) Checkpoint() ([]byte, error) {
	last := s.LastBlock()
	if last == 0 {
		return nil, nil
	}
	return json.Marshal(position{LastBlock: last})
}

// WithCheckpoint returns c resuming after a stored checkpoint: FromBlock becomes
// last_block+1, unless FromBlock is set explicitly (a deliberate backfill wins). An
// empty pos changes nothing.
func (c Config) WithCheckpoint(pos []byte) (Config, error) {
	if len(pos) == 0 {
		return c, nil
	}
	var p position
	if err := json.Unmarshal(pos, &p); err != nil {
		return c, fmt.Errorf("evm checkpoint: %w", err)
	}
	if c.FromBlock == 0 && p.LastBlock > 0 {
		c.FromBlock = p.LastBlock + 1
	}
	return c, nil
}
