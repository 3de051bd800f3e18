package quality

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/analytics/market"
	"github.com/coattailcapital/coattail/event"
)

// Off disables the rule of a numeric Config field (DuplicateWindow, MaxDeviation,
// AllowedLateness): any negative value does.
const Off = -1

// Defaults of Config.
const (
	DefaultDuplicateWindow = 100000
	DefaultMaxDeviation    = 0.2
	DefaultReferenceMaxAge = 5 * time.Minute
	DefaultAllowedLateness = 10 * time.Minute
	DefaultTracked         = 100000
)

// Config tunes a Gate. The zero value is the live default: every rule on. Replay turns
// AllowedLateness Off (files need not be in time order).
type Config struct {
	// DuplicateWindow is how many keys (Event.KeyHash) of accepted events the gate
	// remembers: an event whose key is among them is rejected as duplicate. The window
	// is the process's own, so a rerun starts empty and re-produces what an earlier run
	// produced (idempotent downstream). Defaults to 100000; Off disables the rule.
	DuplicateWindow int
	// MaxDeviation is the largest relative distance |price - reference| / reference of
	// a price (trade and price price, fill px, position mark_px) from the reference
	// price of its (src, symbol) — symbol being a fill's or position's coin —, the last
	// price accepted for it, or, while it has none that is recent, its coin's seeded
	// cross-venue reference (Gate.SeedReference). The reference is used only when it is within
	// ReferenceMaxAge of the event's ts (event time, either way), so files out of time
	// order and long gaps are not compared. A deviant price is rejected unless it
	// confirms the last deviant one: within MaxDeviation of it and later than it (so a
	// re-sent bad print does not confirm itself), within ReferenceMaxAge. A real move
	// is accepted from its second price on; a lone bad print is not, and the prices
	// after it are judged against the reference as before. Defaults to 0.2 (20%); Off
	// disables the rule.
	MaxDeviation float64
	// ReferenceMaxAge is how far in event time a reference price may be from the
	// price it judges. Defaults to 5 minutes.
	ReferenceMaxAge time.Duration
	// AllowedLateness: an event older than the watermark of its partition (the newest
	// ts accepted in it) minus AllowedLateness is rejected as late. A partition is what
	// a source delivers in order: (src, kind, symbol) for trades and prices, (src, kind,
	// wallet, coin) for fills and positions, (src, kind, token) for transfers, (src,
	// kind, pool) for swaps — so a backfill of one wallet or symbol is not late because
	// another is live. Retractions (removed) are never late. Defaults to 10 minutes; Off
	// disables the rule.
	AllowedLateness time.Duration
	// AllowZeroTransfers accepts transfers of amount 0 (rejected as zero_value by
	// default: they move nothing and are the usual address-poisoning spam).
	AllowZeroTransfers bool
	// AllowSelfTransfers accepts transfers whose from is their to (rejected as
	// self_transfer by default: nothing changes hands).
	AllowSelfTransfers bool
	// Tracked bounds each of the gate's per-key tables: reference prices per (src,
	// symbol), watermarks per partition and decimals per (src, token). A full table
	// forgets its oldest entry (which then judges nothing until seen again). Defaults
	// to 100000.
	Tracked int
}

func (c Config) withDefaults() (Config, error) {
	if math.IsNaN(c.MaxDeviation) || math.IsInf(c.MaxDeviation, 0) {
		return c, errors.New("quality: MaxDeviation must be a finite number")
	}
	if c.ReferenceMaxAge < 0 {
		return c, fmt.Errorf("quality: ReferenceMaxAge %s is negative", c.ReferenceMaxAge)
	}
	if c.Tracked < 0 {
		return c, fmt.Errorf("quality: Tracked %d is negative", c.Tracked)
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = DefaultDuplicateWindow
	}
	if c.MaxDeviation == 0 {
		c.MaxDeviation = DefaultMaxDeviation
	}
	if c.ReferenceMaxAge == 0 {
		c.ReferenceMaxAge = DefaultReferenceMaxAge
	}
	if c.AllowedLateness == 0 {
		c.AllowedLateness = DefaultAllowedLateness
	}
	if c.Tracked == 0 {
		c.Tracked = DefaultTracked
	}
	return c, nil
}

// pkey names what a table entry is about: a (src, symbol) reference, a partition's
// watermark, a (src, token)'s decimals. Its strings are the event's own.
type pkey struct {
	src  string
	kind event.Kind
	a, b string
}

// priceRef is the reference price of a (src, symbol) and the last deviant price not
// yet confirmed.
type priceRef struct {
	px      float64
	ts      int64 // unix ns
	pend    float64
	pendTS  int64
	pending bool
	seeded  bool // px is a seeded cross-venue reference of the coin (SeedReference)
}

// Gate applies the stateful and policy rules to events that passed the codec
// (event.Decode or Event.Validate). Its memory is bounded by Config.DuplicateWindow and
// Config.Tracked. Not safe for concurrent use: give each ingress its own.
type Gate struct {
	cfg   Config
	seen  *table[[16]byte, struct{}] // nil: duplicate rule off
	refs  *table[pkey, priceRef]     // nil: deviation rule off
	seeds *table[string, priceRef]   // reference prices by coin from outside (SeedReference); nil with refs
	marks *table[pkey, int64]        // nil: lateness rule off
	decs  *table[pkey, int32]
}

// NewGate returns a gate with cfg's defaults applied; it fails on a nonsensical cfg.
func NewGate(cfg Config) (*Gate, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Gate{cfg: cfg, decs: newTable[pkey, int32](cfg.Tracked)}
	if cfg.DuplicateWindow > 0 {
		g.seen = newTable[[16]byte, struct{}](cfg.DuplicateWindow)
	}
	if cfg.MaxDeviation > 0 {
		g.refs = newTable[pkey, priceRef](cfg.Tracked)
		g.seeds = newTable[string, priceRef](cfg.Tracked)
	}
	if cfg.AllowedLateness > 0 {
		g.marks = newTable[pkey, int64](cfg.Tracked)
	}
	return g, nil
}

// Config returns the gate's configuration with its defaults filled in.
func (g *Gate) Config() Config { return g.cfg }

// Check judges ev, which already passed the codec: nil accepts it (and the gate
// remembers it for the events after it), a *event.Reject with one of the gate's
// reasons rejects it. Rules are checked in the order of Rules; the first failure is
// reported.
func (g *Gate) Check(ev *event.Event) *event.Reject {
	var kh [16]byte
	if g.seen != nil {
		kh = ev.KeyHash()
	}
	return g.CheckKey(ev, kh)
}

// CheckKey is Check for a caller that has ev.KeyHash() already.
func (g *Gate) CheckKey(ev *event.Event, kh [16]byte) *event.Reject {
	if g.seen != nil {
		if _, dup := g.seen.get(kh); dup {
			return rejectf(ReasonDuplicate, "", "key %x is the key of an event accepted among the last %d", kh, g.cfg.DuplicateWindow)
		}
	}
	var dk pkey
	newDecimals := false
	if ev.Kind == event.KindTransfer {
		if !g.cfg.AllowZeroTransfers && ev.Amount.Sign() == 0 {
			field := "amount"
			if ev.HasRaw {
				field = "raw_amount"
			}
			return rejectf(ReasonZeroValue, field, "a transfer of 0")
		}
		if !g.cfg.AllowSelfTransfers && ev.From == ev.To {
			return rejectf(ReasonSelfTransfer, "to", "from and to are both %s", ev.To)
		}
		if ev.HasRaw {
			dk = pkey{src: ev.Src, kind: event.KindTransfer, a: ev.Token}
			d, ok := g.decs.get(dk)
			if ok && d != ev.Decimals {
				return rejectf(ReasonDecimalsMismatch, "decimals", "%d, but token %s of %s had %d decimals before", ev.Decimals, tokenName(ev.Token), ev.Src, d)
			}
			newDecimals = !ok
		}
	}
	ts := ev.TS.UnixNano()
	var mk pkey
	if g.marks != nil {
		mk = partition(ev)
		if wm, ok := g.marks.get(mk); ok && !ev.Removed && ts < wm-int64(g.cfg.AllowedLateness) {
			return rejectf(ReasonLate, "ts", "%s is more than %s older than the newest event of its partition (%s)",
				ev.TS.Format(time.RFC3339Nano), g.cfg.AllowedLateness, time.Unix(0, wm).UTC().Format(time.RFC3339Nano))
		}
	}
	var rk pkey
	var px float64
	priced := false
	if g.refs != nil {
		var sym, field string
		var p float64
		sym, field, p, priced = price(ev)
		if priced {
			px = p
			rk = pkey{src: ev.Src, a: sym}
			r, ok := g.refs.get(rk)
			if !ok || !g.recent(ts, r.ts) {
				r, ok = g.seed(sym)
			}
			if ok && g.recent(ts, r.ts) {
				if dev := math.Abs(px/r.px - 1); dev > g.cfg.MaxDeviation &&
					!(r.pending && ts > r.pendTS && g.recent(ts, r.pendTS) && math.Abs(px/r.pend-1) <= g.cfg.MaxDeviation) {
					r.pend, r.pendTS, r.pending = px, ts, true
					g.refs.put(rk, r)
					of := "of " + sym + " on " + ev.Src
					if r.seeded {
						of = "of " + sym + " across venues"
					}
					return rejectf(ReasonPriceDeviation, field, "%g is %.1f%% from the reference price %g %s (%s); the limit is %.1f%%",
						px, dev*100, r.px, of, time.Unix(0, r.ts).UTC().Format(time.RFC3339Nano), g.cfg.MaxDeviation*100)
				}
			}
		}
	}
	// Accepted: remember it.
	if g.seen != nil {
		g.seen.put(kh, struct{}{})
	}
	if newDecimals {
		g.decs.put(dk, ev.Decimals)
	}
	if g.marks != nil {
		if wm, ok := g.marks.get(mk); !ok || ts > wm {
			g.marks.put(mk, ts)
		}
	}
	if priced {
		g.refs.put(rk, priceRef{px: px, ts: ts})
	}
	return nil
}

// SeedReference gives the price-deviation rule a reference price px (USD) of coin at
// ts from outside the process: the cross-venue reference price read when a source
// starts (store.ReferencePrices). Without it the first price of each (src, symbol)
// after a restart would become the reference whatever it is, and a wild first print
// would be accepted and then judge the good prices after it. A seed judges the prices
// of coin quoted in USD — the bare coin (fills, positions, Hyperliquid prices) or
// COIN-USD, COIN-USDT, COIN-USDC — of every (src, symbol) that has no recent reference
// of its own, under the same rules as its own: only within ReferenceMaxAge of the
// event's ts, and a deviant price is accepted when a later one confirms it. Coins
// match case-insensitively. It does nothing when the rule is off or px is not a
// positive number.
func (g *Gate) SeedReference(coin string, px float64, ts time.Time) {
	if g.seeds == nil || !(px > 0) || math.IsInf(px, 1) {
		return
	}
	g.seeds.put(strings.ToUpper(coin), priceRef{px: px, ts: ts.UnixNano(), seeded: true})
}

// seed returns the seeded reference price of a trade's or price's symbol or a fill's
// or position's coin, if it is quoted in USD.
func (g *Gate) seed(symbol string) (priceRef, bool) {
	coin, usd := market.Coin(symbol)
	if !usd {
		return priceRef{}, false
	}
	return g.seeds.get(coin)
}

// recent reports whether two event times are within ReferenceMaxAge of each other.
func (g *Gate) recent(a, b int64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= int64(g.cfg.ReferenceMaxAge)
}

// partition is what a source delivers in time order (Config.AllowedLateness).
func partition(ev *event.Event) pkey {
	k := pkey{src: ev.Src, kind: ev.Kind}
	switch ev.Kind {
	case event.KindTrade, event.KindPrice:
		k.a = ev.Symbol
	case event.KindFill, event.KindPosition:
		k.a, k.b = ev.Wallet, ev.Coin
	case event.KindTransfer:
		k.a = ev.Token
	case event.KindSwap:
		k.a = ev.Pool
	}
	return k
}

// price returns the symbol and price an event carries, if any.
func price(ev *event.Event) (symbol, field string, px float64, ok bool) {
	switch ev.Kind {
	case event.KindTrade, event.KindPrice:
		return ev.Symbol, "price", ev.Price.InexactFloat64(), true
	case event.KindFill:
		return ev.Coin, "px", ev.Px.InexactFloat64(), true
	case event.KindPosition:
		if ev.MarkPx.Valid {
			return ev.Coin, "mark_px", ev.MarkPx.Decimal.InexactFloat64(), true
		}
	}
	return "", "", 0, false
}

func tokenName(token string) string {
	if token == "" {
		return "(native)"
	}
	return token
}

func rejectf(reason event.Reason, field, format string, args ...any) *event.Reject {
	return &event.Reject{Reason: reason, Field: field, Detail: fmt.Sprintf(format, args...)}
}
