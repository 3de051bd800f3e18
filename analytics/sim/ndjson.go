package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/coattailcapital/coattail/event"
)

// WriteNDJSON writes the market's events to w as interchange NDJSON, one line each,
// and returns how many it wrote.
func (m *Market) WriteNDJSON(w io.Writer) (int, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	for i := range m.Events {
		line = append(event.AppendJSON(line[:0], &m.Events[i]), '\n')
		if _, err := bw.Write(line); err != nil {
			return i, fmt.Errorf("write sim ndjson: event %d: %w", i, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return len(m.Events), fmt.Errorf("write sim ndjson: %w", err)
	}
	return len(m.Events), nil
}

// WriteTruth writes the ground truth to w as indented JSON.
func (m *Market) WriteTruth(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m.Truth); err != nil {
		return fmt.Errorf("write sim truth: %w", err)
	}
	return nil
}
