package binance

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/parse"
	"github.com/shopspring/decimal"
)

// trade is one decoded trade, from a stream frame or a REST backfill item.
type trade struct {
	wire       string // Binance symbol, BTCUSDT
	id         int64  // aggregate or trade id
	price, qty decimal.Decimal
	ms         int64 // trade time, Unix milliseconds
	buyerMaker bool
}

// frameKind says what a stream frame carried.
type frameKind uint8

const (
	frameTrade   frameKind = iota + 1 // a trade of the followed stream kind
	frameIgnored                      // a well-formed frame of another stream (depth, kline, ...)
)

// flag is a JSON boolean that remembers whether it was present.
type flag uint8

const (
	flagAbsent flag = iota
	flagFalse
	flagTrue
)

// errNotBool is returned by flag.UnmarshalJSON for a value that is not a boolean.
var errNotBool = errors.New("not a boolean")

// UnmarshalJSON accepts true, false and null (absent).
func (f *flag) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true":
		*f = flagTrue
	case "false":
		*f = flagFalse
	case "null":
		*f = flagAbsent
	default:
		return errNotBool
	}
	return nil
}

// skip absorbs a field that is not used, without allocating.
type skip struct{}

// UnmarshalJSON accepts any value.
func (*skip) UnmarshalJSON([]byte) error { return nil }

// envelope is a combined-stream frame: {"stream":"btcusdt@aggTrade","data":{...}}.
type envelope struct {
	Stream string          `json:"stream"`
	Data   json.RawMessage `json:"data"`
}

// wireAggTrade is an aggTrade payload (stream frame or REST item). encoding/json
// matches keys case-insensitively when no field matches exactly, so every key Binance
// sends is declared, even unused ones: without M, "M" (an obsolete flag) would land in
// m and flip the side; without E, "E" would land in e.
type wireAggTrade struct {
	EventType skip   `json:"e"`
	EventTime skip   `json:"E"`
	Symbol    string `json:"s"`
	AggID     int64  `json:"a"`
	Price     string `json:"p"`
	Qty       string `json:"q"`
	First     skip   `json:"f"`
	Last      skip   `json:"l"`
	Time      int64  `json:"T"`
	Maker     flag   `json:"m"`
	Best      skip   `json:"M"`
}

// wireTrade is a trade payload; as for wireAggTrade every key is declared ("t" and
// "T", "m" and "M" differ only in case).
type wireTrade struct {
	EventType skip   `json:"e"`
	EventTime skip   `json:"E"`
	Symbol    string `json:"s"`
	ID        int64  `json:"t"`
	Price     string `json:"p"`
	Qty       string `json:"q"`
	BuyerOID  skip   `json:"b"`
	SellerOID skip   `json:"a"`
	Time      int64  `json:"T"`
	Maker     flag   `json:"m"`
	Best      skip   `json:"M"`
}

// wireHistorical is an item of /api/v3/historicalTrades.
type wireHistorical struct {
	ID       int64  `json:"id"`
	Price    string `json:"price"`
	Qty      string `json:"qty"`
	QuoteQty skip   `json:"quoteQty"`
	Time     int64  `json:"time"`
	Maker    flag   `json:"isBuyerMaker"`
	Best     skip   `json:"isBestMatch"`
}

// absent marks an integer field that was not in the JSON (ids and times are >= 0).
const absent = -1

// noTrade is the trade of a frame that does not name one.
func noTrade() trade { return trade{id: absent} }

// aggFrame and tradeFrame decode a combined-stream frame of the followed stream in
// one pass.
type aggFrame struct {
	Stream skip         `json:"stream"` // read by peekStream
	Data   wireAggTrade `json:"data"`
}

type tradeFrame struct {
	Stream skip      `json:"stream"`
	Data   wireTrade `json:"data"`
}

// decodeFrame decodes one combined-stream frame of the given stream kind. It returns
// frameIgnored for a frame of another stream. With a *event.Reject, the trade still
// carries the symbol and id when the frame gave them (id is absent otherwise), so
// that the caller can account for a bad trade's position.
//
// Binance writes the stream name first; when it does, a frame of another stream is
// ignored without parsing it further and a frame of the followed stream is decoded in
// one pass. Anything else takes the general path.
func decodeFrame(b []byte, stream string) (frameKind, trade, *event.Reject) {
	if name, ok := peekStream(b); ok {
		_, kind, _ := strings.Cut(name, "@")
		switch {
		case kind == "":
		case kind != stream:
			return frameIgnored, noTrade(), nil
		case stream == StreamAggTrade:
			f := aggFrame{Data: wireAggTrade{AggID: absent, Time: absent}}
			if err := json.Unmarshal(b, &f); err != nil {
				return 0, noTrade(), jsonReject(err, "")
			}
			t, rej := f.Data.trade("")
			return frameTrade, t, rej
		default:
			f := tradeFrame{Data: wireTrade{ID: absent, Time: absent}}
			if err := json.Unmarshal(b, &f); err != nil {
				return 0, noTrade(), jsonReject(err, "")
			}
			t, rej := f.Data.trade()
			return frameTrade, t, rej
		}
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return 0, noTrade(), jsonReject(err, "")
	}
	if env.Stream == "" {
		return 0, noTrade(), parse.Rejectf(event.ReasonMissingField, "stream", "no stream name")
	}
	_, kind, ok := strings.Cut(env.Stream, "@")
	if !ok {
		return 0, noTrade(), parse.Rejectf(event.ReasonBadValue, "stream", "no @ in %q", parse.Clip(env.Stream))
	}
	if kind != stream {
		return frameIgnored, noTrade(), nil
	}
	if len(env.Data) == 0 || bytes.Equal(env.Data, []byte("null")) {
		return 0, noTrade(), parse.Rejectf(event.ReasonMissingField, "data", "no payload")
	}
	var (
		t   trade
		rej *event.Reject
	)
	if stream == StreamAggTrade {
		t, rej = decodeAggTrade(env.Data, "")
	} else {
		t, rej = decodeTrade(env.Data)
	}
	return frameTrade, t, rej
}

// peekStream returns the stream name of a frame that starts with it, as Binance
// writes them: {"stream":"btcusdt@aggTrade",...
func peekStream(b []byte) (string, bool) {
	const prefix = `{"stream":"`
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return "", false
	}
	rest := b[len(prefix):]
	for i := 0; i < len(rest) && i < 128; i++ {
		switch c := rest[i]; {
		case c == '"':
			return string(rest[:i]), true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", false
		}
	}
	return "", false
}

// decodeAggTrade decodes an aggTrade payload; wire is the symbol of a REST item
// (which carries none), "" for a stream payload.
func decodeAggTrade(b []byte, wire string) (trade, *event.Reject) {
	w := wireAggTrade{AggID: absent, Time: absent}
	if err := json.Unmarshal(b, &w); err != nil {
		return noTrade(), jsonReject(err, "data")
	}
	return w.trade(wire)
}

func (w *wireAggTrade) trade(wire string) (trade, *event.Reject) {
	if wire == "" {
		if w.Symbol == "" {
			return noTrade(), parse.Rejectf(event.ReasonMissingField, "s", "no symbol")
		}
		wire = w.Symbol
	}
	return newTrade(wire, w.AggID, "a", w.Price, w.Qty, w.Time, "T", w.Maker, "m")
}

func decodeTrade(b []byte) (trade, *event.Reject) {
	w := wireTrade{ID: absent, Time: absent}
	if err := json.Unmarshal(b, &w); err != nil {
		return noTrade(), jsonReject(err, "data")
	}
	return w.trade()
}

func (w *wireTrade) trade() (trade, *event.Reject) {
	if w.Symbol == "" {
		return noTrade(), parse.Rejectf(event.ReasonMissingField, "s", "no symbol")
	}
	return newTrade(w.Symbol, w.ID, "t", w.Price, w.Qty, w.Time, "T", w.Maker, "m")
}

func decodeHistorical(b []byte, wire string) (trade, *event.Reject) {
	w := wireHistorical{ID: absent, Time: absent}
	if err := json.Unmarshal(b, &w); err != nil {
		return noTrade(), jsonReject(err, "")
	}
	return newTrade(wire, w.ID, "id", w.Price, w.Qty, w.Time, "time", w.Maker, "isBuyerMaker")
}

// newTrade checks the decoded fields; the field names are those of the wire format.
// A rejected trade keeps its symbol and, when it is valid, its id.
func newTrade(wire string, id int64, idField, price, qty string, ms int64, timeField string, maker flag, makerField string) (trade, *event.Reject) {
	t := trade{wire: wire, id: id, ms: ms, buyerMaker: maker == flagTrue}
	if id == absent {
		return t, parse.Rejectf(event.ReasonMissingField, idField, "no trade id")
	}
	if id < 0 {
		t.id = absent
		return t, parse.Rejectf(event.ReasonBadValue, idField, "negative trade id %d", id)
	}
	var rej *event.Reject
	if t.price, rej = parse.UnsignedDecimal("p", price); rej != nil {
		return t, rej
	}
	if t.qty, rej = parse.UnsignedDecimal("q", qty); rej != nil {
		return t, rej
	}
	if ms == absent {
		return t, parse.Rejectf(event.ReasonMissingField, timeField, "no trade time")
	}
	if maker == flagAbsent {
		return t, parse.Rejectf(event.ReasonMissingField, makerField, "no buyer-is-maker flag")
	}
	return t, nil
}

// toEvent maps a trade to the interchange event. name is the BASE-QUOTE symbol.
func (t *trade) toEvent(name, stream string) *event.Event {
	ev := &event.Event{
		Kind:   event.KindTrade,
		Src:    "binance",
		TS:     time.UnixMilli(t.ms).UTC(),
		Symbol: name,
		Price:  t.price,
		Qty:    t.qty,
		// The taker sold into a resting buy order when the buyer was the maker.
		Side: event.Buy,
		ID:   formatID(t.id, stream),
	}
	if t.buyerMaker {
		ev.Side = event.Sell
	}
	return ev
}

// formatID writes an id as the event id: aggregate ids are a sequence of their own,
// so they carry an "a" prefix (as in the replay adapter) to stay apart from trade ids.
func formatID(id int64, stream string) string {
	var buf [24]byte
	b := buf[:0]
	if stream == StreamAggTrade {
		b = append(b, 'a')
	}
	b = appendInt(b, id)
	return string(b)
}

func appendInt(b []byte, v int64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// jsonReject maps an encoding/json error to a rejection; top names the object being
// decoded ("" for the whole frame).
func jsonReject(err error, top string) *event.Reject {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		// In a one-pass decode the payload's fields are named data.x.
		field := strings.TrimPrefix(te.Field, "data.")
		if field == "" {
			if top == "" {
				return parse.Rejectf(event.ReasonBadJSON, "", "not a JSON object: %s", te.Value)
			}
			field = top
		}
		return parse.Rejectf(event.ReasonBadType, field, "want %s, got %s", te.Type, te.Value)
	case errors.Is(err, errNotBool):
		return parse.Rejectf(event.ReasonBadType, top, "a flag is not a boolean")
	default:
		return parse.Rejectf(event.ReasonBadJSON, "", "%v", err)
	}
}
