package replay

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/coattailcapital/coattail/event"
)

// rawLimit is the most of an offending input kept in Record.Raw.
const rawLimit = 4 << 10

// readBufSize is the size of the buffered reader under every line format. Lines up to
// this size are returned straight from its buffer, without copying.
const readBufSize = 64 << 10

// lineReader splits a stream into lines. A line is returned without its "\n" or
// "\r\n". Lines longer than event.MaxLineBytes are not held in memory: their first
// rawLimit bytes are kept and the rest is discarded up to the next newline.
type lineReader struct {
	br   *bufio.Reader
	long []byte // accumulates lines longer than the bufio buffer; reused
	num  int64  // number of the last line returned (1-based)
	err  error  // first read error other than io.EOF
	eof  bool
}

func newLineReader(br *bufio.Reader) *lineReader {
	return &lineReader{br: br}
}

// next returns the next line and whether it was too long. When tooLong is set, line
// holds at most rawLimit bytes of its start. The returned slice is valid until the
// next call. ok is false at the end of input or on a read error (see lr.err).
func (lr *lineReader) next() (line []byte, tooLong bool, ok bool) {
	line, tooLong, ok = lr.read()
	if ok && lr.num == 1 {
		line = trimBOM(line)
	}
	return line, tooLong, ok
}

func (lr *lineReader) read() (line []byte, tooLong bool, ok bool) {
	if lr.eof || lr.err != nil {
		return nil, false, false
	}
	frag, err := lr.br.ReadSlice('\n')
	switch {
	case err == nil:
		lr.num++
		return trimEOL(frag), false, true
	case errors.Is(err, io.EOF):
		lr.eof = true
		if len(frag) == 0 {
			return nil, false, false
		}
		lr.num++ // a last line without a newline
		return trimEOL(frag), false, true
	case !errors.Is(err, bufio.ErrBufferFull):
		lr.err = fmt.Errorf("read line %d: %w", lr.num+1, err)
		return nil, false, false
	}
	// The line does not fit the buffer: accumulate up to the limit, then discard.
	lr.num++
	if cap(lr.long) == 0 {
		// One allocation for the longest line accepted, instead of growing by doubling.
		lr.long = make([]byte, 0, event.MaxLineBytes+readBufSize)
	}
	lr.long = append(lr.long[:0], frag...)
	for {
		frag, err = lr.br.ReadSlice('\n')
		if len(lr.long)+len(frag) > event.MaxLineBytes+2 { // +2: room for "\r\n"
			break
		}
		lr.long = append(lr.long, frag...)
		switch {
		case err == nil:
			return lr.finishLong()
		case errors.Is(err, io.EOF):
			lr.eof = true
			return lr.finishLong()
		case !errors.Is(err, bufio.ErrBufferFull):
			lr.err = fmt.Errorf("read line %d: %w", lr.num, err)
			return nil, false, false
		}
	}
	// Too long: keep the head, skip the rest of the line without storing it.
	for errors.Is(err, bufio.ErrBufferFull) {
		_, err = lr.br.ReadSlice('\n')
	}
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		lr.eof = true
	default:
		lr.err = fmt.Errorf("read line %d: %w", lr.num, err)
		return nil, false, false
	}
	return lr.long[:min(len(lr.long), rawLimit)], true, true
}

// finishLong returns the accumulated long line, checking its length without the
// line terminator.
func (lr *lineReader) finishLong() ([]byte, bool, bool) {
	line := trimEOL(lr.long)
	if len(line) > event.MaxLineBytes {
		return line[:rawLimit], true, true
	}
	return line, false, true
}

// trimEOL removes a trailing "\n" or "\r\n".
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// trimBOM removes a UTF-8 byte order mark.
func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
		return b[3:]
	}
	return b
}

// isBlank reports whether a line holds nothing but spaces and tabs.
func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// rawCopy returns a copy of b truncated to rawLimit bytes, for Record.Raw.
func rawCopy(b []byte) []byte {
	if len(b) > rawLimit {
		b = b[:rawLimit]
	}
	return append([]byte(nil), b...)
}
