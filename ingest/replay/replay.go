package replay

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/coattailcapital/coattail/event"
)

// File formats, the values of Options.Format and Reader.Format.
const (
	FormatInterchange      = "interchange"              // interchange NDJSON (docs/EVENTS.md)
	FormatBinanceTrades    = "binance-trades"           // Binance trades CSV
	FormatBinanceAggTrades = "binance-aggtrades"        // Binance aggTrades CSV
	FormatBinanceKlines    = "binance-klines"           // Binance klines CSV
	FormatETLTransfersCSV  = "etl-token-transfers-csv"  // ethereum-etl token_transfers CSV
	FormatETLTransfersJSON = "etl-token-transfers-json" // ethereum-etl token_transfers JSON lines
	FormatHyperliquidFills = "hyperliquid-fills"        // Hyperliquid info API userFills response
)

// Formats lists the formats Open can read, for help texts.
func Formats() []string {
	return []string{
		FormatInterchange, FormatBinanceTrades, FormatBinanceAggTrades, FormatBinanceKlines,
		FormatETLTransfersCSV, FormatETLTransfersJSON, FormatHyperliquidFills,
	}
}

// ErrUnknownFormat is returned (wrapped) by Open when the format of a file cannot be
// detected or Options.Format names no known format.
var ErrUnknownFormat = errors.New("unknown replay file format")

// Record is one record read from a file: an event, or the reason it was rejected.
type Record struct {
	Source string      // the file path given to Open
	Line   int64       // 1-based line number; for Hyperliquid fills the 1-based position in the array
	Event  event.Event // valid when Err == nil
	Err    error       // an *event.Reject when the record was rejected
	Raw    []byte      // the offending input (at most 4 KiB) when Err != nil, else nil
}

// Options tune Open. The zero value detects everything.
type Options struct {
	// Rules are the data-quality rules every event is checked against.
	Rules event.Rules
	// Format forces a format (one of the Format* constants). Defaults to detection
	// from the content and, where the content is not conclusive, the file name.
	Format string
	// Wallet is the wallet of a Hyperliquid userFills file. Defaults to the first
	// 0x-prefixed 40-hex-digit address in the file name.
	Wallet string
	// Symbol is the symbol of a Binance CSV ("ETHUSDT" or "ETH-USDT"). Defaults to
	// the symbol the file name starts with (ETHUSDT-1h-2024-01.csv).
	Symbol string
}

// Reader reads the records of one file. It is not safe for concurrent use.
type Reader struct {
	path   string
	format string
	file   *os.File
	zclose func() error // closes the decompressor; nil for plain files
	src    source
	err    error
}

// source produces the records of one format. Records come without Source.
type source interface {
	next() (Record, bool)
	err() error
}

// Open opens a replay file. Compression (gzip, zstd) is recognised by its magic bytes,
// whatever the extension. The format is taken from opt.Format or detected.
func Open(path string, opt Options) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open replay file: %w", err)
	}
	r := &Reader{path: path, file: f}
	if err := r.init(opt); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("open replay file %s: %w", path, err)
	}
	return r, nil
}

func (r *Reader) init(opt Options) error {
	br, err := r.decompress()
	if err != nil {
		return err
	}
	head, err := br.Peek(readBufSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return fmt.Errorf("read start: %w", err)
	}
	name := baseName(r.path)
	format := opt.Format
	if format == "" {
		if format, err = detect(head, name); err != nil {
			return err
		}
	} else if !slices.Contains(Formats(), format) {
		return fmt.Errorf("%w %q (known: %v)", ErrUnknownFormat, format, Formats())
	}
	r.format = format
	first := firstLine(head)
	switch format {
	case FormatInterchange:
		r.src = newLineSource(br, interchangeParser(opt.Rules))
	case FormatBinanceTrades, FormatBinanceAggTrades, FormatBinanceKlines:
		p, err := newBinanceParser(format, first, symbolFor(opt.Symbol, name), opt.Rules)
		if err != nil {
			return err
		}
		r.src = newLineSource(br, p)
	case FormatETLTransfersCSV:
		p, err := newETLCSVParser(first, opt.Rules)
		if err != nil {
			return err
		}
		r.src = newLineSource(br, p)
	case FormatETLTransfersJSON:
		r.src = newLineSource(br, etlJSONParser(opt.Rules))
	case FormatHyperliquidFills:
		wallet := opt.Wallet
		if wallet == "" {
			wallet = addressIn(name)
		}
		r.src = newFillsSource(br, wallet, opt.Rules)
	}
	return nil
}

// decompress wraps the file in a decompressor chosen by the magic bytes.
func (r *Reader) decompress() (*bufio.Reader, error) {
	fb := bufio.NewReaderSize(r.file, readBufSize)
	magic, err := fb.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read magic bytes: %w", err)
	}
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(fb)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		r.zclose = zr.Close
		return bufio.NewReaderSize(zr, readBufSize), nil
	case len(magic) == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd:
		zr, err := zstd.NewReader(fb)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		r.zclose = func() error { zr.Close(); return nil }
		return bufio.NewReaderSize(zr, readBufSize), nil
	}
	return fb, nil
}

// Next returns the next record. It returns false at the end of the file or on a read
// error, which Err then returns. Rejected records are records too: Next never stops
// at bad data, only at unreadable input.
func (r *Reader) Next() (Record, bool) {
	if r.src == nil {
		return Record{}, false
	}
	rec, ok := r.src.next()
	if !ok {
		if err := r.src.err(); err != nil && r.err == nil {
			r.err = fmt.Errorf("replay %s: %w", r.path, err)
		}
		return Record{}, false
	}
	rec.Source = r.path
	return rec, true
}

// Err returns the read error that ended Next, if any.
func (r *Reader) Err() error { return r.err }

// Format returns the format being read (one of the Format* constants).
func (r *Reader) Format() string { return r.format }

// Close releases the file and the decompressor.
func (r *Reader) Close() error {
	var errs []error
	if r.zclose != nil {
		errs = append(errs, r.zclose())
		r.zclose = nil
	}
	if r.file != nil {
		errs = append(errs, r.file.Close())
		r.file = nil
	}
	r.src = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close replay file %s: %w", r.path, err)
	}
	return nil
}

// lineParser turns one non-blank line into an event. emit is false for lines that
// carry no record (a CSV header). err is an *event.Reject.
type lineParser interface {
	parse(line []byte) (ev event.Event, emit bool, err error)
}

// lineSource drives a lineParser over a line-oriented file.
type lineSource struct {
	lr *lineReader
	p  lineParser
}

func newLineSource(br *bufio.Reader, p lineParser) *lineSource {
	return &lineSource{lr: newLineReader(br), p: p}
}

func (s *lineSource) next() (Record, bool) {
	for {
		line, tooLong, ok := s.lr.next()
		if !ok {
			return Record{}, false
		}
		if tooLong {
			return Record{
				Line: s.lr.num,
				Err: &event.Reject{
					Reason: event.ReasonLineTooLong,
					Detail: fmt.Sprintf("line longer than %d bytes", event.MaxLineBytes),
				},
				Raw: rawCopy(line),
			}, true
		}
		if isBlank(line) {
			continue
		}
		ev, emit, err := s.p.parse(line)
		if !emit {
			continue
		}
		if err != nil {
			return Record{Line: s.lr.num, Err: err, Raw: rawCopy(line)}, true
		}
		return Record{Line: s.lr.num, Event: ev}, true
	}
}

func (s *lineSource) err() error { return s.lr.err }

// interchangeParser decodes interchange lines with event.Decode.
type interchangeParser event.Rules

func (p interchangeParser) parse(line []byte) (event.Event, bool, error) {
	ev, err := event.Decode(line, event.Rules(p))
	return ev, true, err
}
