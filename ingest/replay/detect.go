package replay

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// detect picks the format of a file from the start of its (decompressed) content and,
// where that is not conclusive, its name (lower-case, compression extension removed).
func detect(head []byte, name string) (string, error) {
	first := firstLine(head)
	if len(first) == 0 {
		// Nothing to read: any line format reads it as zero records.
		if f := formatByName(name); f != "" {
			return f, nil
		}
		return FormatInterchange, nil
	}
	switch first[0] {
	case '[':
		h := bytes.TrimLeft(trimBOM(head), " \t\r\n")
		rest := bytes.TrimLeft(h[1:], " \t\r\n")
		if len(rest) > 0 && rest[0] == ']' || looksLikeFill(head) {
			return FormatHyperliquidFills, nil
		}
		if interchangeLater(head, name) {
			return FormatInterchange, nil
		}
		return "", fmt.Errorf("%w: a JSON array, but not of Hyperliquid fills", ErrUnknownFormat)
	case '{':
		switch {
		case bytes.Contains(first, []byte(`"kind"`)):
			return FormatInterchange, nil
		case bytes.Contains(first, []byte(`"type"`)) && bytes.Contains(first, []byte(`"token_transfer"`)):
			return FormatETLTransfersJSON, nil
		case looksLikeFill(first):
			return FormatHyperliquidFills, nil
		}
		if f := formatByName(name); f == FormatETLTransfersJSON || f == FormatHyperliquidFills {
			return f, nil
		}
		// JSON objects are interchange unless they say otherwise; lines that are not
		// valid events are rejected one by one with their reason.
		return FormatInterchange, nil
	}
	if f := classifyCSV(splitCSV(first, nil), name); f != "" {
		return f, nil
	}
	if interchangeLater(head, name) {
		return FormatInterchange, nil
	}
	return "", fmt.Errorf("%w: first line is neither JSON nor a known CSV layout", ErrUnknownFormat)
}

// interchangeLater reports whether a file whose first line is not recognisable is
// still interchange NDJSON: its name says so, or a later line in head is an event.
// A malformed first line must not hide a file's good lines: they are read and the
// bad ones dead-lettered one by one.
func interchangeLater(head []byte, name string) bool {
	if formatByName(name) == FormatInterchange {
		return true
	}
	for _, line := range bytes.Split(head, []byte("\n"))[1:] {
		l := bytes.TrimSpace(line)
		if len(l) > 0 && l[0] == '{' && bytes.Contains(l, []byte(`"kind"`)) {
			return true
		}
	}
	return false
}

// looksLikeFill reports whether JSON text carries the fields of a Hyperliquid fill.
func looksLikeFill(b []byte) bool {
	return bytes.Contains(b, []byte(`"closedPnl"`)) ||
		bytes.Contains(b, []byte(`"coin"`)) && bytes.Contains(b, []byte(`"oid"`))
}

// formatByName guesses a format from a file name alone.
func formatByName(name string) string {
	switch {
	case strings.HasSuffix(name, ".ndjson"), strings.HasSuffix(name, ".jsonl"):
		return FormatInterchange
	case strings.Contains(name, "token_transfers") && strings.HasSuffix(name, ".csv"):
		return FormatETLTransfersCSV
	case strings.Contains(name, "token_transfers") && strings.HasSuffix(name, ".json"):
		return FormatETLTransfersJSON
	case strings.Contains(name, "fills") && strings.HasSuffix(name, ".json"):
		return FormatHyperliquidFills
	case strings.Contains(name, "-aggtrades"):
		return FormatBinanceAggTrades
	case strings.Contains(name, "-trades"):
		return FormatBinanceTrades
	case strings.Contains(name, "klines"):
		return FormatBinanceKlines
	}
	return ""
}

// classifyCSV picks a CSV flavour from the first row: by column names when it is a
// header, by shape when it is data.
func classifyCSV(fields [][]byte, name string) string {
	if len(fields) < 2 {
		return ""
	}
	if isHeader(fields) {
		has := func(names ...string) bool {
			for _, f := range fields {
				if slices.Contains(names, normName(f)) {
					return true
				}
			}
			return false
		}
		switch {
		case has("token_address") && has("transaction_hash") && has("log_index"):
			return FormatETLTransfersCSV
		case has("close_time") || has("open") && has("close"):
			return FormatBinanceKlines
		case has("agg_trade_id", "agg_id", "first_trade_id"):
			return FormatBinanceAggTrades
		case has("is_buyer_maker") && has("id", "trade_id"):
			return FormatBinanceTrades
		}
		return ""
	}
	// Headerless Binance data: the first boolean column tells trades (is_buyer_maker
	// at index 5) from aggTrades (index 6); klines have no boolean column.
	firstBool := -1
	for i, f := range fields {
		if _, ok := parseBool(f); ok {
			firstBool = i
			break
		}
	}
	switch {
	case firstBool == 5 && len(fields) >= 6:
		return FormatBinanceTrades
	case firstBool == 6 && len(fields) >= 7:
		return FormatBinanceAggTrades
	case firstBool < 0 && len(fields) >= 7 && isInt(fields[0]) && isInt(fields[6]):
		return FormatBinanceKlines
	}
	if f := formatByName(name); f != "" && f != FormatInterchange {
		return f
	}
	return ""
}

// isHeader reports whether a CSV row is a header: its first field is not a number.
func isHeader(fields [][]byte) bool {
	return len(fields) > 0 && !isNumber(fields[0])
}

// normName normalises a CSV header name: trimmed, lower-case, spaces as underscores.
func normName(b []byte) string {
	s := strings.ToLower(strings.TrimSpace(string(b)))
	return strings.ReplaceAll(s, " ", "_")
}

// firstLine returns the first non-blank line of head, without its terminator and a
// leading byte order mark. It may be cut short when the line is longer than head.
func firstLine(head []byte) []byte {
	head = trimBOM(head)
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) > 0 {
			return line
		}
	}
	return nil
}

// baseName returns the lower-case file name of path without compression extensions.
func baseName(path string) string {
	name := strings.ToLower(filepath.Base(path))
	for _, ext := range []string{".gz", ".gzip", ".zst", ".zstd"} {
		name = strings.TrimSuffix(name, ext)
	}
	return name
}

// addressIn returns the first 0x-prefixed 40-hex-digit address in s, lower-case, or "".
func addressIn(s string) string {
	for i := 0; i+42 <= len(s); i++ {
		if s[i] != '0' || s[i+1] != 'x' && s[i+1] != 'X' {
			continue
		}
		cand := s[i+2 : i+42]
		if isHex(cand) && (i+42 == len(s) || !isHexByte(s[i+42])) {
			return "0x" + strings.ToLower(cand)
		}
	}
	return ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHexByte(s[i]) {
			return false
		}
	}
	return true
}

func isHexByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
