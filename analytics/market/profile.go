package market

import (
	"math"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// Wallet styles.
const (
	StyleUnknown     = "unknown" // too few trades to say
	StyleScalper     = "scalper"
	StyleAccumulator = "accumulator"
	StyleDistributor = "distributor"
	StyleSwing       = "swing"
)

// ProfileConfig holds the profiler's thresholds. Zero values are defaults.
type ProfileConfig struct {
	// ScalpHold: a wallet whose typical holding time is below this is a scalper.
	// Defaults to 15 minutes.
	ScalpHold time.Duration
	// Bias: net buying (sells) above this share of volume makes an accumulator
	// (distributor). Defaults to 0.4.
	Bias float64
	// BotPerMinute: this many trades within one minute flags a bot. Defaults to 30.
	BotPerMinute int
	// MarketMakerTrades, MarketMakerBias, MarketMakerFlips and MarketMakerRate flag the
	// market-making pattern: at least that many trades, buy and sell volume balanced
	// within the bias, the side flipping on at least that share of consecutive trades,
	// at least that many trades per active minute. Defaults 40, 0.15, 0.4, 3.
	MarketMakerTrades int64
	MarketMakerBias   float64
	MarketMakerFlips  float64
	MarketMakerRate   float64
}

func (c ProfileConfig) withDefaults() ProfileConfig {
	if c.ScalpHold == 0 {
		c.ScalpHold = 15 * time.Minute
	}
	if c.Bias == 0 {
		c.Bias = 0.4
	}
	if c.BotPerMinute == 0 {
		c.BotPerMinute = 30
	}
	if c.MarketMakerTrades == 0 {
		c.MarketMakerTrades = 40
	}
	if c.MarketMakerBias == 0 {
		c.MarketMakerBias = 0.15
	}
	if c.MarketMakerFlips == 0 {
		c.MarketMakerFlips = 0.4
	}
	if c.MarketMakerRate == 0 {
		c.MarketMakerRate = 3
	}
	return c
}

// holdRing is how many recent holding times a profile keeps for the typical one.
const holdRing = 64

// Trade is one of a wallet's own executions (a fill, or a swap read as a trade).
type Trade struct {
	TS    time.Time
	Coin  string
	Buy   bool
	Px    decimal.Decimal
	Sz    decimal.Decimal
	USD   float64             // notional
	Start decimal.NullDecimal // signed position before, when the venue says
}

// CoinPos is the profiler's view of a wallet's position in one coin.
type CoinPos struct {
	Net      decimal.Decimal `json:"net"`
	OpenedAt int64           `json:"at"` // Unix nanoseconds; 0 when the opening was not seen
}

// Profile accumulates a wallet's trading behaviour. Exported fields are its
// serialised state.
type Profile struct {
	VolumeUSD float64             `json:"vol"`
	BuyUSD    float64             `json:"buy"`
	SellUSD   float64             `json:"sell"`
	Trades    int64               `json:"n"`
	Largest   float64             `json:"max"`
	First     int64               `json:"first"`
	Last      int64               `json:"last"`
	Coins     map[string]*CoinPos `json:"coins"`
	Holds     []float64           `json:"holds"` // seconds, ring of the last holdRing
	HoldNext  int                 `json:"hn"`
	HoldCount int64               `json:"hc"`
	Minute    int64               `json:"min"` // current minute (Unix minutes) and its trades
	InMinute  int                 `json:"inmin"`
	MaxMinute int                 `json:"maxmin"`
	Minutes   int64               `json:"mins"` // minutes with a trade
	LastBuy   bool                `json:"lb"`
	Flips     int64               `json:"flips"`
}

// Apply folds one trade into the profile.
func (p *Profile) Apply(t Trade) {
	ts := t.TS.UnixNano()
	if p.Trades == 0 || ts < p.First {
		p.First = ts
	}
	if ts > p.Last {
		p.Last = ts
	}
	if p.Trades > 0 && t.Buy != p.LastBuy {
		p.Flips++
	}
	p.LastBuy = t.Buy
	p.Trades++
	p.VolumeUSD += t.USD
	if t.Buy {
		p.BuyUSD += t.USD
	} else {
		p.SellUSD += t.USD
	}
	p.Largest = max(p.Largest, t.USD)
	if m := floorDiv(ts, int64(time.Minute)); m != p.Minute || p.Minutes == 0 {
		p.Minute, p.InMinute = m, 0
		p.Minutes++
	}
	p.InMinute++
	p.MaxMinute = max(p.MaxMinute, p.InMinute)
	p.position(t, ts)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// position tracks the coin's net position to measure holding times: from the trade that
// opens a position to the one that closes or flips it.
func (p *Profile) position(t Trade, ts int64) {
	if p.Coins == nil {
		p.Coins = map[string]*CoinPos{}
	}
	c := p.Coins[t.Coin]
	if c == nil {
		c = &CoinPos{}
		p.Coins[t.Coin] = c
	}
	before := c.Net
	if t.Start.Valid {
		before = t.Start.Decimal
	}
	delta := t.Sz
	if !t.Buy {
		delta = delta.Neg()
	}
	after := before.Add(delta)
	switch {
	case before.IsZero():
		if !after.IsZero() {
			c.OpenedAt = ts
		}
	case after.IsZero() || after.Sign() != before.Sign():
		if c.OpenedAt != 0 && ts >= c.OpenedAt {
			p.addHold(float64(ts-c.OpenedAt) / 1e9)
		}
		c.OpenedAt = 0
		if !after.IsZero() {
			c.OpenedAt = ts
		}
	}
	c.Net = after
}

func (p *Profile) addHold(sec float64) {
	if len(p.Holds) < holdRing {
		p.Holds = append(p.Holds, sec)
	} else {
		p.Holds[p.HoldNext] = sec
		p.HoldNext = (p.HoldNext + 1) % holdRing
	}
	p.HoldCount++
}

// Summary is what a profile says about a wallet.
type Summary struct {
	VolumeUSD      float64       `json:"volume_usd"`
	Trades         int64         `json:"trades"`
	AvgSizeUSD     float64       `json:"avg_size_usd"`
	LargestUSD     float64       `json:"largest_usd"`
	TypicalHold    time.Duration `json:"-"`
	TypicalHoldSec *float64      `json:"typical_hold_seconds"` // null when no position was seen open and closed
	Coins          []string      `json:"coins"`
	FirstSeen      time.Time     `json:"first_seen"`
	LastSeen       time.Time     `json:"last_seen"`
	Style          string        `json:"style"`
	BuyShare       float64       `json:"buy_share"` // share of volume bought
	MaxPerMinute   int           `json:"max_trades_per_minute"`
	BotHighFreq    bool          `json:"bot_high_frequency"`
	BotMarketMaker bool          `json:"bot_market_maker"`
}

// Summarize derives the profile's summary under cfg.
func (p *Profile) Summarize(cfg ProfileConfig) Summary {
	cfg = cfg.withDefaults()
	s := Summary{VolumeUSD: p.VolumeUSD, Trades: p.Trades, LargestUSD: p.Largest, MaxPerMinute: p.MaxMinute,
		FirstSeen: time.Unix(0, p.First).UTC(), LastSeen: time.Unix(0, p.Last).UTC(), Style: StyleUnknown}
	for c := range p.Coins {
		s.Coins = append(s.Coins, c)
	}
	slices.Sort(s.Coins)
	if p.Trades > 0 {
		s.AvgSizeUSD = p.VolumeUSD / float64(p.Trades)
	}
	if p.VolumeUSD > 0 {
		s.BuyShare = p.BuyUSD / p.VolumeUSD
	}
	if len(p.Holds) > 0 {
		h := Median(p.Holds)
		s.TypicalHold = time.Duration(h * 1e9)
		s.TypicalHoldSec = &h
	}
	bias := 0.0
	if p.VolumeUSD > 0 {
		bias = (p.BuyUSD - p.SellUSD) / p.VolumeUSD
	}
	switch {
	case p.Trades < 3:
	case len(p.Holds) >= 3 && s.TypicalHold < cfg.ScalpHold && p.Trades >= 10:
		s.Style = StyleScalper
	case bias >= cfg.Bias:
		s.Style = StyleAccumulator
	case bias <= -cfg.Bias:
		s.Style = StyleDistributor
	default:
		s.Style = StyleSwing
	}
	s.BotHighFreq = p.MaxMinute >= cfg.BotPerMinute
	if p.Trades >= cfg.MarketMakerTrades && p.Minutes > 0 {
		flips := float64(p.Flips) / float64(p.Trades-1)
		rate := float64(p.Trades) / float64(p.Minutes)
		s.BotMarketMaker = math.Abs(bias) <= cfg.MarketMakerBias && flips >= cfg.MarketMakerFlips && rate >= cfg.MarketMakerRate
	}
	return s
}
