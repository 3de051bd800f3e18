// Package coinbase is the live Coinbase source: it follows the market_trades channel of
// the Advanced Trade market-data websocket (wss://advanced-trade-ws.coinbase.com) for a
// set of products and emits interchange trade events (docs/EVENTS.md).
//
// Protocol, as in the recorded capture (shared/data/coinbase): on every connection the
// source sends one message per channel,
//
//	{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"market_trades"}
//	{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"heartbeats"}
//
// and receives frames {"channel":...,"timestamp":...,"sequence_num":N,"events":[...]}.
// sequence_num counts every frame of the connection from 0, whatever its channel.
// market_trades first answers with a "snapshot" event per product holding its last
// 100 trades, then sends "update" events; both list trades newest first. Heartbeats
// arrive every second and keep the connection's read deadline alive.
//
// Mapping: src "coinbase"; symbol = product_id (BTC-USD); price, qty = size; ts = the
// trade's time; id = trade_id; side = the taker's side, which is the opposite of the
// frame's side. Reading of the side: Coinbase's documentation of market_trades does not
// say whose side it is (its older Exchange feed documents "the maker order side"). The
// capture settles it, comparing each update's price with the last ticker's best bid
// and ask: of 51 SELL prints, 49 were at the ask (1 at the bid, 1 inside the spread);
// of 28 BUY prints, 26 were at the bid (2 inside), none at the ask. A SELL print is a
// resting sell order lifted by a buyer, so SELL maps to "buy" and BUY to "sell". The
// capture test checks this reading against the book, so a change of convention in a
// new capture would fail it.
//
// Gaps and duplicates: a jump in sequence_num means frames were lost; the source logs
// and counts it and resubscribes to market_trades on the same connection, so the new
// snapshot brings back the last 100 trades of each product. On any failure it
// reconnects with exponential backoff and full jitter and subscribes again, which
// also brings a snapshot. Trades are deduplicated by trade id in bounded memory (a
// window of DedupWindow ids below the highest id seen per product), so a snapshot's
// trades already emitted are dropped and the ones that fill a hole are emitted — then
// out of id order. Trades of one frame are emitted oldest first. A gap longer than 100
// trades of a product cannot be closed: Coinbase has no public backfill by trade id.
// The first snapshot after start is emitted too (trades from just before the start),
// unless Config.Resume says they were emitted already (Checkpoint saves it as JSON,
// Config.WithCheckpoint reads it back).
//
// Bad input never stops the source: a frame that does not parse is dead-lettered whole;
// a bad trade is dead-lettered alone (its raw JSON object) with its reason, and the
// other trades of its frame go on. An error message before the subscription is
// confirmed ends Run with a *SubscribeError; after it, the source reconnects.
package coinbase
