package replay

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/parse"
)

// splitCSV splits one CSV row into dst (reused). Unquoted fields are sub-slices of
// line; quoted fields ("a,b", with "" for a quote) are supported within one line.
func splitCSV(line []byte, dst [][]byte) [][]byte {
	dst = dst[:0]
	for {
		if len(line) > 0 && line[0] == '"' {
			field, rest, more := quotedField(line)
			dst = append(dst, field)
			if !more {
				return dst
			}
			line = rest
			continue
		}
		i := bytes.IndexByte(line, ',')
		if i < 0 {
			return append(dst, line)
		}
		dst = append(dst, line[:i])
		line = line[i+1:]
	}
}

// quotedField reads a quoted field at the start of line. more is false when it was
// the last field of the row.
func quotedField(line []byte) (field, rest []byte, more bool) {
	escaped := false
	for j := 1; j < len(line); j++ {
		if line[j] != '"' {
			continue
		}
		if j+1 < len(line) && line[j+1] == '"' {
			escaped = true
			j++
			continue
		}
		field = line[1:j]
		if escaped {
			field = bytes.ReplaceAll(field, []byte(`""`), []byte(`"`))
		}
		rest = line[j+1:]
		if i := bytes.IndexByte(rest, ','); i >= 0 {
			return field, rest[i+1:], true
		}
		return field, nil, false
	}
	// Unterminated quote: take the rest of the line as it is.
	return line[1:], nil, false
}

// isInt reports whether b is a non-empty run of decimal digits.
func isInt(b []byte) bool {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isNumber reports whether b is a plain decimal number: an optional sign, digits and
// an optional fraction. Exponents, NaN and Inf are not numbers here.
func isNumber(b []byte) bool {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		b = b[1:]
	}
	digits, dot := 0, false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

// parseDecimal parses a plain decimal number (see isNumber).
func parseDecimal(field string, b []byte) (decimal.Decimal, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return decimal.Decimal{}, parse.Rejectf(event.ReasonMissingField, field, "empty")
	}
	if !isNumber(b) {
		return decimal.Decimal{}, parse.Rejectf(event.ReasonBadNumber, field, "not a decimal: %s", parse.Quote(string(b)))
	}
	d, err := decimal.NewFromString(string(b))
	if err != nil {
		return decimal.Decimal{}, parse.Rejectf(event.ReasonBadNumber, field, "%v", err)
	}
	return d, nil
}

// parseUint parses a non-negative integer.
func parseUint(field string, b []byte) (uint64, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0, parse.Rejectf(event.ReasonMissingField, field, "empty")
	}
	if !isInt(b) {
		return 0, parse.Rejectf(event.ReasonBadValue, field, "not a non-negative integer: %s", parse.Quote(string(b)))
	}
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0, parse.Rejectf(event.ReasonBadValue, field, "out of range: %s", parse.Quote(string(b)))
	}
	return v, nil
}

// parseEpoch parses an integer Unix time whose unit is told by its magnitude: below
// 1e11 seconds, below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds.
// (1e11 s is the year 5138; 1e11 ms is 1973, so the ranges do not overlap for any
// date this project deals with.)
func parseEpoch(field string, b []byte) (time.Time, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return time.Time{}, parse.Rejectf(event.ReasonMissingField, field, "empty")
	}
	if !isInt(b) {
		return time.Time{}, parse.Rejectf(event.ReasonBadTimestamp, field, "not an integer Unix time: %s", parse.Quote(string(b)))
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return time.Time{}, parse.Rejectf(event.ReasonBadTimestamp, field, "out of range: %s", parse.Quote(string(b)))
	}
	return epochTime(v), nil
}

// epochTime converts a Unix time of magnitude-told unit (see parseEpoch) to UTC.
func epochTime(v int64) time.Time {
	switch {
	case v < 1e11:
		return time.Unix(v, 0).UTC()
	case v < 1e14:
		return time.UnixMilli(v).UTC()
	case v < 1e17:
		return time.UnixMicro(v).UTC()
	}
	return time.Unix(0, v).UTC()
}

// parseBool parses the booleans of Binance CSVs.
func parseBool(b []byte) (v, ok bool) {
	switch string(bytes.TrimSpace(b)) {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	return false, false
}

// csvCol is one logical column of a CSV layout.
type csvCol struct {
	name     string   // logical name, used in rejects
	aliases  []string // header names that denote it (normalised, see normName)
	pos      int      // index in a headerless file; -1 when only a header can name it
	optional bool
}

// resolveColumns maps logical columns to row indexes: by name when first is a header,
// else by position. Absent optional columns get -1.
func resolveColumns(cols []csvCol, first [][]byte) (idx []int, header bool, err error) {
	idx = make([]int, len(cols))
	header = isHeader(first) && !(len(first) == 1 && len(first[0]) == 0) // an empty file has no header
	if !header {
		for i, c := range cols {
			idx[i] = c.pos
		}
		return idx, false, nil
	}
	names := make(map[string]int, len(first))
	for i, f := range first {
		if n := normName(f); n != "" {
			if _, dup := names[n]; !dup {
				names[n] = i
			}
		}
	}
	for i, c := range cols {
		idx[i] = -1
		for _, a := range c.aliases {
			if j, ok := names[a]; ok {
				idx[i] = j
				break
			}
		}
		if idx[i] < 0 && !c.optional {
			return nil, true, fmt.Errorf("CSV header has no %q column (accepted names: %v)", c.name, c.aliases)
		}
	}
	return idx, true, nil
}

// csvRow holds the state shared by the CSV parsers: the resolved columns and whether
// the header line is still to be skipped.
type csvRow struct {
	cols       []csvCol
	idx        []int
	skipHeader bool
	header     []byte // the header line, once seen
	need       int    // fields a row needs to hold every required column
	fields     [][]byte
}

func newCSVRow(cols []csvCol, first []byte) (*csvRow, error) {
	idx, header, err := resolveColumns(cols, splitCSV(first, nil))
	if err != nil {
		return nil, err
	}
	need := 0
	for i, c := range cols {
		if !c.optional && idx[i]+1 > need {
			need = idx[i] + 1
		}
	}
	return &csvRow{cols: cols, idx: idx, skipHeader: header, need: need}, nil
}

// split splits a line. header is true for the header line, which carries no record,
// and for repeats of it (files concatenated with their headers).
func (r *csvRow) split(line []byte) (header bool, err error) {
	if r.skipHeader {
		r.skipHeader = false
		r.header = append([]byte(nil), line...)
		return true, nil
	}
	if r.header != nil && bytes.Equal(line, r.header) {
		return true, nil
	}
	r.fields = splitCSV(line, r.fields)
	if len(r.fields) < r.need {
		for i, c := range r.cols {
			if !c.optional && r.idx[i] >= len(r.fields) {
				return false, parse.Rejectf(event.ReasonMissingField, c.name, "row has %d columns, want at least %d", len(r.fields), r.need)
			}
		}
	}
	return false, nil
}

// get returns column i of the current row, or nil when it is absent.
func (r *csvRow) get(i int) []byte {
	if j := r.idx[i]; j >= 0 && j < len(r.fields) {
		return r.fields[j]
	}
	return nil
}
