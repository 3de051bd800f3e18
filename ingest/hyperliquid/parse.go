package hyperliquid

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/coattailcapital/coattail/event"
)

// maxRaw is the most of an offending input kept with a rejection.
const maxRaw = 4 << 10

// maxNumberLen is the longest decimal string parsed; the format allows 100 digits,
// so anything longer is rejected before the (superlinear) big-number parse.
const maxNumberLen = 128

// item is one result of decoding: an event, or why an input was rejected.
type item struct {
	ev  event.Event // valid when rej == nil
	rej *event.Reject
	raw []byte // the offending input when rej != nil (at most maxRaw bytes)
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

func rejectf(reason event.Reason, field, format string, args ...any) *event.Reject {
	return &event.Reject{Reason: reason, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// asReject turns an error from encoding/json or event.Validate into a rejection.
func asReject(err error) *event.Reject {
	var rej *event.Reject
	if errors.As(err, &rej) {
		return rej
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return rejectf(event.ReasonBadType, te.Field, "want %s, got JSON %s", te.Type, te.Value)
	}
	return rejectf(event.ReasonBadJSON, "", "%v", err)
}

// quote quotes a value for a rejection's detail, cut to a sane length.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// parseDec parses a plain decimal string as Hyperliquid writes them: an optional
// minus, digits, and an optional fraction ("1.3189", "-0.25686", "0.0").
func parseDec(field, s string) (decimal.Decimal, *event.Reject) {
	if s == "" {
		return decimal.Decimal{}, rejectf(event.ReasonMissingField, field, "required")
	}
	if len(s) > maxNumberLen || !isPlainDecimal(s) {
		return decimal.Decimal{}, rejectf(event.ReasonBadNumber, field, "not a decimal: %s", quote(s))
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, rejectf(event.ReasonBadNumber, field, "%v", err)
	}
	return d, nil
}

// optDec parses an optional decimal string; nil is absent.
func optDec(field string, s *string) (decimal.NullDecimal, *event.Reject) {
	if s == nil {
		return decimal.NullDecimal{}, nil
	}
	d, rej := parseDec(field, *s)
	if rej != nil {
		return decimal.NullDecimal{}, rej
	}
	return decimal.NullDecimal{Decimal: d, Valid: true}, nil
}

func isPlainDecimal(s string) bool {
	i := 0
	if s[0] == '-' {
		i++
	}
	digits := 0
	for ; i < len(s) && isDigit(s[i]); i++ {
		digits++
	}
	if digits == 0 {
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != '.' {
		return false
	}
	i++
	frac := 0
	for ; i < len(s) && isDigit(s[i]); i++ {
		frac++
	}
	return frac > 0 && i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseMillis parses a Unix time in milliseconds, the unit of every Hyperliquid time.
func parseMillis(field string, n json.Number) (time.Time, *event.Reject) {
	if n == "" {
		return time.Time{}, rejectf(event.ReasonMissingField, field, "required")
	}
	ms, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return time.Time{}, rejectf(event.ReasonBadTimestamp, field, "not integer Unix milliseconds: %s", quote(string(n)))
	}
	return time.UnixMilli(ms).UTC(), nil
}

// parseTid parses a trade id, a non-negative integer.
func parseTid(n json.Number) (uint64, *event.Reject) {
	if n == "" {
		return 0, rejectf(event.ReasonMissingField, "tid", "required")
	}
	v, err := strconv.ParseUint(string(n), 10, 64)
	if err != nil {
		return 0, rejectf(event.ReasonBadValue, "tid", "not a non-negative 64-bit integer: %s", quote(string(n)))
	}
	return v, nil
}

// normalizeAddress lower-cases a 0x + 40 hex address, or says what is wrong with it.
func normalizeAddress(s string) (string, error) {
	if len(s) != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return "", fmt.Errorf("wallet %s: want 0x and 40 hex digits", quote(s))
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
			return "", fmt.Errorf("wallet %s: want 0x and 40 hex digits", quote(s))
		}
	}
	return string(b), nil
}
