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

func TestRetry(t *testing.T) {
	stop := errors.New("refused")
	tests := []struct {
		name     string
		attempts []Attempt
		errs     []error
		want     error
		waits    []time.Duration // the waits Retry announced, in order
	}{
		{"permanent ends it with the wrapped error", []Attempt{{}, {}}, []error{errors.New("x"), &Permanent{Err: stop}}, stop, []time.Duration{time.Millisecond}},
		{"progress resets, now does not wait", []Attempt{{}, {}, {Progress: true}, {Now: true}, {}},
			[]error{errors.New("a"), errors.New("b"), errors.New("c"), nil, &Permanent{Err: stop}}, stop,
			[]time.Duration{time.Millisecond, 2 * time.Millisecond, time.Millisecond, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Backoff{Min: time.Millisecond, Max: 2 * time.Millisecond, Jitter: Equal}
			i := 0
			var waits []time.Duration
			err := b.Retry(context.Background(), func(context.Context) (Attempt, error) {
				a, e := tt.attempts[i], tt.errs[i]
				i++
				return a, e
			}, func(_ Attempt, _ error, w time.Duration) { waits = append(waits, w) })
			if !errors.Is(err, tt.want) || i != len(tt.attempts) {
				t.Fatalf("Retry = %v after %d attempts, want %v after %d", err, i, tt.want, len(tt.attempts))
			}
			if len(waits) != len(tt.waits) {
				t.Fatalf("waits %v, want %v", waits, tt.waits)
			}
			for j := range waits { // Equal jitter: within [ceiling/2, ceiling]
				if waits[j] > tt.waits[j] || waits[j] < tt.waits[j]/2 {
					t.Fatalf("wait %d = %v, want within [%v, %v]", j, waits[j], tt.waits[j]/2, tt.waits[j])
				}
			}
		})
	}
}

func TestRetryEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	b := Backoff{Min: time.Hour, Max: time.Hour}
	err := b.Retry(ctx, func(context.Context) (Attempt, error) { cancel(); return Attempt{}, errors.New("lost") }, nil)
	if err != nil {
		t.Fatalf("Retry after cancel = %v, want nil", err)
	}
}
