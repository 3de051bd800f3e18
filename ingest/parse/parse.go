// Package parse reads the fields of exchange messages into event values and builds
// the rejections (event.Reject) for inputs that do not read. The ingest adapters share
// it so that a bad field is rejected alike, with the same reason and field, whichever
// adapter met it.
package parse

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/coattailcapital/coattail/event"
)

// maxDetailValue is the most of an offending value a rejection's detail quotes.
const maxDetailValue = 64

// Rejectf builds a rejection of field (empty when no one field is at fault) for
// reason, with a detail formatted as by fmt.Sprintf. The detail must never hold the
// whole input: quote offending values with Quote or Clip.
func Rejectf(reason event.Reason, field, format string, args ...any) *event.Reject {
	return &event.Reject{Reason: reason, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// Clip cuts s to 64 bytes, marking a cut with "...", for a rejection's detail or an
// error message.
func Clip(s string) string {
	if len(s) > maxDetailValue {
		return s[:maxDetailValue] + "..."
	}
	return s
}

// Quote quotes s as a Go string for a rejection's detail, cut to its first 64 bytes
// (then followed by "..." outside the quotes).
func Quote(s string) string {
	if len(s) > maxDetailValue {
		return strconv.Quote(s[:maxDetailValue]) + "..."
	}
	return strconv.Quote(s)
}

// Decimal parses a plain decimal string, -?[0-9]+(\.[0-9]+)?, as exchanges write
// prices, sizes and balances ("1.3189", "-0.25686", "0.0"). An empty s is rejected as
// missing_field; one of any other form (exponent, '+', spaces, a bare point), or with
// more than event.MaxDecimalDigits digits, as bad_number. Both name field.
func Decimal(field, s string) (decimal.Decimal, *event.Reject) {
	return parseDecimal(field, s, true)
}

// UnsignedDecimal is Decimal without the sign: [0-9]+(\.[0-9]+)?, the form of the
// prices and quantities of Binance and Coinbase. A minus is rejected as bad_number.
func UnsignedDecimal(field, s string) (decimal.Decimal, *event.Reject) {
	return parseDecimal(field, s, false)
}

// OptDecimal parses an optional Decimal: nil is absent (an invalid NullDecimal).
func OptDecimal(field string, s *string) (decimal.NullDecimal, *event.Reject) {
	if s == nil {
		return decimal.NullDecimal{}, nil
	}
	d, rej := Decimal(field, *s)
	if rej != nil {
		return decimal.NullDecimal{}, rej
	}
	return decimal.NullDecimal{Decimal: d, Valid: true}, nil
}

func parseDecimal(field, s string, signed bool) (decimal.Decimal, *event.Reject) {
	if s == "" {
		return decimal.Decimal{}, Rejectf(event.ReasonMissingField, field, "required")
	}
	// The syntax check comes first: it also bounds the length before the big-number
	// parse, whose cost grows faster than the input.
	digits, ok := plainDecimal(s, signed)
	if !ok {
		return decimal.Decimal{}, Rejectf(event.ReasonBadNumber, field, "not a decimal: %s", Quote(s))
	}
	if digits > event.MaxDecimalDigits {
		return decimal.Decimal{}, Rejectf(event.ReasonBadNumber, field, "more than %d digits", event.MaxDecimalDigits)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, Rejectf(event.ReasonBadNumber, field, "%v", err)
	}
	return d, nil
}

// plainDecimal reports whether s is [0-9]+(\.[0-9]+)?, after a '-' when signed, and
// how many digits it holds.
func plainDecimal(s string, signed bool) (digits int, ok bool) {
	i := 0
	if signed && i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	whole := i - start
	if whole == 0 {
		return 0, false
	}
	if i == len(s) {
		return whole, true
	}
	if s[i] != '.' {
		return 0, false
	}
	i++
	start = i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	frac := i - start
	return whole + frac, frac > 0 && i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Millis parses a Unix time in integer milliseconds (the unit of every Hyperliquid
// time) as UTC. An empty n is rejected as missing_field, anything but a decimal
// integer in range as bad_timestamp.
func Millis(field string, n json.Number) (time.Time, *event.Reject) {
	if n == "" {
		return time.Time{}, Rejectf(event.ReasonMissingField, field, "required")
	}
	ms, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return time.Time{}, Rejectf(event.ReasonBadTimestamp, field, "not integer Unix milliseconds: %s", Quote(string(n)))
	}
	return time.UnixMilli(ms).UTC(), nil
}

// JSONReject turns an error of encoding/json, or of event.Validate, into a
// rejection: a *event.Reject in err's chain is returned as it is; a type error is
// bad_type of the field encoding/json names (its dotted path within the value
// decoded); anything else is bad_json.
func JSONReject(err error) *event.Reject {
	var rej *event.Reject
	if errors.As(err, &rej) {
		return rej
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return Rejectf(event.ReasonBadType, te.Field, "want %s, got JSON %s", te.Type, te.Value)
	}
	return Rejectf(event.ReasonBadJSON, "", "%v", err)
}
