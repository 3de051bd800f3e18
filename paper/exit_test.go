package paper

import (
	"testing"
	"time"
)

// TestExitLevels walks price paths through one position each: the first price at or
// through a level closes it, at that observed price less slippage.
func TestExitLevels(t *testing.T) {
	t0 := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	cfg := Config{SlippageBps: 10, FeeBps: 0.0001, StopLossPct: 0.05, TakeProfitPct: 0.10, TrailingPct: 0.03, MaxHold: time.Hour}.withDefaults()
	for _, tc := range []struct {
		name   string
		dir    int
		path   []float64
		want   string
		exitAt int // index into path of the closing price
		trail  float64
	}{
		{"long trailing after a rise", 1, []float64{100, 104, 108, 105, 104.7}, ExitTrailing, 4, 0.03},
		{"long gap through the stop", 1, []float64{100, 98, 90}, ExitStop, 2, 0},
		{"long take profit", 1, []float64{100, 105, 111}, ExitTake, 2, 0},
		{"short stop", -1, []float64{100, 103, 106}, ExitStop, 2, 0},
		{"short take profit", -1, []float64{100, 95, 89}, ExitTake, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cfg
			cfg.TrailingPct = tc.trail
			p := &Position{Dir: tc.dir, SizeUSD: 1000}
			cfg.fillEntry(p, tc.path[0], t0)
			for i, px := range tc.path[1:] {
				ts := t0.Add(time.Duration(i+1) * time.Minute)
				if why := cfg.exitReason(p, px, ts); why != "" {
					if why != tc.want || i+1 != tc.exitAt {
						t.Fatalf("closed by %s at price %d, want %s at %d", why, i+1, tc.want, tc.exitAt)
					}
					cfg.fillExit(p, px, ts, why)
					want := px * (1 - float64(tc.dir)*cfg.SlippageBps/1e4)
					if p.ExitPx != want {
						t.Errorf("exit px %v, want %v (observed %v less slippage)", p.ExitPx, want, px)
					}
					return
				}
				if float64(p.Dir)*(px-p.BestPx) > 0 {
					p.BestPx = px
				}
			}
			t.Fatalf("never closed, want %s", tc.want)
		})
	}
	p := &Position{Dir: 1, SizeUSD: 1000}
	cfg.fillEntry(p, 100, t0)
	if why := cfg.exitReason(p, 100.5, t0.Add(time.Hour)); why != ExitTime {
		t.Errorf("after MaxHold: %q, want %s", why, ExitTime)
	}
}
