package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	const ms = time.Millisecond
	tests := map[string]struct {
		b     Backoff
		ceils []time.Duration // ceiling of each consecutive wait
		floor func(ceil time.Duration) time.Duration
	}{
		"full jitter": {
			b:     Backoff{Min: 10 * ms, Max: 80 * ms},
			ceils: []time.Duration{10 * ms, 20 * ms, 40 * ms, 80 * ms, 80 * ms, 80 * ms},
			floor: func(time.Duration) time.Duration { return 10 * ms },
		},
		"full jitter, max not a power of two of min": {
			b:     Backoff{Min: 10 * ms, Max: 70 * ms},
			ceils: []time.Duration{10 * ms, 20 * ms, 40 * ms, 70 * ms, 70 * ms},
			floor: func(time.Duration) time.Duration { return 10 * ms },
		},
		"equal jitter": {
			b:     Backoff{Min: 100 * ms, Max: time.Second, Jitter: Equal},
			ceils: []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second, time.Second},
			floor: func(c time.Duration) time.Duration { return c / 2 },
		},
		"min equals max": {
			b:     Backoff{Min: 5 * ms, Max: 5 * ms, Jitter: Equal},
			ceils: []time.Duration{5 * ms, 5 * ms, 5 * ms},
			floor: func(c time.Duration) time.Duration { return c / 2 },
		},
		"zero": {
			ceils: []time.Duration{0, 0},
			floor: func(time.Duration) time.Duration { return 0 },
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for round := range 50 {
				b := tc.b
				for i, ceil := range tc.ceils {
					d := b.Next()
					if lo := tc.floor(ceil); d < lo || d > ceil {
						t.Fatalf("round %d, wait %d: %v outside [%v, %v]", round, i, d, lo, ceil)
					}
				}
			}
		})
	}
}

func TestFullJitterFirstWaitIsMin(t *testing.T) {
	b := Backoff{Min: 10 * time.Millisecond, Max: time.Second}
	if d := b.Next(); d != b.Min {
		t.Errorf("first wait %v, want %v", d, b.Min)
	}
	for range 5 {
		b.Next()
	}
	b.Reset()
	if d := b.Next(); d != b.Min {
		t.Errorf("after reset: %v, want %v", d, b.Min)
	}
}

func TestEqualJitterResets(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: 10 * time.Second, Jitter: Equal}
	for range 10 {
		b.Next()
	}
	b.Reset()
	if d := b.Next(); d < 50*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("after reset: %v, want within [50ms, 100ms]", d)
	}
}

func TestEqualJitterNeverOverCap(t *testing.T) {
	b := Backoff{Min: time.Millisecond, Max: time.Second, Jitter: Equal}
	for i := range 1000 {
		if d := b.Next(); d > b.Max {
			t.Fatalf("wait %d: %v over the cap %v", i, d, b.Max)
		}
	}
}

func TestSleep(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	tests := map[string]struct {
		ctx     context.Context
		d       time.Duration
		wantErr error
	}{
		"completes":           {live, time.Microsecond, nil},
		"zero":                {live, 0, nil},
		"negative":            {live, -time.Second, nil},
		"cancelled":           {done, time.Hour, context.Canceled},
		"zero, cancelled":     {done, 0, context.Canceled},
		"negative, cancelled": {done, -1, context.Canceled},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := Sleep(tc.ctx, tc.d); !errors.Is(err, tc.wantErr) {
				t.Errorf("Sleep = %v, want %v", err, tc.wantErr)
			}
		})
	}
}
