package demo

import (
	"errors"
	"fmt"
	"hash/fnv"
	"time"
)

// ErrInvalidConfig is wrapped by every error New returns for a Config it cannot use.
// Test for it with errors.Is; the message names the offending field.
var ErrInvalidConfig = errors.New("invalid demo config")

// Limits on a Config, to keep a typo from allocating gigabytes.
const (
	MaxWallets = 10000
	MaxCoins   = 64
	MinStep    = time.Millisecond
	MaxStep    = time.Hour
)

// Config describes a synthetic market. The zero value is usable: every field has a
// default, and New validates the result.
type Config struct {
	// Seed makes the market reproducible: the same Config gives the same events.
	// Defaults to 1.
	Seed int64
	// Start is the event time of the first tick. Defaults to 2026-01-01T00:00:00Z.
	Start time.Time
	// Coins are the perpetuals traded, as Hyperliquid coin names ([A-Za-z0-9], at
	// most 20 characters, no duplicates). BTC, ETH, SOL, ARB and DOGE start near
	// 95000, 3300, 180, 0.8 and 0.2; any other coin starts at a price between 1 and
	// 1000 derived from its name. Defaults to BTC, ETH, SOL, ARB, DOGE.
	Coins []string
	// Wallets is the number of trading wallets, all roles included. Defaults to 60.
	Wallets int
	// Skilled is how many wallets have a real edge (they see the price a few ticks
	// ahead and open in the direction of the coming move more often than not).
	// Defaults to 5; negative means none.
	Skilled int
	// SkillRight is how often, at the least, a skilled wallet opens in the direction of
	// the coming move; each draws its own rate up to SkillRight + 0.1. Between 0.5 and
	// 0.9; defaults to 0.78.
	SkillRight float64
	// SkillPicks: a skilled wallet picks its spot, taking of this many candidate trades
	// the one with the largest coming move. Between 1 and 50; defaults to 10.
	//
	// The defaults give an edge that clears the costs of positions held seconds, so a
	// demo run shows skilled wallets on top of the skill board and their moves as
	// high-alpha signals. SkillRight 0.6 with SkillPicks 3 is an edge that fees nearly
	// eat, which lucky whales hide in a ranking by PnL (the alpha tests use it).
	SkillPicks int
	// Whales is how many wallets trade 20-100x the size of a noise trader, in a
	// random direction. Defaults to 6; negative means none.
	Whales int
	// Bots is how many wallets trade tiny size nearly every tick. Defaults to 2;
	// negative means none.
	Bots int
	// Step is the event time between two ticks, between MinStep and MaxStep.
	// Defaults to 1s.
	Step time.Duration
	// FirstID is the first trade id and the first fill id. Give each run that shares
	// a database its own range (say, the start time in microseconds), or its events
	// collide with the previous run's as duplicates. Defaults to 1.
	FirstID uint64
}

// DefaultStart is the event time of the first tick when Config.Start is zero.
func DefaultStart() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// DefaultCoins returns the coins traded when Config.Coins is empty.
func DefaultCoins() []string { return []string{"BTC", "ETH", "SOL", "ARB", "DOGE"} }

// minStart is the earliest event time the interchange format accepts.
func minStart() time.Time { return time.Date(2009, 1, 3, 0, 0, 0, 0, time.UTC) }

// withDefaults returns cfg with every zero field set to its default and negative role
// counts set to zero.
func (cfg Config) withDefaults() Config {
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.Start.IsZero() {
		cfg.Start = DefaultStart()
	}
	cfg.Start = cfg.Start.UTC()
	if len(cfg.Coins) == 0 {
		cfg.Coins = DefaultCoins()
	} else {
		cfg.Coins = append([]string(nil), cfg.Coins...)
	}
	if cfg.Wallets == 0 {
		cfg.Wallets = 60
	}
	cfg.Skilled = countDefault(cfg.Skilled, 5)
	if cfg.SkillRight == 0 {
		cfg.SkillRight = 0.78
	}
	if cfg.SkillPicks == 0 {
		cfg.SkillPicks = 10
	}
	cfg.Whales = countDefault(cfg.Whales, 6)
	cfg.Bots = countDefault(cfg.Bots, 2)
	if cfg.Step == 0 {
		cfg.Step = time.Second
	}
	return cfg
}

func countDefault(n, def int) int {
	switch {
	case n == 0:
		return def
	case n < 0:
		return 0
	}
	return n
}

// validate checks a Config that already has its defaults.
func (cfg Config) validate() error {
	if cfg.Start.Before(minStart()) {
		return fmt.Errorf("%w: Start %s is before 2009-01-03, which the interchange format rejects",
			ErrInvalidConfig, cfg.Start.Format(time.RFC3339))
	}
	if cfg.Step < MinStep || cfg.Step > MaxStep {
		return fmt.Errorf("%w: Step %s must be between %s and %s", ErrInvalidConfig, cfg.Step, MinStep, MaxStep)
	}
	if len(cfg.Coins) > MaxCoins {
		return fmt.Errorf("%w: %d Coins, at most %d", ErrInvalidConfig, len(cfg.Coins), MaxCoins)
	}
	seen := make(map[string]bool, len(cfg.Coins))
	for i, c := range cfg.Coins {
		if err := checkCoin(c); err != nil {
			return fmt.Errorf("%w: Coins[%d] %q: %w", ErrInvalidConfig, i, c, err)
		}
		if seen[c] {
			return fmt.Errorf("%w: Coins[%d] %q is listed twice", ErrInvalidConfig, i, c)
		}
		seen[c] = true
	}
	if cfg.Wallets < 0 || cfg.Wallets > MaxWallets {
		return fmt.Errorf("%w: Wallets %d must be between 1 and %d", ErrInvalidConfig, cfg.Wallets, MaxWallets)
	}
	if !(cfg.SkillRight >= 0.5 && cfg.SkillRight <= 0.9) {
		return fmt.Errorf("%w: SkillRight %v must be between 0.5 and 0.9", ErrInvalidConfig, cfg.SkillRight)
	}
	if cfg.SkillPicks < 1 || cfg.SkillPicks > 50 {
		return fmt.Errorf("%w: SkillPicks %d must be between 1 and 50", ErrInvalidConfig, cfg.SkillPicks)
	}
	if n := cfg.Skilled + cfg.Whales + cfg.Bots; n > cfg.Wallets {
		return fmt.Errorf("%w: Skilled (%d) + Whales (%d) + Bots (%d) = %d is more than Wallets (%d)",
			ErrInvalidConfig, cfg.Skilled, cfg.Whales, cfg.Bots, n, cfg.Wallets)
	}
	return nil
}

func checkCoin(c string) error {
	if c == "" || len(c) > 20 {
		return errors.New("must be 1 to 20 characters")
	}
	for i := 0; i < len(c); i++ {
		b := c[i]
		if !('A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9') {
			return fmt.Errorf("character %q is not a letter or digit", b)
		}
	}
	return nil
}

// coinSpec is how one coin trades: its starting price, volatility and the decimal
// places of its prices (tick size) and sizes (lot size).
type coinSpec struct {
	name  string
	start float64 // starting mid price, USD
	vol   float64 // standard deviation of the return over one second
	pxDec int32   // price decimals: one tick is 10^-pxDec
	szDec int32   // size decimals: one lot is 10^-szDec
	halfS float64 // half the bid-ask spread, as a fraction of the mid
	rate  int     // mean number of anonymous trades a tick
}

// knownCoin returns the spec of a default coin. Volatility is about four times a
// calm real market so the demo visibly moves at one tick a second.
func knownCoin(name string) (coinSpec, bool) {
	switch name {
	case "BTC":
		return coinSpec{name: name, start: 95000, vol: 0.0004, pxDec: 0, szDec: 5, halfS: 0.00003, rate: 3}, true
	case "ETH":
		return coinSpec{name: name, start: 3300, vol: 0.0005, pxDec: 1, szDec: 4, halfS: 0.00003, rate: 3}, true
	case "SOL":
		return coinSpec{name: name, start: 180, vol: 0.0007, pxDec: 2, szDec: 2, halfS: 0.00005, rate: 2}, true
	case "ARB":
		return coinSpec{name: name, start: 0.8, vol: 0.0009, pxDec: 4, szDec: 1, halfS: 0.0001, rate: 1}, true
	case "DOGE":
		return coinSpec{name: name, start: 0.2, vol: 0.0009, pxDec: 5, szDec: 0, halfS: 0.0001, rate: 1}, true
	}
	return coinSpec{}, false
}

// specFor returns the spec of a coin: a known one, or one derived from the name with a
// starting price between 1 and 1000 and about five significant digits of price.
func specFor(name string) coinSpec {
	if s, ok := knownCoin(name); ok {
		return s
	}
	h := fnv.New64a()
	h.Write([]byte(name)) // never fails
	v := h.Sum64()
	// A mantissa in [1, 10) with two decimals and a power of ten in 0..2.
	mant := 1 + float64(v%900)/100
	exp := int32(v/900) % 3
	start := mant
	for range exp {
		start *= 10
	}
	return coinSpec{
		name:  name,
		start: start,
		vol:   0.0008,
		pxDec: 4 - exp, // 1.2345, 12.345, 123.45
		szDec: exp + 1, // a lot is worth about a cent to a dime
		halfS: 0.0001,
		rate:  1,
	}
}
