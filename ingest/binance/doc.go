// Package binance is the live Binance spot source: it follows the aggTrade (default) or
// trade stream of a set of symbols over one combined-stream websocket
// (/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade) and emits interchange trade
// events (docs/EVENTS.md).
//
// Mapping, the same as the replay adapter's for Binance CSVs: src "binance"; ts from
// the trade time T (milliseconds); symbol as BASE-QUOTE (ETHUSDT becomes ETH-USDT by the
// longest known quote asset, see SplitSymbol); price p, qty q; side "sell" when the buyer was the maker
// (m true), else "buy" — the taker's side; id "a" + the aggregate id for aggTrade, the
// plain trade id for trade.
//
// Connection: Binance pings every 20 s and cuts connections after 24 h. The source
// answers pings with pongs, extends the read deadline on every frame, ping and pong
// (ReadTimeout), reconnects by itself after MaxConnAge (23 h), and after a failure
// reconnects with exponential backoff and full jitter.
//
// No gap, no duplicate: ids are consecutive per symbol. The source remembers the last
// id emitted per symbol (LastIDs; Checkpoint as JSON, read back by
// Config.WithCheckpoint into Config.Resume to start from one). A
// trade at or below it is skipped as a duplicate. A trade beyond the next id — the
// first trade of a symbol after a reconnect, or a jump mid-stream — first triggers a
// backfill from the REST API (/api/v3/aggTrades, or /api/v3/historicalTrades for the
// trade stream) from the next id on, at most BackfillPages requests of BackfillLimit
// trades, emitted in id order; then the trade itself is emitted unless the backfill
// already did. So events of one symbol are emitted in strictly increasing id order,
// and a gap remains only when the backfill is exhausted or fails (counted in
// Stats.Unrecovered and logged with the missing range). The backfill of a symbol that
// does not trade after a reconnect waits for its next trade.
//
// Bad input never stops the source: a frame that does not parse, or whose trade fails
// the format's quality rules, is handed to reject with its reason code and the frame.
// Frames of other streams (depth, kline, ...) are counted as ignored.
//
// Known limits: the backfill runs on the reading goroutine, so a long backfill delays
// pong replies (Binance allows a minute; BackfillTimeout defaults to 30 s). Whether
// /api/v3/historicalTrades still needs an API key has not been verified against the
// live API; the trade stream's backfill sends none.
package binance
