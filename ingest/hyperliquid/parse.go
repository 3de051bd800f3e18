package hyperliquid

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/parse"
)

// maxRaw is the most of an offending input kept with a rejection.
const maxRaw = 4 << 10

// item is one result of decoding: an event, or why an input was rejected.
type item struct {
	ev  event.Event // valid when rej == nil
	rej *event.Reject
	raw []byte // the offending input when rej != nil (at most maxRaw bytes)
	// tradeEnd marks the last event of a websocket trade (its sell fill), whose
	// emit delivers the trade: the source's trade cursor then moves to tid.
	tradeEnd bool
	tid      uint64
}

func rejected(rej *event.Reject, raw []byte) item {
	return item{rej: rej, raw: rawCopy(raw)}
}

func rawCopy(b []byte) []byte {
	if len(b) > maxRaw {
		b = b[:maxRaw]
	}
	return append([]byte(nil), b...)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseTid parses a trade id, a non-negative integer.
func parseTid(n json.Number) (uint64, *event.Reject) {
	if n == "" {
		return 0, parse.Rejectf(event.ReasonMissingField, "tid", "required")
	}
	v, err := strconv.ParseUint(string(n), 10, 64)
	if err != nil {
		return 0, parse.Rejectf(event.ReasonBadValue, "tid", "not a non-negative 64-bit integer: %s", parse.Quote(string(n)))
	}
	return v, nil
}

// normalizeAddress lower-cases a 0x + 40 hex address, or says what is wrong with it.
func normalizeAddress(s string) (string, error) {
	if len(s) != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return "", fmt.Errorf("wallet %s: want 0x and 40 hex digits", parse.Quote(s))
	}
	b := []byte(s)
	b[1] = 'x'
	for i := 2; i < len(b); i++ {
		c := b[i]
		switch {
		case isDigit(c), c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			b[i] = c + ('a' - 'A')
		default:
			return "", fmt.Errorf("wallet %s: want 0x and 40 hex digits", parse.Quote(s))
		}
	}
	return string(b), nil
}
