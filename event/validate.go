package event

import (
	"math/big"
	"time"
	"unicode/utf8"

	"github.com/coattailcapital/coattail/eip55"
	"github.com/shopspring/decimal"
)

// Field limits of the format (docs/EVENTS.md, "Validation rules").
const (
	maxTokenDecimals = 77  // decimals of a raw_amount: 0..77
	maxRawDigits     = 78  // a uint256 has at most 78 digits
	maxIDBytes       = 128 // id
	maxNameBytes     = 64  // src, symbol, coin, venue, dir, token symbols
)

func (r Rules) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r Rules) maxFuture() time.Duration {
	if r.MaxFuture != 0 {
		return r.MaxFuture
	}
	return 5 * time.Minute
}

// Validate applies the format's field-level quality rules to an event built in Go (Decode
// applies the same rules to what it parsed). It first normalises in place — src and
// addresses and hashes lower-cased, TS in UTC, and for a transfer with HasRaw, RawAmount
// stripped of leading zeros and Amount set to RawAmount/10^Decimals, overwriting
// whatever Amount held — then checks; it returns a *Reject or nil. Fields that do not
// belong to the event's kind are not looked at.
//
// An event built in Go cannot tell an absent required decimal from zero, so a missing
// price reads as non_positive rather than missing_field, and a transfer without HasRaw
// always has an amount (zero is allowed).
func (e *Event) Validate(r Rules) error {
	if rej := e.validate(r, true); rej != nil {
		return rej
	}
	return nil
}

// validate is Validate; full adds the checks Decode's parser already guarantees (text
// free of control characters and invalid UTF-8, decimals within MaxDecimalDigits).
func (e *Event) validate(r Rules, full bool) *Reject {
	switch e.Kind {
	case KindTrade, KindTransfer, KindSwap, KindFill, KindPosition, KindPrice:
	case "":
		return rejectf(ReasonUnknownKind, "kind", "missing")
	default:
		return rejectf(ReasonUnknownKind, "kind", "%q", clip([]byte(e.Kind)))
	}
	if e.Src == "" {
		return rejectf(ReasonMissingField, "src", "required")
	}
	e.Src = lowerString(e.Src)
	if !isSrc(e.Src) {
		return rejectf(ReasonBadValue, "src", "want 1..%d of [a-z0-9._-]: %q", maxNameBytes, clip([]byte(e.Src)))
	}
	if e.TS.IsZero() {
		return rejectf(ReasonMissingField, "ts", "required")
	}
	e.TS = e.TS.UTC()
	if e.TS.Unix() < minUnix {
		return rejectf(ReasonBadTimestamp, "ts", "%s is before 2009-01-01", e.TS.Format(time.RFC3339Nano))
	}
	if limit := r.now().Add(r.maxFuture()); e.TS.After(limit) {
		return rejectf(ReasonFutureTime, "ts", "%s is more than %s ahead of the clock", e.TS.Format(time.RFC3339Nano), r.maxFuture())
	}
	if len(e.ID) > maxIDBytes {
		return rejectf(ReasonBadValue, "id", "longer than %d bytes", maxIDBytes)
	}
	c := checker{full: full}
	switch e.Kind {
	case KindTrade:
		return first(
			c.text("id", e.ID),
			c.text("symbol", e.Symbol),
			marketSymbol("symbol", e.Symbol, true),
			c.fits("price", e.Price), positive("price", e.Price),
			c.fits("qty", e.Qty), positive("qty", e.Qty),
			side(e.Side))
	case KindPrice:
		return first(
			c.text("id", e.ID),
			c.text("symbol", e.Symbol),
			marketSymbol("symbol", e.Symbol, false),
			c.fits("price", e.Price), positive("price", e.Price))
	case KindFill:
		return first(
			c.text("id", e.ID),
			address("wallet", &e.Wallet, true),
			c.text("coin", e.Coin),
			marketSymbol("coin", e.Coin, false),
			side(e.Side),
			c.fits("px", e.Px), positive("px", e.Px),
			c.fits("sz", e.Sz), positive("sz", e.Sz),
			c.text("dir", e.Dir), name("dir", e.Dir, false),
			c.fitsNull("start_position", e.StartPosition),
			c.fitsNull("closed_pnl", e.ClosedPnl),
			c.fitsNull("fee", e.Fee))
	case KindPosition:
		return first(
			c.text("id", e.ID),
			address("wallet", &e.Wallet, true),
			c.text("coin", e.Coin),
			marketSymbol("coin", e.Coin, false),
			c.fits("size", e.Size),
			c.fitsNull("entry_px", e.EntryPx), nonNegative("entry_px", e.EntryPx),
			c.fitsNull("mark_px", e.MarkPx), optPositive("mark_px", e.MarkPx),
			c.fitsNull("leverage", e.Leverage), nonNegative("leverage", e.Leverage),
			c.fitsNull("unrealized_pnl", e.UnrealizedPnl),
			c.fitsNull("account_value", e.AccountValue))
	case KindTransfer:
		return first(c.text("id", e.ID), e.validateTransfer(c))
	case KindSwap:
		return first(
			c.text("id", e.ID),
			e.validateChain(),
			logIndexSwap(e.LogIndex),
			address("wallet", &e.Wallet, true),
			c.text("venue", e.Venue), name("venue", e.Venue, true),
			address("pool", &e.Pool, true),
			address("token_in", &e.TokenIn, true),
			c.fits("amount_in", e.AmountIn), positive("amount_in", e.AmountIn),
			address("token_out", &e.TokenOut, true),
			c.fits("amount_out", e.AmountOut), positive("amount_out", e.AmountOut),
			c.text("symbol_in", e.SymbolIn), tokenSymbol("symbol_in", e.SymbolIn),
			c.text("symbol_out", e.SymbolOut), tokenSymbol("symbol_out", e.SymbolOut),
			c.fitsNull("usd", e.USD), nonNegative("usd", e.USD))
	}
	return nil
}

// first returns the first non-nil rejection. The checks are cheap and all run; only the
// first failure, in the order of the format's field list, is reported.
func first(rejs ...*Reject) *Reject {
	for _, r := range rejs {
		if r != nil {
			return r
		}
	}
	return nil
}

func (e *Event) validateChain() *Reject {
	if e.Block == 0 {
		return rejectf(ReasonBadValue, "block", "must be > 0")
	}
	if e.Tx == "" {
		return rejectf(ReasonMissingField, "tx", "required")
	}
	return first(hash("tx", &e.Tx), hash("block_hash", &e.BlockHash))
}

func logIndexSwap(li int64) *Reject {
	if li < 0 {
		return rejectf(ReasonBadValue, "log_index", "a swap is a log: want >= 0, got %d", li)
	}
	return nil
}

func (e *Event) validateTransfer(c checker) *Reject {
	if rej := e.validateChain(); rej != nil {
		return rej
	}
	if e.LogIndex < NativeLogIndex {
		return rejectf(ReasonBadValue, "log_index", "want >= -1, got %d", e.LogIndex)
	}
	if e.LogIndex == NativeLogIndex {
		if e.Token != "" {
			return rejectf(ReasonBadValue, "token", "a native transfer (log_index -1 or absent) has no token")
		}
	} else if rej := address("token", &e.Token, true); rej != nil {
		return rej
	}
	if rej := first(
		c.text("symbol", e.Symbol),
		tokenSymbol("symbol", e.Symbol),
		address("from", &e.From, true),
		address("to", &e.To, true)); rej != nil {
		return rej
	}
	if e.HasRaw {
		if rej := e.rawAmount(); rej != nil {
			return rej
		}
	} else {
		if e.RawAmount != "" || e.Decimals != 0 {
			return rejectf(ReasonBadValue, "raw_amount", "raw_amount/decimals set without HasRaw")
		}
		if rej := c.fits("amount", e.Amount); rej != nil {
			return rej
		}
		if e.Amount.Sign() < 0 {
			return rejectf(ReasonNonPositive, "amount", "must be >= 0")
		}
	}
	return first(c.fitsNull("usd", e.USD), nonNegative("usd", e.USD))
}

// rawAmount checks RawAmount and Decimals and sets Amount = RawAmount / 10^Decimals.
func (e *Event) rawAmount() *Reject {
	s := e.RawAmount
	if s == "" {
		return rejectf(ReasonMissingField, "raw_amount", "required")
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return rejectf(ReasonBadValue, "raw_amount", "not a non-negative integer string: %q", clip([]byte(s)))
		}
	}
	z := 0
	for z < len(s)-1 && s[z] == '0' {
		z++
	}
	s = s[z:]
	e.RawAmount = s
	if len(s) > maxRawDigits {
		return rejectf(ReasonBadValue, "raw_amount", "more than %d digits", maxRawDigits)
	}
	if e.Decimals < 0 || e.Decimals > maxTokenDecimals {
		return rejectf(ReasonBadValue, "decimals", "%d outside 0..%d", e.Decimals, maxTokenDecimals)
	}
	if len(s) <= 18 {
		var c int64
		for i := 0; i < len(s); i++ {
			c = c*10 + int64(s[i]-'0')
		}
		e.Amount = decimal.New(c, -e.Decimals)
		return nil
	}
	c, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return rejectf(ReasonBadValue, "raw_amount", "not an integer")
	}
	e.Amount = decimal.NewFromBigInt(c, -e.Decimals)
	return nil
}

// checker holds the checks that only Validate needs: Decode's parser already guarantees
// them for what it decodes.
type checker struct{ full bool }

// text rejects control characters and invalid UTF-8 in a free-text field of an event
// built in Go. Keys rely on it: their separator is a control character.
func (c checker) text(field, s string) *Reject {
	if c.full && !isText(s) {
		return rejectf(ReasonBadEncoding, field, "invalid UTF-8 or a control character")
	}
	return nil
}

// fits rejects a decimal whose canonical form Decode would not accept back.
func (c checker) fits(field string, d decimal.Decimal) *Reject {
	if c.full && !decimalFits(d) {
		return rejectf(ReasonBadNumber, field, "more than %d digits in plain form", MaxDecimalDigits)
	}
	return nil
}

func (c checker) fitsNull(field string, d decimal.NullDecimal) *Reject {
	if d.Valid {
		return c.fits(field, d.Decimal)
	}
	return nil
}

func isText(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n <= 1) || isControl(r) {
			return false
		}
		i += n
	}
	return true
}

// isSrc: 1..64 of [a-z0-9._-]. Keys rely on src never holding ':' (see Key).
func isSrc(s string) bool {
	if len(s) == 0 || len(s) > maxNameBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || isDigit(c) || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// marketSymbol checks a symbol or coin: 1..64 of [A-Za-z0-9-_./:@], case kept. With pair
// (trade), it must read BASE-QUOTE: a '-' that is neither first nor last.
func marketSymbol(field, s string, pair bool) *Reject {
	if s == "" {
		return rejectf(ReasonMissingField, field, "required")
	}
	if len(s) > maxNameBytes {
		return rejectf(ReasonBadSymbol, field, "longer than %d bytes", maxNameBytes)
	}
	dash := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', isDigit(c),
			c == '_', c == '.', c == '/', c == ':', c == '@':
		case c == '-':
			if i > 0 && i < len(s)-1 {
				dash = true
			}
		default:
			return rejectf(ReasonBadSymbol, field, "character %q outside [A-Za-z0-9-_./:@] in %q", c, clip([]byte(s)))
		}
	}
	if pair && !dash {
		return rejectf(ReasonBadSymbol, field, "want BASE-QUOTE, got %q", clip([]byte(s)))
	}
	return nil
}

// tokenSymbol checks an optional token symbol (a token contract's own metadata, which can
// hold any text): at most 64 bytes.
func tokenSymbol(field, s string) *Reject {
	if len(s) > maxNameBytes {
		return rejectf(ReasonBadSymbol, field, "longer than %d bytes", maxNameBytes)
	}
	return nil
}

// name checks a free-text label (venue, dir): at most 64 bytes; required ones non-empty.
func name(field, s string, required bool) *Reject {
	if s == "" {
		if required {
			return rejectf(ReasonMissingField, field, "required")
		}
		return nil
	}
	if len(s) > maxNameBytes {
		return rejectf(ReasonBadValue, field, "longer than %d bytes", maxNameBytes)
	}
	return nil
}

func side(s Side) *Reject {
	switch s {
	case Buy, Sell:
		return nil
	case "":
		return rejectf(ReasonMissingField, "side", "required")
	}
	return rejectf(ReasonBadSide, "side", "want buy|sell, got %q", clip([]byte(s)))
}

// positive checks a decimal that must be > 0.
func positive(field string, d decimal.Decimal) *Reject {
	if d.Sign() <= 0 {
		return rejectf(ReasonNonPositive, field, "must be > 0, got %s", appendDecimalClipped(d))
	}
	return nil
}

// optPositive checks an optional decimal that must be > 0 when present.
func optPositive(field string, d decimal.NullDecimal) *Reject {
	if d.Valid {
		return positive(field, d.Decimal)
	}
	return nil
}

// nonNegative checks an optional decimal that must be >= 0 when present.
func nonNegative(field string, d decimal.NullDecimal) *Reject {
	if d.Valid && d.Decimal.Sign() < 0 {
		return rejectf(ReasonNonPositive, field, "must be >= 0, got %s", appendDecimalClipped(d.Decimal))
	}
	return nil
}

func appendDecimalClipped(d decimal.Decimal) string {
	if !decimalFits(d) {
		return "(huge)"
	}
	var buf [MaxDecimalDigits + 8]byte
	return clip(appendDecimal(buf[:0], d))
}

// address lower-cases *p and checks it is 0x + 40 hex digits. An address given in one
// case (all lower or all upper) is taken as it is; a mixed-case one claims an EIP-55
// checksum and must match it, else ReasonBadChecksum (a wrong checksum is usually a
// mistyped address).
func address(field string, p *string, required bool) *Reject {
	orig := *p
	if rej := hexString(field, p, required, 40, ReasonBadAddress); rej != nil {
		return rej
	}
	if orig != *p && !eip55.Valid(orig) {
		return rejectf(ReasonBadChecksum, field, "mixed-case address %s does not match its EIP-55 checksum %s", orig, eip55.Checksum(orig))
	}
	return nil
}

// hash lower-cases *p and checks it is 0x + 64 hex digits; "" passes (callers check
// required hashes themselves).
func hash(field string, p *string) *Reject {
	return hexString(field, p, false, 64, ReasonBadHash)
}

func hexString(field string, p *string, required bool, n int, reason Reason) *Reject {
	s := *p
	if s == "" {
		if required {
			return rejectf(ReasonMissingField, field, "required")
		}
		return nil
	}
	s = lowerString(s)
	*p = s
	if len(s) != n+2 || s[0] != '0' || s[1] != 'x' {
		return rejectf(reason, field, "want 0x and %d hex digits: %q", n, clip([]byte(s)))
	}
	for i := 2; i < len(s); i++ {
		if c := s[i]; !(isDigit(c) || c >= 'a' && c <= 'f') {
			return rejectf(reason, field, "want 0x and %d hex digits: %q", n, clip([]byte(s)))
		}
	}
	return nil
}

// lowerString lower-cases ASCII letters, returning s itself when there are none.
func lowerString(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return lowerASCII([]byte(s))
		}
	}
	return s
}
