// Package risk is the gate between signals and anything that acts on them (the paper
// trader today, a live executor later): position sizing by capped fractional Kelly
// scaled by the coin's volatility, exposure caps, open-position and cooldown limits,
// liquidity and price-staleness checks, a daily-loss and drawdown circuit breaker, and
// a global kill switch.
//
// Decide is pure: it takes the request, the portfolio, the market, the settings and
// the switch states and returns a Decision naming every check it ran, passed or
// failed, and why. Service stores settings, switches and decisions in Postgres.
package risk
