// Package userfills maps the elements of Hyperliquid's userFills and userFillsByTime
// info responses to interchange fill events. The live source (ingest/hyperliquid)
// and the replay reader (ingest/replay) both use it, so a fill read live and the same
// fill replayed from a saved response are the same event, with the same key.
//
// Mapping: src hyperliquid; side B is buy and A sell; px, sz, dir, startPosition,
// closedPnl and fee are copied (the last three optional); ts is the fill time, in
// Unix milliseconds; the id is the trade id (tid). Fills from before Hyperliquid
// reported trade ids have no id, so their key is the hash of the whole event
// (docs/EVENTS.md); the order id would not do, since one order fills in several parts.
package userfills

import (
	"encoding/json"
	"math"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/parse"
)

// UnknownTime is the sort time of an element whose time cannot be read.
const UnknownTime = math.MinInt64

// Fill is one element of a userFills or userFillsByTime response. Only the fields a
// fill event needs are read.
type Fill struct {
	ClosedPnl     *string     `json:"closedPnl"`
	Coin          string      `json:"coin"`
	Dir           string      `json:"dir"`
	Fee           *string     `json:"fee"`
	Px            string      `json:"px"`
	Side          string      `json:"side"` // B bought, A sold
	StartPosition *string     `json:"startPosition"`
	Sz            string      `json:"sz"`
	Time          json.Number `json:"time"` // Unix ms
	Tid           json.Number `json:"tid"`
}

// Decode decodes one element of a response (a JSON value). ms is the fill time in
// Unix milliseconds, to sort by, or UnknownTime. A value that is not a fill object,
// or a field of the wrong JSON type, is rejected (bad_type, bad_json); the time is
// still read then when it can be, so that a rejection keeps its place in time.
func Decode(raw []byte) (f Fill, ms int64, rej *event.Reject) {
	err := json.Unmarshal(raw, &f)
	// encoding/json goes on after a type error, so the time may still be known.
	ms = UnknownTime
	if ts, trej := parse.Millis("time", f.Time); trej == nil {
		ms = ts.UnixMilli()
	}
	if err != nil {
		return f, ms, parse.JSONReject(err)
	}
	return f, ms, nil
}

// Event maps f to a fill event of wallet (lower case) and validates it with r.
func (f *Fill) Event(wallet string, r event.Rules) (event.Event, *event.Reject) {
	ev := event.Event{Kind: event.KindFill, Src: "hyperliquid", Wallet: wallet, Coin: f.Coin, Dir: f.Dir, ID: f.Tid.String()}
	if f.Coin == "" {
		return ev, parse.Rejectf(event.ReasonMissingField, "coin", "required")
	}
	var rej *event.Reject
	if ev.Px, rej = parse.Decimal("px", f.Px); rej != nil {
		return ev, rej
	}
	if ev.Sz, rej = parse.Decimal("sz", f.Sz); rej != nil {
		return ev, rej
	}
	switch f.Side {
	case "B":
		ev.Side = event.Buy
	case "A":
		ev.Side = event.Sell
	case "":
		return ev, parse.Rejectf(event.ReasonMissingField, "side", "required")
	default:
		return ev, parse.Rejectf(event.ReasonBadSide, "side", "%s is neither B nor A", parse.Quote(f.Side))
	}
	if ev.TS, rej = parse.Millis("time", f.Time); rej != nil {
		return ev, rej
	}
	if ev.StartPosition, rej = parse.OptDecimal("startPosition", f.StartPosition); rej != nil {
		return ev, rej
	}
	if ev.ClosedPnl, rej = parse.OptDecimal("closedPnl", f.ClosedPnl); rej != nil {
		return ev, rej
	}
	if ev.Fee, rej = parse.OptDecimal("fee", f.Fee); rej != nil {
		return ev, rej
	}
	if err := ev.Validate(r); err != nil {
		return ev, parse.JSONReject(err)
	}
	return ev, nil
}
