package binance_test

import (
	"maps"
	"testing"

	"github.com/coattailcapital/coattail/ingest/binance"
)

func TestWithCheckpoint(t *testing.T) {
	base := binance.Config{Symbols: []string{"ETH-USDT", "btcusdt"}}
	for name, tc := range map[string]struct {
		pos     string
		want    map[string]int64
		wantErr bool
	}{
		"no checkpoint":           {pos: "", want: nil},
		"both symbols":            {pos: `{"last_ids":{"ETH-USDT":7,"BTC-USDT":9}}`, want: map[string]int64{"ETH-USDT": 7, "BTC-USDT": 9}},
		"Binance's form":          {pos: `{"last_ids":{"ETHUSDT":7}}`, want: map[string]int64{"ETH-USDT": 7}},
		"no longer followed":      {pos: `{"last_ids":{"ETH-USDT":7,"SOL-USDT":3}}`, want: map[string]int64{"ETH-USDT": 7}},
		"nothing emitted yet":     {pos: `{"last_ids":{}}`, want: map[string]int64{}},
		"not JSON":                {pos: `{"last_ids":`, wantErr: true},
		"negative id":             {pos: `{"last_ids":{"ETH-USDT":-1}}`, wantErr: true},
		"unreadable symbol":       {pos: `{"last_ids":{"ETH_USDT":1}}`, wantErr: true},
		"id that is not a number": {pos: `{"last_ids":{"ETH-USDT":"7"}}`, wantErr: true},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := base.WithCheckpoint([]byte(tc.pos))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if err == nil && !maps.Equal(got.Resume, tc.want) {
				t.Errorf("Resume %v, want %v", got.Resume, tc.want)
			}
		})
	}
}

// A source's checkpoint, before anything is emitted, is where it was resumed from.
func TestCheckpointRoundTrip(t *testing.T) {
	cfg, err := binance.Config{Symbols: []string{"ETH-USDT", "BTC-USDT"}}.WithCheckpoint([]byte(`{"last_ids":{"ETH-USDT":41}}`))
	if err != nil {
		t.Fatal(err)
	}
	src, err := binance.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pos, err := src.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	again, err := cfg.WithCheckpoint(pos)
	if err != nil || !maps.Equal(again.Resume, map[string]int64{"ETH-USDT": 41}) {
		t.Errorf("checkpoint %s read back as %v (%v), want ETH-USDT 41", pos, again.Resume, err)
	}
}
