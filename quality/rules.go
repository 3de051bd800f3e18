// Package quality is the data-quality gate between normalisation and the streams. The
// codec (event.Decode, Event.Validate) applies the rules that need nothing but the
// event itself; a Gate adds the stateful and policy rules that need what came before
// it (duplicates, price deviation, lateness, token decimals) or a policy choice (zero
// and self transfers). Rules lists every named rule of both, for docs and metrics.
package quality

import "github.com/coattailcapital/coattail/event"

// Reasons of the gate's rules, the dead-letter reason codes of its rejects. The codec's
// reasons are event.Reason*.
const (
	ReasonDuplicate        event.Reason = "duplicate"         // the key of an event accepted shortly before
	ReasonZeroValue        event.Reason = "zero_value"        // a transfer of amount 0
	ReasonSelfTransfer     event.Reason = "self_transfer"     // a transfer whose from is its to
	ReasonDecimalsMismatch event.Reason = "decimals_mismatch" // a token's decimals differ from those seen before
	ReasonLate             event.Reason = "late"              // older than the watermark of its partition minus the allowed lateness
	ReasonPriceDeviation   event.Reason = "price_deviation"   // a price too far from the reference price of its symbol
)

// Stage says where a rule is enforced.
type Stage string

// Stages.
const (
	StageCodec Stage = "codec" // event.Decode and Event.Validate: the event alone
	StageGate  Stage = "gate"  // Gate.Check: the event against what was accepted before it
)

// Rule is one named data-quality rule. Each rule has its own reason code, so a dead
// letter's reason names the rule that rejected it.
type Rule struct {
	Name        string       // stable name, the label of coattail_quality_rejects_total
	Reason      event.Reason // the dead-letter reason of its rejects
	Stage       Stage
	Description string
}

// Rules returns every named rule the system applies to an input, in the order they are
// checked: the codec's (line, encoding, JSON, then field by field) and then the gate's.
// An input is rejected by the first rule it fails.
func Rules() []Rule {
	return []Rule{
		{"line_length", event.ReasonLineTooLong, StageCodec,
			"a line is at most 1 MiB; longer is rejected unparsed"},
		{"encoding", event.ReasonBadEncoding, StageCodec,
			"valid UTF-8 without control characters, in the line and in every decoded string"},
		{"json_object", event.ReasonBadJSON, StageCodec,
			"exactly one JSON object, no field of the format given twice"},
		{"known_kind", event.ReasonUnknownKind, StageCodec,
			"kind is one of trade, transfer, swap, fill, position, price"},
		{"required_fields", event.ReasonMissingField, StageCodec,
			"every required field of the kind is present and not empty"},
		{"field_types", event.ReasonBadType, StageCodec,
			"every field has its JSON type: decimals as strings, integers as integers"},
		{"decimal_syntax", event.ReasonBadNumber, StageCodec,
			"decimal strings are plain or scientific decimals of at most 100 digits (no NaN, Inf, 1,5)"},
		{"timestamp_valid", event.ReasonBadTimestamp, StageCodec,
			"ts is RFC 3339 with a zone, a real date, and not before 2009-01-01 (not absurdly old)"},
		{"timestamp_not_future", event.ReasonFutureTime, StageCodec,
			"ts is not later than now plus the allowed clock skew (5 minutes)"},
		{"positive_price_size", event.ReasonNonPositive, StageCodec,
			"prices, sizes and swap amounts are > 0; transfer amounts, usd, entry_px and leverage are >= 0"},
		{"known_side", event.ReasonBadSide, StageCodec,
			"side is buy or sell"},
		{"address_format", event.ReasonBadAddress, StageCodec,
			"addresses are 0x and 40 hex digits"},
		{"address_checksum", event.ReasonBadChecksum, StageCodec,
			"a mixed-case address matches its EIP-55 checksum (one-case addresses carry none)"},
		{"hash_format", event.ReasonBadHash, StageCodec,
			"tx and block_hash are 0x and 64 hex digits"},
		{"symbol_format", event.ReasonBadSymbol, StageCodec,
			"market symbols are 1 to 64 of [A-Za-z0-9-_./:@], a trade's reads BASE-QUOTE; token symbols are at most 64 bytes"},
		{"field_values", event.ReasonBadValue, StageCodec,
			"every other field rule: block > 0, log_index >= -1, decimals 0..77, raw_amount of at most 78 digits, src of [a-z0-9._-], ..."},
		{"duplicate_key", ReasonDuplicate, StageGate,
			"an event's key is not among the keys of the events accepted shortly before (Config.DuplicateWindow)"},
		{"zero_value_transfer", ReasonZeroValue, StageGate,
			"a transfer moves a non-zero amount (Config.AllowZeroTransfers)"},
		{"self_transfer", ReasonSelfTransfer, StageGate,
			"a transfer's from differs from its to (Config.AllowSelfTransfers)"},
		{"decimals_consistent", ReasonDecimalsMismatch, StageGate,
			"a token's decimals (src, token) are those of its first transfer seen"},
		{"within_lateness", ReasonLate, StageGate,
			"an event is not older than the newest accepted of its partition minus Config.AllowedLateness"},
		{"price_deviation", ReasonPriceDeviation, StageGate,
			"a price is within Config.MaxDeviation of the reference price of its (src, symbol), or of its coin's seeded cross-venue one (Gate.SeedReference), when the reference is recent"},
	}
}

// RuleFor returns the rule whose rejects carry reason. Reasons that are not a
// data-quality rule's (a source's own, such as bad_frame, or max_deliveries) have none.
func RuleFor(reason event.Reason) (Rule, bool) {
	for _, r := range Rules() {
		if r.Reason == reason {
			return r, true
		}
	}
	return Rule{}, false
}
