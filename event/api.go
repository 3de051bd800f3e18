package event

import (
	"errors"
	"fmt"
	"time"
)

// Reason is a stable, machine-readable code for why an event was rejected. Reasons are
// counted per code in replay summaries and metrics, so keep them few and stable.
type Reason string

// Rejection reasons. Every rejection carries exactly one.
const (
	ReasonLineTooLong  Reason = "line_too_long"    // over MaxLineBytes, not parsed
	ReasonBadJSON      Reason = "bad_json"         // not a JSON object (syntax, not an object, trailing data)
	ReasonBadEncoding  Reason = "bad_encoding"     // invalid UTF-8 or control characters
	ReasonUnknownKind  Reason = "unknown_kind"     // kind missing or not one of the six
	ReasonMissingField Reason = "missing_field"    // a required field is absent or empty
	ReasonBadType      Reason = "bad_type"         // a field has the wrong JSON type (e.g. a float where a decimal string is required)
	ReasonBadNumber    Reason = "bad_number"       // a decimal string that does not parse, NaN, Inf, exponent abuse
	ReasonBadTimestamp Reason = "bad_timestamp"    // ts does not parse as RFC 3339 / is before 2009
	ReasonFutureTime   Reason = "future_timestamp" // ts later than now + the allowed clock skew
	ReasonNonPositive  Reason = "non_positive"     // a price or size that must be > 0 is not (or an amount that must be >= 0 is negative)
	ReasonBadSide      Reason = "bad_side"         // side is not buy|sell
	ReasonBadAddress   Reason = "bad_address"      // not 0x + 40 hex
	ReasonBadChecksum  Reason = "bad_checksum"     // a mixed-case address whose case is not its EIP-55 checksum
	ReasonBadHash      Reason = "bad_hash"         // tx/block hash not 0x + 64 hex
	ReasonBadSymbol    Reason = "bad_symbol"       // symbol/coin too long or with characters outside [A-Za-z0-9-_./:@]
	ReasonBadValue     Reason = "bad_value"        // any other field-level rule (negative block, log_index < -1, decimals out of range...)
	ReasonRetried      Reason = "max_deliveries"   // a worker failed the event too many times (set by the stream runtime)
)

// Reject is the error returned for an event that fails decoding or a quality rule.
// Read it with errors.As to get the Reason.
type Reject struct {
	Reason Reason
	Field  string // the offending field, when there is one
	Detail string // human-readable detail, never the whole line
}

func (r *Reject) Error() string {
	if r.Field != "" {
		return fmt.Sprintf("%s: %s: %s", r.Reason, r.Field, r.Detail)
	}
	return fmt.Sprintf("%s: %s", r.Reason, r.Detail)
}

// Rules are the data-quality limits applied by Decode and Validate. The zero value is
// usable: Now defaults to time.Now and MaxFuture to 5 minutes.
type Rules struct {
	Now       func() time.Time
	MaxFuture time.Duration
}

// ReasonOf is the rejection reason carried by err (a *Reject, possibly wrapped), or
// otherwise when err carries none — for counting and dead-lettering any failure.
func ReasonOf(err error, otherwise string) string {
	var rj *Reject
	if errors.As(err, &rj) {
		return string(rj.Reason)
	}
	return otherwise
}
