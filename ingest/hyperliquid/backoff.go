package hyperliquid

import (
	"math/rand/v2"
	"time"
)

// backoff is the wait before retry number attempt (0-based): exponential from lo,
// capped at hi, with "equal jitter" (half fixed, half random) so that many clients
// cut off at once do not come back in step, while the wait still grows.
func backoff(attempt int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(d-half)+1))
}
