package demo

import "math/bits"

// holding is one wallet's position in one coin, kept in exact integers: lots of
// 10^-szDec coin and a cost basis in lot×tick units (10^-(szDec+pxDec) USD).
type holding struct {
	lots int64 // signed position: long > 0, short < 0
	cost int64 // cost basis of |lots| at average cost, >= 0

	closeAt   int64 // tick at which the position is closed in full
	partialAt int64 // tick at which half of it is closed; 0: none
	lastTick  int64 // last tick with a fill, so a coin is traded once a tick at most
	watched   bool  // in the wallet's watch list (open, or closed but not yet observed flat)
}

// apply books a fill of q lots (q > 0) at px ticks, buying when buy is true, and
// returns the realised PnL of the fill in lot×tick units: zero for an opening fill,
// (exit - average entry) × size for a closing one, gross of fees. A fill must not
// reverse the position; callers close to flat and then open.
func (h *holding) apply(buy bool, q, px int64) (closedPnl int64) {
	signed := q
	if !buy {
		signed = -q
	}
	if h.lots == 0 || (h.lots > 0) == buy {
		h.lots += signed
		h.cost += q * px
		return 0
	}
	abs := h.lots
	if abs < 0 {
		abs = -abs
	}
	if q > abs {
		panic("demo: fill reverses a position") // a bug in the market, not bad input
	}
	released := h.cost
	if q < abs {
		released = mulDivRound(h.cost, q, abs)
	}
	if h.lots > 0 {
		closedPnl = q*px - released
	} else {
		closedPnl = released - q*px
	}
	h.lots += signed
	h.cost -= released
	return closedPnl
}

// mulDivRound returns a×b/c rounded half up, for 0 <= a, 0 <= b <= c, 0 < c, without
// overflowing the intermediate product.
func mulDivRound(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, r := bits.Div64(hi, lo, uint64(c)) // hi < c since a×b/c <= a
	if r >= uint64(c)-r {
		q++
	}
	return int64(q)
}

// divRound returns a/b rounded half away from zero, for b > 0.
func divRound(a, b int64) int64 {
	if a >= 0 {
		return (a + b/2) / b
	}
	return -((-a + b/2) / b)
}

// pow10i returns 10^n for 0 <= n <= 18.
func pow10i(n int32) int64 {
	v := int64(1)
	for range n {
		v *= 10
	}
	return v
}

// feeMicros returns the taker fee of a fill worth notional lot×tick units (d =
// szDec+pxDec decimals) in millionths of a USD: 0.035% of the notional, rounded.
func feeMicros(notional int64, d int32) int64 {
	// fee = notional × 10^-d × 35 × 10^-5 USD = notional × 35 × 10^(1-d) micro-USD.
	v := notional * 35
	if d <= 1 {
		return v * pow10i(1-d)
	}
	return divRound(v, pow10i(d-1))
}
