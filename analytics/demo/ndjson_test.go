package demo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
)

func ndjson(t *testing.T, cfg Config, ticks int) ([]byte, int) {
	t.Helper()
	var buf bytes.Buffer
	n, err := WriteNDJSON(&buf, cfg, ticks)
	if err != nil {
		t.Fatalf("WriteNDJSON: %v", err)
	}
	return buf.Bytes(), n
}

func TestWriteNDJSONDeterministic(t *testing.T) {
	a, na := ndjson(t, Config{Seed: 42}, 1000)
	b, nb := ndjson(t, Config{Seed: 42}, 1000)
	c, _ := ndjson(t, Config{Seed: 43}, 1000)
	if na != nb || !bytes.Equal(a, b) {
		t.Fatalf("same seed gave different output (%d and %d events)", na, nb)
	}
	if bytes.Equal(a, c) {
		t.Fatal("seeds 42 and 43 gave the same output")
	}
	if lines := bytes.Count(a, []byte("\n")); lines != na {
		t.Fatalf("%d lines for %d events", lines, na)
	}
}

// TestWriteNDJSONDecodes reads every line back with event.Decode, the way replay does,
// and compares it with what Next emitted.
func TestWriteNDJSONDecodes(t *testing.T) {
	const ticks = 1000
	cfg := Config{Seed: 9, Coins: []string{"BTC", "DOGE", "HYPE"}}
	out, n := ndjson(t, cfg, ticks)
	want, _ := run(t, cfg, ticks)
	if n != len(want) {
		t.Fatalf("wrote %d events, Next emitted %d", n, len(want))
	}
	end := cfg.withDefaults().Start.Add(ticks * time.Second)
	rules := event.Rules{Now: func() time.Time { return end }}
	sc := bufio.NewScanner(bytes.NewReader(out))
	i := 0
	for sc.Scan() {
		got, err := event.Decode(sc.Bytes(), rules)
		if err != nil {
			t.Fatalf("line %d does not decode: %v\n%s", i+1, err, sc.Bytes())
		}
		if canon(got) != canon(want[i]) {
			t.Fatalf("line %d decodes to\n%s\nNext emitted\n%s", i+1, canon(got), canon(want[i]))
		}
		i++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Fatalf("read %d lines, want %d", i, n)
	}
}

type failWriter struct{ after int }

var (
	errDiskFull = errors.New("disk full")
	errAny      = errors.New("any error")
)

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after -= len(p); w.after < 0 {
		return 0, errDiskFull
	}
	return len(p), nil
}

func TestWriteNDJSONErrors(t *testing.T) {
	tests := []struct {
		name    string
		w       *failWriter
		cfg     Config
		ticks   int
		wantErr error // nil: no error, errAny: any error
		wantN   int
	}{
		{name: "no ticks", w: &failWriter{}, ticks: 0, wantN: 0},
		{name: "negative ticks", w: &failWriter{}, ticks: -1, wantErr: errAny},
		{name: "bad config", w: &failWriter{}, cfg: Config{Step: -1}, ticks: 1, wantErr: ErrInvalidConfig},
		{name: "writer fails", w: &failWriter{after: 100 << 10}, ticks: 1000, wantErr: errDiskFull},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := WriteNDJSON(tc.w, tc.cfg, tc.ticks)
			if tc.wantErr == errAny && err != nil {
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && n != tc.wantN {
				t.Fatalf("wrote %d events, want %d", n, tc.wantN)
			}
		})
	}
}

// The first events of the default market, as `make run` plays them.
func ExampleWriteNDJSON() {
	var buf bytes.Buffer
	if _, err := WriteNDJSON(&buf, Config{}, 1); err != nil {
		fmt.Println(err)
		return
	}
	lines := bytes.SplitAfter(buf.Bytes(), []byte("\n"))
	for _, l := range lines[:7] {
		os.Stdout.Write(l)
	}
	// Output:
	// {"kind":"price","src":"hyperliquid","ts":"2026-01-01T00:00:00Z","symbol":"BTC","price":"95000"}
	// {"kind":"price","src":"hyperliquid","ts":"2026-01-01T00:00:00Z","symbol":"ETH","price":"3300"}
	// {"kind":"price","src":"hyperliquid","ts":"2026-01-01T00:00:00Z","symbol":"SOL","price":"180"}
	// {"kind":"price","src":"hyperliquid","ts":"2026-01-01T00:00:00Z","symbol":"ARB","price":"0.8"}
	// {"kind":"price","src":"hyperliquid","ts":"2026-01-01T00:00:00Z","symbol":"DOGE","price":"0.2"}
	// {"kind":"trade","src":"binance","ts":"2026-01-01T00:00:00.015Z","symbol":"DOGE-USDT","price":"0.19998","qty":"1013","side":"sell","id":"1"}
	// {"kind":"trade","src":"binance","ts":"2026-01-01T00:00:00.034Z","symbol":"ETH-USDT","price":"3299.9","qty":"0.0893","side":"sell","id":"2"}
}

// The ground truth a README or a test compares the leaderboard with.
func ExampleMarket_Wallets() {
	m, err := New(Config{Wallets: 15, Skilled: 2, Whales: 1, Bots: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range m.Wallets()[:5] {
		fmt.Println(w.Address, w.Role, w.Label)
	}
	// Output:
	// 0xf9d8ceaeca17a6da98084cc5bec0df9bfa5c6f4b skilled skilled 1 (81% right)
	// 0x8d9b124ac05dfb147dac0dde34770442352fa0c7 skilled skilled 2 (85% right)
	// 0x44904582d02e3a57738d1fc14785d27682176d3a whale whale 1
	// 0x004f11bd5d5c35ae99fa6df43c253c0e6e25ca92 bot bot 1
	// 0x2460f96bb871191bce85b834ec613be12f5eb286 noise noise 1
}

func BenchmarkWriteNDJSON(b *testing.B) {
	const ticks = 1000
	events := 0
	for b.Loop() {
		n, err := WriteNDJSON(io.Discard, Config{}, ticks)
		if err != nil {
			b.Fatal(err)
		}
		events += n
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
