package hyperliquid

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestCursorsAdvance(t *testing.T) {
	c := newCursors(map[string]TradeCursor{"BTC": {Time: 50, Tids: []uint64{1}}})
	steps := []struct {
		coin string
		ms   int64
		tid  uint64
	}{
		{"ETH", 10, 7}, // first trade of a coin
		{"ETH", 10, 3}, // same millisecond: added
		{"ETH", 10, 7}, // already there
		{"ETH", 9, 99}, // older (a resend): ignored
		{"BTC", 51, 2}, // newer: replaces
	}
	for _, s := range steps {
		c.advance(s.coin, s.ms, s.tid)
	}
	want := map[string]TradeCursor{"ETH": {Time: 10, Tids: []uint64{7, 3}}, "BTC": {Time: 51, Tids: []uint64{2}}}
	if got := c.snapshot(); !reflect.DeepEqual(got, want) {
		t.Errorf("cursors %+v, want %+v", got, want)
	}
}

func TestTradeCursorCovers(t *testing.T) {
	cur := TradeCursor{Time: 100, Tids: []uint64{5, 9}}
	for name, tc := range map[string]struct {
		ms   json.Number
		tid  uint64
		want bool
	}{
		"older":               {"99", 1, true},
		"same ms, delivered":  {"100", 9, true},
		"same ms, not yet":    {"100", 6, false},
		"newer":               {"101", 5, false},
		"time not an integer": {"100.5", 5, false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := cur.covers(tc.ms, tc.tid); got != tc.want {
				t.Errorf("covers(%s, %d) = %v, want %v", tc.ms, tc.tid, got, tc.want)
			}
		})
	}
}

func TestWithCheckpoint(t *testing.T) {
	for name, tc := range map[string]struct {
		pos     string
		want    map[string]TradeCursor
		wantErr bool
	}{
		"no checkpoint": {pos: "", want: nil},
		"cursors": {pos: `{"trades":{"ETH":{"time":10,"tids":[7,3]},"@107":{"time":4,"tids":[1]}}}`,
			want: map[string]TradeCursor{"ETH": {Time: 10, Tids: []uint64{7, 3}}, "@107": {Time: 4, Tids: []uint64{1}}}},
		"not JSON":      {pos: `{"trades":`, wantErr: true},
		"bad coin":      {pos: `{"trades":{"ETH USD":{"time":1,"tids":[]}}}`, wantErr: true},
		"negative time": {pos: `{"trades":{"ETH":{"time":-1,"tids":[]}}}`, wantErr: true},
		"negative tid":  {pos: `{"trades":{"ETH":{"time":1,"tids":[-1]}}}`, wantErr: true},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Config{Coins: []string{"ETH"}}.WithCheckpoint([]byte(tc.pos))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if err == nil && !reflect.DeepEqual(got.Resume, tc.want) {
				t.Errorf("Resume %+v, want %+v", got.Resume, tc.want)
			}
		})
	}
}

// A source's checkpoint, before any trade, is where it was resumed from.
func TestCheckpointRoundTrip(t *testing.T) {
	resume := map[string]TradeCursor{"ETH": {Time: 10, Tids: []uint64{7}}}
	src, err := New(Config{Coins: []string{"ETH"}, Resume: resume})
	if err != nil {
		t.Fatal(err)
	}
	pos, err := src.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Config{}.WithCheckpoint(pos)
	if err != nil || !reflect.DeepEqual(cfg.Resume, resume) {
		t.Errorf("checkpoint %s read back as %+v (%v), want %+v", pos, cfg.Resume, err, resume)
	}
}
