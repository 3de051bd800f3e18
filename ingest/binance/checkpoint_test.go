package binance_test

import (
	"testing"

	"github.com/coattailcapital/coattail/ingest"
	"github.com/coattailcapital/coattail/ingest/binance"
	"github.com/coattailcapital/coattail/ingest/sourcetest"
)

// resume applies a checkpoint to a configuration following ETH-USDT and BTC-USDT.
func resume(pos []byte) (map[string]int64, func() (ingest.Checkpointer, error), error) {
	cfg, err := binance.Config{Symbols: []string{"ETH-USDT", "btcusdt"}}.WithCheckpoint(pos)
	return cfg.Resume, func() (ingest.Checkpointer, error) { return binance.New(cfg) }, err
}

// Each checkpoint that is read is also where a source started from it stands.
func TestWithCheckpoint(t *testing.T) {
	sourcetest.ResumeCases(t, resume, map[string]sourcetest.ResumeCase{
		"no checkpoint":           {Pos: ""},
		"both symbols":            {Pos: `{"last_ids":{"ETH-USDT":7,"BTC-USDT":9}}`, Want: map[string]int64{"ETH-USDT": 7, "BTC-USDT": 9}},
		"Binance's form":          {Pos: `{"last_ids":{"ETHUSDT":7}}`, Want: map[string]int64{"ETH-USDT": 7}},
		"no longer followed":      {Pos: `{"last_ids":{"ETH-USDT":7,"SOL-USDT":3}}`, Want: map[string]int64{"ETH-USDT": 7}},
		"nothing emitted yet":     {Pos: `{"last_ids":{}}`, Want: map[string]int64{}},
		"not JSON":                {Pos: `{"last_ids":`, WantErr: true},
		"negative id":             {Pos: `{"last_ids":{"ETH-USDT":-1}}`, WantErr: true},
		"unreadable symbol":       {Pos: `{"last_ids":{"ETH_USDT":1}}`, WantErr: true},
		"id that is not a number": {Pos: `{"last_ids":{"ETH-USDT":"7"}}`, WantErr: true},
	})
}
