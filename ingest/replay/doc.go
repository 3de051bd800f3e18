// Package replay reads the files behind `coattail replay FILE...`: interchange NDJSON
// (docs/EVENTS.md) and a few native formats, each record turned into an interchange
// event that passed the same quality rules as live data (event.Decode for interchange,
// event.Validate for the native formats) or into an *event.Reject with its reason.
// Bad records never stop a file; only unreadable input does.
//
// # Compression and detection
//
// gzip and zstd are recognised by their magic bytes (1f8b, 28b52ffd), whatever the
// file is called. The format is Options.Format when given, else detected from the
// first non-blank line of the decompressed content:
//
//   - a JSON object with "kind": interchange NDJSON;
//   - a JSON object with "type": "token_transfer": ethereum-etl token_transfers JSON;
//   - a JSON array, or an object with Hyperliquid fill fields (closedPnl, or coin and
//     oid): a Hyperliquid userFills response;
//   - any other JSON object: interchange (its lines are rejected one by one if they
//     are not events);
//   - a CSV header: the flavour its column names denote; headerless CSV data: Binance
//     trades (first boolean column at index 5), aggTrades (at index 6) or klines (no
//     boolean column, integer times at indexes 0 and 6);
//   - otherwise the file name decides (.ndjson, .jsonl, *token_transfers*,
//     *fills*.json, *-trades*, *-aggTrades*, *klines*), else Open fails with
//     ErrUnknownFormat.
//
// # Interchange NDJSON
//
// One event a line, decoded with event.Decode. Lines end in "\n" or "\r\n"; a last
// line without a newline is read; blank lines are skipped (they keep their place in
// the line numbering). A line longer than event.MaxLineBytes is rejected with
// line_too_long without being held whole in memory: at most MaxLineBytes are buffered
// before the rest is skipped, and Raw keeps its first 4 KiB.
//
// # Binance CSV (data.binance.vision)
//
// trades (id,price,qty,quote_qty,time,is_buyer_maker,is_best_match) and aggTrades
// (agg_trade_id,price,qty,first_trade_id,last_trade_id,time,is_buyer_maker,...) become
// trade events: src binance, side sell when the buyer was the maker (the taker sold),
// else buy. The id is the trade id; aggregate trade ids are prefixed "a" ("a26129")
// because they are a sequence of their own and would collide with plain trade ids.
// klines become price events: the close price at the kline's close_time as given
// (10:59:59.999 for the 10:00 hourly kline). Files with and without a header are read;
// with a header, columns are found by name, and repeats of the header line (files
// concatenated with their headers) are skipped. Times in seconds, milliseconds (older
// files) or microseconds (2025 onwards) are told apart by magnitude. The symbol is
// Options.Symbol or the file name's first part (ETHUSDT-1h-klines.csv), written
// BASE-QUOTE by the longest known quote asset it ends with (USDT, USDC, FDUSD, BUSD,
// TUSD, BTC, ETH, BNB, EUR, TRY, ...); when there is none, every row is rejected with
// missing_field symbol.
//
// # ethereum-etl token_transfers
//
// CSV (token_address,from_address,to_address,value,transaction_hash,log_index,
// block_number) and JSON lines ({"type":"token_transfer",...,"block_timestamp":...,
// "block_hash":...}) become transfer events with src ethereum and raw_amount = value.
// ethereum-etl does not record token decimals: WETH, USDC, USDT, DAI and WBTC (by
// mainnet address) get their symbol and decimals; every other token is emitted with
// decimals 0 and no symbol, so its amount is in raw units and a consumer that knows the
// token's decimals must scale it. The JSON form carries block_timestamp and
// block_hash, which are used. The CSV has no timestamps: ts is then estimated from the
// block number by interpolating between known mainnet blocks (the hard forks, the
// merge), which keeps block order but is only approximate: checked against real
// headers it is up to about a day and a half off in 2015, within a few hours since.
// Use the JSON form when event times matter.
//
// # Hyperliquid userFills
//
// The raw info API response (a JSON array of fills; several appended arrays or one
// fill object a line are read too) becomes fill events with src hyperliquid, mapped
// by package ingest/hyperliquid/userfills as the live source maps them: side B is
// buy, A is sell; px, sz, dir, startPosition, closedPnl and fee are copied; ts is the
// fill time (ms). The wallet is Options.Wallet or the first 0x address in the file
// name; without one every fill that decodes is rejected with missing_field wallet
// (one that does not keeps its bad_type or bad_json rejection). The id is the
// trade id (tid); fills from before Hyperliquid reported tids have no id, so their
// idempotency key is the hash of the whole event (oid would merge the parts of one
// order). The file is read whole and the fills are emitted in ascending time, sorted
// stably so that fills of the same millisecond keep the file's order (their execution
// order); records rejected before their time was known come first. Record.Line is
// the fill's 1-based position in the file. A JSON syntax error ends the file with one
// bad_json record, emitted last, after the fills read before the damage.
package replay
