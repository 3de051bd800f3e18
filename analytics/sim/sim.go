// Package sim generates a synthetic perpetuals market with a known answer, to test and
// benchmark wallet ranking: a few wallets with planted skill (they call the direction
// of the move over their holding time right more often than not) among noise traders
// (random direction) and loud lucky whales (random direction, 50–500× the size). Their
// fills and the coins' prices come out as interchange events (docs/EVENTS.md), the
// ground truth as a Truth. Ranking by PnL finds the whales that got lucky; a skill
// score should find the planted wallets.
//
// The market is a pure function of its Config: the same seed gives the same events.
package sim

import (
	"cmp"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/shopspring/decimal"
)

// ErrInvalidConfig is wrapped by every error Generate returns for a Config it cannot
// use; the message names the field.
var ErrInvalidConfig = errors.New("invalid sim config")

// Roles of the wallets.
const (
	RoleSkilled = "skilled"
	RoleNoise   = "noise"
	RoleWhale   = "whale"
)

// Config describes a market. The zero value is usable.
type Config struct {
	// Seed makes the market reproducible. Defaults to 1.
	Seed int64
	// Wallets is the number of trading wallets, all roles. Defaults to 60; at most 10000.
	Wallets int
	// Skilled is how many wallets have an edge. Defaults to Wallets/12, at least 3.
	Skilled int
	// Whales is how many wallets trade 50–500× a noise trader's size with no edge.
	// Defaults to Wallets/6.
	Whales int
	// Days is how long the market runs. Defaults to 60: with the default skill, about
	// what the score needs to tell the skilled wallets from the lucky (30 days measured
	// a precision@k of 0.48 on seeds 1–8, 60 days 0.74 on seeds 1–10).
	Days float64
	// Step is the time between two prices of a coin (and the grid trades fall on).
	// Defaults to 5 minutes.
	Step time.Duration
	// Start is the time of the first price. Defaults to 2026-01-01T00:00:00Z.
	Start time.Time
	// Coins are the coins traded. Defaults to BTC, ETH, SOL, ARB.
	Coins []string
	// TradesPerDay is how many positions a wallet opens a day on average. Defaults to 4
	// (whales: a quarter of it).
	TradesPerDay float64
	// Accuracy is the range of the skilled wallets' chance of calling the direction of
	// the move over their hold right. Defaults to [0.62, 0.70].
	Accuracy [2]float64
}

func (c Config) withDefaults() Config {
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Wallets == 0 {
		c.Wallets = 60
	}
	if c.Skilled == 0 {
		c.Skilled = max(3, c.Wallets/12)
	}
	if c.Whales == 0 {
		c.Whales = c.Wallets / 6
	}
	if c.Days == 0 {
		c.Days = 60
	}
	if c.Step == 0 {
		c.Step = 5 * time.Minute
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	c.Start = c.Start.UTC()
	if len(c.Coins) == 0 {
		c.Coins = []string{"BTC", "ETH", "SOL", "ARB"}
	}
	if c.TradesPerDay == 0 {
		c.TradesPerDay = 4
	}
	if c.Accuracy == [2]float64{} {
		c.Accuracy = [2]float64{0.62, 0.70}
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Wallets < 1 || c.Wallets > 10000:
		return fmt.Errorf("%w: Wallets %d must be 1..10000", ErrInvalidConfig, c.Wallets)
	case c.Skilled < 0 || c.Whales < 0 || c.Skilled+c.Whales > c.Wallets:
		return fmt.Errorf("%w: Skilled %d + Whales %d must be within Wallets %d", ErrInvalidConfig, c.Skilled, c.Whales, c.Wallets)
	case !(c.Days > 0) || c.Days > 3650:
		return fmt.Errorf("%w: Days %v must be in (0, 3650]", ErrInvalidConfig, c.Days)
	case c.Step < time.Second || c.Step > 24*time.Hour:
		return fmt.Errorf("%w: Step %s must be between 1s and 24h", ErrInvalidConfig, c.Step)
	case !(c.TradesPerDay > 0) || c.TradesPerDay > 1000:
		return fmt.Errorf("%w: TradesPerDay %v must be in (0, 1000]", ErrInvalidConfig, c.TradesPerDay)
	case !(c.Accuracy[0] >= 0 && c.Accuracy[0] <= c.Accuracy[1] && c.Accuracy[1] <= 1):
		return fmt.Errorf("%w: Accuracy %v must be a range within [0, 1]", ErrInvalidConfig, c.Accuracy)
	case float64(c.Days)*float64(24*time.Hour)/float64(c.Step)*float64(len(c.Coins)) > 20e6:
		return fmt.Errorf("%w: more than 20 million prices (Days / Step × coins)", ErrInvalidConfig)
	}
	seen := map[string]bool{}
	for _, coin := range c.Coins {
		if coin == "" || seen[coin] {
			return fmt.Errorf("%w: coin %q is empty or repeated", ErrInvalidConfig, coin)
		}
		seen[coin] = true
	}
	return nil
}

// Truth is the ground truth of a market: which wallet plays which role.
type Truth struct {
	Seed    int64             `json:"seed"`
	Start   time.Time         `json:"start"`
	End     time.Time         `json:"end"`
	Skilled []string          `json:"skilled"`
	Whales  []string          `json:"whales"`
	Noise   []string          `json:"noise"`
	Roles   map[string]string `json:"roles"`
	// Accuracy is each skilled wallet's planted chance of calling the move right.
	Accuracy map[string]float64 `json:"accuracy"`
}

// Market is a generated market.
type Market struct {
	Events []event.Event // in time order: prices and fills
	Truth  Truth
}

// wallet is one simulated trader.
type wallet struct {
	addr     string
	role     string
	acc      float64 // skilled: chance of calling the move right
	notional float64 // typical position size in USD
	rate     float64 // positions opened per day
}

// Generate builds the market cfg describes.
func Generate(cfg Config) (*Market, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed))
	steps := int(float64(cfg.Days) * float64(24*time.Hour) / float64(cfg.Step))
	paths := make([][]float64, len(cfg.Coins))
	for i, c := range cfg.Coins {
		paths[i] = pricePath(rng, c, steps, cfg.Step)
	}
	at := func(k int) time.Time { return cfg.Start.Add(time.Duration(k) * cfg.Step) }
	m := &Market{Truth: Truth{Seed: cfg.Seed, Start: cfg.Start, End: at(steps), Roles: map[string]string{},
		Accuracy: map[string]float64{}}}
	for k := 0; k <= steps; k++ {
		for i, c := range cfg.Coins {
			m.Events = append(m.Events, event.Event{Kind: event.KindPrice, Src: "sim", TS: at(k), Symbol: c,
				Price: decimal.NewFromFloat(paths[i][k]).Round(8)})
		}
	}
	ws := wallets(rng, cfg)
	g := &gen{cfg: cfg, rng: rng, paths: paths, at: at, steps: steps}
	for _, w := range ws {
		m.Truth.Roles[w.addr] = w.role
		switch w.role {
		case RoleSkilled:
			m.Truth.Skilled = append(m.Truth.Skilled, w.addr)
			m.Truth.Accuracy[w.addr] = w.acc
		case RoleWhale:
			m.Truth.Whales = append(m.Truth.Whales, w.addr)
		default:
			m.Truth.Noise = append(m.Truth.Noise, w.addr)
		}
		m.Events = append(m.Events, g.trade(w)...)
	}
	slices.Sort(m.Truth.Skilled)
	slices.Sort(m.Truth.Whales)
	slices.Sort(m.Truth.Noise)
	slices.SortStableFunc(m.Events, func(a, b event.Event) int { return a.TS.Compare(b.TS) })
	return m, nil
}

// pricePath is a geometric random walk with fat tails (a Student-t-like mix of two
// normals) and a random drift, from a starting price derived from the coin's name.
func pricePath(rng *rand.Rand, coin string, steps int, step time.Duration) []float64 {
	h := fnv.New64a()
	h.Write([]byte(coin))
	p0 := 1 + float64(h.Sum64()%100000)/10
	years := float64(step) / float64(365*24*time.Hour)
	vol := (0.5 + 0.6*rng.Float64()) * math.Sqrt(years) // 50–110% a year
	drift := (rng.Float64() - 0.5) * 1.0 * years        // ±50% a year
	out := make([]float64, steps+1)
	out[0] = p0
	for k := 1; k <= steps; k++ {
		z := rng.NormFloat64()
		if rng.Float64() < 0.05 {
			z *= 3 // occasional large moves
		}
		out[k] = out[k-1] * math.Exp(drift+vol*z)
	}
	return out
}

// wallets draws the population: roles in a shuffled order, so a wallet's address and
// place say nothing of its role.
func wallets(rng *rand.Rand, cfg Config) []wallet {
	roles := make([]string, cfg.Wallets)
	for i := range roles {
		switch {
		case i < cfg.Skilled:
			roles[i] = RoleSkilled
		case i < cfg.Skilled+cfg.Whales:
			roles[i] = RoleWhale
		default:
			roles[i] = RoleNoise
		}
	}
	rng.Shuffle(len(roles), func(i, j int) { roles[i], roles[j] = roles[j], roles[i] })
	out := make([]wallet, len(roles))
	for i, r := range roles {
		h := fnv.New128a()
		fmt.Fprintf(h, "sim wallet %d %d", cfg.Seed, i)
		w := wallet{addr: fmt.Sprintf("0x%x%08x", h.Sum(nil), i)[:42], role: r,
			notional: 5000 * math.Exp(0.6*rng.NormFloat64()), rate: cfg.TradesPerDay * (0.6 + 0.8*rng.Float64())}
		switch r {
		case RoleSkilled:
			w.acc = cfg.Accuracy[0] + (cfg.Accuracy[1]-cfg.Accuracy[0])*rng.Float64()
		case RoleWhale:
			w.notional *= 50 * math.Pow(10, rng.Float64()) // 50–500×
			w.rate /= 4
		}
		out[i] = w
	}
	return out
}

// gen generates one wallet's trades.
type gen struct {
	cfg   Config
	rng   *rand.Rand
	paths [][]float64
	at    func(int) time.Time
	steps int
	id    uint64
}

// trade plays one wallet: positions opened at random times in a random coin not
// already held, held 4–48 hours, sometimes added to halfway and partly closed before
// the end. A skilled wallet's direction is the sign of the coin's move over the hold
// with probability acc; everyone else's is a coin flip.
func (g *gen) trade(w wallet) []event.Event {
	var out []event.Event
	perStep := w.rate * float64(g.cfg.Step) / float64(24*time.Hour)
	busy := make([]int, len(g.cfg.Coins)) // step until which the coin is held
	for k := 0; k < g.steps; k++ {
		if g.rng.Float64() >= perStep {
			continue
		}
		c := g.rng.IntN(len(g.cfg.Coins))
		if busy[c] >= k {
			continue
		}
		hold := int((4 + 44*g.rng.Float64()) * float64(time.Hour) / float64(g.cfg.Step))
		hold = max(hold, 2)
		end := min(k+hold, g.steps)
		if end <= k+1 {
			continue
		}
		path := g.paths[c]
		dir := 1.0
		if g.rng.Float64() < 0.5 {
			dir = -1
		}
		if w.role == RoleSkilled {
			move := 1.0
			if path[end] < path[k] {
				move = -1
			}
			dir = move
			if g.rng.Float64() >= w.acc {
				dir = -move
			}
		}
		size := decimal.NewFromFloat(w.notional * math.Exp(0.3*g.rng.NormFloat64()) / path[k]).Round(6)
		if size.IsZero() {
			size = decimal.New(1, -6)
		}
		if dir < 0 {
			size = size.Neg()
		}
		pos := decimal.Zero
		fill := func(step int, delta decimal.Decimal) {
			if delta.IsZero() {
				return
			}
			out = append(out, g.fill(w.addr, c, step, pos, delta))
			pos = pos.Add(delta)
		}
		fill(k, size)
		mid := k + (end-k)/2
		if g.rng.Float64() < 0.3 && mid > k && mid < end {
			fill(mid, size.Div(decimal.NewFromInt(2)).Round(6))
		}
		if late := k + 3*(end-k)/4; g.rng.Float64() < 0.3 && late > k && late < end && late != mid {
			fill(late, pos.Div(decimal.NewFromInt(2)).Round(6).Neg())
		}
		fill(end, pos.Neg())
		busy[c] = end
	}
	return out
}

// fill is a taker fill of delta (signed) in coin c at the market price plus 2 bps of
// slippage, with a 3.5 bps fee.
func (g *gen) fill(wallet string, c, step int, start, delta decimal.Decimal) event.Event {
	side, sgn := event.Buy, 1.0
	if delta.IsNegative() {
		side, sgn = event.Sell, -1
	}
	px := decimal.NewFromFloat(g.paths[c][step] * (1 + sgn*2e-4)).Round(8)
	sz := delta.Abs()
	g.id++
	return event.Event{Kind: event.KindFill, Src: "sim", TS: g.at(step), ID: strconv.FormatUint(g.id, 10),
		Wallet: wallet, Coin: g.cfg.Coins[c], Side: side, Px: px, Sz: sz,
		StartPosition: decimal.NewNullDecimal(start),
		Fee:           decimal.NewNullDecimal(px.Mul(sz).Mul(decimal.New(35, -5)).Round(6))}
}

// PrecisionAtK returns the share of the first k of ranked that are in truth (k > 0;
// with fewer than k ranked, the missing places count as misses).
func PrecisionAtK(ranked []string, truth []string, k int) float64 {
	if k <= 0 {
		return 0
	}
	hits := 0
	for i := 0; i < k && i < len(ranked); i++ {
		if slices.Contains(truth, ranked[i]) {
			hits++
		}
	}
	return float64(hits) / float64(k)
}

// SortByValue returns the keys of m sorted by value descending, ties by key.
func SortByValue(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	return out
}
