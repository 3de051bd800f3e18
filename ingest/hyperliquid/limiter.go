package hyperliquid

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/coattailcapital/coattail/ingest/backoff"
)

// limiter is a token bucket of request weight, shared by every info request of a
// Source. It holds at most burst tokens and refills at perMinute a minute.
//
// A request takes its weight before it is sent; the bucket may go negative, and
// the request then waits until the debt is paid back, so waiters are served in the
// order they asked. Weight that is only known from the response (userFills costs
// more the more fills it returns) is charged afterwards, which delays the requests
// that follow. A 429 empties the bucket.
type limiter struct {
	mu     sync.Mutex
	now    func() time.Time
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func newLimiter(perMinute int, now func() time.Time) *limiter {
	return &limiter{
		now:    now,
		rate:   float64(perMinute) / 60,
		burst:  float64(perMinute),
		tokens: float64(perMinute),
		last:   now(),
	}
}

// refill adds the tokens earned since the last call. l.mu must be held.
func (l *limiter) refill() {
	now := l.now()
	if dt := now.Sub(l.last).Seconds(); dt > 0 {
		l.tokens = min(l.burst, l.tokens+dt*l.rate)
	}
	l.last = now
}

// reserve takes weight from the bucket and returns how long the caller must wait
// before sending.
func (l *limiter) reserve(weight int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill()
	l.tokens -= float64(weight)
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(math.Round(-l.tokens / l.rate * float64(time.Second)))
}

// wait reserves weight and sleeps until it may be spent. On cancellation the
// reserved weight is not given back: the request may as well have been sent.
func (l *limiter) wait(ctx context.Context, weight int) error {
	return backoff.Sleep(ctx, l.reserve(weight))
}

// charge takes weight learnt after the request (a response's size).
func (l *limiter) charge(weight int) {
	if weight <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill()
	l.tokens -= float64(weight)
}

// drain empties the bucket after the server said 429: the budget is spent, whatever
// this process counted (other clients on the same IP count too).
func (l *limiter) drain() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill()
	l.tokens = min(l.tokens, 0)
}
