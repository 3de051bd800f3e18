package risk

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Check names, as stored in decisions and shown to admins.
const (
	CheckKillSwitch    = "kill_switch"
	CheckBreaker       = "circuit_breaker"
	CheckPrice         = "price_staleness"
	CheckLiquidity     = "min_liquidity"
	CheckSize          = "position_size"
	CheckPositionShare = "max_position_share"
	CheckGrossExposure = "max_gross_exposure"
	CheckOpenPositions = "max_open_positions"
	CheckCooldown      = "coin_cooldown"
	CheckDailyLoss     = "daily_loss_limit"
	CheckDrawdown      = "max_drawdown"
)

// Settings are the gate's limits. Each has a name (the Names list) under which an
// admin reads and changes it; Defaults gives the values used when none is stored.
type Settings struct {
	KellyFraction       float64 // fraction of the full Kelly stake taken
	KellyCap            float64 // largest stake as a share of equity, whatever Kelly says
	VolHorizonHours     float64 // holding horizon the coin's volatility is scaled to
	DefaultVol          float64 // horizon volatility assumed before enough prices are seen
	MinVol              float64 // floor of the horizon volatility (no huge stakes on calm coins)
	MinPositionUSD      float64 // a stake sized below this is not worth taking
	MaxPositionShare    float64 // a coin's position (existing + new) as a share of equity
	MaxGrossExposure    float64 // all open positions' notional as a multiple of equity
	MaxOpenPositions    float64 // open (and pending) positions
	CooldownMinutes     float64 // no new entry in a coin this soon after the last one
	MinLiquidityUSD     float64 // notional traded in the coin over LiquidityWindowMin
	LiquidityWindowMin  float64 // the window MinLiquidityUSD is measured over
	MaxStalenessSeconds float64 // the price used must be at most this old at the signal's time
	DailyLossPct        float64 // loss since the UTC day's start, share of that day's starting equity
	MaxDrawdownPct      float64 // fall from peak equity
	BreakerResetHours   float64 // a tripped breaker clears itself after this; 0: only an admin resumes
}

// Defaults are the settings when nothing is stored.
func Defaults() Settings {
	return Settings{
		KellyFraction: 0.25, KellyCap: 0.05, VolHorizonHours: 24, DefaultVol: 0.05, MinVol: 0.005,
		MinPositionUSD: 10, MaxPositionShare: 0.10, MaxGrossExposure: 1.0, MaxOpenPositions: 5,
		CooldownMinutes: 30, MinLiquidityUSD: 0, LiquidityWindowMin: 60, MaxStalenessSeconds: 60,
		DailyLossPct: 0.05, MaxDrawdownPct: 0.15, BreakerResetHours: 0,
	}
}

// setting binds a name to a field with its valid range.
type setting struct {
	name     string
	help     string
	min, max float64
	field    func(*Settings) *float64
}

func settingsTable() []setting {
	return []setting{
		{"kelly_fraction", "fraction of full Kelly staked", 0, 1, func(s *Settings) *float64 { return &s.KellyFraction }},
		{"kelly_cap", "largest stake, share of equity", 0, 1, func(s *Settings) *float64 { return &s.KellyCap }},
		{"vol_horizon_hours", "horizon volatility is scaled to", 0.01, 24 * 365, func(s *Settings) *float64 { return &s.VolHorizonHours }},
		{"default_vol", "horizon volatility before prices are known", 0.0001, 10, func(s *Settings) *float64 { return &s.DefaultVol }},
		{"min_vol", "floor of horizon volatility", 0.0001, 10, func(s *Settings) *float64 { return &s.MinVol }},
		{"min_position_usd", "smallest stake worth taking, USD", 0, 1e12, func(s *Settings) *float64 { return &s.MinPositionUSD }},
		{"max_position_share", "one coin's position, share of equity", 0, 100, func(s *Settings) *float64 { return &s.MaxPositionShare }},
		{"max_gross_exposure", "open notional, multiple of equity", 0, 100, func(s *Settings) *float64 { return &s.MaxGrossExposure }},
		{"max_open_positions", "open and pending positions", 0, 1e6, func(s *Settings) *float64 { return &s.MaxOpenPositions }},
		{"cooldown_minutes", "minutes between entries in one coin", 0, 1e6, func(s *Settings) *float64 { return &s.CooldownMinutes }},
		{"min_liquidity_usd", "notional traded in the coin over the liquidity window, USD", 0, 1e15, func(s *Settings) *float64 { return &s.MinLiquidityUSD }},
		{"liquidity_window_min", "liquidity window, minutes", 1, 1e6, func(s *Settings) *float64 { return &s.LiquidityWindowMin }},
		{"max_staleness_seconds", "oldest usable price at the signal, seconds", 0, 1e9, func(s *Settings) *float64 { return &s.MaxStalenessSeconds }},
		{"daily_loss_pct", "daily loss that trips the breaker, share of day-start equity", 0, 1, func(s *Settings) *float64 { return &s.DailyLossPct }},
		{"max_drawdown_pct", "drawdown from peak that trips the breaker", 0, 1, func(s *Settings) *float64 { return &s.MaxDrawdownPct }},
		{"breaker_reset_hours", "hours after which a tripped breaker clears itself (0: admin only)", 0, 1e6, func(s *Settings) *float64 { return &s.BreakerResetHours }},
	}
}

// Names lists the settings' names in a stable order.
func Names() []string {
	var out []string
	for _, s := range settingsTable() {
		out = append(out, s.name)
	}
	return out
}

// Get returns a setting by name.
func (s Settings) Get(name string) (float64, bool) {
	for _, t := range settingsTable() {
		if t.name == name {
			return *t.field(&s), true
		}
	}
	return 0, false
}

// Set changes a setting by name, refusing unknown names and values out of range.
func (s *Settings) Set(name string, v float64) error {
	for _, t := range settingsTable() {
		if t.name != name {
			continue
		}
		if math.IsNaN(v) || v < t.min || v > t.max {
			return fmt.Errorf("risk setting %s = %v: must be %v..%v (%s)", name, v, t.min, t.max, t.help)
		}
		*t.field(s) = v
		return nil
	}
	names := Names()
	sort.Strings(names)
	return fmt.Errorf("unknown risk setting %q (known: %v)", name, names)
}

// Help describes a setting.
func Help(name string) string {
	for _, t := range settingsTable() {
		if t.name == name {
			return t.help
		}
	}
	return ""
}

// Request is what asks to be acted on: an entry derived from a signal.
type Request struct {
	Coin string
	Dir  int       // +1 long, −1 short
	TS   time.Time // event time of the signal
	// Edge is the wallet's estimated edge per trade in units of the coin's volatility
	// over the holding horizon (the alpha score's scale); ≤ 0 means none.
	Edge float64
}

// Position is one open or pending position of the portfolio.
type Position struct {
	Coin     string
	Dir      int
	USD      float64 // notional at mark (pending: the stake)
	OpenedAt time.Time
}

// Portfolio is the account the request would trade in.
type Portfolio struct {
	Equity         float64
	DayStartEquity float64
	PeakEquity     float64
	Positions      []Position
	// LastEntry is the time of the latest entry per coin (for the cooldown).
	LastEntry map[string]time.Time
}

// Market is what is known about the coin at the request.
type Market struct {
	Price        float64   // 0: none seen
	PriceTS      time.Time // time of that price
	HorizonVol   float64   // the coin's volatility over VolHorizonHours; 0: unknown
	LiquidityUSD float64
}

// Switches are the stop states.
type Switches struct {
	Halted        bool // the global kill switch
	HaltReason    string
	BreakerOn     bool // this scope's breaker is tripped
	BreakerReason string
}

// CheckResult is one check of a decision.
type CheckResult struct {
	Name   string  `json:"name"`
	Passed bool    `json:"passed"`
	Reason string  `json:"reason"`
	Value  float64 `json:"value"`
	Limit  float64 `json:"limit"`
}

// Decision is the gate's answer.
type Decision struct {
	Approved bool          `json:"approved"`
	SizeUSD  float64       `json:"size_usd"`
	Checks   []CheckResult `json:"checks"`
	// Reject is the first failed check's name, "" when approved.
	Reject string `json:"reject"`
}

// Size is the stake by capped fractional Kelly, volatility-scaled: with an edge of e
// horizon-volatilities per trade and horizon volatility σ, the Kelly fraction of
// equity is e/σ (μ/σ² with μ = e·σ); the stake is KellyFraction of it, at most
// KellyCap of equity.
func Size(s Settings, equity, edge, vol float64) float64 {
	if edge <= 0 || equity <= 0 {
		return 0
	}
	if vol <= 0 {
		vol = s.DefaultVol
	}
	vol = math.Max(vol, s.MinVol)
	f := math.Min(s.KellyFraction*edge/vol, s.KellyCap)
	return f * equity
}

// Breach reports whether the portfolio's losses trip the breaker, and why.
func Breach(s Settings, p Portfolio) (string, bool) {
	if p.DayStartEquity > 0 && s.DailyLossPct > 0 {
		loss := (p.DayStartEquity - p.Equity) / p.DayStartEquity
		if loss >= s.DailyLossPct {
			return fmt.Sprintf("%s: lost %.2f%% today, limit %.2f%%", CheckDailyLoss, 100*loss, 100*s.DailyLossPct), true
		}
	}
	if p.PeakEquity > 0 && s.MaxDrawdownPct > 0 {
		dd := (p.PeakEquity - p.Equity) / p.PeakEquity
		if dd >= s.MaxDrawdownPct {
			return fmt.Sprintf("%s: %.2f%% below peak, limit %.2f%%", CheckDrawdown, 100*dd, 100*s.MaxDrawdownPct), true
		}
	}
	return "", false
}

// Decide runs every check on r and returns the decision. All checks run even after
// one fails, so a rejection shows everything that was wrong.
func Decide(s Settings, sw Switches, p Portfolio, m Market, r Request) Decision {
	var d Decision
	add := func(name string, ok bool, value, limit float64, reason string) {
		d.Checks = append(d.Checks, CheckResult{Name: name, Passed: ok, Reason: reason, Value: value, Limit: limit})
		if !ok && d.Reject == "" {
			d.Reject = name
		}
	}
	if sw.Halted {
		add(CheckKillSwitch, false, 1, 0, "trading halted by an admin: "+orDash(sw.HaltReason))
	} else {
		add(CheckKillSwitch, true, 0, 0, "not halted")
	}
	if sw.BreakerOn {
		add(CheckBreaker, false, 1, 0, "circuit breaker tripped: "+orDash(sw.BreakerReason))
	} else {
		add(CheckBreaker, true, 0, 0, "not tripped")
	}
	dailyLoss, dd := 0.0, 0.0
	if p.DayStartEquity > 0 {
		dailyLoss = (p.DayStartEquity - p.Equity) / p.DayStartEquity
	}
	if p.PeakEquity > 0 {
		dd = (p.PeakEquity - p.Equity) / p.PeakEquity
	}
	add(CheckDailyLoss, s.DailyLossPct <= 0 || dailyLoss < s.DailyLossPct, dailyLoss, s.DailyLossPct,
		fmt.Sprintf("day's loss %.2f%% of day-start equity, limit %.2f%%", 100*dailyLoss, 100*s.DailyLossPct))
	add(CheckDrawdown, s.MaxDrawdownPct <= 0 || dd < s.MaxDrawdownPct, dd, s.MaxDrawdownPct,
		fmt.Sprintf("drawdown %.2f%% from peak, limit %.2f%%", 100*dd, 100*s.MaxDrawdownPct))

	switch {
	case m.Price <= 0:
		add(CheckPrice, false, -1, s.MaxStalenessSeconds, "no price seen for "+r.Coin)
	default:
		age := r.TS.Sub(m.PriceTS).Seconds()
		add(CheckPrice, age <= s.MaxStalenessSeconds, age, s.MaxStalenessSeconds,
			fmt.Sprintf("price %.0fs old at the signal, limit %.0fs", age, s.MaxStalenessSeconds))
	}
	if s.MinLiquidityUSD <= 0 {
		// Not measured: with no minimum the check cannot fail (Market.LiquidityUSD is
		// left unread by the paper trader then).
		add(CheckLiquidity, true, -1, 0, "no minimum set (min_liquidity_usd is 0): not measured")
	} else {
		add(CheckLiquidity, m.LiquidityUSD >= s.MinLiquidityUSD, m.LiquidityUSD, s.MinLiquidityUSD,
			fmt.Sprintf("$%.0f traded in %s over %.0f min, minimum $%.0f", m.LiquidityUSD, r.Coin, s.LiquidityWindowMin, s.MinLiquidityUSD))
	}

	size := Size(s, p.Equity, r.Edge, m.HorizonVol)
	d.SizeUSD = size
	switch {
	case r.Edge <= 0:
		add(CheckSize, false, 0, s.MinPositionUSD, fmt.Sprintf("no positive edge (%.3f): Kelly stakes nothing", r.Edge))
	default:
		add(CheckSize, size >= s.MinPositionUSD, size, s.MinPositionUSD,
			fmt.Sprintf("Kelly stake $%.2f (edge %.3f, vol %.4f), minimum $%.2f", size, r.Edge, m.HorizonVol, s.MinPositionUSD))
	}

	var coinUSD, gross float64
	open := len(p.Positions)
	for _, q := range p.Positions {
		gross += math.Abs(q.USD)
		if q.Coin == r.Coin {
			coinUSD += math.Abs(q.USD)
		}
	}
	// Without equity nothing fits: -1 marks "undefined" (JSON has no infinity).
	share, exp := -1.0, -1.0
	shareOK, expOK := false, false
	if p.Equity > 0 {
		share = (coinUSD + size) / p.Equity
		exp = (gross + size) / p.Equity
		shareOK, expOK = share <= s.MaxPositionShare, exp <= s.MaxGrossExposure
	}
	add(CheckPositionShare, shareOK, share, s.MaxPositionShare,
		fmt.Sprintf("%s would be %.2f%% of equity, limit %.2f%%", r.Coin, 100*share, 100*s.MaxPositionShare))
	add(CheckGrossExposure, expOK, exp, s.MaxGrossExposure,
		fmt.Sprintf("gross exposure would be %.2fx equity, limit %.2fx", exp, s.MaxGrossExposure))
	add(CheckOpenPositions, float64(open+1) <= s.MaxOpenPositions, float64(open+1), s.MaxOpenPositions,
		fmt.Sprintf("%d positions with this one, limit %.0f", open+1, s.MaxOpenPositions))
	if last, ok := p.LastEntry[r.Coin]; ok && s.CooldownMinutes > 0 {
		since := r.TS.Sub(last).Minutes()
		add(CheckCooldown, since >= s.CooldownMinutes, since, s.CooldownMinutes,
			fmt.Sprintf("last entry in %s %.1f min ago, cooldown %.0f min", r.Coin, since, s.CooldownMinutes))
	} else {
		add(CheckCooldown, true, -1, s.CooldownMinutes, "no recent entry in "+r.Coin)
	}
	d.Approved = d.Reject == ""
	if !d.Approved {
		d.SizeUSD = 0
	}
	return d
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
