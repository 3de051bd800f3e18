package replay

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeFillLines writes n interchange fill lines to a file and returns its path.
func writeFillLines(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "fills.ndjson")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		ts := base.Add(time.Duration(i) * 37 * time.Millisecond).Format(time.RFC3339Nano)
		fmt.Fprintf(w, `{"kind":"fill","src":"hyperliquid","ts":"%s","wallet":"0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2","coin":"SUI","side":"sell","px":"1.%04d","sz":"%d.7","dir":"Close Long","start_position":"4623.5","closed_pnl":"-0.25686","fee":"0.0","id":"%d"}`+"\n",
			ts, i%10000, 1+i%500, 189324432+i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkNDJSON reads a file of 100k interchange fills; events/s is the throughput.
func BenchmarkNDJSON(b *testing.B) {
	const n = 100_000
	path := writeFillLines(b, n)
	rules := testRules()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		r, err := Open(path, Options{Rules: rules})
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for {
			rec, ok := r.Next()
			if !ok {
				break
			}
			if rec.Err != nil {
				b.Fatalf("line %d: %v", rec.Line, rec.Err)
			}
			got++
		}
		if err := r.Err(); err != nil {
			b.Fatal(err)
		}
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("%d events, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/time.Since(start).Seconds(), "events/s")
}
