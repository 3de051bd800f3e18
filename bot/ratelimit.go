package bot

import (
	"sync"
	"time"
)

// RateLimit bounds how fast one user may send commands: a token bucket holding
// up to Commands tokens, refilled at Commands per Per. Each message costs one.
type RateLimit struct {
	// Commands is the burst size and the refill per Per. Defaults to 20; a
	// negative value turns rate limiting off.
	Commands int
	// Per is the refill period. Defaults to 10 seconds.
	Per time.Duration
}

// limiter is a set of per-key token buckets. Buckets that have refilled
// completely hold no information and are swept once the map grows.
type limiter struct {
	burst float64
	rate  float64 // tokens per second

	mu      sync.Mutex
	buckets map[string]*bucket
	sweepAt int // sweep when len(buckets) reaches this
}

type bucket struct {
	tokens float64
	last   time.Time
	warned bool // told to slow down since the last allowed message
}

const minSweep = 1024

func newLimiter(l RateLimit) *limiter {
	return &limiter{
		burst:   float64(l.Commands),
		rate:    float64(l.Commands) / l.Per.Seconds(),
		buckets: make(map[string]*bucket),
		sweepAt: minSweep,
	}
}

// allow takes a token for key at now. When there is none it returns how long
// until there is one, and warn is true only for the first refusal in a row, so a
// user hammering the bot is told once instead of being answered every time.
func (l *limiter) allow(key string, now time.Time) (ok bool, wait time.Duration, warn bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.sweepAt {
			l.sweep(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		b.warned = false
		return true, 0, false
	}
	wait = time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	warn = !b.warned
	b.warned = true
	return false, wait, warn
}

func (l *limiter) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.last); el > 0 { // a clock going backwards refills nothing
		b.tokens = min(l.burst, b.tokens+el.Seconds()*l.rate)
		b.last = now
	}
}

// sweep drops buckets that are full again; they would be recreated full.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
	l.sweepAt = max(minSweep, 2*len(l.buckets))
}
