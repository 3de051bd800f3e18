package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/store"
	"github.com/shopspring/decimal"
)

// Defaults of USDPricerConfig.
const (
	DefaultPriceRefresh = 10 * time.Second
	DefaultPriceMaxAge  = time.Hour
)

// PriceStore is where a USDPricer reads the latest prices (store.Store).
type PriceStore interface {
	LatestPrices(ctx context.Context, symbols []string) ([]store.PriceRow, error)
}

// ReferenceStore is a PriceStore that also has the coins' cross-venue reference
// prices (store.Store does). A USDPricer on one prefers them (see USDPricer).
type ReferenceStore interface {
	PriceStore
	ReferencePrices(ctx context.Context, at time.Time) ([]store.RefPrice, error)
}

// Token says how the events carrying one token symbol are valued.
type Token struct {
	// PriceAs is the symbol whose price the token has: WETH is priced as ETH. Empty:
	// its own symbol.
	PriceAs string
	// Stable values the token at exactly 1 USD, whatever the prices table says (a
	// depeg is not seen).
	Stable bool
	// Contracts, when set, are the only token contracts (0x hex) that genuinely carry
	// the symbol. A token event of any other contract with this symbol is not priced:
	// spam tokens borrow the symbols of valuable ones ("USDT", "WETH") to fake large
	// transfers.
	Contracts []string
	// NativeOnly marks the chain's native coin: only native transfers (no token
	// contract) carry the symbol, a token event with it is not priced.
	NativeOnly bool
}

// DefaultTokens returns the default USDPricerConfig.Tokens, for Ethereum mainnet:
//
//   - ETH: native only (an ERC-20 calling itself ETH is an impostor).
//   - WETH priced as ETH, WBTC as BTC, each from its one genuine contract.
//   - Stablecoins at 1 USD, each from its genuine contract: USDC, USDT, DAI, USDe,
//     USDS, PYUSD, FDUSD, TUSD, USDP, GUSD, LUSD, BUSD, FRAX, crvUSD, GHO.
//
// Every other symbol is priced from the prices table by its own name, from any
// contract.
func DefaultTokens() map[string]Token {
	stable := func(contract string) Token { return Token{Stable: true, Contracts: []string{contract}} }
	return map[string]Token{
		"ETH":    {NativeOnly: true},
		"WETH":   {PriceAs: "ETH", Contracts: []string{"0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"}},
		"WBTC":   {PriceAs: "BTC", Contracts: []string{"0x2260fac5e5542a773aa44fbcfedf7c193bc2c599"}},
		"USDC":   stable("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"),
		"USDT":   stable("0xdac17f958d2ee523a2206206994597c13d831ec7"),
		"DAI":    stable("0x6b175474e89094c44da98b954eedeac495271d0f"),
		"USDE":   stable("0x4c9edd5852cd905f086c759e8383e09bff1e68b3"),
		"USDS":   stable("0xdc035d45d973e3ec169d2276ddab16f1e407384f"),
		"PYUSD":  stable("0x6c3ea9036406852006290770bedfcaba0e23a0e8"),
		"FDUSD":  stable("0xc5f0f7b66764f6ec8c8dff7ba683102295e16409"),
		"TUSD":   stable("0x0000000000085d4780b73119b644ae5ecd22b376"),
		"USDP":   stable("0x8e870d67f660d95d5be530380d0ec0bd388289e1"),
		"GUSD":   stable("0x056fd409e1d7a124bd7017459dfea2f387b6d5cd"),
		"LUSD":   stable("0x5f98805a4e8be255a32880fdec7f6728c6568ba0"),
		"BUSD":   stable("0x4fabb145d64652a948d72533023f6e7a623c7c53"),
		"FRAX":   stable("0x853d955acef822db058eb8505911ed77f175b99e"),
		"CRVUSD": stable("0xf939e0a03fb07f59a73314e73794be0e57ac1b4e"),
		"GHO":    stable("0x40d16fc0246ad3160ccc09b8d0d3a2cd28ae6c2f"),
	}
}

// USDPricerConfig configures NewUSDPricer.
type USDPricerConfig struct {
	// Refresh is how often the latest prices are read again. Defaults to 10 s.
	Refresh time.Duration
	// MaxAge is how far apart in time a price and what it values may be: a price is
	// used for an event only when the price's ts is within MaxAge of the event's ts,
	// either way (a backfill of old blocks is not valued at today's price), and by
	// USD only when it is within MaxAge of the clock. Defaults to 1 h.
	MaxAge time.Duration
	// Tokens are the token rules (aliases, stablecoins, genuine contracts), keyed by
	// symbol, matched case-insensitively. Defaults to DefaultTokens().
	Tokens map[string]Token
	// Now is the clock of USD. Defaults to time.Now.
	Now func() time.Time
	// Logger receives failed refreshes. Defaults to discarding them.
	Logger *slog.Logger
}

// quote is one price of a coin; slot is its place in the lookup order.
type quote struct {
	px decimal.Decimal
	ts time.Time
	ok bool
}

// The lookup order of a coin's prices: its cross-venue reference price, then (as in
// store's mark price) the coin's own price event, then its trades against USDT, USD
// and USDC.
const (
	slotRef = iota
	slotCoin
	slotUSDT
	slotUSD
	slotUSDC
	slots
)

// priceTable is one load of the prices table: the quotes of each coin, keyed by its
// upper-cased symbol.
type priceTable map[string]*[slots]quote

// USDPricer values events in USD from prices in Postgres, read again every
// USDPricerConfig.Refresh by Run: the coins' cross-venue reference prices
// (store.ReferencePrices, when the store is a ReferenceStore) and the latest prices
// (the prices table: price events' coins and exchange trades' pairs). A symbol is
// resolved through the token rules (USDPricerConfig.Tokens: stablecoins are 1 USD,
// WETH is ETH, impostor contracts are not priced), then looked up as the coin's
// reference price, COIN, COIN-USDT, COIN-USD and COIN-USDC, the first price within
// MaxAge of the event winning.
//
// The reference price comes first because a row of the prices table is one venue's
// last print, whatever it was: a thin venue's stray trade or a broken mid would value
// a transfer at it. The reference is the volume-weighted median of every USD venue's
// latest minute, which one venue cannot move, at the cost of being up to a minute or
// two older than the newest print — nothing for a USD value. The prices table stays
// the fallback where a coin has no fresh bars (the windows stage not running, a coin
// quoted nowhere in USD on a venue with bars).
//
// Enrich and USD are safe to call while Run runs; they read a snapshot and never wait
// for Postgres.
type USDPricer struct {
	st     PriceStore
	cfg    USDPricerConfig
	tokens map[string]Token // upper-case symbols, lower-case contracts
	table  atomic.Pointer[priceTable]
	one    decimal.Decimal // a stablecoin's price
}

// NewUSDPricer returns a pricer reading st. It has no prices until the first Refresh
// (Run does one at once).
func NewUSDPricer(st PriceStore, cfg USDPricerConfig) (*USDPricer, error) {
	if st == nil {
		return nil, errors.New("usd pricer: no price store")
	}
	if cfg.Refresh < 0 || cfg.MaxAge < 0 {
		return nil, fmt.Errorf("usd pricer: refresh %v and max age %v must not be negative", cfg.Refresh, cfg.MaxAge)
	}
	if cfg.Refresh == 0 {
		cfg.Refresh = DefaultPriceRefresh
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultPriceMaxAge
	}
	if cfg.Tokens == nil {
		cfg.Tokens = DefaultTokens()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	tokens := make(map[string]Token, len(cfg.Tokens))
	for sym, t := range cfg.Tokens {
		key := strings.ToUpper(sym)
		if key == "" {
			return nil, errors.New("usd pricer: a token rule has an empty symbol")
		}
		if _, dup := tokens[key]; dup {
			return nil, fmt.Errorf("usd pricer: token %s has two rules (symbols match case-insensitively)", key)
		}
		if t.Stable && t.PriceAs != "" {
			return nil, fmt.Errorf("usd pricer: token %s is both stable and priced as %s", key, t.PriceAs)
		}
		t.PriceAs = strings.ToUpper(t.PriceAs)
		cs := make([]string, len(t.Contracts))
		for i, c := range t.Contracts {
			cs[i] = strings.ToLower(c)
		}
		t.Contracts = cs
		tokens[key] = t
	}
	return &USDPricer{st: st, cfg: cfg, tokens: tokens, one: decimal.NewFromInt(1)}, nil
}

// Run reads the prices at once and then every Refresh until ctx is done, and returns
// nil then. A failed read is logged and the prices read before stay in use.
func (p *USDPricer) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Refresh)
	defer t.Stop()
	for {
		if err := p.Refresh(ctx); err != nil && ctx.Err() == nil {
			p.cfg.Logger.Warn("refreshing USD prices failed; the last ones stay in use", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Refresh reads the reference and the latest prices once and puts them in use. When
// either read fails, the prices read before stay in use.
func (p *USDPricer) Refresh(ctx context.Context) error {
	rows, err := p.st.LatestPrices(ctx, nil)
	if err != nil {
		return fmt.Errorf("usd pricer: %w", err)
	}
	var refs []store.RefPrice
	if rs, ok := p.st.(ReferenceStore); ok {
		if refs, err = rs.ReferencePrices(ctx, p.cfg.Now()); err != nil {
			return fmt.Errorf("usd pricer: %w", err)
		}
	}
	t := make(priceTable, len(rows)+len(refs))
	for _, r := range refs {
		if !(r.Price > 0) || math.IsInf(r.Price, 1) {
			continue
		}
		qs := new([slots]quote)
		qs[slotRef] = quote{px: decimal.NewFromFloat(r.Price), ts: r.TS, ok: true}
		t[strings.ToUpper(r.Coin)] = qs
	}
	for _, r := range rows {
		coin, slot := splitQuote(r.Symbol)
		if coin == "" || r.Price.Sign() <= 0 {
			continue
		}
		key := strings.ToUpper(coin)
		qs := t[key]
		if qs == nil {
			qs = new([slots]quote)
			t[key] = qs
		}
		// Symbols differing only in case ("kPEPE", "KPEPE") share a slot: the newer wins.
		if q := &qs[slot]; !q.ok || r.TS.After(q.ts) {
			*q = quote{px: r.Price, ts: r.TS, ok: true}
		}
	}
	p.table.Store(&t)
	return nil
}

// splitQuote returns the coin a prices-table symbol prices and its slot; coin is
// empty for a symbol that is not a USD price (a pair of another quote).
func splitQuote(sym string) (coin string, slot int) {
	for _, s := range [...]struct {
		suffix string
		slot   int
	}{{"-USDT", slotUSDT}, {"-USDC", slotUSDC}, {"-USD", slotUSD}} {
		if c, ok := strings.CutSuffix(sym, s.suffix); ok {
			return c, s.slot
		}
	}
	if strings.Contains(sym, "-") {
		return "", 0
	}
	return sym, slotCoin
}

// USD returns amount of symbol in USD, rounded to cents, from a price within MaxAge
// of the clock; not valid when symbol has none. The symbol is trusted as given (no
// contract to check): use Enrich for chain events.
func (p *USDPricer) USD(symbol string, amount decimal.Decimal) decimal.NullDecimal {
	px, ok := p.price(symbol, "", p.cfg.Now())
	if !ok || amount.Sign() < 0 {
		return decimal.NullDecimal{}
	}
	return decimal.NewNullDecimal(amount.Mul(px).Round(2))
}

// Enrich sets the USD value of a transfer (amount × the price of its symbol) or a
// swap (the amount of its priced side, the stablecoin side first, else the input
// side) that has none, from prices within MaxAge of the event's ts. A USD value the
// source set is never changed; an event that cannot be priced is left as it is.
// It fits SourceConfig.Enrich.
func (p *USDPricer) Enrich(ev *event.Event) {
	if ev.USD.Valid {
		return
	}
	var amount, px decimal.Decimal
	switch ev.Kind {
	case event.KindTransfer:
		var ok bool
		if px, ok = p.price(ev.Symbol, ev.Token, ev.TS); !ok {
			return
		}
		amount = ev.Amount
	case event.KindSwap:
		pxIn, okIn := p.price(ev.SymbolIn, ev.TokenIn, ev.TS)
		pxOut, okOut := p.price(ev.SymbolOut, ev.TokenOut, ev.TS)
		stableIn, stableOut := okIn && p.stable(ev.SymbolIn), okOut && p.stable(ev.SymbolOut)
		switch {
		case okIn && (stableIn || !stableOut):
			amount, px = ev.AmountIn, pxIn
		case okOut:
			amount, px = ev.AmountOut, pxOut
		default:
			return
		}
	default:
		return
	}
	if amount.Sign() < 0 {
		return // invalid: validation rejects it
	}
	ev.USD = decimal.NewNullDecimal(amount.Mul(px).Round(2))
}

// price resolves symbol (of contract token, empty for a native coin or unknown)
// through the token rules and returns its USD price within MaxAge of at.
func (p *USDPricer) price(symbol, token string, at time.Time) (decimal.Decimal, bool) {
	if symbol == "" {
		return decimal.Decimal{}, false
	}
	key := strings.ToUpper(symbol)
	if rule, ok := p.tokens[key]; ok {
		if token != "" && !rule.genuine(token) {
			return decimal.Decimal{}, false
		}
		if rule.Stable {
			return p.one, true
		}
		if rule.PriceAs != "" {
			key = rule.PriceAs
		}
	}
	t := p.table.Load()
	if t == nil {
		return decimal.Decimal{}, false
	}
	qs := (*t)[key]
	if qs == nil {
		return decimal.Decimal{}, false
	}
	for i := range qs {
		if q := &qs[i]; q.ok && within(at, q.ts, p.cfg.MaxAge) {
			return q.px, true
		}
	}
	return decimal.Decimal{}, false
}

// stable reports whether symbol is a stablecoin by the token rules.
func (p *USDPricer) stable(symbol string) bool {
	return p.tokens[strings.ToUpper(symbol)].Stable
}

// genuine reports whether contract token may carry the rule's symbol.
func (t Token) genuine(token string) bool {
	if t.NativeOnly {
		return false
	}
	if len(t.Contracts) == 0 {
		return true
	}
	for _, c := range t.Contracts {
		if strings.EqualFold(c, token) {
			return true
		}
	}
	return false
}

func within(a, b time.Time, d time.Duration) bool {
	diff := a.Sub(b)
	return diff <= d && diff >= -d
}
