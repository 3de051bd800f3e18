package event

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Decode strictly decodes one interchange line (without its newline; a trailing "\r" is
// tolerated). Every failure is a *Reject with exactly one Reason. Checks run in this
// order: length (ReasonLineTooLong, before anything else), encoding (invalid UTF-8 or a
// raw control character anywhere: ReasonBadEncoding), JSON syntax (ReasonBadJSON; a known
// key given twice is bad_json too), kind, then each field's JSON type and syntax in a
// fixed order, then the quality rules of Validate. JSON null counts as absent. Fields of
// other kinds and unknown fields are ignored.
func Decode(line []byte, r Rules) (Event, error) {
	if len(line) > MaxLineBytes {
		return Event{}, rejectf(ReasonLineTooLong, "", "line of %d bytes, limit %d", len(line), MaxLineBytes)
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if rej := checkEncoding(line); rej != nil {
		return Event{}, rej
	}
	d := decoder{b: line}
	if rej := scanTop(line, &d.v); rej != nil {
		return Event{}, rej
	}
	e, rej := d.event()
	if rej != nil {
		return Event{}, rej
	}
	if rej := e.validate(r, false); rej != nil {
		return Event{}, rej
	}
	return e, nil
}

// decoder converts the scanned values to an Event. The first failure sticks in err and
// makes the later conversions no-ops, so the per-kind code reads straight.
type decoder struct {
	b   []byte
	v   [nFields]rawVal
	err *Reject
}

func (d *decoder) fail(rej *Reject) {
	if d.err == nil {
		d.err = rej
	}
}

// has reports whether the field is present and not null.
func (d *decoder) has(f fieldID) bool {
	t := d.v[f].typ
	return t != jNone && t != jNull
}

func (d *decoder) raw(f fieldID) []byte {
	return d.b[d.v[f].start:d.v[f].end]
}

func (d *decoder) wrongType(f fieldID, want string) {
	d.fail(rejectf(ReasonBadType, f.name(), "want %s, got %s", want, d.v[f].typ))
}

// text returns the string field's bytes, unescaped, into scratch when needed.
func (d *decoder) text(f fieldID, scratch []byte) ([]byte, bool) {
	if d.err != nil || !d.has(f) {
		return nil, false
	}
	if d.v[f].typ != jString {
		d.wrongType(f, "string")
		return nil, false
	}
	s := d.raw(f)
	if !d.v[f].esc {
		return s, true
	}
	u, rej := unescape(scratch[:0], s, true)
	if rej != nil {
		rej.Field = f.name()
		d.fail(rej)
		return nil, false
	}
	return u, true
}

// str returns an optional or required string field ("" when absent; Validate reports a
// required one missing).
func (d *decoder) str(f fieldID) string {
	var buf [64]byte
	s, ok := d.text(f, buf[:])
	if !ok {
		return ""
	}
	return string(s)
}

// addr returns an address field as given: Validate checks its EIP-55 checksum when it is
// mixed-case, then lower-cases it.
func (d *decoder) addr(f fieldID) string {
	var buf [80]byte
	s, ok := d.text(f, buf[:])
	if !ok {
		return ""
	}
	return string(s)
}

// lower returns a string field with ASCII letters lower-cased (hashes; the format check
// is Validate's), in one allocation.
func (d *decoder) lower(f fieldID) string {
	var buf [80]byte
	s, ok := d.text(f, buf[:])
	if !ok {
		return ""
	}
	return lowerASCII(s)
}

// dec returns a required decimal; absent, null or "" is missing_field.
func (d *decoder) dec(f fieldID) decimal.Decimal {
	v, ok := d.optDec(f)
	if d.err == nil && !ok {
		d.fail(rejectf(ReasonMissingField, f.name(), "required"))
	}
	return v
}

// optDec returns an optional decimal; absent, null or "" is absent.
func (d *decoder) optDec(f fieldID) (decimal.Decimal, bool) {
	if d.err == nil && d.has(f) && d.v[f].typ != jString {
		d.wrongType(f, "decimal string")
		return decimal.Decimal{}, false
	}
	var buf [32]byte
	s, ok := d.text(f, buf[:])
	if !ok || len(s) == 0 {
		return decimal.Decimal{}, false
	}
	v, detail := parseDecimal(s)
	if detail != "" {
		d.fail(rejectf(ReasonBadNumber, f.name(), "%s: %q", detail, clip(s)))
		return decimal.Decimal{}, false
	}
	return v, true
}

func (d *decoder) nullDec(f fieldID) decimal.NullDecimal {
	v, ok := d.optDec(f)
	return decimal.NullDecimal{Decimal: v, Valid: ok}
}

// integer returns a JSON integer field; ok is false when absent or on failure.
func (d *decoder) integer(f fieldID) (int64, bool) {
	if d.err != nil || !d.has(f) {
		return 0, false
	}
	v := d.v[f]
	if v.typ != jNumber || !v.integer {
		d.wrongType(f, "integer")
		return 0, false
	}
	n, err := strconv.ParseInt(string(d.raw(f)), 10, 64)
	if err != nil {
		d.fail(rejectf(ReasonBadValue, f.name(), "integer out of range: %q", clip(d.raw(f))))
		return 0, false
	}
	return n, true
}

func (d *decoder) boolean(f fieldID) bool {
	if d.err != nil || !d.has(f) {
		return false
	}
	switch d.v[f].typ {
	case jTrue:
		return true
	case jFalse:
		return false
	}
	d.wrongType(f, "boolean")
	return false
}

func (d *decoder) require(f fieldID) {
	if d.err == nil && !d.has(f) {
		d.fail(rejectf(ReasonMissingField, f.name(), "required"))
	}
}

func (d *decoder) kind() Kind {
	v := d.v[fKind]
	switch v.typ {
	case jNone, jNull:
		d.fail(rejectf(ReasonUnknownKind, "kind", "missing"))
		return ""
	case jString:
	default:
		d.wrongType(fKind, "string")
		return ""
	}
	var buf [16]byte
	s, ok := d.text(fKind, buf[:])
	if !ok {
		return ""
	}
	if k, ok := kindOf(s); ok {
		return k
	}
	d.fail(rejectf(ReasonUnknownKind, "kind", "%q", clip(s)))
	return ""
}

// kindOf returns the Kind spelled s, and false when s is none of the six.
func kindOf(s []byte) (Kind, bool) {
	switch string(s) {
	case "trade":
		return KindTrade, true
	case "transfer":
		return KindTransfer, true
	case "swap":
		return KindSwap, true
	case "fill":
		return KindFill, true
	case "position":
		return KindPosition, true
	case "price":
		return KindPrice, true
	}
	return "", false
}

func (d *decoder) id() string {
	if d.err != nil || !d.has(fID) {
		return ""
	}
	v := d.v[fID]
	if v.typ == jNumber {
		if !v.integer {
			d.wrongType(fID, "string or integer")
			return ""
		}
		return string(d.raw(fID))
	}
	if v.typ != jString {
		d.wrongType(fID, "string or integer")
		return ""
	}
	return d.str(fID)
}

// ts returns the parsed ts; absent or "" stays the zero time for Validate to report.
func (d *decoder) ts() time.Time {
	var buf [48]byte
	s, ok := d.text(fTS, buf[:])
	if !ok || len(s) == 0 {
		return time.Time{}
	}
	t, ok := parseTimestamp(s)
	if !ok {
		d.fail(rejectf(ReasonBadTimestamp, "ts", "not RFC 3339 with a zone: %q", clip(s)))
		return time.Time{}
	}
	return t
}

func (d *decoder) side() Side {
	var buf [16]byte
	s, ok := d.text(fSide, buf[:])
	if !ok {
		return ""
	}
	switch string(s) {
	case "buy":
		return Buy
	case "sell":
		return Sell
	}
	return Side(s) // Validate rejects it as bad_side
}

func (d *decoder) src() string {
	var buf [32]byte
	s, ok := d.text(fSrc, buf[:])
	if !ok {
		return ""
	}
	switch string(s) { // the common ones without allocating
	case "binance":
		return "binance"
	case "coinbase":
		return "coinbase"
	case "hyperliquid":
		return "hyperliquid"
	case "ethereum":
		return "ethereum"
	}
	return lowerASCII(s)
}

func (d *decoder) dir() string {
	var buf [32]byte
	s, ok := d.text(fDir, buf[:])
	if !ok {
		return ""
	}
	switch string(s) { // Hyperliquid's usual directions without allocating
	case "Open Long":
		return "Open Long"
	case "Close Long":
		return "Close Long"
	case "Open Short":
		return "Open Short"
	case "Close Short":
		return "Close Short"
	case "Buy":
		return "Buy"
	case "Sell":
		return "Sell"
	}
	return string(s)
}

// event converts the scanned fields to an Event of the line's kind.
func (d *decoder) event() (Event, *Reject) {
	var e Event
	e.Kind = d.kind()
	if d.err != nil {
		return Event{}, d.err
	}
	e.Src = d.src()
	e.TS = d.ts()
	e.ID = d.id()
	switch e.Kind {
	case KindTrade:
		e.Symbol = d.str(fSymbol)
		e.Price = d.dec(fPrice)
		e.Qty = d.dec(fQty)
		e.Side = d.side()
	case KindPrice:
		e.Symbol = d.str(fSymbol)
		e.Price = d.dec(fPrice)
	case KindFill:
		e.Wallet = d.addr(fWallet)
		e.Coin = d.str(fCoin)
		e.Side = d.side()
		e.Px = d.dec(fPx)
		e.Sz = d.dec(fSz)
		e.Dir = d.dir()
		e.StartPosition = d.nullDec(fStartPosition)
		e.ClosedPnl = d.nullDec(fClosedPnl)
		e.Fee = d.nullDec(fFee)
	case KindPosition:
		e.Wallet = d.addr(fWallet)
		e.Coin = d.str(fCoin)
		e.Size = d.dec(fSize)
		e.EntryPx = d.nullDec(fEntryPx)
		e.MarkPx = d.nullDec(fMarkPx)
		e.Leverage = d.nullDec(fLeverage)
		e.UnrealizedPnl = d.nullDec(fUnrealizedPnl)
		e.AccountValue = d.nullDec(fAccountValue)
	case KindTransfer:
		d.chain(&e)
		if !d.has(fLogIndex) {
			if d.has(fToken) { // a token transfer is a log
				d.require(fLogIndex)
			}
			e.LogIndex = NativeLogIndex
		}
		e.Token = d.addr(fToken)
		e.Symbol = d.str(fSymbol)
		e.From = d.addr(fFrom)
		e.To = d.addr(fTo)
		d.amount(&e)
		e.USD = d.nullDec(fUSD)
	case KindSwap:
		d.chain(&e)
		d.require(fLogIndex)
		e.Wallet = d.addr(fWallet)
		e.Venue = d.str(fVenue)
		e.Pool = d.addr(fPool)
		e.TokenIn = d.addr(fTokenIn)
		e.AmountIn = d.dec(fAmountIn)
		e.TokenOut = d.addr(fTokenOut)
		e.AmountOut = d.dec(fAmountOut)
		e.SymbolIn = d.str(fSymbolIn)
		e.SymbolOut = d.str(fSymbolOut)
		e.USD = d.nullDec(fUSD)
	}
	if d.err != nil {
		return Event{}, d.err
	}
	return e, nil
}

// chain reads the chain position shared by transfer and swap.
func (d *decoder) chain(e *Event) {
	d.require(fBlock)
	if b, ok := d.integer(fBlock); ok {
		if b < 0 {
			d.fail(rejectf(ReasonBadValue, "block", "negative: %d", b))
		}
		e.Block = uint64(b)
	}
	e.BlockHash = d.lower(fBlockHash)
	e.Tx = d.lower(fTx)
	if li, ok := d.integer(fLogIndex); ok {
		e.LogIndex = li
	}
	e.Removed = d.boolean(fRemoved)
}

// amount reads a transfer's amount: either amount, or raw_amount with decimals.
func (d *decoder) amount(e *Event) {
	if d.err != nil {
		return
	}
	hasAmt, hasRaw, hasDec := d.has(fAmount), d.has(fRawAmount), d.has(fDecimals)
	switch {
	case hasAmt && (hasRaw || hasDec):
		d.fail(rejectf(ReasonBadValue, "amount", "both amount and raw_amount/decimals given"))
	case hasAmt:
		e.Amount = d.dec(fAmount)
	case hasRaw && !hasDec:
		d.fail(rejectf(ReasonMissingField, "decimals", "required with raw_amount"))
	case hasDec && !hasRaw:
		d.fail(rejectf(ReasonBadValue, "decimals", "given without raw_amount"))
	case hasRaw:
		e.HasRaw = true
		var buf [80]byte
		s, ok := d.text(fRawAmount, buf[:])
		if !ok {
			return
		}
		if d.v[fRawAmount].typ == jString && len(s) == 0 {
			d.fail(rejectf(ReasonMissingField, "raw_amount", "empty"))
			return
		}
		e.RawAmount = string(s)
		if n, ok := d.integer(fDecimals); ok {
			if n < 0 || n > maxTokenDecimals {
				d.fail(rejectf(ReasonBadValue, "decimals", "%d outside 0..%d", n, maxTokenDecimals))
				return
			}
			e.Decimals = int32(n)
		}
	default:
		d.fail(rejectf(ReasonMissingField, "amount", "neither amount nor raw_amount given"))
	}
}

// lowerASCII returns s with A-Z lower-cased as a new string.
func lowerASCII(s []byte) string {
	upper := false
	for _, c := range s {
		if c >= 'A' && c <= 'Z' {
			upper = true
			break
		}
	}
	if !upper {
		return string(s)
	}
	var buf [80]byte
	out := append(buf[:0], s...)
	for i, c := range out {
		if c >= 'A' && c <= 'Z' {
			out[i] = c + 'a' - 'A'
		}
	}
	return string(out)
}

func rejectf(reason Reason, field, format string, args ...any) *Reject {
	return &Reject{Reason: reason, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// clip shortens a value quoted in a Reject's detail; details never carry whole lines.
func clip(s []byte) string {
	const max = 48
	if len(s) <= max {
		return string(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return string(s[:cut]) + "..."
}
