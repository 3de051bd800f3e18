package alpha

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Config controls the Scorer. The zero value is usable: every field has a default.
type Config struct {
	// Returns says how outcomes are measured (horizons, cost, delay, benchmark).
	Returns ReturnConfig
	// HorizonWeights weigh the horizons' z outcomes in an action's outcome, one per
	// horizon. Defaults to √(horizon / shortest horizon): if an edge accrues steadily
	// while a position is held, its z grows like √horizon, so longer horizons (up to
	// the exit a follower follows) say more; shorter ones still count for edges that
	// show at once, and bound the noise of positions held for weeks.
	HorizonWeights []float64
	// KindWeights weigh an action's forward return by what it did. nil means the
	// defaults: 1 for open, add, flip and swap (decisions to take risk, what a follower
	// copies) and 0 for reduce, close, deposit and withdraw. A non-nil map gives
	// weight 0 to the kinds it leaves out. Weights must be in [0, 1].
	KindWeights map[Kind]float64
	// RoundTripWeight weighs the realised return of what a reduce, close or flip
	// closed, at the wallet's own prices and in z units (Outcome.RoundTripZ), as a
	// component of that action's outcome, in [0, 1]. Defaults to 0: an entry's
	// followed forward return already covers its round trip at prices a follower
	// gets; give it weight with ReturnConfig.HoldFull.
	RoundTripWeight float64
	// MinObs is the fewest scored actions a wallet needs to be ranked. Defaults to 20.
	MinObs int
	// PriorStrength, when positive, fixes the shrinkage: a wallet's mean is pulled
	// toward zero as if PriorStrength more observations of zero had been seen. Zero
	// means empirical Bayes: the spread of true skill across wallets is estimated from
	// the wallets themselves, and each mean is shrunk by how noisy it is relative to
	// that spread. Defaults to 0.
	PriorStrength float64
	// VarPrior pulls each wallet's variance of outcomes toward 1 (the variance of a
	// no-skill outcome in z units) by that many pseudo-observations, so a short, calm
	// record cannot claim a tiny standard error. Defaults to 10; negative means 0.
	VarPrior float64
	// LowerBoundZ is the z of the one-sided lower confidence bound that is the score:
	// posterior mean − LowerBoundZ × posterior standard deviation. Defaults to 1
	// (a one-sided 84% bound); negative means 0 (rank by posterior mean).
	LowerBoundZ float64
	// HalfLife is the age at which an action counts half: an action's weight is
	// 0.5^(age/HalfLife). Old evidence also counts as less evidence (the standard
	// error grows), so a wallet that stopped trading fades. Defaults to 180 days;
	// negative means no decay.
	HalfLife time.Duration
	// MaxTradeShare caps the share of any one action in the sum of a wallet's
	// absolute weighted outcomes (the largest are clipped until none has more), so one
	// lucky trade cannot make a record. Defaults to 0.1; 1 or more means no cap.
	MaxTradeShare float64
	// Bots says how bot and market-maker wallets are found and excluded.
	Bots BotConfig
	// Flagged wallets are excluded whatever their record, with ReasonProfiledBot: the
	// wallets the whale profiler flags as bot-like (many trades a minute, a
	// market-making pattern; store.ProfiledBots). Nil: none.
	Flagged map[string]bool
}

// BotConfig is the bot and market-maker heuristic. A wallet (with at least MinObs
// actions) is excluded as a bot when it trades much faster than the typical wallet
// (rate), or holds positions for much shorter (churn: turning size over with next to
// no net exposure). Both compare with the median of the wallets being scored, so they
// do not depend on the market's time scale; the absolute guards MinRate and MaxHold
// keep a busy human among idle wallets from being called a bot.
type BotConfig struct {
	// Disable turns the heuristic off.
	Disable bool
	// RateFactor: a wallet trading more than RateFactor times the median wallet's
	// actions per hour (and more than MinRate) is a bot. Defaults to 10.
	RateFactor float64
	// MinRate is the fewest actions per hour that can make a bot. Defaults to 30.
	MinRate float64
	// HoldFactor: a wallet whose median holding time is shorter than HoldFactor times
	// the median wallet's (and shorter than MaxHold) is a bot. Defaults to 0.2.
	HoldFactor float64
	// MaxHold is the longest median holding time that can make a bot. Defaults to
	// 5 minutes.
	MaxHold time.Duration
}

// Defaults of Config.
const (
	DefaultMinObs        = 20
	DefaultVarPrior      = 10
	DefaultLowerBoundZ   = 1.0
	DefaultHalfLife      = 180 * 24 * time.Hour
	DefaultMaxTradeShare = 0.1
)

// DefaultKindWeights returns the kind weights used when Config.KindWeights is nil.
func DefaultKindWeights() map[Kind]float64 {
	return map[Kind]float64{KindOpen: 1, KindAdd: 1, KindFlip: 1, KindSwap: 1}
}

func (c Config) withDefaults() Config {
	c.Returns = c.Returns.withDefaults()
	nh := len(c.Returns.Horizons)
	if len(c.HorizonWeights) == 0 {
		c.HorizonWeights = make([]float64, nh)
		if nh > 0 {
			shortest := slices.Min(c.Returns.Horizons)
			for i, h := range c.Returns.Horizons {
				c.HorizonWeights[i] = math.Sqrt(float64(h) / float64(shortest))
			}
		}
	} else {
		c.HorizonWeights = append([]float64(nil), c.HorizonWeights...)
	}
	if c.KindWeights == nil {
		c.KindWeights = DefaultKindWeights()
	} else {
		m := make(map[Kind]float64, len(c.KindWeights))
		for k, v := range c.KindWeights {
			m[k] = v
		}
		c.KindWeights = m
	}
	if c.MinObs == 0 {
		c.MinObs = DefaultMinObs
	}
	if c.VarPrior == 0 {
		c.VarPrior = DefaultVarPrior
	}
	if c.LowerBoundZ == 0 {
		c.LowerBoundZ = DefaultLowerBoundZ
	}
	if c.HalfLife == 0 {
		c.HalfLife = DefaultHalfLife
	}
	if c.MaxTradeShare == 0 {
		c.MaxTradeShare = DefaultMaxTradeShare
	}
	b := &c.Bots
	if b.RateFactor == 0 {
		b.RateFactor = 10
	}
	if b.MinRate == 0 {
		b.MinRate = 30
	}
	if b.HoldFactor == 0 {
		b.HoldFactor = 0.2
	}
	if b.MaxHold == 0 {
		b.MaxHold = 5 * time.Minute
	}
	return c
}

func (c Config) validate() error {
	if err := c.Returns.validate(); err != nil {
		return err
	}
	if len(c.HorizonWeights) != len(c.Returns.Horizons) {
		return fmt.Errorf("%w: %d HorizonWeights for %d Horizons", ErrInvalidConfig, len(c.HorizonWeights), len(c.Returns.Horizons))
	}
	sum := 0.0
	for i, w := range c.HorizonWeights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return fmt.Errorf("%w: HorizonWeights[%d] %v must be finite and not negative", ErrInvalidConfig, i, w)
		}
		sum += w
	}
	if sum == 0 && !(c.RoundTripWeight > 0) {
		return fmt.Errorf("%w: every horizon weight is zero and so is RoundTripWeight", ErrInvalidConfig)
	}
	for k, w := range c.KindWeights {
		if !(w >= 0 && w <= 1) {
			return fmt.Errorf("%w: KindWeights[%s] %v must be in [0, 1]", ErrInvalidConfig, k, w)
		}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"RoundTripWeight", c.RoundTripWeight}, {"VarPrior", c.VarPrior}, {"LowerBoundZ", c.LowerBoundZ}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%w: %s %v must be finite", ErrInvalidConfig, f.name, f.v)
		}
	}
	if c.RoundTripWeight < 0 || c.RoundTripWeight > 1 {
		return fmt.Errorf("%w: RoundTripWeight %v must be in [0, 1]", ErrInvalidConfig, c.RoundTripWeight)
	}
	if c.MinObs < 1 {
		return fmt.Errorf("%w: MinObs %d must be positive", ErrInvalidConfig, c.MinObs)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"PriorStrength", c.PriorStrength}, {"MaxTradeShare", c.MaxTradeShare}, {"Bots.RateFactor", c.Bots.RateFactor},
		{"Bots.MinRate", c.Bots.MinRate}, {"Bots.HoldFactor", c.Bots.HoldFactor}} {
		if !(f.v >= 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%w: %s %v must be finite and not negative", ErrInvalidConfig, f.name, f.v)
		}
	}
	return nil
}
