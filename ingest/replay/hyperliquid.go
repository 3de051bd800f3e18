package replay

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/hyperliquid/userfills"
	"github.com/coattailcapital/coattail/ingest/parse"
)

// fillsSource reads a whole userFills file on the first call (the API returns at most
// a few thousand fills a call) and emits the fills in ascending time.
type fillsSource struct {
	br      *bufio.Reader
	wallet  string
	rules   event.Rules
	loaded  bool
	recs    []Record
	pos     int
	readErr error
}

func newFillsSource(br *bufio.Reader, wallet string, rules event.Rules) *fillsSource {
	return &fillsSource{br: br, wallet: strings.ToLower(strings.TrimSpace(wallet)), rules: rules}
}

func (s *fillsSource) err() error { return s.readErr }

func (s *fillsSource) next() (Record, bool) {
	if !s.loaded {
		s.loaded = true
		s.load()
	}
	if s.pos >= len(s.recs) {
		s.recs = nil
		return Record{}, false
	}
	rec := s.recs[s.pos]
	s.recs[s.pos] = Record{}
	s.pos++
	return rec, true
}

// sortedRecord is a record with the time it sorts by.
type sortedRecord struct {
	ms  int64 // fill time in ms; records without one sort first
	rec Record
}

// load decodes the file: JSON arrays of fills (one response, or several appended) or
// a sequence of fill objects. Arrays are streamed element by element, so a broken
// or truncated file still yields the fills before the damage; a syntax error ends the
// file with one bad_json record, since the rest cannot be re-synchronised.
func (s *fillsSource) load() {
	first, err := firstByte(s.br)
	if err != nil {
		s.finish(nil, 0, err)
		return
	}
	dec := json.NewDecoder(s.br)
	var out []sortedRecord
	var n int64
	if first != '[' {
		for {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				s.finish(out, n+1, err)
				return
			}
			n++
			out = append(out, s.fill(n, raw))
		}
	}
	for {
		tok, err := dec.Token() // '[' of the next array, or the end
		if errors.Is(err, io.EOF) {
			s.finish(out, n, nil)
			return
		}
		if err == nil && tok != json.Delim('[') {
			out = append(out, badJSON(n+1, fmt.Sprintf("want another array after an array, got %v", tok)))
			s.finish(out, n+1, nil)
			return
		}
		if err != nil {
			s.finish(out, n+1, err)
			return
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				s.finish(out, n+1, err)
				return
			}
			n++
			out = append(out, s.fill(n, raw))
		}
		if _, err := dec.Token(); err != nil { // ']'
			s.finish(out, n+1, err)
			return
		}
	}
}

// firstByte returns the first byte of the input that is neither white space nor a
// byte order mark, without consuming it; 0 for empty input.
func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if errors.Is(err, io.EOF) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.Discard(1)
			continue
		case 0xef:
			if bom, _ := br.Peek(3); len(bom) == 3 && bom[1] == 0xbb && bom[2] == 0xbf {
				_, _ = br.Discard(3)
				continue
			}
		}
		return b[0], nil
	}
}

// finish sorts the records by time (stable, so fills of the same millisecond keep the
// order of the file, which is their execution order) and records how reading ended.
func (s *fillsSource) finish(out []sortedRecord, n int64, err error) {
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
			out = append(out, badJSON(n, fmt.Sprintf("fills JSON broken after %d records: %v", max(n-1, 0), err)))
		} else {
			s.readErr = fmt.Errorf("read fills: %w", err)
		}
	}
	slices.SortStableFunc(out, func(a, b sortedRecord) int { return cmp.Compare(a.ms, b.ms) })
	s.recs = make([]Record, len(out))
	for i := range out {
		s.recs[i] = out[i].rec
	}
}

// badJSON is the record that ends a broken fills file. It sorts last: it stands for
// the part of the file that could not be read.
func badJSON(n int64, detail string) sortedRecord {
	return sortedRecord{ms: 1<<63 - 1, rec: Record{Line: n, Err: parse.Rejectf(event.ReasonBadJSON, "", "%s", detail)}}
}

// fill maps the n-th fill of the file (package userfills, shared with the live
// source). Without a wallet every fill that decodes is rejected for the lack of one.
func (s *fillsSource) fill(n int64, raw json.RawMessage) sortedRecord {
	f, ms, rej := userfills.Decode(raw)
	sr := sortedRecord{ms: ms, rec: Record{Line: n}}
	if rej == nil {
		if s.wallet == "" {
			rej = parse.Rejectf(event.ReasonMissingField, "wallet",
				"the file name names no 0x address; set the wallet explicitly")
		} else {
			sr.rec.Event, rej = f.Event(s.wallet, s.rules)
		}
	}
	if rej != nil {
		sr.rec.Event = event.Event{}
		sr.rec.Err, sr.rec.Raw = rej, rawCopy(raw)
	}
	return sr
}
