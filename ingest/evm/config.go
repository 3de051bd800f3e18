package evm

import (
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/url"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Defaults of Config.
const (
	DefaultChain               = "ethereum"
	DefaultNativeSymbol        = "ETH"
	DefaultConfirmations       = 12
	DefaultReorgDepth          = 128
	DefaultMaxRange            = 500
	DefaultPollInterval        = 4 * time.Second
	DefaultMetadataCacheSize   = 10_000
	DefaultMetadataConcurrency = 8
	DefaultRequestTimeout      = 30 * time.Second
	DefaultBackoffMin          = 500 * time.Millisecond
	DefaultBackoffMax          = 30 * time.Second
)

// AtHead as Config.Confirmations emits every block as soon as it is the head: reorgs
// then reach the output as retractions (see the package documentation).
const AtHead = -1

// maxMaxRange bounds Config.MaxRange; providers refuse far smaller ranges already.
const maxMaxRange = 100_000

// DefaultNativeMinWei returns the default Config.NativeMinWei, 10 ETH (1e19 wei).
func DefaultNativeMinWei() *big.Int {
	return new(big.Int).Mul(big.NewInt(10), big.NewInt(1e18))
}

// ErrConfig is returned (wrapped) by New for an invalid configuration.
var ErrConfig = errors.New("evm: invalid config")

// Config configures a Source. Exactly one of RPCURL and Client is required; every
// other field's zero value means its default.
type Config struct {
	// RPCURL is the node's JSON-RPC endpoint: ws:// or wss:// follows new heads by
	// subscription (eth_subscribe newHeads), http:// or https:// polls every
	// PollInterval. The source dials it when Run starts and closes it on return.
	RPCURL string
	// Client is an already connected client, used instead of RPCURL (tests pass the
	// client of go-ethereum's simulated backend). It is not closed by the source.
	// When it also implements HeadSubscriber the source subscribes to new heads, and
	// polls when it does not or when subscriptions are not supported.
	Client Client

	// Chain is the src of the events. Defaults to "ethereum".
	Chain string
	// NativeSymbol is the symbol of native-coin transfers. Defaults to "ETH".
	NativeSymbol string

	// Confirmations is how many blocks behind the head a block must be before it is
	// emitted; reorgs no deeper than that never reach the output. AtHead (-1) emits
	// at the head. Defaults to 12.
	Confirmations int
	// ReorgDepth is how many emitted blocks are remembered (hash and events) to
	// retract them when a reorg replaces them. Must exceed Confirmations. A reorg
	// deeper than this is logged as an error and only the remembered blocks are
	// retracted. Memory: about 1 KB per remembered event. Defaults to 128.
	ReorgDepth int
	// FromBlock is the first block to emit: a backfill start, or LastBlock()+1 of a
	// previous run to resume. 0 starts at the head minus Confirmations. Defaults to 0.
	FromBlock uint64
	// MaxRange is the most blocks asked of one eth_getLogs call (backfill, catching
	// up after a dropped subscription). Defaults to 500.
	MaxRange int
	// PollInterval is how often the head is polled when there is no subscription.
	// Defaults to 4 s.
	PollInterval time.Duration

	// NativeMinWei: native-coin transfers (a transaction's value, not internal
	// transfers) of at least this many wei are emitted. Zero disables them (and with
	// them the per-block fetch of full blocks and of the candidates' receipts). nil
	// defaults to 10 ETH.
	NativeMinWei *big.Int
	// Tokens, when set, restricts transfers to these token contracts and swaps to
	// pools trading at least one of them. Defaults to every ERC-20 Transfer and
	// every swap.
	Tokens []common.Address

	// MetadataCacheSize bounds each of the caches of token metadata (decimals,
	// symbol) and pool tokens. Defaults to 10,000.
	MetadataCacheSize int
	// MetadataConcurrency is how many metadata eth_calls run at once. Defaults to 8.
	MetadataConcurrency int
	// RequestTimeout bounds every JSON-RPC request. Defaults to 30 s.
	RequestTimeout time.Duration
	// BackoffMin and BackoffMax bound the jittered exponential backoff between
	// retries after failures (RPC errors, a dropped subscription, a failed dial).
	// Default to 500 ms and 30 s.
	BackoffMin, BackoffMax time.Duration

	// Logger receives connection, reorg and failure reports. Defaults to
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock of the data-quality rules the events are checked against
	// before they are emitted (future timestamps). Defaults to time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() (Config, error) {
	if c.Chain == "" {
		c.Chain = DefaultChain
	}
	if c.NativeSymbol == "" {
		c.NativeSymbol = DefaultNativeSymbol
	}
	switch c.Confirmations {
	case 0:
		c.Confirmations = DefaultConfirmations
	case AtHead:
		c.Confirmations = 0
	}
	if c.ReorgDepth == 0 {
		c.ReorgDepth = DefaultReorgDepth
	}
	if c.MaxRange == 0 {
		c.MaxRange = DefaultMaxRange
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.NativeMinWei == nil {
		c.NativeMinWei = DefaultNativeMinWei()
	} else {
		c.NativeMinWei = new(big.Int).Set(c.NativeMinWei)
	}
	if c.MetadataCacheSize == 0 {
		c.MetadataCacheSize = DefaultMetadataCacheSize
	}
	if c.MetadataConcurrency == 0 {
		c.MetadataConcurrency = DefaultMetadataConcurrency
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = DefaultBackoffMin
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}

	var errs []error
	switch {
	case c.RPCURL == "" && c.Client == nil:
		errs = append(errs, errors.New("RPCURL or Client is required"))
	case c.RPCURL != "" && c.Client != nil:
		errs = append(errs, errors.New("RPCURL and Client are exclusive"))
	case c.RPCURL != "":
		u, err := url.Parse(c.RPCURL)
		if err != nil {
			errs = append(errs, fmt.Errorf("RPCURL: %w", err))
		} else if !validScheme(u.Scheme) || u.Host == "" {
			errs = append(errs, fmt.Errorf("RPCURL %q: want ws://, wss://, http:// or https:// and a host", c.RPCURL))
		}
	}
	if !validChain(c.Chain) {
		errs = append(errs, fmt.Errorf("chain %q: want 1..64 of [a-z0-9._-]", c.Chain))
	}
	if len(c.NativeSymbol) > maxSymbolBytes || !printable(c.NativeSymbol) {
		errs = append(errs, fmt.Errorf("native symbol %q: want 1..64 printable bytes", c.NativeSymbol))
	}
	if c.Confirmations < 0 {
		errs = append(errs, fmt.Errorf("confirmations %d: want >= 0 or AtHead", c.Confirmations))
	}
	if c.ReorgDepth <= c.Confirmations {
		errs = append(errs, fmt.Errorf("reorg depth %d: must exceed the confirmations (%d)", c.ReorgDepth, c.Confirmations))
	}
	if c.MaxRange < 1 || c.MaxRange > maxMaxRange {
		errs = append(errs, fmt.Errorf("max range %d: want 1..%d", c.MaxRange, maxMaxRange))
	}
	if c.NativeMinWei.Sign() < 0 {
		errs = append(errs, fmt.Errorf("native minimum %s wei: negative", c.NativeMinWei))
	}
	if c.MetadataCacheSize < 2 {
		errs = append(errs, fmt.Errorf("metadata cache size %d: want at least 2", c.MetadataCacheSize))
	}
	if c.MetadataConcurrency < 1 {
		errs = append(errs, fmt.Errorf("metadata concurrency %d: want at least 1", c.MetadataConcurrency))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"poll interval", c.PollInterval}, {"request timeout", c.RequestTimeout},
		{"minimum backoff", c.BackoffMin}, {"maximum backoff", c.BackoffMax},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %v: negative", d.name, d.v))
		}
	}
	if c.BackoffMax < c.BackoffMin {
		errs = append(errs, fmt.Errorf("maximum backoff %v is below the minimum %v", c.BackoffMax, c.BackoffMin))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return c, nil
}

func validScheme(s string) bool {
	switch s {
	case "ws", "wss", "http", "https":
		return true
	}
	return false
}

// subscribes reports whether the URL's scheme supports subscriptions.
func subscribes(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && (u.Scheme == "ws" || u.Scheme == "wss")
}

func validChain(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}
