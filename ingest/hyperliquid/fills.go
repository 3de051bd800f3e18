package hyperliquid

import (
	"encoding/json"
	"math"
	"slices"

	"github.com/coattailcapital/coattail/event"
)

// infoFill is one element of a userFills or userFillsByTime response. Only the
// fields a fill event needs are read.
type infoFill struct {
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

// unknownTime is the sort time of a fill whose time could not be read.
const unknownTime = math.MinInt64

// timedItem is a decoded fill with its time in ms, to sort by.
type timedItem struct {
	ms int64
	item
}

// decodeFills decodes a userFills / userFillsByTime response body for wallet (lower
// case), in the order of the body. A body that is not a JSON array of objects is
// rejected whole; a bad element is rejected on its own.
//
// The mapping is the one of the replay reader (ingest/replay), so a fill read live
// and the same fill replayed from a saved response have the same key: side B is buy
// and A sell; px, sz, dir, startPosition, closedPnl and fee are copied; ts is the
// fill time; the id is the trade id, absent on fills from before Hyperliquid
// reported trade ids (their key is then the hash of the whole event).
func decodeFills(body []byte, wallet string, r event.Rules) ([]timedItem, *event.Reject) {
	var elems []json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil {
		return nil, asReject(err)
	}
	if elems == nil {
		return nil, rejectf(event.ReasonBadType, "", "want a JSON array of fills, got null")
	}
	out := make([]timedItem, 0, len(elems))
	for _, raw := range elems {
		out = append(out, decodeFill(raw, wallet, r))
	}
	return out, nil
}

func decodeFill(raw []byte, wallet string, r event.Rules) timedItem {
	var f infoFill
	err := json.Unmarshal(raw, &f)
	ti := timedItem{ms: unknownTime}
	// encoding/json goes on after a type error, so the time may still be known and
	// the rejection keeps its place.
	if ts, rej := parseMillis("time", f.Time); rej == nil {
		ti.ms = ts.UnixMilli()
	}
	if err != nil {
		ti.item = rejected(asReject(err), raw)
		return ti
	}
	ev, rej := fillEvent(&f, wallet, r)
	if rej != nil {
		ti.item = rejected(rej, raw)
		return ti
	}
	ti.ev = ev
	return ti
}

func fillEvent(f *infoFill, wallet string, r event.Rules) (event.Event, *event.Reject) {
	ev := event.Event{Kind: event.KindFill, Src: src, Wallet: wallet, Coin: f.Coin, Dir: f.Dir, ID: f.Tid.String()}
	if f.Coin == "" {
		return ev, rejectf(event.ReasonMissingField, "coin", "required")
	}
	var rej *event.Reject
	if ev.Px, rej = parseDec("px", f.Px); rej != nil {
		return ev, rej
	}
	if ev.Sz, rej = parseDec("sz", f.Sz); rej != nil {
		return ev, rej
	}
	switch f.Side {
	case "B":
		ev.Side = event.Buy
	case "A":
		ev.Side = event.Sell
	case "":
		return ev, rejectf(event.ReasonMissingField, "side", "required")
	default:
		return ev, rejectf(event.ReasonBadSide, "side", "%s is neither B nor A", quote(f.Side))
	}
	if ev.TS, rej = parseMillis("time", f.Time); rej != nil {
		return ev, rej
	}
	if ev.StartPosition, rej = optDec("startPosition", f.StartPosition); rej != nil {
		return ev, rej
	}
	if ev.ClosedPnl, rej = optDec("closedPnl", f.ClosedPnl); rej != nil {
		return ev, rej
	}
	if ev.Fee, rej = optDec("fee", f.Fee); rej != nil {
		return ev, rej
	}
	if err := ev.Validate(r); err != nil {
		return ev, asReject(err)
	}
	return ev, nil
}

// timeRange is the lowest and highest known time of items; ok is false when none
// has a known time.
func timeRange(items []timedItem) (lo, hi int64, ok bool) {
	for _, it := range items {
		if it.ms == unknownTime {
			continue
		}
		if !ok {
			lo, hi, ok = it.ms, it.ms, true
			continue
		}
		lo, hi = min(lo, it.ms), max(hi, it.ms)
	}
	return lo, hi, ok
}

// sortByTime sorts fills by time, stably: the API lists fills newest first, but the
// fills of one millisecond in execution order, which a stable ascending sort keeps
// (the replay reader does the same). Rejections of unknown time come first.
func sortByTime(items []timedItem) {
	slices.SortStableFunc(items, func(a, b timedItem) int {
		switch {
		case a.ms < b.ms:
			return -1
		case a.ms > b.ms:
			return 1
		}
		return 0
	})
}
