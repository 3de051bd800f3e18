// Package alpha ranks wallets by skill rather than by PnL: the edge per decision that
// a follower could have copied, robust to luck and size (docs/ALPHA.md).
//
// The steps, each usable on its own:
//   - ActionsFromFills (and ActionsFromSwaps, ActionsFromTransfers) turn events into
//     Actions: one decision of a wallet in a coin, with its direction, size, notional
//     and what it did to the position (open, add, reduce, close, flip), the fills of
//     one order merged.
//   - A Prices (Series, built from price events) and Returns measure each action's
//     Outcome: the forward return over fixed horizons, signed by direction, net of a
//     cost, in excess of the coin's drift, following the wallet's exits; and the
//     realised return of closed round trips; in returns and in z units (divided by
//     the coin's volatility over the holding time).
//   - Scorer turns outcomes into a Score per wallet: a recency-weighted mean outcome
//     per action with a cap on any one trade's share, shrunk toward zero by empirical
//     Bayes, and its lower confidence bound; wallets with too few observations and
//     bots are excluded. Rank sorts the eligible ones into a leaderboard.
//   - ComputeStats gives the conventional figures (realised and unrealised PnL, ROI,
//     win rate, profit factor, max drawdown, Sortino, trades) per window, to show
//     beside the score.
//
// The package is pure: no I/O, no clock (scores are "as of" a time the caller gives),
// no globals. Money is float64 here because these are statistics; the book keeps it in
// decimals.
package alpha
