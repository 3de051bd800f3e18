package demo

import (
	"math"
	"math/rand/v2"
)

// The simulation uses only +, -, *, /, Sqrt, Floor, Ceil and Round on float64, each
// product converted explicitly (which forbids fused multiply-add), so a seed gives the
// same events on every platform. math/rand/v2's NormFloat64 uses Exp and Log in its
// tails, hence gauss below.

// gauss returns an approximately standard normal variate: the centred sum of four
// uniforms, scaled to unit variance. It is bounded by ±2√3, which keeps a price step
// from ever reaching zero.
func gauss(r *rand.Rand) float64 {
	s := r.Float64() + r.Float64() + r.Float64() + r.Float64()
	return float64((s - 2) * 1.7320508075688772)
}

// pricePath is a coin's mid price, generated ahead of the market so that skilled
// wallets can peek at it. buf is a ring: buf[(head+h)%len(buf)] is the mid h ticks
// after the current one, for 0 <= h < len(buf).
type pricePath struct {
	buf   []float64
	head  int
	sigma float64 // standard deviation of the return over one tick
	last  float64 // the newest generated mid
}

func newPricePath(start, sigma float64, ahead int, r *rand.Rand) *pricePath {
	p := &pricePath{buf: make([]float64, ahead+1), sigma: sigma, last: start}
	p.buf[0] = start
	for i := 1; i < len(p.buf); i++ {
		p.buf[i] = p.step(r)
	}
	return p
}

// step generates the next mid: a multiplicative random walk, the discrete form of
// geometric Brownian motion without drift.
func (p *pricePath) step(r *rand.Rand) float64 {
	p.last = float64(p.last * float64(1+float64(p.sigma*gauss(r))))
	return p.last
}

// mid returns the mid h ticks from now (0: the current tick).
func (p *pricePath) mid(h int) float64 { return p.buf[(p.head+h)%len(p.buf)] }

// advance moves to the next tick and generates the mid at the far end of the buffer.
func (p *pricePath) advance(r *rand.Rand) {
	p.buf[p.head] = p.step(r)
	p.head = (p.head + 1) % len(p.buf)
}

// horizon is the largest h mid accepts.
func (p *pricePath) horizon() int { return len(p.buf) - 1 }

// pow10 returns 10^n for 0 <= n <= 18 as an exact float64 (exact up to 10^22).
func pow10(n int32) float64 {
	v := 1.0
	for range n {
		v *= 10
	}
	return v
}

// ticksOf rounds a price to whole ticks (10^-dec), never below one tick.
func ticksOf(px float64, dec int32) int64 {
	return max(1, int64(math.Round(float64(px*pow10(dec)))))
}
