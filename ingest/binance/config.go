package binance

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// Streams a Source can follow.
const (
	StreamAggTrade = "aggTrade" // aggregate trades; ids are written "a" + id
	StreamTrade    = "trade"    // raw trades; ids are written as given
)

// Defaults of Config.
const (
	DefaultBaseURL          = "wss://stream.binance.com:9443"
	DefaultRESTURL          = "https://api.binance.com"
	DefaultMaxConnAge       = 23 * time.Hour
	DefaultReadTimeout      = time.Minute
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultBackoffMin       = 500 * time.Millisecond
	DefaultBackoffMax       = time.Minute
	DefaultBackfillPages    = 10
	DefaultBackfillLimit    = 1000
	DefaultBackfillTimeout  = 30 * time.Second
)

// maxStreams is Binance's limit of streams on one connection.
const maxStreams = 1024

// Config configures a Source. The zero value of every field but Symbols means its
// default.
type Config struct {
	// BaseURL is the websocket base; the source connects to BaseURL +
	// "/stream?streams=...". Defaults to wss://stream.binance.com:9443.
	BaseURL string
	// RESTURL is the REST base used to backfill gaps. Defaults to
	// https://api.binance.com.
	RESTURL string
	// Symbols to follow, as BASE-QUOTE (ETH-USDT) or in Binance's form (ETHUSDT, any
	// case); the latter is split by the known quote assets. Required, at most 1024.
	Symbols []string
	// Stream is StreamAggTrade or StreamTrade. Defaults to StreamAggTrade.
	Stream string
	// Resume holds the last emitted id per symbol (as returned by LastIDs, keyed by
	// BASE-QUOTE or Binance symbol) from a checkpoint: the first connection backfills
	// from there instead of starting at the live edge.
	Resume map[string]int64
	// MaxConnAge is how long one connection is used before the source reconnects by
	// itself (Binance cuts connections at 24 h); the reconnect is backfilled like any
	// other. Defaults to 23 h.
	MaxConnAge time.Duration
	// ReadTimeout is how long the connection may stay silent (no frame, ping or pong)
	// before it is considered dead. Binance pings every 20 s. Defaults to 1 min.
	ReadTimeout time.Duration
	// HandshakeTimeout bounds the websocket handshake. Defaults to 10 s.
	HandshakeTimeout time.Duration
	// BackoffMin and BackoffMax bound the exponential backoff, with full jitter,
	// between reconnects after a failure. Default to 500 ms and 1 min.
	BackoffMin, BackoffMax time.Duration
	// BackfillPages is the most REST requests spent on one gap of one symbol.
	// Defaults to 10.
	BackfillPages int
	// BackfillLimit is the page size of the REST requests (Binance allows 1000).
	// Defaults to 1000.
	BackfillLimit int
	// BackfillTimeout bounds the whole backfill of one gap. Defaults to 30 s.
	BackfillTimeout time.Duration
	// HTTPClient makes the REST requests. Defaults to a client of the source's own
	// (a clone of http.DefaultTransport, idle connections closed when Run returns)
	// with a 10 s timeout.
	HTTPClient *http.Client
	// Dialer opens the websocket. Defaults to a dialer with HandshakeTimeout and the
	// proxy from the environment.
	Dialer *websocket.Dialer
	// Logger receives connection and gap reports. Defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock for the data-quality rules (future timestamps). Defaults to
	// time.Now.
	Now func() time.Time
}

// symbol is one followed market.
type symbol struct {
	wire string // Binance's form, BTCUSDT
	name string // BASE-QUOTE, BTC-USDT
}

func (c Config) withDefaults() (Config, []symbol, error) {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.RESTURL == "" {
		c.RESTURL = DefaultRESTURL
	}
	if c.Stream == "" {
		c.Stream = StreamAggTrade
	}
	if c.MaxConnAge == 0 {
		c.MaxConnAge = DefaultMaxConnAge
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
	if c.BackfillPages == 0 {
		c.BackfillPages = DefaultBackfillPages
	}
	if c.BackfillLimit == 0 {
		c.BackfillLimit = DefaultBackfillLimit
	}
	if c.BackfillTimeout == 0 {
		c.BackfillTimeout = DefaultBackfillTimeout
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
	if c.Stream != StreamAggTrade && c.Stream != StreamTrade {
		errs = append(errs, fmt.Errorf("stream %q: want %q or %q", c.Stream, StreamAggTrade, StreamTrade))
	}
	for _, u := range []struct{ name, v, scheme1, scheme2 string }{
		{"base URL", c.BaseURL, "ws", "wss"},
		{"REST URL", c.RESTURL, "http", "https"},
	} {
		p, err := url.Parse(u.v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", u.name, err))
		} else if (p.Scheme != u.scheme1 && p.Scheme != u.scheme2) || p.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q: want %s:// or %s:// and a host", u.name, u.v, u.scheme1, u.scheme2))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"max connection age", c.MaxConnAge}, {"read timeout", c.ReadTimeout},
		{"handshake timeout", c.HandshakeTimeout}, {"minimum backoff", c.BackoffMin},
		{"maximum backoff", c.BackoffMax}, {"backfill timeout", c.BackfillTimeout},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %v: negative", d.name, d.v))
		}
	}
	if c.BackoffMax < c.BackoffMin {
		errs = append(errs, fmt.Errorf("maximum backoff %v is below the minimum %v", c.BackoffMax, c.BackoffMin))
	}
	if c.BackfillPages < 0 {
		errs = append(errs, fmt.Errorf("backfill pages %d: negative", c.BackfillPages))
	}
	if c.BackfillLimit < 0 || c.BackfillLimit > DefaultBackfillLimit {
		errs = append(errs, fmt.Errorf("backfill limit %d: want 1..%d", c.BackfillLimit, DefaultBackfillLimit))
	}

	if len(c.Symbols) == 0 {
		errs = append(errs, errors.New("no symbols"))
	}
	if len(c.Symbols) > maxStreams {
		errs = append(errs, fmt.Errorf("%d symbols: at most %d fit one connection", len(c.Symbols), maxStreams))
	}
	syms := make([]symbol, 0, len(c.Symbols))
	seen := map[string]bool{}
	for _, s := range c.Symbols {
		sym, err := parseSymbol(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[sym.wire] {
			errs = append(errs, fmt.Errorf("symbol %q given twice", s))
			continue
		}
		seen[sym.wire] = true
		syms = append(syms, sym)
	}
	for k := range c.Resume {
		sym, err := parseSymbol(k)
		if err != nil {
			errs = append(errs, fmt.Errorf("resume: %w", err))
		} else if !seen[sym.wire] {
			errs = append(errs, fmt.Errorf("resume: symbol %q is not followed", k))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, nil, fmt.Errorf("binance config: %w", err)
	}
	return c, syms, nil
}

// parseSymbol reads a configured symbol: BASE-QUOTE or Binance's concatenated form.
func parseSymbol(s string) (symbol, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if base, quote, ok := strings.Cut(u, "-"); ok {
		if !isAlnum(base) || !isAlnum(quote) {
			return symbol{}, fmt.Errorf("symbol %q: want BASE-QUOTE of letters and digits", s)
		}
		return symbol{wire: base + quote, name: u}, nil
	}
	name := SplitSymbol(u)
	if name == "" {
		return symbol{}, fmt.Errorf("symbol %q: no known quote asset at its end; write it as BASE-QUOTE", s)
	}
	return symbol{wire: u, name: name}, nil
}

func isAlnum(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
