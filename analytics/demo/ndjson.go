package demo

import (
	"bufio"
	"fmt"
	"io"

	"github.com/coattailcapital/coattail/event"
)

// WriteNDJSON writes the events of the first ticks ticks of the market cfg describes to
// w, one interchange NDJSON line each, and returns how many events it wrote (on error,
// how many it had encoded). The same cfg and ticks always give the same bytes.
func WriteNDJSON(w io.Writer, cfg Config, ticks int) (int, error) {
	if ticks < 0 {
		return 0, fmt.Errorf("write demo ndjson: ticks %d is negative", ticks)
	}
	m, err := New(cfg)
	if err != nil {
		return 0, fmt.Errorf("write demo ndjson: %w", err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	n := 0
	for range ticks {
		evs := m.Next()
		for i := range evs {
			line = append(event.AppendJSON(line[:0], &evs[i]), '\n')
			if _, err := bw.Write(line); err != nil {
				return n, fmt.Errorf("write demo ndjson: event %d: %w", n, err)
			}
			n++
		}
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("write demo ndjson: flush: %w", err)
	}
	return n, nil
}
