package coinbase

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/websocket"
)

// Defaults of Config.
const (
	DefaultURL              = "wss://advanced-trade-ws.coinbase.com"
	DefaultReadTimeout      = 30 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultBackoffMin       = 500 * time.Millisecond
	DefaultBackoffMax       = time.Minute
	DefaultDedupWindow      = 4096
)

// Config configures a Source. The zero value of every field but ProductIDs means its
// default.
type Config struct {
	// URL is the Advanced Trade market-data websocket. Defaults to
	// wss://advanced-trade-ws.coinbase.com.
	URL string
	// ProductIDs to follow, as Coinbase writes them (BTC-USD); they are the events'
	// symbols. Required.
	ProductIDs []string
	// Resume holds the highest trade id emitted per product (as returned by LastIDs)
	// from a checkpoint, so that the recent trades Coinbase replays on subscribing are
	// not emitted again.
	Resume map[string]int64
	// ReadTimeout is how long the connection may stay silent before it is considered
	// dead; the heartbeats channel sends a frame every second. Defaults to 30 s.
	ReadTimeout time.Duration
	// HandshakeTimeout bounds the websocket handshake. Defaults to 10 s.
	HandshakeTimeout time.Duration
	// BackoffMin and BackoffMax bound the exponential backoff, with full jitter,
	// between reconnects after a failure. Default to 500 ms and 1 min.
	BackoffMin, BackoffMax time.Duration
	// DedupWindow is how many trade ids below the highest one seen are remembered per
	// product, to drop replayed trades (rounded up to a multiple of 64). Defaults to
	// 4096, far more than the 100 trades of a subscription snapshot.
	DedupWindow int
	// Dialer opens the websocket. Defaults to a dialer with HandshakeTimeout and the
	// proxy from the environment.
	Dialer *websocket.Dialer
	// Logger receives connection and gap reports. Defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock for the data-quality rules (future timestamps). Defaults to
	// time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() (Config, error) {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = DefaultBackoffMin
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.DedupWindow == 0 {
		c.DedupWindow = DefaultDedupWindow
	}
	if c.Dialer == nil {
		c.Dialer = &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: c.HandshakeTimeout}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}

	var errs []error
	if u, err := url.Parse(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("URL: %w", err))
	} else if (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		errs = append(errs, fmt.Errorf("URL %q: want ws:// or wss:// and a host", c.URL))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"read timeout", c.ReadTimeout}, {"handshake timeout", c.HandshakeTimeout},
		{"minimum backoff", c.BackoffMin}, {"maximum backoff", c.BackoffMax},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %v: negative", d.name, d.v))
		}
	}
	if c.BackoffMax < c.BackoffMin {
		errs = append(errs, fmt.Errorf("maximum backoff %v is below the minimum %v", c.BackoffMax, c.BackoffMin))
	}
	if c.DedupWindow < 0 {
		errs = append(errs, fmt.Errorf("dedup window %d: negative", c.DedupWindow))
	}
	if len(c.ProductIDs) == 0 {
		errs = append(errs, errors.New("no product ids"))
	}
	seen := map[string]bool{}
	for _, p := range c.ProductIDs {
		switch {
		case !isProductID(p):
			errs = append(errs, fmt.Errorf("product id %q: want BASE-QUOTE in upper case (BTC-USD)", p))
		case seen[p]:
			errs = append(errs, fmt.Errorf("product id %q given twice", p))
		}
		seen[p] = true
	}
	for p, id := range c.Resume {
		if !seen[p] {
			errs = append(errs, fmt.Errorf("resume: product %q is not followed", p))
		}
		if id < 0 {
			errs = append(errs, fmt.Errorf("resume: product %q: negative trade id %d", p, id))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("coinbase config: %w", err)
	}
	c.DedupWindow = (c.DedupWindow + 63) / 64 * 64
	return c, nil
}

// isProductID reports whether p is upper-case letters and digits in dash-separated
// parts, at least two (BTC-USD, BTC-PERP-INTX), at most 64 bytes.
func isProductID(p string) bool {
	if len(p) == 0 || len(p) > 64 || p[0] == '-' || p[len(p)-1] == '-' {
		return false
	}
	dashes := 0
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '-':
			if p[i-1] == '-' {
				return false
			}
			dashes++
		case (c < 'A' || c > 'Z') && (c < '0' || c > '9'):
			return false
		}
	}
	return dashes > 0
}
