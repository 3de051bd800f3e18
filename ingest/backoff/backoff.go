// Package backoff spaces out the retries of the ingest sources: jittered exponential
// waits between attempts, and a wait that ends early when its context does.
package backoff

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Jitter says how a wait is drawn below its ceiling, which doubles with every
// consecutive failure from Backoff.Min up to Backoff.Max.
type Jitter uint8

const (
	// Full draws the wait from [Min, ceiling]: the first retry waits exactly Min,
	// later ones anywhere from Min up. It spreads clients the most.
	Full Jitter = iota
	// Equal draws the wait from [ceiling/2, ceiling]: half fixed, half random, so
	// that clients cut off at once do not come back in step while the wait still
	// grows with every failure.
	Equal
)

// Backoff is exponential backoff with jitter: the n-th consecutive failure (from 0)
// waits at most Min×2ⁿ, capped at Max. Set Min and Max (Max ≥ Min) before the first
// Next; the zero value waits nothing. It is not safe for concurrent use.
type Backoff struct {
	Min, Max time.Duration
	Jitter   Jitter
	cur      time.Duration // ceiling of the next wait; 0 before the first
}

// Next returns the wait before the next attempt and doubles the ceiling.
func (b *Backoff) Next() time.Duration {
	if b.cur < b.Min {
		b.cur = b.Min
	}
	ceil := b.cur
	if b.cur < b.Max/2 {
		b.cur *= 2
	} else {
		b.cur = b.Max
	}
	if b.Jitter == Equal {
		if ceil <= 1 {
			return ceil
		}
		half := ceil / 2
		return half + rand.N(ceil-half+1)
	}
	if ceil <= b.Min {
		return b.Min
	}
	return b.Min + rand.N(ceil-b.Min+1)
}

// Reset starts over, after an attempt that worked.
func (b *Backoff) Reset() { b.cur = 0 }

// Sleep waits d or until ctx is done; it returns ctx's error then, else nil. A wait
// of zero or less returns at once, with ctx's error if it is done already.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Permanent marks an attempt's failure that retrying cannot fix (the pipeline refused
// an event, the venue refused the request itself): Retry returns its Err at once.
type Permanent struct{ Err error }

func (e *Permanent) Error() string { return e.Err.Error() }
func (e *Permanent) Unwrap() error { return e.Err }

// Attempt is what one attempt tells Retry besides its error.
type Attempt struct {
	// Progress: the attempt got somewhere (a connection delivered frames), so the
	// next wait starts again from Min.
	Progress bool
	// Now: retry at once, without waiting (a planned reconnect).
	Now bool
}

// Retry runs attempt until ctx is done (it returns nil) or an attempt fails with a
// *Permanent (it returns that error's Err). Between attempts it waits Next — from Min
// again after an attempt that made progress — unless the attempt asks to retry now;
// retrying, if set, is told about each retry and its wait first.
func (b *Backoff) Retry(ctx context.Context, attempt func(context.Context) (Attempt, error),
	retrying func(a Attempt, err error, wait time.Duration)) error {
	for {
		a, err := attempt(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if p := (*Permanent)(nil); errors.As(err, &p) {
			return p.Err
		}
		if a.Progress {
			b.Reset()
		}
		var wait time.Duration
		if !a.Now {
			wait = b.Next()
		}
		if retrying != nil {
			retrying(a, err, wait)
		}
		if Sleep(ctx, wait) != nil {
			return nil
		}
	}
}
