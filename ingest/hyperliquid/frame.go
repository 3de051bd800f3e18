package hyperliquid

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/parse"
)

// src is the interchange src of every event of this package.
const src = "hyperliquid"

// greeting is the plain-text message the server sends when a connection opens.
const greeting = "Websocket connection established."

// frameKind tells what a websocket message was.
type frameKind uint8

const (
	frameData       frameKind = iota // trades or allMids (or a malformed message): see items
	framePong                        // {"channel":"pong"}
	frameSubscribed                  // {"channel":"subscriptionResponse",...}
	frameError                       // {"channel":"error","data":"..."}
	frameGreeting                    // the plain-text greeting
)

// frame is one decoded websocket message.
type frame struct {
	kind  frameKind
	items []item
	text  string // frameError: the server's message
}

// envelope is the wrapper of every JSON message the server sends.
type envelope struct {
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

// wsTrade is one element of a trades message.
type wsTrade struct {
	Coin  string      `json:"coin"`
	Side  string      `json:"side"` // the taker's side: B bought, A sold
	Px    string      `json:"px"`
	Sz    string      `json:"sz"`
	Time  json.Number `json:"time"` // Unix ms
	Tid   json.Number `json:"tid"`
	Users []string    `json:"users"` // [buyer, seller]
}

// wsDecoder turns websocket messages into events. It keeps the trade dedupe window
// (across connections) and is used by one goroutine at a time.
type wsDecoder struct {
	rules event.Rules
	seen  *dedupe
	// midCoins are the coins whose mids become prices, sorted; nil: every coin.
	midCoins []string
	// badMids are the coins whose symbol was rejected on this connection: they would
	// otherwise be dead-lettered with every allMids message.
	badMids map[string]struct{}
	// resume is Config.Resume: per coin, the trades delivered before a restart.
	resume map[string]TradeCursor
}

func newWSDecoder(rules event.Rules, dedupeSize int, midCoins []string) *wsDecoder {
	d := &wsDecoder{rules: rules, seen: newDedupe(dedupeSize), badMids: map[string]struct{}{}}
	if !(len(midCoins) == 1 && midCoins[0] == AllCoins) {
		d.midCoins = slices.Sorted(slices.Values(midCoins))
		d.midCoins = slices.Compact(d.midCoins)
	}
	return d
}

// connected resets what is kept per connection.
func (d *wsDecoder) connected() { clear(d.badMids) }

// decode decodes one message received at recv.
func (d *wsDecoder) decode(msg []byte, recv time.Time) frame {
	trimmed := bytes.TrimSpace(msg)
	if string(trimmed) == greeting {
		return frame{kind: frameGreeting}
	}
	var env envelope
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return frame{items: []item{rejected(parse.JSONReject(err), msg)}}
	}
	switch env.Channel {
	case "pong":
		return frame{kind: framePong}
	case "subscriptionResponse":
		return frame{kind: frameSubscribed}
	case "error":
		var text string
		if err := json.Unmarshal(env.Data, &text); err != nil {
			text = string(env.Data)
		}
		return frame{kind: frameError, text: text}
	case "trades":
		return frame{items: d.trades(env.Data, msg)}
	case "allMids":
		return frame{items: d.allMids(env.Data, msg, recv)}
	case "":
		return frame{items: []item{rejected(parse.Rejectf(event.ReasonMissingField, "channel", "required"), msg)}}
	}
	return frame{items: []item{rejected(parse.Rejectf(event.ReasonBadValue, "channel", "unexpected channel %s", parse.Quote(env.Channel)), msg)}}
}

// trades decodes the data of a trades message: two fills a trade, in the order of
// the message. Trades seen before (by coin and trade id) are dropped.
func (d *wsDecoder) trades(data, msg []byte) []item {
	var elems []json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil || elems == nil {
		rej := parse.Rejectf(event.ReasonBadType, "data", "a trades message holds an array of trades")
		if err != nil {
			rej = parse.JSONReject(err)
		}
		return []item{rejected(rej, msg)}
	}
	out := make([]item, 0, 2*len(elems))
	for _, raw := range elems {
		out = d.trade(raw, out)
	}
	return out
}

func (d *wsDecoder) trade(raw []byte, out []item) []item {
	var t wsTrade
	if err := json.Unmarshal(raw, &t); err != nil {
		return append(out, rejected(parse.JSONReject(err), raw))
	}
	tid, rej := parseTid(t.Tid)
	if rej != nil {
		return append(out, rejected(rej, raw))
	}
	// Remembered before it is checked: a trade resent after a reconnect is dropped
	// whether it was emitted or dead-lettered the first time.
	if t.Coin != "" && !d.seen.add(tradeKey{coin: t.Coin, tid: tid}) {
		return out
	}
	// A trade the checkpoint resumed from covers was delivered before the restart.
	if c, ok := d.resume[t.Coin]; ok && c.covers(t.Time, tid) {
		return out
	}
	buy, sell, rej := tradeFills(&t, tid, d.rules)
	if rej != nil {
		return append(out, rejected(rej, raw))
	}
	return append(out, item{ev: buy}, item{ev: sell, tradeEnd: true, tid: tid})
}

// tradeFills maps a public trade to the fills of its two wallets: the buyer's buy
// and the seller's sell, with the trade's price, size, time and id. The trade feed
// carries no start position, closed PnL, fee or direction.
func tradeFills(t *wsTrade, tid uint64, r event.Rules) (buy, sell event.Event, rej *event.Reject) {
	if t.Coin == "" {
		return buy, sell, parse.Rejectf(event.ReasonMissingField, "coin", "required")
	}
	if t.Side != "A" && t.Side != "B" {
		return buy, sell, parse.Rejectf(event.ReasonBadSide, "side", "%s is neither B nor A", parse.Quote(t.Side))
	}
	base := event.Event{Kind: event.KindFill, Src: src, Coin: t.Coin, ID: strconv.FormatUint(tid, 10)}
	if base.Px, rej = parse.Decimal("px", t.Px); rej != nil {
		return buy, sell, rej
	}
	if base.Sz, rej = parse.Decimal("sz", t.Sz); rej != nil {
		return buy, sell, rej
	}
	if base.TS, rej = parse.Millis("time", t.Time); rej != nil {
		return buy, sell, rej
	}
	switch {
	case len(t.Users) == 0:
		return buy, sell, parse.Rejectf(event.ReasonMissingField, "users", "required")
	case len(t.Users) != 2:
		return buy, sell, parse.Rejectf(event.ReasonBadValue, "users", "want [buyer, seller], got %d users", len(t.Users))
	}
	buy, sell = base, base
	buy.Wallet, buy.Side = t.Users[0], event.Buy
	sell.Wallet, sell.Side = t.Users[1], event.Sell
	if err := buy.Validate(r); err != nil {
		return buy, sell, parse.JSONReject(err)
	}
	if err := sell.Validate(r); err != nil {
		return buy, sell, parse.JSONReject(err)
	}
	if buy.Wallet == sell.Wallet {
		// Both halves would have the same key (src, fill, wallet, id), so the store
		// would keep one and count a position change the wallet never had.
		return buy, sell, parse.Rejectf(event.ReasonBadValue, "users", "self-trade of %s: both sides would share one idempotency key", buy.Wallet)
	}
	return buy, sell, nil
}

// allMids decodes the data of an allMids message ({"mids":{coin: px}}): one price
// a wanted coin, stamped with the receive time (the message carries none).
func (d *wsDecoder) allMids(data, msg []byte, recv time.Time) []item {
	var m struct {
		Mids map[string]json.RawMessage `json:"mids"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return []item{rejected(parse.JSONReject(err), msg)}
	}
	if m.Mids == nil {
		return []item{rejected(parse.Rejectf(event.ReasonMissingField, "mids", "required"), msg)}
	}
	return midPrices(m.Mids, d.midCoins, d.badMids, recv, d.rules)
}

// midPrices turns a coin → mid map into price events at ts, for coins (sorted) or,
// when coins is nil, for every coin in coin order. A coin in bad is skipped; a coin
// whose symbol the format rejects is added to it (it would be rejected again with
// every message, while a bad price may be a one-off).
func midPrices(mids map[string]json.RawMessage, coins []string, bad map[string]struct{}, ts time.Time, r event.Rules) []item {
	if coins == nil {
		coins = slices.Sorted(func(yield func(string) bool) {
			for c := range mids {
				if !yield(c) {
					return
				}
			}
		})
	}
	out := make([]item, 0, min(len(coins), len(mids)))
	for _, coin := range coins {
		raw, ok := mids[coin]
		if !ok {
			continue
		}
		if _, skip := bad[coin]; skip {
			continue
		}
		it := midPrice(coin, raw, ts, r)
		if it.rej != nil && it.rej.Reason == event.ReasonBadSymbol && bad != nil {
			bad[coin] = struct{}{}
		}
		out = append(out, it)
	}
	return out
}

func midPrice(coin string, raw json.RawMessage, ts time.Time, r event.Rules) item {
	var px string
	if err := json.Unmarshal(raw, &px); err != nil {
		return rejected(parse.Rejectf(event.ReasonBadType, "price", "mid of %s: want a decimal string", parse.Quote(coin)), midRaw(coin, raw))
	}
	ev := event.Event{Kind: event.KindPrice, Src: src, TS: ts, Symbol: coin}
	var rej *event.Reject
	if ev.Price, rej = parse.Decimal("price", px); rej != nil {
		return rejected(rej, midRaw(coin, raw))
	}
	if err := ev.Validate(r); err != nil {
		return rejected(parse.JSONReject(err), midRaw(coin, raw))
	}
	return item{ev: ev}
}

// midRaw is the offending input of one mid: {"coin":value}.
func midRaw(coin string, raw json.RawMessage) []byte {
	b, _ := json.Marshal(coin)
	out := append([]byte{'{'}, b...)
	out = append(out, ':')
	out = append(out, raw...)
	return append(out, '}')
}
