package hyperliquid

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestLimiter(t *testing.T) {
	clk := &fakeClock{t: fixedNow()}
	l := newLimiter(1200, clk.now) // 20 a second, burst 1200
	steps := []struct {
		name    string
		advance time.Duration
		do      func() time.Duration
		want    time.Duration
	}{
		{"the burst is free", 0, func() time.Duration { return l.reserve(1200) }, 0},
		{"then a debt of 2 waits 100ms", 0, func() time.Duration { return l.reserve(2) }, 100 * time.Millisecond},
		{"the next waits behind it", 0, func() time.Duration { return l.reserve(20) }, 1100 * time.Millisecond},
		{"time pays the debt back", 1100 * time.Millisecond, func() time.Duration { return l.reserve(0) }, 0},
		{"a response charged afterwards delays the next", 0, func() time.Duration { l.charge(100); return l.reserve(2) }, 5100 * time.Millisecond},
		{"refill is capped at the burst", time.Hour, func() time.Duration { return l.reserve(1200) }, 0},
		{"429 empties the bucket", time.Hour, func() time.Duration { l.drain(); return l.reserve(20) }, time.Second},
	}
	for _, st := range steps {
		clk.advance(st.advance)
		if got := st.do(); got != st.want {
			t.Errorf("%s: wait %v, want %v", st.name, got, st.want)
		}
	}
}

func TestDedupe(t *testing.T) {
	d := newDedupe(3)
	steps := []struct {
		key  tradeKey
		want bool
	}{
		{tradeKey{"ETH", 1}, true},
		{tradeKey{"ETH", 1}, false},
		{tradeKey{"BTC", 1}, true}, // same id, other coin
		{tradeKey{"ETH", 2}, true},
		{tradeKey{"ETH", 3}, true}, // evicts ETH 1, the oldest
		{tradeKey{"BTC", 1}, false},
		{tradeKey{"ETH", 1}, true}, // forgotten: memory is bounded
	}
	for i, st := range steps {
		if got := d.add(st.key); got != st.want {
			t.Errorf("step %d add(%v) = %v, want %v", i, st.key, got, st.want)
		}
	}
	if len(d.seen) != 3 {
		t.Errorf("%d keys remembered, want 3", len(d.seen))
	}
}

func TestConfig(t *testing.T) {
	tests := map[string]struct {
		cfg     Config
		wantErr bool
	}{
		"zero value":       {Config{}, false},
		"coins":            {Config{Coins: []string{"ETH", "@107", "xyz:TSLA", "kPEPE"}}, false},
		"every mid":        {Config{MidCoins: []string{AllCoins}}, false},
		"bad coin":         {Config{Coins: []string{"ETH USD"}}, true},
		"star among coins": {Config{MidCoins: []string{"ETH", AllCoins}}, true},
		"http ws url":      {Config{WSURL: "http://x/ws"}, true},
		"ws info url":      {Config{InfoURL: "wss://x/info"}, true},
		"negative poll":    {Config{PollInterval: -time.Second}, true},
		"backoff order":    {Config{MinBackoff: time.Second, MaxBackoff: time.Millisecond}, true},
		"negative weight":  {Config{WeightPerMinute: -1}, true},
		"bad wallet":       {Config{Wallets: []string{"0x12"}}, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New: %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
		})
	}
	cfg, err := Config{Coins: []string{"ETH"}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ReadTimeout != DefaultPingInterval+30*time.Second || len(cfg.MidCoins) != 1 || cfg.WeightPerMinute != 1200 {
		t.Errorf("defaults: read timeout %v, mid coins %v, weight %d", cfg.ReadTimeout, cfg.MidCoins, cfg.WeightPerMinute)
	}
}

func TestTrack(t *testing.T) {
	src, err := New(Config{Wallets: []string{stateWallet}})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Track("0x12"); err == nil {
		t.Error("Track accepted a short address")
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				w := fmt.Sprintf("0x%040X", j) // the same 50 wallets from every goroutine, upper case
				if err := src.Track(w); err != nil {
					t.Errorf("goroutine %d: %v", i, err)
				}
			}
		}()
	}
	wg.Wait()
	got := src.Tracked()
	if len(got) != 51 || got[0] != stateWallet {
		t.Fatalf("%d tracked wallets (first %s), want %s and 50 more", len(got), got[0], stateWallet)
	}
	if len(src.pending) != 50 {
		t.Errorf("%d wallets to backfill, want the 50 tracked by Track (not the configured one)", len(src.pending))
	}
	for _, w := range got {
		if n, err := normalizeAddress(w); err != nil || n != w {
			t.Errorf("tracked wallet %s is not normalised", w)
		}
	}
}
