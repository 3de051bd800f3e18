package event

import (
	"unicode/utf8"
)

// This file is the strict JSON scanner behind Decode. It does one pass over the line and
// records where the value of each known field is; values are converted afterwards, per
// kind, in decode.go. Unknown fields are syntax-checked and skipped.

// jtype is the JSON type of a scanned value.
type jtype uint8

const (
	jNone jtype = iota // field absent
	jString
	jNumber
	jTrue
	jFalse
	jNull
	jObject
	jArray
)

func (t jtype) String() string {
	switch t {
	case jString:
		return "string"
	case jNumber:
		return "number"
	case jTrue, jFalse:
		return "boolean"
	case jNull:
		return "null"
	case jObject:
		return "object"
	case jArray:
		return "array"
	}
	return "absent"
}

// rawVal locates one scanned value in the line. For a string, [start,end) is the content
// between the quotes; otherwise it is the whole token (containers are not kept).
type rawVal struct {
	start, end int32
	typ        jtype
	esc        bool // string with backslash escapes
	integer    bool // number without fraction or exponent
}

// maxDepth bounds the nesting of (ignored) containers; deeper lines are bad_json.
const maxDepth = 64

// checkEncoding rejects invalid UTF-8 and raw control characters: C0 other than the JSON
// whitespace \t \n \r, DEL, and the C1 range U+0080..U+009F. It runs before the scanner,
// so a line with bad bytes is bad_encoding whatever else is wrong with it.
func checkEncoding(b []byte) *Reject {
	i := 0
	for i < len(b) {
		// Fast path: 8 bytes of printable ASCII at a time.
		for i+8 <= len(b) {
			x := uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24 |
				uint64(b[i+4])<<32 | uint64(b[i+5])<<40 | uint64(b[i+6])<<48 | uint64(b[i+7])<<56
			const lo = 0x0101010101010101
			const hi = 0x8080808080808080
			// A byte < 0x20, a byte >= 0x80, or a byte == 0x7f in the word.
			less20 := (x - lo*0x20) & ^x & hi
			del := x ^ (lo * 0x7f)
			isDel := (del - lo) & ^del & hi
			if less20|(x&hi)|isDel != 0 {
				break
			}
			i += 8
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		switch {
		case c < 0x20:
			if c != '\t' && c != '\n' && c != '\r' {
				return rejectf(ReasonBadEncoding, "", "control character 0x%02x at byte %d", c, i)
			}
			i++
		case c == 0x7f:
			return rejectf(ReasonBadEncoding, "", "control character 0x7f at byte %d", i)
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				return rejectf(ReasonBadEncoding, "", "invalid UTF-8 at byte %d", i)
			}
			if r >= 0x80 && r <= 0x9f {
				return rejectf(ReasonBadEncoding, "", "control character U+%04X at byte %d", r, i)
			}
			i += n
		}
	}
	return nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func badJSON(format string, args ...any) *Reject {
	return rejectf(ReasonBadJSON, "", format, args...)
}

// scanTop scans the line as one JSON object and fills vals for the known fields.
func scanTop(b []byte, vals *[nFields]rawVal) *Reject {
	i := skipWS(b, 0)
	if i >= len(b) {
		return badJSON("empty line")
	}
	if b[i] != '{' {
		return badJSON("not a JSON object")
	}
	i++
	var seen uint64
	i = skipWS(b, i)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				return badJSON("expected a key at byte %d", i)
			}
			ks := i + 1
			ke, esc, next, rej := scanString(b, i)
			if rej != nil {
				return rej
			}
			i = skipWS(b, next)
			if i >= len(b) || b[i] != ':' {
				return badJSON("expected ':' at byte %d", i)
			}
			i = skipWS(b, i+1)
			v, next, rej := scanValue(b, i, 1)
			if rej != nil {
				return rej
			}
			i = next
			id, rej := keyField(b[ks:ke], esc)
			if rej != nil {
				return rej
			}
			if id != fUnknown {
				if seen&(1<<id) != 0 {
					return badJSON("duplicate key %q", id.name())
				}
				seen |= 1 << id
				vals[id] = v
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return badJSON("unterminated object")
			}
			if b[i] == ',' {
				i = skipWS(b, i+1)
				continue
			}
			if b[i] == '}' {
				i++
				break
			}
			return badJSON("expected ',' or '}' at byte %d", i)
		}
	}
	if i = skipWS(b, i); i != len(b) {
		return badJSON("trailing data at byte %d", i)
	}
	return nil
}

// keyField maps a key to its field, decoding escapes first if it has any.
func keyField(k []byte, esc bool) (fieldID, *Reject) {
	if !esc {
		return lookupField(k), nil
	}
	if len(k) > 6*32 { // no known key is this long even fully escaped
		return fUnknown, nil
	}
	var buf [64]byte
	u, rej := unescape(buf[:0], k, false)
	if rej != nil {
		return fUnknown, rej
	}
	return lookupField(u), nil
}

// scanString scans the string starting with the quote at b[i]. It returns the index of the
// closing quote, whether there were escapes, and the index after the string.
func scanString(b []byte, i int) (end int, esc bool, next int, rej *Reject) {
	j := i + 1
	for j < len(b) {
		c := b[j]
		switch {
		case c == '"':
			return j, esc, j + 1, nil
		case c == '\\':
			esc = true
			if j+1 >= len(b) {
				return 0, false, 0, badJSON("unterminated string")
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(b) {
					return 0, false, 0, badJSON("truncated \\u escape")
				}
				for _, h := range b[j+2 : j+6] {
					if unhex(h) < 0 {
						return 0, false, 0, badJSON("bad \\u escape at byte %d", j)
					}
				}
				j += 6
			default:
				return 0, false, 0, badJSON("bad escape at byte %d", j)
			}
		case c < 0x20:
			return 0, false, 0, rejectf(ReasonBadEncoding, "", "raw control character 0x%02x in a string at byte %d", c, j)
		default:
			j++
		}
	}
	return 0, false, 0, badJSON("unterminated string")
}

// scanValue scans one JSON value at b[i] (no leading whitespace).
func scanValue(b []byte, i int, depth int) (rawVal, int, *Reject) {
	if i >= len(b) {
		return rawVal{}, 0, badJSON("missing value")
	}
	switch c := b[i]; {
	case c == '"':
		end, esc, next, rej := scanString(b, i)
		if rej != nil {
			return rawVal{}, 0, rej
		}
		return rawVal{start: int32(i + 1), end: int32(end), typ: jString, esc: esc}, next, nil
	case c == '-' || (c >= '0' && c <= '9'):
		next, integer, rej := scanNumber(b, i)
		if rej != nil {
			return rawVal{}, 0, rej
		}
		return rawVal{start: int32(i), end: int32(next), typ: jNumber, integer: integer}, next, nil
	case c == 't':
		return literal(b, i, "true", jTrue)
	case c == 'f':
		return literal(b, i, "false", jFalse)
	case c == 'n':
		return literal(b, i, "null", jNull)
	case c == '{':
		next, rej := skipObject(b, i, depth+1)
		return rawVal{start: int32(i), end: int32(next), typ: jObject}, next, rej
	case c == '[':
		next, rej := skipArray(b, i, depth+1)
		return rawVal{start: int32(i), end: int32(next), typ: jArray}, next, rej
	}
	return rawVal{}, 0, badJSON("unexpected character at byte %d", i)
}

func literal(b []byte, i int, lit string, t jtype) (rawVal, int, *Reject) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return rawVal{}, 0, badJSON("bad literal at byte %d", i)
	}
	return rawVal{start: int32(i), end: int32(i + len(lit)), typ: t}, i + len(lit), nil
}

// scanNumber checks JSON number syntax: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(b []byte, i int) (next int, integer bool, rej *Reject) {
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return 0, false, badJSON("bad number at byte %d", start)
	}
	integer = true
	if i < len(b) && b[i] == '.' {
		integer = false
		i++
		d := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i == d {
			return 0, false, badJSON("bad number at byte %d", start)
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		integer = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i == d {
			return 0, false, badJSON("bad number at byte %d", start)
		}
	}
	return i, integer, nil
}

func skipObject(b []byte, i int, depth int) (int, *Reject) {
	if depth > maxDepth {
		return 0, badJSON("nesting deeper than %d", maxDepth)
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, badJSON("expected a key at byte %d", i)
		}
		_, _, next, rej := scanString(b, i)
		if rej != nil {
			return 0, rej
		}
		i = skipWS(b, next)
		if i >= len(b) || b[i] != ':' {
			return 0, badJSON("expected ':' at byte %d", i)
		}
		i = skipWS(b, i+1)
		_, next, rej = scanValue(b, i, depth)
		if rej != nil {
			return 0, rej
		}
		i = skipWS(b, next)
		if i >= len(b) {
			return 0, badJSON("unterminated object")
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, badJSON("expected ',' or '}' at byte %d", i)
		}
	}
}

func skipArray(b []byte, i int, depth int) (int, *Reject) {
	if depth > maxDepth {
		return 0, badJSON("nesting deeper than %d", maxDepth)
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		_, next, rej := scanValue(b, i, depth)
		if rej != nil {
			return 0, rej
		}
		i = skipWS(b, next)
		if i >= len(b) {
			return 0, badJSON("unterminated array")
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return 0, badJSON("expected ',' or ']' at byte %d", i)
		}
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// unescape appends the decoded content of a JSON string (already syntax-checked by
// scanString) to dst. A lone surrogate is bad_encoding; with strict, so is a decoded
// control character (C0, DEL, C1), which must never reach an event's text fields.
func unescape(dst, s []byte, strict bool) ([]byte, *Reject) {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		var r rune
		switch s[i+1] {
		case '"', '\\', '/':
			r = rune(s[i+1])
			i += 2
		case 'b':
			r, i = '\b', i+2
		case 'f':
			r, i = '\f', i+2
		case 'n':
			r, i = '\n', i+2
		case 'r':
			r, i = '\r', i+2
		case 't':
			r, i = '\t', i+2
		case 'u':
			r = hex4(s[i+2 : i+6])
			i += 6
			if r >= 0xd800 && r < 0xdc00 {
				if i+6 > len(s) || s[i] != '\\' || s[i+1] != 'u' {
					return dst, rejectf(ReasonBadEncoding, "", "lone surrogate \\u%04x", r)
				}
				lo := hex4(s[i+2 : i+6])
				if lo < 0xdc00 || lo > 0xdfff {
					return dst, rejectf(ReasonBadEncoding, "", "lone surrogate \\u%04x", r)
				}
				r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
				i += 6
			} else if r >= 0xdc00 && r <= 0xdfff {
				return dst, rejectf(ReasonBadEncoding, "", "lone surrogate \\u%04x", r)
			}
		}
		if strict && isControl(r) {
			return dst, rejectf(ReasonBadEncoding, "", "escaped control character U+%04X", r)
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst, nil
}

func hex4(h []byte) rune {
	return rune(unhex(h[0])<<12 | unhex(h[1])<<8 | unhex(h[2])<<4 | unhex(h[3]))
}

func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f)
}
