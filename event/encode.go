package event

import (
	"strconv"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// AppendJSON appends the canonical encoding of e to dst: one JSON object, no newline,
// with kind, src, ts first, then the fields of e's kind in the order of docs/EVENTS.md,
// then id. Absent optionals are left out; decimals are plain strings without exponent or
// fractional trailing zeros; ts is RFC 3339 in UTC with the fraction trimmed
// (time.RFC3339Nano); a transfer writes raw_amount and decimals when HasRaw, else amount,
// and always writes its log_index (-1 for native). For a validated event,
// Decode(AppendJSON(e)) gives e back and re-encoding it gives the same bytes.
func AppendJSON(dst []byte, e *Event) []byte {
	dst = append(dst, `{"kind":`...)
	dst = appendString(dst, string(e.Kind))
	dst = append(dst, `,"src":`...)
	dst = appendString(dst, e.Src)
	dst = append(dst, `,"ts":"`...)
	dst = appendTimestamp(dst, e.TS)
	dst = append(dst, '"')
	switch e.Kind {
	case KindTrade:
		dst = strField(dst, "symbol", e.Symbol)
		dst = decField(dst, "price", e.Price)
		dst = decField(dst, "qty", e.Qty)
		dst = strField(dst, "side", string(e.Side))
	case KindPrice:
		dst = strField(dst, "symbol", e.Symbol)
		dst = decField(dst, "price", e.Price)
	case KindFill:
		dst = strField(dst, "wallet", e.Wallet)
		dst = strField(dst, "coin", e.Coin)
		dst = strField(dst, "side", string(e.Side))
		dst = decField(dst, "px", e.Px)
		dst = decField(dst, "sz", e.Sz)
		dst = optStrField(dst, "dir", e.Dir)
		dst = optDecField(dst, "start_position", e.StartPosition)
		dst = optDecField(dst, "closed_pnl", e.ClosedPnl)
		dst = optDecField(dst, "fee", e.Fee)
	case KindPosition:
		dst = strField(dst, "wallet", e.Wallet)
		dst = strField(dst, "coin", e.Coin)
		dst = decField(dst, "size", e.Size)
		dst = optDecField(dst, "entry_px", e.EntryPx)
		dst = optDecField(dst, "mark_px", e.MarkPx)
		dst = optDecField(dst, "leverage", e.Leverage)
		dst = optDecField(dst, "unrealized_pnl", e.UnrealizedPnl)
		dst = optDecField(dst, "account_value", e.AccountValue)
	case KindTransfer:
		dst = appendChain(dst, e)
		dst = optStrField(dst, "token", e.Token)
		dst = optStrField(dst, "symbol", e.Symbol)
		dst = strField(dst, "from", e.From)
		dst = strField(dst, "to", e.To)
		if e.HasRaw {
			dst = strField(dst, "raw_amount", e.RawAmount)
			dst = append(dst, `,"decimals":`...)
			dst = strconv.AppendInt(dst, int64(e.Decimals), 10)
		} else {
			dst = decField(dst, "amount", e.Amount)
		}
		dst = optDecField(dst, "usd", e.USD)
		dst = appendRemoved(dst, e)
	case KindSwap:
		dst = appendChain(dst, e)
		dst = strField(dst, "wallet", e.Wallet)
		dst = strField(dst, "venue", e.Venue)
		dst = strField(dst, "pool", e.Pool)
		dst = strField(dst, "token_in", e.TokenIn)
		dst = decField(dst, "amount_in", e.AmountIn)
		dst = strField(dst, "token_out", e.TokenOut)
		dst = decField(dst, "amount_out", e.AmountOut)
		dst = optStrField(dst, "symbol_in", e.SymbolIn)
		dst = optStrField(dst, "symbol_out", e.SymbolOut)
		dst = optDecField(dst, "usd", e.USD)
		dst = appendRemoved(dst, e)
	}
	dst = optStrField(dst, "id", e.ID)
	return append(dst, '}')
}

func appendChain(dst []byte, e *Event) []byte {
	dst = append(dst, `,"block":`...)
	dst = strconv.AppendUint(dst, e.Block, 10)
	dst = optStrField(dst, "block_hash", e.BlockHash)
	dst = strField(dst, "tx", e.Tx)
	dst = append(dst, `,"log_index":`...)
	return strconv.AppendInt(dst, e.LogIndex, 10)
}

func appendRemoved(dst []byte, e *Event) []byte {
	if e.Removed {
		dst = append(dst, `,"removed":true`...)
	}
	return dst
}

func fieldKey(dst []byte, key string) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}

func strField(dst []byte, key, v string) []byte {
	return appendString(fieldKey(dst, key), v)
}

func optStrField(dst []byte, key, v string) []byte {
	if v == "" {
		return dst
	}
	return strField(dst, key, v)
}

func decField(dst []byte, key string, d decimal.Decimal) []byte {
	dst = append(fieldKey(dst, key), '"')
	dst = appendDecimal(dst, d)
	return append(dst, '"')
}

func optDecField(dst []byte, key string, d decimal.NullDecimal) []byte {
	if !d.Valid {
		return dst
	}
	return decField(dst, key, d.Decimal)
}

// appendString writes s as a JSON string. '"' and '\' are escaped; control characters
// and invalid UTF-8 (which a validated event never holds) are written as \u escapes or
// U+FFFD so that the output is always valid JSON.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x7f {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if !(r == utf8.RuneError && n == 1) && !isControl(r) {
				i += n
				continue
			}
			dst = append(dst, s[start:i]...)
			if r == utf8.RuneError && n == 1 {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = appendU(dst, r)
			}
			i += n
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		default:
			dst = appendU(dst, rune(c))
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendU(dst []byte, r rune) []byte {
	const hexd = "0123456789abcdef"
	return append(dst, '\\', 'u', hexd[r>>12&0xf], hexd[r>>8&0xf], hexd[r>>4&0xf], hexd[r&0xf])
}

// KindPrefix reads the kind of a body that starts as AppendJSON writes one,
// `{"kind":"<kind>",`, without decoding it; ok is false for any other start or an
// unknown kind. Stages use it to skip entries of kinds they do not read: a body with
// this start that is no valid event is one they would have skipped too.
func KindPrefix(body []byte) (k Kind, ok bool) {
	const open = `{"kind":"`
	if len(body) < len(open) || string(body[:len(open)]) != open {
		return "", false
	}
	rest := body[len(open):]
	for i := 0; i < len(rest) && i <= len(KindPosition); i++ {
		if rest[i] == '"' {
			if i+1 >= len(rest) || rest[i+1] != ',' {
				return "", false
			}
			return kindOf(rest[:i])
		}
	}
	return "", false
}
