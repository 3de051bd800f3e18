package hyperliquid

import (
	"cmp"
	"encoding/json"
	"slices"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/hyperliquid/userfills"
	"github.com/coattailcapital/coattail/ingest/parse"
)

// timedItem is a decoded fill with its time in ms, to sort by.
type timedItem struct {
	ms int64
	item
}

// decodeFills decodes a userFills / userFillsByTime response body for wallet (lower
// case), in the order of the body. A body that is not a JSON array of objects is
// rejected whole; a bad element is rejected on its own. Each element is mapped by
// package userfills, as the replay reader (ingest/replay) maps a saved response, so a
// fill read live and replayed has the same key.
func decodeFills(body []byte, wallet string, r event.Rules) ([]timedItem, *event.Reject) {
	var elems []json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil {
		return nil, parse.JSONReject(err)
	}
	if elems == nil {
		return nil, parse.Rejectf(event.ReasonBadType, "", "want a JSON array of fills, got null")
	}
	out := make([]timedItem, 0, len(elems))
	for _, raw := range elems {
		out = append(out, decodeFill(raw, wallet, r))
	}
	return out, nil
}

func decodeFill(raw []byte, wallet string, r event.Rules) timedItem {
	f, ms, rej := userfills.Decode(raw)
	ti := timedItem{ms: ms}
	if rej == nil {
		ti.ev, rej = f.Event(wallet, r)
	}
	if rej != nil {
		ti.item = rejected(rej, raw)
	}
	return ti
}

// timeRange is the lowest and highest known time of items; ok is false when none
// has a known time.
func timeRange(items []timedItem) (lo, hi int64, ok bool) {
	for _, it := range items {
		if it.ms == userfills.UnknownTime {
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
	slices.SortStableFunc(items, func(a, b timedItem) int { return cmp.Compare(a.ms, b.ms) })
}
