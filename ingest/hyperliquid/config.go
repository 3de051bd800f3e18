package hyperliquid

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Defaults. The numbers that come from Hyperliquid are explained in the package
// documentation, with where they come from.
const (
	DefaultWSURL           = "wss://api.hyperliquid.xyz/ws"
	DefaultInfoURL         = "https://api.hyperliquid.xyz/info"
	DefaultPollInterval    = 30 * time.Second
	DefaultWeightPerMinute = 1200
	DefaultFillsPageLimit  = 2000
	DefaultPingInterval    = 50 * time.Second
	DefaultWriteTimeout    = 10 * time.Second
	DefaultDialTimeout     = 15 * time.Second
	DefaultMinBackoff      = 500 * time.Millisecond
	DefaultMaxBackoff      = 30 * time.Second
	DefaultDedupeSize      = 100_000
	DefaultMaxFrameBytes   = 16 << 20
	DefaultMaxBodyBytes    = 64 << 20
	DefaultHTTPTimeout     = 30 * time.Second
)

// AllCoins as the only element of Config.MidCoins turns every coin of an allMids
// message into a price event.
const AllCoins = "*"

// Config configures a Source. The zero value is usable: it tracks nothing until
// coins or wallets are given.
type Config struct {
	// WSURL is the websocket endpoint. Defaults to DefaultWSURL.
	WSURL string
	// InfoURL is the info endpoint (POST, JSON bodies). Defaults to DefaultInfoURL.
	InfoURL string

	// Coins are the markets whose public trades are subscribed ("ETH", "@107",
	// "xyz:TSLA"); every trade becomes two fills, one per side. Defaults to none.
	Coins []string
	// MidCoins are the coins whose mids (allMids) become price events; []string{AllCoins}
	// takes every coin of the message. Defaults to Coins. When it resolves to no coin,
	// allMids is not subscribed.
	MidCoins []string
	// Wallets are tracked from the start: their positions are polled. They are not
	// backfilled (they are taken to be known from an earlier run); call Track to
	// backfill a wallet's fills. Defaults to none.
	Wallets []string
	// Resume holds, per coin, the websocket trades delivered before a restart (as
	// returned in Source.Checkpoint; see Config.WithCheckpoint): trades of that coin
	// older than its cursor's time, or of that millisecond with a listed id, are
	// taken as delivered and dropped, so the recent trades a new subscription starts
	// with are not emitted again. Defaults to none.
	Resume map[string]TradeCursor

	// PollInterval is how often every tracked wallet's clearinghouseState is polled.
	// Each poll weighs 2, so at the default 1200 weight a minute and 30 s, about 300
	// wallets fit the budget with room for backfills. Defaults to DefaultPollInterval.
	PollInterval time.Duration
	// WeightPerMinute is the info API budget shared by every info request of this
	// source (Hyperliquid counts it per IP: lower it when other processes share the
	// address). Defaults to DefaultWeightPerMinute.
	WeightPerMinute int
	// FillsPageLimit is the most fills one userFills / userFillsByTime response
	// holds; a response that full is taken to be truncated and paged. Defaults to
	// DefaultFillsPageLimit (the API's).
	FillsPageLimit int
	// BackfillWindow is how far back before now Track pages a wallet's fills with
	// userFillsByTime once userFills came back full. Zero asks for everything the API
	// still holds (it keeps a wallet's 10,000 most recent fills); a negative value
	// stops at the one userFills page. Defaults to zero.
	BackfillWindow time.Duration

	// PingInterval is how often {"method":"ping"} is sent; the server closes a
	// connection that sent nothing for 60 s. Defaults to DefaultPingInterval.
	PingInterval time.Duration
	// ReadTimeout is how long a connection may stay silent (not even a pong) before
	// it is taken for dead and replaced. Defaults to PingInterval + 30 s.
	ReadTimeout time.Duration
	// WriteTimeout bounds each websocket write. Defaults to DefaultWriteTimeout.
	WriteTimeout time.Duration
	// DialTimeout bounds the websocket handshake. Defaults to DefaultDialTimeout.
	DialTimeout time.Duration
	// MinBackoff and MaxBackoff bound the jittered exponential backoff between
	// reconnects and between retries of info requests (429, 5xx, network errors).
	// Default to DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// DedupeSize is how many (coin, trade id) pairs are remembered to drop trades
	// the server sends again after a reconnect. Defaults to DefaultDedupeSize.
	DedupeSize int
	// MaxFrameBytes is the largest websocket message read. Defaults to
	// DefaultMaxFrameBytes.
	MaxFrameBytes int64
	// MaxBodyBytes is the largest info response read. Defaults to DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// HTTPClient makes the info requests. Defaults to a client with a
	// DefaultHTTPTimeout timeout.
	HTTPClient *http.Client
	// Now is the clock for event times: the receive time of prices, and of positions
	// whose response carries no time, and for the data-quality rules. Defaults to
	// time.Now. Waiting (backoff, rate limiting, heartbeats) uses real timers.
	Now func() time.Time
	// Logger receives connection and retry events. Defaults to discarding them.
	Logger *slog.Logger
}

// ErrConfig is returned (wrapped) by New for an invalid configuration.
var ErrConfig = errors.New("hyperliquid: invalid config")

// withDefaults returns c with the defaults filled in, or an error wrapping ErrConfig.
func (c Config) withDefaults() (Config, error) {
	if c.WSURL == "" {
		c.WSURL = DefaultWSURL
	}
	if c.InfoURL == "" {
		c.InfoURL = DefaultInfoURL
	}
	if u, err := url.Parse(c.WSURL); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") {
		return c, fmt.Errorf("%w: WSURL %q is not a ws:// or wss:// URL", ErrConfig, c.WSURL)
	}
	if u, err := url.Parse(c.InfoURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return c, fmt.Errorf("%w: InfoURL %q is not an http:// or https:// URL", ErrConfig, c.InfoURL)
	}
	setDur(&c.PollInterval, DefaultPollInterval)
	setDur(&c.PingInterval, DefaultPingInterval)
	setDur(&c.ReadTimeout, c.PingInterval+30*time.Second)
	setDur(&c.WriteTimeout, DefaultWriteTimeout)
	setDur(&c.DialTimeout, DefaultDialTimeout)
	setDur(&c.MinBackoff, DefaultMinBackoff)
	setDur(&c.MaxBackoff, DefaultMaxBackoff)
	if c.MaxBackoff < c.MinBackoff {
		return c, fmt.Errorf("%w: MaxBackoff %v < MinBackoff %v", ErrConfig, c.MaxBackoff, c.MinBackoff)
	}
	if c.WeightPerMinute == 0 {
		c.WeightPerMinute = DefaultWeightPerMinute
	}
	if c.FillsPageLimit == 0 {
		c.FillsPageLimit = DefaultFillsPageLimit
	}
	if c.DedupeSize == 0 {
		c.DedupeSize = DefaultDedupeSize
	}
	if c.MaxFrameBytes == 0 {
		c.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	for name, v := range map[string]int64{
		"WeightPerMinute": int64(c.WeightPerMinute), "FillsPageLimit": int64(c.FillsPageLimit),
		"DedupeSize": int64(c.DedupeSize), "MaxFrameBytes": c.MaxFrameBytes, "MaxBodyBytes": c.MaxBodyBytes,
	} {
		if v < 0 {
			return c, fmt.Errorf("%w: %s %d is negative", ErrConfig, name, v)
		}
	}
	for name, d := range map[string]time.Duration{
		"PollInterval": c.PollInterval, "PingInterval": c.PingInterval, "ReadTimeout": c.ReadTimeout,
		"WriteTimeout": c.WriteTimeout, "DialTimeout": c.DialTimeout, "MinBackoff": c.MinBackoff,
	} {
		if d < 0 {
			return c, fmt.Errorf("%w: %s %v is negative", ErrConfig, name, d)
		}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	for _, coin := range c.Coins {
		if err := checkCoin(coin); err != nil {
			return c, fmt.Errorf("%w: Coins: %w", ErrConfig, err)
		}
	}
	for _, coin := range c.MidCoins {
		if coin == AllCoins {
			if len(c.MidCoins) != 1 {
				return c, fmt.Errorf("%w: MidCoins: %q must be the only element", ErrConfig, AllCoins)
			}
			continue
		}
		if err := checkCoin(coin); err != nil {
			return c, fmt.Errorf("%w: MidCoins: %w", ErrConfig, err)
		}
	}
	if c.MidCoins == nil {
		c.MidCoins = c.Coins
	}
	return c, nil
}

func setDur(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

// checkCoin accepts the market symbols of the interchange format (1 to 64 of
// [A-Za-z0-9-_./:@]).
func checkCoin(coin string) error {
	if coin == "" || len(coin) > 64 {
		return fmt.Errorf("coin %q: want 1 to 64 characters", coin)
	}
	for i := 0; i < len(coin); i++ {
		c := coin[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == '/', c == ':', c == '@':
		default:
			return fmt.Errorf("coin %q: character %q outside [A-Za-z0-9-_./:@]", coin, c)
		}
	}
	return nil
}
