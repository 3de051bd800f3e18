// Package hyperliquid is the live Hyperliquid source (ingest.Source): public trades
// and mid prices from the websocket API, and the positions and fill history of
// tracked wallets from the info API, normalised into interchange events
// (docs/EVENTS.md) with src "hyperliquid".
//
// # Websocket (Config.WSURL, default wss://api.hyperliquid.xyz/ws)
//
// On every connection the source sends {"method":"subscribe","subscription":
// {"type":"trades","coin":C}} for each of Config.Coins and {"type":"allMids"} when
// mids are wanted, then reads:
//
//   - trades: {"channel":"trades","data":[{"coin","side","px","sz","hash","time",
//     "tid","users":[buyer,seller]}]}. Hyperliquid reveals both wallets of a trade,
//     so each trade becomes two fill events: the buyer's (side buy) and the seller's
//     (side sell), with the trade's coin, px, sz, time (ms) and id = tid. The key of
//     a fill is (src, fill, wallet, id), so the two sides have different keys, and a
//     fill seen live has the key of the same fill backfilled from userFills or
//     replayed from a saved userFills file. The trade feed carries no start
//     position, closed PnL, fee or direction, so these fills have none. A self-trade
//     (buyer = seller) is dead-lettered: its two halves would share one key.
//     Trades are deduplicated by (coin, tid) across reconnects within a window of
//     Config.DedupeSize trades (a new subscription may start with recent trades the
//     previous connection already delivered). Across restarts, Checkpoint saves a
//     cursor per coin (the time of the last trade delivered and the ids of that
//     millisecond; see TradeCursor) and Config.WithCheckpoint reads it back into
//     Config.Resume, so the recent trades a restarted source's subscriptions start
//     with are dropped too.
//   - allMids: {"channel":"allMids","data":{"mids":{coin: px}}}: one price event a
//     coin of Config.MidCoins (default: the trade coins; AllCoins: every coin), in
//     coin order. The message has no time, so ts is the receive time read from the
//     injected clock (Config.Now); all prices of one message share it. At start, one
//     info allMids request gives the same prices before the first message arrives.
//   - pong, subscriptionResponse and the plain-text greeting are protocol traffic.
//     An error message while subscriptions are unacknowledged makes Run return
//     ErrSubscription ("Already subscribed" excepted); later ones are logged.
//     Anything else (bad JSON, an unknown channel, a trade with a bad field) is
//     handed to reject with its reason code, and reading goes on.
//
// Heartbeat: {"method":"ping"} every Config.PingInterval (50 s; the server closes a
// connection that sent nothing for 60 s). A connection silent for Config.ReadTimeout
// is replaced. Reconnects wait a jittered exponential backoff between
// Config.MinBackoff and Config.MaxBackoff, reset once a connection delivered, and
// resubscribe everything.
//
// # Info API (Config.InfoURL, default https://api.hyperliquid.xyz/info)
//
// Positions: every Config.PollInterval, a clearinghouseState request for each
// tracked wallet. A position event (wallet, coin, size = szi, entry_px, leverage =
// leverage.value, unrealized_pnl, account_value = marginSummary.accountValue,
// mark_px = positionValue / |szi| since the response has no mark price) is emitted
// for every open position on a wallet's first poll, then only for a (wallet, coin)
// whose size changed since the last poll, and as size "0" for a coin no longer
// listed (closed). ts is the response's "time" when it has one, else the receive
// time. Only perpetuals of the main dex are covered (spot balances and builder-
// deployed dexes are other requests).
//
// Fills: Track(wallet) backfills: userFills returns the wallet's most recent fills
// (at most Config.FillsPageLimit, 2000); when it is full, userFillsByTime pages
// back over [now - Config.BackfillWindow, the page's oldest time] (the API keeps a
// wallet's 10,000 most recent fills). The docs do not pin down which end of a
// window a truncated userFillsByTime response keeps, so paging does not rely on it:
// it splits the window around each full page (see pageFills). Fills map by package
// userfills, shared with the replay reader: side B buy, A sell; start_position, closed_pnl, fee and dir copied;
// id = tid; emitted oldest first, fills of one millisecond in the API's order.
//
// Rate limit: Hyperliquid allows 1200 weight a minute per IP over all REST requests
// ("Rate limits and user limits" in the Hyperliquid API docs): clearinghouseState and
// allMids weigh 2, userFills and userFillsByTime 20 plus 1 more per 20 fills
// returned (charged after the response; whether a partial 20 counts is not stated,
// so it is rounded down here). Every info request of a Source goes through one
// token bucket of Config.WeightPerMinute; a 429 empties it and the request is
// retried after a backoff (honouring Retry-After), as are 5xx answers and network
// errors, so nothing asked for is dropped. The 1200 is per IP: other processes on
// the same address spend the same budget, so lower WeightPerMinute to share it.
package hyperliquid
