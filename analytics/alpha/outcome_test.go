package alpha

import (
	"errors"
	"math"
	"testing"
	"time"
)

// steps returns a series of coin X with the given prices one minute apart.
func steps(pxs ...float64) *Series {
	s := NewSeries()
	for i, p := range pxs {
		s.Add("X", epoch().Add(time.Duration(i)*time.Minute), p)
	}
	return s
}

func mustReturns(t *testing.T, cfg ReturnConfig, p Prices) *Returns {
	t.Helper()
	r, err := NewReturns(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestForwardReturns(t *testing.T) {
	min := time.Minute
	// 100 → 110 over two minutes, then 99, 121.
	prices := steps(100, 105, 110, 99, 121)
	long := Action{Wallet: "w", Coin: "X", TS: epoch().Add(30 * time.Second), Kind: KindOpen, Dir: 1, Size: 1, Px: 100}
	short := long
	short.Dir = -1
	tests := []struct {
		name string
		cfg  ReturnConfig
		a    Action
		want []float64 // per horizon; NaN: missing
	}{
		{"long, no cost, no benchmark", ReturnConfig{Horizons: []time.Duration{min, 2 * min, 10 * min}, CostBps: -1, Benchmark: BenchmarkNone, HoldFull: true},
			long, []float64{0.05, 0.10, math.NaN()}},
		{"short is the negative", ReturnConfig{Horizons: []time.Duration{min, 2 * min}, CostBps: -1, Benchmark: BenchmarkNone, HoldFull: true},
			short, []float64{-0.05, -0.10}},
		{"cost in bps", ReturnConfig{Horizons: []time.Duration{min}, CostBps: 20, Benchmark: BenchmarkNone, HoldFull: true},
			long, []float64{0.05 - 0.002}},
		{"delay", ReturnConfig{Horizons: []time.Duration{min}, CostBps: -1, Benchmark: BenchmarkNone, Delay: min, HoldFull: true},
			long, []float64{110.0/105 - 1}},
		// The drift of 100 → 121 over 4 minutes is 10% per 2 minutes.
		{"drift benchmark", ReturnConfig{Horizons: []time.Duration{2 * min}, CostBps: -1, HoldFull: true},
			long, []float64{0.10 - 0.10}},
		{"drift benchmark, short", ReturnConfig{Horizons: []time.Duration{2 * min}, CostBps: -1, HoldFull: true},
			short, []float64{-0.10 + 0.10}},
		{"the last price ends the series", ReturnConfig{Horizons: []time.Duration{4 * min}, CostBps: -1, Benchmark: BenchmarkNone, HoldFull: true},
			long, []float64{math.NaN()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustReturns(t, tt.cfg, prices)
			o := r.Outcomes([]Action{tt.a})[0]
			for h, w := range tt.want {
				if math.IsNaN(w) != math.IsNaN(o.Forward[h]) || !math.IsNaN(w) && !near(o.Forward[h], w, 1e-12) {
					t.Errorf("horizon %d: %v, want %v", h, o.Forward[h], w)
				}
			}
			for h := len(tt.want); h < MaxHorizons; h++ {
				if !math.IsNaN(o.Forward[h]) {
					t.Errorf("unconfigured horizon %d: %v", h, o.Forward[h])
				}
			}
			if !math.IsNaN(o.RoundTrip) {
				t.Errorf("an open has a round trip: %v", o.RoundTrip)
			}
		})
	}
}

func TestForwardFollowsExits(t *testing.T) {
	min := time.Minute
	prices := steps(100, 110, 120, 90, 80, 80)
	at := func(m int) time.Time { return epoch().Add(time.Duration(m) * min) }
	as := []Action{
		{Wallet: "w", Coin: "X", TS: at(0), Kind: KindOpen, Dir: 1, Size: 2, PosAfter: 2},
		// Someone else's close in the coin does not count.
		{Wallet: "v", Coin: "X", TS: at(1), Kind: KindClose, Dir: -1, Size: 2, PosBefore: 2, ClosedSize: 2},
		{Wallet: "w", Coin: "X", TS: at(1), Kind: KindAdd, Dir: 1, Size: 2, PosBefore: 2, PosAfter: 4},
		{Wallet: "w", Coin: "X", TS: at(2), Kind: KindReduce, Dir: -1, Size: 1, PosBefore: 4, PosAfter: 3, ClosedSize: 1},
		{Wallet: "w", Coin: "X", TS: at(3), Kind: KindClose, Dir: -1, Size: 3, PosBefore: 3, ClosedSize: 3},
	}
	r := mustReturns(t, ReturnConfig{Horizons: []time.Duration{2 * min, 10 * min}, CostBps: -1, Benchmark: BenchmarkNone}, prices)
	outs := r.Outcomes(as)
	// The open: a quarter comes off at 120 (minute 2), the rest at 90 (minute 3); over
	// two minutes, the rest is still held at minute 2 (120).
	if o := outs[0]; !near(o.Forward[0], 0.20, 1e-12) || o.Held[0] != 2*min {
		t.Errorf("open over 2m: %v held %s, want 0.20 over 2m", o.Forward[0], o.Held[0])
	}
	want := 0.25*0.20 + 0.75*(-0.10)
	if o := outs[0]; !near(o.Forward[1], want, 1e-12) || o.Held[1] != time.Duration(0.25*2*float64(min)+0.75*3*float64(min)) {
		t.Errorf("open over 10m: %v held %s, want %v", o.Forward[1], o.Held[1], want)
	}
	// The add at 110: the same shares come off.
	if o := outs[2]; !near(o.Forward[1], 0.25*(120.0/110-1)+0.75*(90.0/110-1), 1e-12) {
		t.Errorf("add over 10m: %v", o.Forward[1])
	}
	// An exit is measured over the whole horizon, signed by its side: the reduce sold
	// at 120 and the price was 80 two minutes later.
	if o := outs[3]; !near(o.Forward[0], -(80.0/120-1), 1e-12) || !math.IsNaN(o.Forward[1]) {
		t.Errorf("reduce: %v %v", o.Forward[0], o.Forward[1])
	}
	// Held to the horizon instead.
	r = mustReturns(t, ReturnConfig{Horizons: []time.Duration{2 * min}, CostBps: -1, Benchmark: BenchmarkNone, HoldFull: true}, prices)
	if o := r.Outcomes(as)[0]; !near(o.Forward[0], 0.20, 1e-12) {
		t.Errorf("held full: %v", o.Forward[0])
	}
	// An open still held when the prices end has no outcome; one closed before has one
	// even when the horizon reaches past the end.
	short := prices
	r = mustReturns(t, ReturnConfig{Horizons: []time.Duration{time.Hour}, CostBps: -1, Benchmark: BenchmarkNone}, short)
	outs = r.Outcomes(as[:3])
	if !math.IsNaN(outs[0].Forward[0]) {
		t.Errorf("open never closed: %v", outs[0].Forward[0])
	}
	outs = r.Outcomes(as)
	if math.IsNaN(outs[0].Forward[0]) {
		t.Error("open closed before the end has no outcome")
	}
}

func TestRoundTrip(t *testing.T) {
	prices := steps(100, 100, 100)
	as := roundTrip("w", "X", -1, 1000, epoch(), 100, epoch().Add(time.Minute), 95)
	r := mustReturns(t, ReturnConfig{Horizons: []time.Duration{time.Minute}, CostBps: 10}, prices)
	o := r.Outcomes(as)[1]
	if !near(o.RoundTrip, 0.05-0.001, 1e-12) || o.Hold != time.Minute {
		t.Errorf("short round trip: %v over %s, want 0.049 over 1m", o.RoundTrip, o.Hold)
	}
}

func TestZUnits(t *testing.T) {
	// A walk with 1% per minute: a 1-minute return of 1% is about one unit, a 4-minute
	// hold's 2% too.
	s := walk("X", 3, 20000, time.Minute, 0.01)
	r := mustReturns(t, ReturnConfig{Horizons: []time.Duration{time.Minute}, Benchmark: BenchmarkNone, CostBps: -1}, s)
	v := r.volOf("X")
	if perMin := v * math.Sqrt(float64(time.Minute)); !near(perMin, 0.01, 0.001) {
		t.Fatalf("volatility %v per minute, want 0.01", perMin)
	}
	if z := r.z("X", 0.02, 4*time.Minute); !near(z, 1, 0.1) {
		t.Errorf("z of 2%% over 4m = %v, want about 1", z)
	}
	// Shorter than MinHold (6s by default here) is judged over MinHold.
	if a, b := r.z("X", 0.01, time.Second), r.z("X", 0.01, 6*time.Second); a != b {
		t.Errorf("z over 1s %v, over MinHold %v", a, b)
	}
}

func TestReturnConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  ReturnConfig
	}{
		{"too many horizons", ReturnConfig{Horizons: make([]time.Duration, MaxHorizons+1)}},
		{"zero horizon", ReturnConfig{Horizons: []time.Duration{time.Hour, 0}}},
		{"NaN cost", ReturnConfig{CostBps: math.NaN()}},
		{"negative delay", ReturnConfig{Delay: -time.Second}},
		{"negative min hold", ReturnConfig{MinHold: -time.Second}},
		{"unknown benchmark", ReturnConfig{Benchmark: "market"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewReturns(tt.cfg, NewSeries()); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("err %v, want ErrInvalidConfig", err)
			}
		})
	}
}
