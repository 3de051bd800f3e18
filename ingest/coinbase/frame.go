package coinbase

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/parse"
)

// Channels of the Advanced Trade market-data websocket.
const (
	channelMarketTrades  = "market_trades"
	channelHeartbeats    = "heartbeats"
	channelSubscriptions = "subscriptions"
)

// noSeq marks a frame without sequence_num.
const noSeq = -1

// skip absorbs a field that is not used, without allocating.
type skip struct{}

// UnmarshalJSON accepts any value.
func (*skip) UnmarshalJSON([]byte) error { return nil }

// frame is one server message: a channel message
// ({"channel":"market_trades","timestamp":...,"sequence_num":9,"events":[...]}) or an
// error ({"type":"error","message":"..."}).
type frame struct {
	Channel   string        `json:"channel"`
	ClientID  skip          `json:"client_id"`
	Timestamp skip          `json:"timestamp"`
	Seq       int64         `json:"sequence_num"`
	Events    []eventObject `json:"events"`
	Type      string        `json:"type"`
	Message   string        `json:"message"`
}

// eventObject is one element of events. Only market_trades fills Trades and only
// subscriptions fills Subscriptions; each trade stays raw so that one bad trade is
// dead-lettered alone.
type eventObject struct {
	Type          string              `json:"type"` // snapshot | update
	Trades        []json.RawMessage   `json:"trades"`
	Subscriptions map[string][]string `json:"subscriptions"`
}

// wireTrade is one market trade:
// {"product_id":"BTC-USD","trade_id":"1068572091","price":"65083.67","size":"0.01034361","time":"2026-08-09T21:05:48.167634Z","side":"SELL"}.
type wireTrade struct {
	ProductID string `json:"product_id"`
	TradeID   string `json:"trade_id"`
	Price     string `json:"price"`
	Size      string `json:"size"`
	Time      string `json:"time"`
	Side      string `json:"side"`
}

// decodeFrame decodes one server message, or rejects it.
func decodeFrame(b []byte) (frame, *event.Reject) {
	f := frame{Seq: noSeq}
	if err := json.Unmarshal(b, &f); err != nil {
		return frame{}, jsonReject(err)
	}
	if f.Channel == "" && f.Type == "" {
		return frame{}, parse.Rejectf(event.ReasonMissingField, "channel", "neither a channel nor a type")
	}
	if f.Seq < noSeq {
		return frame{}, parse.Rejectf(event.ReasonBadValue, "sequence_num", "negative: %d", f.Seq)
	}
	return f, nil
}

// decodeTrade decodes and checks one raw trade. With a rejection, the product and
// trade id are still returned when the trade gave them.
func decodeTrade(b []byte) (wireTrade, *event.Event, *event.Reject) {
	var w wireTrade
	if err := json.Unmarshal(b, &w); err != nil {
		return wireTrade{}, nil, jsonReject(err)
	}
	if w.ProductID == "" {
		return w, nil, parse.Rejectf(event.ReasonMissingField, "product_id", "no product")
	}
	if w.TradeID == "" {
		return w, nil, parse.Rejectf(event.ReasonMissingField, "trade_id", "no trade id")
	}
	ev := &event.Event{Kind: event.KindTrade, Src: "coinbase", Symbol: w.ProductID, ID: w.TradeID}
	var rej *event.Reject
	if ev.Price, rej = parse.UnsignedDecimal("price", w.Price); rej != nil {
		return w, nil, rej
	}
	if ev.Qty, rej = parse.UnsignedDecimal("size", w.Size); rej != nil {
		return w, nil, rej
	}
	if w.Time == "" {
		return w, nil, parse.Rejectf(event.ReasonMissingField, "time", "no trade time")
	}
	ts, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil {
		return w, nil, parse.Rejectf(event.ReasonBadTimestamp, "time", "not RFC 3339: %q", parse.Clip(w.Time))
	}
	ev.TS = ts.UTC()
	// side is the maker's side (the resting order); the event carries the taker's.
	switch w.Side {
	case "SELL", "sell":
		ev.Side = event.Buy
	case "BUY", "buy":
		ev.Side = event.Sell
	case "":
		return w, nil, parse.Rejectf(event.ReasonMissingField, "side", "no side")
	default:
		return w, nil, parse.Rejectf(event.ReasonBadSide, "side", "want BUY or SELL: %q", parse.Clip(w.Side))
	}
	return w, ev, nil
}

// jsonReject maps an encoding/json error to a rejection.
func jsonReject(err error) *event.Reject {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return parse.Rejectf(event.ReasonBadJSON, "", "not a JSON object: %s", te.Value)
		}
		// Within events the path has indexes elided (events.trades); keep the leaf.
		field := te.Field
		if i := strings.LastIndexByte(field, '.'); i >= 0 {
			field = field[i+1:]
		}
		return parse.Rejectf(event.ReasonBadType, field, "want %s, got %s", te.Type, te.Value)
	}
	return parse.Rejectf(event.ReasonBadJSON, "", "%v", err)
}
