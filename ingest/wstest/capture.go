package wstest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// Record is one line of a cryptofeed websocket capture (one JSON object a line, plain
// or zstd-compressed): T is "header", "connect", "send", "recv" or "http"; Data is the
// raw frame text of "send" and "recv" (and the response body of "http").
type Record struct {
	T    string  `json:"t"`
	Conn string  `json:"conn"`
	TS   float64 `json:"ts"`
	Addr string  `json:"addr"`
	URL  string  `json:"url"`
	Data string  `json:"data"`
}

// maxRecordBytes bounds one capture line (the REST responses are the long ones).
const maxRecordBytes = 64 << 20

// ReadCapture reads a capture file; a name ending in .zst is decompressed.
func ReadCapture(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open capture: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".zst") {
		zr, err := zstd.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("capture %s: zstd: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), maxRecordBytes)
	var recs []Record
	for line := 1; sc.Scan(); line++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("capture %s line %d: %w", path, line, err)
		}
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("capture %s: %w", path, err)
	}
	return recs, nil
}

// LoadCapture is ReadCapture for tests: it skips the test with a clear message when the
// file is absent (the shared data set is not part of the repository) and fails it on
// any other error.
func LoadCapture(tb testing.TB, path string) []Record {
	tb.Helper()
	recs, err := ReadCapture(path)
	if errors.Is(err, fs.ErrNotExist) {
		tb.Skipf("capture %s is absent (the shared data set lives outside the repository): %v", path, err)
		return nil
	}
	if err != nil {
		tb.Fatal(err)
		return nil
	}
	return recs
}

// Frames returns the Data of the records of type t ("recv" or "send"), in order.
func Frames(recs []Record, t string) [][]byte {
	var out [][]byte
	for _, r := range recs {
		if r.T == t {
			out = append(out, []byte(r.Data))
		}
	}
	return out
}
