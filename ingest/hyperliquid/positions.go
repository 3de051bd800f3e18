package hyperliquid

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/parse"
)

// markPlaces is how many decimal places a mark price derived from positionValue /
// |szi| keeps. Hyperliquid prices have at most 8 (spot) and positionValue is
// |szi| × mark, so the division is exact in practice; the rounding only bounds it.
const markPlaces = 8

// clearinghouseState is the part of a clearinghouseState response positions are
// made of. Pointers tell absent fields from empty ones.
type clearinghouseState struct {
	AssetPositions *[]json.RawMessage `json:"assetPositions"`
	MarginSummary  *struct {
		AccountValue *string `json:"accountValue"`
	} `json:"marginSummary"`
	Time json.Number `json:"time"` // Unix ms; newer responses only
}

type assetPosition struct {
	Position *struct {
		Coin     string  `json:"coin"`
		EntryPx  *string `json:"entryPx"`
		Leverage *struct {
			Value json.Number `json:"value"`
		} `json:"leverage"`
		PositionValue *string `json:"positionValue"`
		Szi           string  `json:"szi"`
		UnrealizedPnl *string `json:"unrealizedPnl"`
	} `json:"position"`
}

// positionBook remembers the last size of every (wallet, coin) seen, to turn polled
// clearinghouseStates into position events only where a size changed.
type positionBook struct {
	rules event.Rules
	// sizes maps wallet → coin → last non-zero size; a wallet absent has not been
	// polled yet, an empty map is a wallet polled flat.
	sizes map[string]map[string]decimal.Decimal
}

func newPositionBook(r event.Rules) *positionBook {
	return &positionBook{rules: r, sizes: map[string]map[string]decimal.Decimal{}}
}

// apply decodes one clearinghouseState of wallet received at recv and returns the
// position events to emit, and the rejections:
//   - on the wallet's first poll, every open position;
//   - later, every coin whose size differs from the last poll's;
//   - a coin that was open and is no longer listed (closed) as a position of size 0.
//
// ts is the response's time when it has one, else recv. When a position cannot be
// read, the sizes it may have held are left as they were (no coin is taken for
// closed on that poll), so a bad response never fabricates a close.
func (b *positionBook) apply(wallet string, body []byte, recv time.Time) []item {
	var st clearinghouseState
	if err := json.Unmarshal(body, &st); err != nil {
		return []item{rejected(parse.JSONReject(err), body)}
	}
	if st.AssetPositions == nil {
		return []item{rejected(parse.Rejectf(event.ReasonMissingField, "assetPositions", "required"), body)}
	}
	ts := recv
	if st.Time != "" {
		t, rej := parse.Millis("time", st.Time)
		if rej != nil {
			return []item{rejected(rej, body)}
		}
		ts = t
	}
	var account decimal.NullDecimal
	if st.MarginSummary != nil {
		var rej *event.Reject
		if account, rej = parse.OptDecimal("account_value", st.MarginSummary.AccountValue); rej != nil {
			return []item{rejected(rej, body)}
		}
	}

	old, polled := b.sizes[wallet]
	now := make(map[string]decimal.Decimal, len(*st.AssetPositions))
	listed := make(map[string]struct{}, len(*st.AssetPositions))
	var out []item
	partial := false
	for _, raw := range *st.AssetPositions {
		ev, rej := positionEvent(raw, wallet, ts, account, b.rules)
		if rej != nil {
			out = append(out, rejected(rej, raw))
			partial = true
			continue
		}
		listed[ev.Coin] = struct{}{}
		if !ev.Size.IsZero() {
			now[ev.Coin] = ev.Size
		}
		// An absent size is zero: a coin opened since the last poll differs from it.
		if polled && !old[ev.Coin].Equal(ev.Size) || !polled && !ev.Size.IsZero() {
			out = append(out, item{ev: ev})
		}
	}
	for _, coin := range slices.Sorted(mapKeys(old)) {
		if _, ok := listed[coin]; ok {
			continue
		}
		if partial {
			// The coin may be the position that could not be read: keep its size.
			now[coin] = old[coin]
			continue
		}
		ev := event.Event{Kind: event.KindPosition, Src: src, TS: ts, Wallet: wallet, Coin: coin,
			Size: decimal.Zero, AccountValue: account}
		if err := ev.Validate(b.rules); err != nil {
			out = append(out, rejected(parse.JSONReject(err), body))
			continue
		}
		out = append(out, item{ev: ev})
	}
	b.sizes[wallet] = now
	return out
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// positionEvent maps one element of assetPositions.
func positionEvent(raw []byte, wallet string, ts time.Time, account decimal.NullDecimal, r event.Rules) (event.Event, *event.Reject) {
	var ap assetPosition
	if err := json.Unmarshal(raw, &ap); err != nil {
		return event.Event{}, parse.JSONReject(err)
	}
	p := ap.Position
	if p == nil {
		return event.Event{}, parse.Rejectf(event.ReasonMissingField, "position", "required")
	}
	ev := event.Event{Kind: event.KindPosition, Src: src, TS: ts, Wallet: wallet, Coin: p.Coin, AccountValue: account}
	if p.Coin == "" {
		return ev, parse.Rejectf(event.ReasonMissingField, "coin", "required")
	}
	var rej *event.Reject
	if ev.Size, rej = parse.Decimal("size", p.Szi); rej != nil {
		return ev, rej
	}
	if ev.EntryPx, rej = parse.OptDecimal("entry_px", p.EntryPx); rej != nil {
		return ev, rej
	}
	if ev.UnrealizedPnl, rej = parse.OptDecimal("unrealized_pnl", p.UnrealizedPnl); rej != nil {
		return ev, rej
	}
	if p.Leverage != nil && p.Leverage.Value != "" {
		s := p.Leverage.Value.String()
		if ev.Leverage, rej = parse.OptDecimal("leverage", &s); rej != nil {
			return ev, rej
		}
	}
	// The response has no mark price; positionValue is |szi| × mark.
	value, rej := parse.OptDecimal("positionValue", p.PositionValue)
	if rej != nil {
		return ev, rej
	}
	if value.Valid && !ev.Size.IsZero() {
		if mark := value.Decimal.DivRound(ev.Size.Abs(), markPlaces); mark.IsPositive() {
			ev.MarkPx = decimal.NullDecimal{Decimal: mark, Valid: true}
		}
	}
	if err := ev.Validate(r); err != nil {
		return ev, parse.JSONReject(err)
	}
	return ev, nil
}
