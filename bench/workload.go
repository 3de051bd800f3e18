package bench

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/coattailcapital/coattail/analytics/demo"
	"github.com/coattailcapital/coattail/event"
)

// row is one demo event as the raw measurements move it: the events table's columns.
type row struct {
	key  []byte // 16-byte key hash
	kind string
	src  string
	ts   time.Time
	body string // canonical interchange JSON
}

// workload is the demo events of a run: in a file for the replay, in memory for the
// raw measurements (the same bytes both ways).
type workload struct {
	path string
	rows []row
}

func (w *workload) avgBody() float64 {
	if len(w.rows) == 0 {
		return 0
	}
	var n int
	for i := range w.rows {
		n += len(w.rows[i].body)
	}
	return float64(n) / float64(len(w.rows))
}

// generate writes whole ticks of the demo market seeded with seed until at least n
// events are written, to dir/demo.ndjson, and keeps them as rows.
func generate(dir string, seed int64, n int) (*workload, error) {
	m, err := demo.New(demo.Config{Seed: seed})
	if err != nil {
		return nil, fmt.Errorf("bench: demo market: %w", err)
	}
	path := filepath.Join(dir, "demo.ndjson")
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: create demo file: %w", err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 256<<10)
	w := &workload{path: path, rows: make([]row, 0, n+n/16)}
	var line []byte
	for len(w.rows) < n {
		evs := m.Next() // never empty: every tick prices every coin
		for i := range evs {
			ev := &evs[i]
			line = event.AppendJSON(line[:0], ev)
			kh := ev.KeyHash()
			w.rows = append(w.rows, row{key: kh[:], kind: string(ev.Kind), src: ev.Src, ts: ev.TS, body: string(line)})
			line = append(line, '\n')
			if _, err := bw.Write(line); err != nil {
				return nil, fmt.Errorf("bench: write demo file: %w", err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("bench: write demo file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("bench: close demo file: %w", err)
	}
	return w, nil
}
