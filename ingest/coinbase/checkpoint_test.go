package coinbase_test

import (
	"testing"

	"github.com/coattailcapital/coattail/ingest"
	"github.com/coattailcapital/coattail/ingest/coinbase"
	"github.com/coattailcapital/coattail/ingest/sourcetest"
)

// resume applies a checkpoint to a configuration following BTC-USD and ETH-USD.
func resume(pos []byte) (map[string]int64, func() (ingest.Checkpointer, error), error) {
	cfg, err := coinbase.Config{ProductIDs: []string{"BTC-USD", "ETH-USD"}}.WithCheckpoint(pos)
	return cfg.Resume, func() (ingest.Checkpointer, error) { return coinbase.New(cfg) }, err
}

// Each checkpoint that is read is also where a source started from it stands.
func TestWithCheckpoint(t *testing.T) {
	sourcetest.ResumeCases(t, resume, map[string]sourcetest.ResumeCase{
		"no checkpoint":      {Pos: ""},
		"both products":      {Pos: `{"last_ids":{"BTC-USD":7,"ETH-USD":9}}`, Want: map[string]int64{"BTC-USD": 7, "ETH-USD": 9}},
		"no longer followed": {Pos: `{"last_ids":{"BTC-USD":7,"SOL-USD":3}}`, Want: map[string]int64{"BTC-USD": 7}},
		"not JSON":           {Pos: `[`, WantErr: true},
		"negative id":        {Pos: `{"last_ids":{"BTC-USD":-2}}`, WantErr: true},
	})
}
