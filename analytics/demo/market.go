// Package demo is a synthetic market for trying Coat Tail Capital without a live
// source: prices that random-walk, an anonymous exchange tape, and a crowd of wallets
// (a few skilled, some whales, bots and many noise traders) whose fills and positions
// come out as interchange events (package event), in event-time order and
// reproducible from a seed.
//
// Every tick emits, in this order and in non-decreasing event time:
//   - a "price" event per coin (src "hyperliquid"), at the tick's time;
//   - "position" observations of some wallets (src "hyperliquid"), at the tick's time,
//     describing the position before the tick's fills;
//   - anonymous "trade" events (src "binance", symbol COIN-USDT) and wallet "fill"
//     events (src "hyperliquid"), at times within the tick.
//
// Skilled wallets see the price path up to 40 ticks ahead and open in the direction of
// the coming move 60-66% of the time, so over a few thousand ticks they are clearly
// ahead of the noise traders on realised PnL; Wallets tells which wallet is which.
package demo

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/coattailcapital/coattail/event"
)

// Sources of the events the market emits.
const (
	SrcFills = "hyperliquid" // price, fill and position events
	SrcTape  = "binance"     // anonymous trade events
)

// Role is what kind of trader a wallet is.
type Role string

// Roles of the simulated wallets.
const (
	RoleSkilled Role = "skilled" // has an edge: trades ahead of the coming move
	RoleWhale   Role = "whale"   // trades 20-100x the size of a noise trader, no edge
	RoleNoise   Role = "noise"   // trades in a random direction
	RoleBot     Role = "bot"     // trades tiny size nearly every tick, no edge
)

// WalletInfo is the ground truth about one simulated wallet.
type WalletInfo struct {
	Address string // 0x + 40 lower-case hex
	Role    Role
	Label   string // e.g. "skilled 2 (63% right)", "whale 4"
}

// Independent random streams, so that for example the price path does not depend on
// the number of wallets.
const (
	streamPrice   = 0x70726963650a0001
	streamTape    = 0x746170650a000002
	streamAgents  = 0x6167656e74000003
	streamAddress = 0x6164647200000004
	streamBurst   = 0x6275727374000005
)

// Trading behaviour shared by every wallet of a role.
const (
	maxHold     = 40   // longest holding time in ticks; also how far skilled wallets see
	observeProb = 0.07 // chance per tick that a watched position is observed
	noiseUSD    = 9000 // mean order notional of a noise trader
)

// wallet is a simulated trader.
type wallet struct {
	info     WalletInfo
	skill    float64 // probability of opening in the direction of the coming move; 0: random
	picks    int     // candidate trades a skilled wallet chooses from (Config.SkillPicks)
	baseUSD  float64 // typical order notional
	openProb float64 // chance per tick of opening a position when below maxOpen
	holdMin  int     // holding time range in ticks
	holdMax  int
	maxOpen  int   // most coins held at once
	maxSplit int   // most fills an order is split into
	walk     int64 // ticks each further fill of an order pays
	open     int   // coins held now
	hold     []holding
	watch    []int // coins with holding.watched set, in the order they were added
}

// Market is a running synthetic market. It is not safe for concurrent use.
type Market struct {
	start   time.Time
	step    time.Duration
	coins   []coinSpec
	paths   []*pricePath
	wallets []*wallet

	priceRNG *rand.Rand
	tapeRNG  *rand.Rand
	agentRNG *rand.Rand
	// burstRNG draws the tape's rare bursts (a block trade, then a flurry of
	// volume), on its own stream so prices and wallets are the same with or without
	// them; burstLeft counts each coin's remaining burst ticks.
	burstRNG  *rand.Rand
	burstLeft []int

	tick    int64
	tradeID uint64
	fillID  uint64

	// Per tick, per coin: the rounded mid, bid and ask in ticks.
	mid, bid, ask []int64
	markDec       []decimal.Decimal
	lastLen       int // events emitted by the previous tick, to size the next slice
}

// New returns a market at its first tick. It returns an error wrapping
// ErrInvalidConfig when cfg cannot be used.
func New(cfg Config) (*Market, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	seed := uint64(cfg.Seed)
	m := &Market{
		start:    cfg.Start,
		step:     cfg.Step,
		priceRNG: rand.New(rand.NewPCG(seed, streamPrice)),
		tapeRNG:  rand.New(rand.NewPCG(seed, streamTape)),
		burstRNG: rand.New(rand.NewPCG(seed, streamBurst)),
		agentRNG: rand.New(rand.NewPCG(seed, streamAgents)),
		tradeID:  max(cfg.FirstID, 1),
		fillID:   max(cfg.FirstID, 1),
		mid:      make([]int64, len(cfg.Coins)),
		bid:      make([]int64, len(cfg.Coins)),
		ask:      make([]int64, len(cfg.Coins)),
		markDec:  make([]decimal.Decimal, len(cfg.Coins)),
	}
	stepScale := math.Sqrt(cfg.Step.Seconds())
	for _, c := range cfg.Coins {
		spec := specFor(c)
		m.coins = append(m.coins, spec)
		m.paths = append(m.paths, newPricePath(spec.start, float64(spec.vol*stepScale), maxHold, m.priceRNG))
	}
	m.wallets = newWallets(cfg, len(m.coins), rand.New(rand.NewPCG(seed, streamAddress)), m.agentRNG)
	return m, nil
}

// newWallets creates the wallets in role order: skilled, whales, bots, then noise.
func newWallets(cfg Config, coins int, addrRNG, r *rand.Rand) []*wallet {
	ws := make([]*wallet, 0, cfg.Wallets)
	seen := make(map[string]bool, cfg.Wallets)
	add := func(role Role, n int) {
		for i := 1; i <= n; i++ {
			w := &wallet{info: WalletInfo{Address: newAddress(addrRNG, seen), Role: role}, hold: make([]holding, coins)}
			for j := range w.hold {
				w.hold[j].lastTick = -1
			}
			switch role {
			case RoleSkilled:
				w.skill, w.picks = cfg.SkillRight+0.1*r.Float64(), cfg.SkillPicks
				w.info.Label = fmt.Sprintf("skilled %d (%.0f%% right)", i, w.skill*100)
				// Disciplined: steady sizes with the noise traders' mean.
				w.baseUSD = noiseUSD * float64(0.6+0.8*r.Float64())
				w.openProb, w.holdMin, w.holdMax, w.maxOpen, w.maxSplit = 0.03, 5, maxHold, 2, 2
			case RoleWhale:
				w.info.Label = fmt.Sprintf("whale %d", i)
				w.baseUSD = noiseUSD * (20 + 80*r.Float64())
				w.openProb, w.holdMin, w.holdMax, w.maxOpen, w.maxSplit, w.walk = 0.015, 10, maxHold, 1, 4, 1
			case RoleBot:
				w.info.Label = fmt.Sprintf("bot %d", i)
				w.baseUSD = 20 + 180*r.Float64()
				w.openProb, w.holdMin, w.holdMax, w.maxOpen, w.maxSplit = 0.6, 1, 3, 2, 1
			default:
				w.info.Label = fmt.Sprintf("noise %d", i)
				w.baseUSD = noiseBaseUSD(r)
				w.openProb, w.holdMin, w.holdMax, w.maxOpen, w.maxSplit = 0.03, 5, maxHold, 2, 2
			}
			ws = append(ws, w)
		}
	}
	add(RoleSkilled, cfg.Skilled)
	add(RoleWhale, cfg.Whales)
	add(RoleBot, cfg.Bots)
	add(RoleNoise, cfg.Wallets-cfg.Skilled-cfg.Whales-cfg.Bots)
	return ws
}

// noiseBaseUSD draws the typical order notional of a skilled or noise trader: 1000 to
// 25000 USD, skewed small, with mean noiseUSD.
func noiseBaseUSD(r *rand.Rand) float64 {
	u := r.Float64()
	return 1000 + float64(24000*float64(u*u))
}

// newAddress draws a fresh 0x + 40 hex address.
func newAddress(r *rand.Rand, seen map[string]bool) string {
	for {
		var b [24]byte
		for i := 0; i < len(b); i += 8 {
			v := r.Uint64()
			for j := range 8 {
				b[i+j] = byte(v >> (8 * j))
			}
		}
		a := "0x" + hex.EncodeToString(b[:20])
		if !seen[a] {
			seen[a] = true
			return a
		}
	}
}

// Wallets returns the ground truth about every wallet: skilled ones first, then
// whales, bots and noise traders.
func (m *Market) Wallets() []WalletInfo {
	out := make([]WalletInfo, len(m.wallets))
	for i, w := range m.wallets {
		out[i] = w.info
	}
	return out
}

// Time returns the event time of the tick the next call to Next emits.
func (m *Market) Time() time.Time { return m.start.Add(time.Duration(m.tick) * m.step) }

// Next emits the events of the next tick in event-time order and advances the market.
// The same Config gives the same sequence of ticks. The slice is the caller's.
func (m *Market) Next() []event.Event {
	t := m.Time()
	out := make([]event.Event, 0, m.lastLen+8)

	for i, c := range m.coins {
		mid := m.paths[i].mid(0)
		m.mid[i] = ticksOf(mid, c.pxDec)
		scale := pow10(c.pxDec)
		m.ask[i] = max(m.mid[i], int64(math.Ceil(float64(float64(mid*float64(1+c.halfS))*scale))))
		m.bid[i] = max(1, min(m.mid[i], int64(math.Floor(float64(float64(mid*float64(1-c.halfS))*scale)))))
		m.markDec[i] = decimal.New(m.mid[i], -c.pxDec)
		out = append(out, event.Event{Kind: event.KindPrice, Src: SrcFills, TS: t, Symbol: c.name, Price: m.markDec[i]})
	}

	for _, w := range m.wallets {
		out = m.observe(out, w, t)
	}

	tape := len(out)
	out = m.trades(out, t)
	for _, w := range m.wallets {
		out = m.act(out, w, t)
	}
	// Ids follow event time; an order's fills share a time and keep their order.
	slices.SortStableFunc(out[tape:], func(a, b event.Event) int { return a.TS.Compare(b.TS) })
	for i := tape; i < len(out); i++ {
		if out[i].Kind == event.KindTrade {
			out[i].ID = strconv.FormatUint(m.tradeID, 10)
			m.tradeID++
		} else {
			out[i].ID = strconv.FormatUint(m.fillID, 10)
			m.fillID++
		}
	}

	for _, p := range m.paths {
		p.advance(m.priceRNG)
	}
	m.tick++
	m.lastLen = len(out)
	return out
}

// offset returns a random time within the tick after its start, in whole milliseconds
// when the step allows, so that trades and fills follow the tick's prices and
// positions.
func (m *Market) offset(r *rand.Rand) time.Duration {
	ms := int64(m.step / time.Millisecond)
	if ms < 2 {
		return 0
	}
	return time.Duration(1+r.Int64N(ms-1)) * time.Millisecond
}

// The tape's bursts: per coin and tick, the chance one starts; how many ticks it
// lasts; its trade count as a multiple of the usual; the block trade that opens it.
const (
	burstProb     = 1.0 / 2000
	burstTicks    = 60
	burstVolume   = 8
	blockTradeUSD = 750000
)

// trades appends the anonymous exchange trades of the tick.
func (m *Market) trades(out []event.Event, t time.Time) []event.Event {
	r := m.tapeRNG
	for i, c := range m.coins {
		n := r.IntN(2*c.rate + 1)
		// Now and then a coin's tape bursts: one block trade far above the usual size,
		// then for a while many times the usual trade count — what the CEX anomaly
		// detectors (large trades, volume spikes) exist to catch.
		if m.burstLeft == nil {
			m.burstLeft = make([]int, len(m.coins))
		}
		block := false
		if m.burstLeft[i] == 0 && m.burstRNG.Float64() < burstProb {
			m.burstLeft[i], block = burstTicks, true
		}
		if m.burstLeft[i] > 0 {
			m.burstLeft[i]--
			n = n*burstVolume + burstVolume
		}
		for range n {
			u := r.Float64()
			usd := 200 + 20000*u*u*u
			if block {
				usd, block = blockTradeUSD, false
			}
			qty := max(1, int64(math.Round(float64(usd/m.paths[i].mid(0))*pow10(c.szDec))))
			side, px := event.Buy, m.ask[i]
			if r.IntN(2) == 0 {
				side, px = event.Sell, m.bid[i]
			}
			out = append(out, event.Event{
				Kind:   event.KindTrade,
				Src:    SrcTape,
				TS:     t.Add(m.offset(r)),
				Symbol: c.name + "-USDT",
				Price:  decimal.New(px, -c.pxDec),
				Qty:    decimal.New(qty, -c.szDec),
				Side:   side,
			})
		}
	}
	return out
}

// observe appends position observations of the coins the wallet watches: those it
// holds, and those it closed since they were last observed.
func (m *Market) observe(out []event.Event, w *wallet, t time.Time) []event.Event {
	r := m.agentRNG
	kept := w.watch[:0]
	for _, ci := range w.watch {
		h := &w.hold[ci]
		if r.Float64() >= observeProb {
			kept = append(kept, ci)
			continue
		}
		c := m.coins[ci]
		e := event.Event{
			Kind:   event.KindPosition,
			Src:    SrcFills,
			TS:     t,
			Wallet: w.info.Address,
			Coin:   c.name,
			Size:   decimal.New(h.lots, -c.szDec),
			MarkPx: decimal.NullDecimal{Decimal: m.markDec[ci], Valid: true},
		}
		if h.lots == 0 {
			h.watched = false // observed flat: nothing left to watch
		} else {
			kept = append(kept, ci)
			abs, sign := h.lots, int64(1)
			if abs < 0 {
				abs, sign = -abs, -1
			}
			e.EntryPx = decimal.NullDecimal{Decimal: decimal.New(mulDivRound(h.cost, 100, abs), -(c.pxDec + 2)), Valid: true}
			e.UnrealizedPnl = decimal.NullDecimal{Decimal: decimal.New(h.lots*m.mid[ci]-sign*h.cost, -(c.pxDec + c.szDec)), Valid: true}
		}
		out = append(out, e)
	}
	w.watch = kept
	return out
}

// act appends the wallet's fills of the tick: closing what is due, then perhaps
// opening a new position.
func (m *Market) act(out []event.Event, w *wallet, t time.Time) []event.Event {
	r := m.agentRNG
	for _, ci := range w.watch {
		h := &w.hold[ci]
		switch {
		case h.lots == 0:
		case h.closeAt == m.tick:
			out = m.order(out, w, ci, h.lots < 0, abs64(h.lots), t)
			w.open--
		case h.partialAt == m.tick:
			if q := abs64(h.lots) / 2; q > 0 {
				out = m.order(out, w, ci, h.lots < 0, q, t)
			}
		}
	}
	if w.open >= w.maxOpen || r.Float64() >= w.openProb {
		return out
	}
	ci, hold := m.pick(w, r)
	if ci < 0 {
		return out
	}
	h := &w.hold[ci]
	buy := r.IntN(2) == 0
	if w.skill > 0 {
		now, then := m.paths[ci].mid(0), m.paths[ci].mid(hold)
		if then != now {
			buy = (then > now) == (r.Float64() < w.skill)
		}
	}
	usd := float64(w.baseUSD * float64(0.6+0.8*r.Float64()))
	c := m.coins[ci]
	q := max(1, int64(math.Round(float64(usd/m.paths[ci].mid(0))*pow10(c.szDec))))
	h.closeAt = m.tick + int64(hold)
	h.partialAt = 0
	if hold >= 10 && w.maxSplit > 1 && r.Float64() < 0.3 {
		h.partialAt = m.tick + int64(hold/2)
	}
	if !h.watched {
		h.watched = true
		w.watch = append(w.watch, ci)
	}
	w.open++
	return m.order(out, w, ci, buy, q, t)
}

// pick chooses the coin and holding time of a new position, or returns ci < 0 when the
// drawn coin is already held or was traded this tick. A skilled wallet picks its spot:
// of its w.picks draws it takes the one with the largest coming move.
func (m *Market) pick(w *wallet, r *rand.Rand) (ci, hold int) {
	ci = -1
	best := -1.0
	for range max(1, w.picks) {
		c := r.IntN(len(m.coins))
		hd := w.holdMin + r.IntN(w.holdMax-w.holdMin+1)
		if h := &w.hold[c]; h.lots != 0 || h.lastTick == m.tick {
			continue
		}
		now := m.paths[c].mid(0)
		move := float64(m.paths[c].mid(hd)-now) / now
		if move < 0 {
			move = -move
		}
		if move > best {
			ci, hold, best = c, hd, move
		}
	}
	return ci, hold
}

// order appends the fills of one order of q lots, split into up to maxSplit fills at
// the same time, each further fill walking the book by w.walk ticks.
func (m *Market) order(out []event.Event, w *wallet, ci int, buy bool, q int64, t time.Time) []event.Event {
	r := m.agentRNG
	c := m.coins[ci]
	h := &w.hold[ci]
	h.lastTick = m.tick
	ts := t.Add(m.offset(r))
	n := int64(1 + r.IntN(w.maxSplit))
	n = min(n, q)
	d := c.pxDec + c.szDec
	for i := range n {
		part := q
		if i < n-1 {
			// Between a fifth and the whole of an equal share, leaving a lot for each
			// fill still to come.
			part = max(1, min(q-(n-1-i), int64(float64(float64(q)/float64(n-i))*float64(0.2+0.8*r.Float64()))))
		}
		q -= part
		px := m.bid[ci] - i*w.walk
		side := event.Sell
		if buy {
			px, side = m.ask[ci]+i*w.walk, event.Buy
		}
		px = max(1, px)
		start := h.lots
		pnl := h.apply(buy, part, px)
		out = append(out, event.Event{
			Kind:          event.KindFill,
			Src:           SrcFills,
			TS:            ts,
			Wallet:        w.info.Address,
			Coin:          c.name,
			Side:          side,
			Px:            decimal.New(px, -c.pxDec),
			Sz:            decimal.New(part, -c.szDec),
			Dir:           direction(start, buy),
			StartPosition: decimal.NullDecimal{Decimal: decimal.New(start, -c.szDec), Valid: true},
			ClosedPnl:     decimal.NullDecimal{Decimal: decimal.New(pnl, -d), Valid: true},
			Fee:           decimal.NullDecimal{Decimal: decimal.New(feeMicros(part*px, d), -6), Valid: true},
		})
	}
	return out
}

// direction names a fill the way Hyperliquid does. Fills never reverse a position.
func direction(start int64, buy bool) string {
	switch {
	case buy && start >= 0:
		return "Open Long"
	case buy:
		return "Close Short"
	case start <= 0:
		return "Open Short"
	default:
		return "Close Long"
	}
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
