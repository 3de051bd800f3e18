package coinbase_test

import (
	"maps"
	"testing"

	"github.com/coattailcapital/coattail/ingest/coinbase"
)

func TestWithCheckpoint(t *testing.T) {
	base := coinbase.Config{ProductIDs: []string{"BTC-USD", "ETH-USD"}}
	for name, tc := range map[string]struct {
		pos     string
		want    map[string]int64
		wantErr bool
	}{
		"no checkpoint":      {pos: "", want: nil},
		"both products":      {pos: `{"last_ids":{"BTC-USD":7,"ETH-USD":9}}`, want: map[string]int64{"BTC-USD": 7, "ETH-USD": 9}},
		"no longer followed": {pos: `{"last_ids":{"BTC-USD":7,"SOL-USD":3}}`, want: map[string]int64{"BTC-USD": 7}},
		"not JSON":           {pos: `[`, wantErr: true},
		"negative id":        {pos: `{"last_ids":{"BTC-USD":-2}}`, wantErr: true},
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
	cfg, err := coinbase.Config{ProductIDs: []string{"BTC-USD"}}.WithCheckpoint([]byte(`{"last_ids":{"BTC-USD":41}}`))
	if err != nil {
		t.Fatal(err)
	}
	src, err := coinbase.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pos, err := src.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	again, err := cfg.WithCheckpoint(pos)
	if err != nil || !maps.Equal(again.Resume, map[string]int64{"BTC-USD": 41}) {
		t.Errorf("checkpoint %s read back as %v (%v), want BTC-USD 41", pos, again.Resume, err)
	}
}
