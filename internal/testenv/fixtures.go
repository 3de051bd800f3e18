package testenv

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coattailcapital/coattail/analytics/demo"
)

// Hand-written interchange lines of every kind (the demo market only makes fills,
// positions, prices and trades). Each is valid and accepted by the pipeline.
const (
	// GoodTransfer is a valid ethereum transfer line.
	GoodTransfer = `{"kind":"transfer","src":"ethereum","ts":"2022-08-11T10:00:12Z","block":15320500,"tx":"0x54f4d2da70b5dbb1b3729b2816621c2d56c02969668fa67fa30b8f7db3b8b5d2","log_index":1,"token":"0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2","symbol":"WETH","from":"0x8032eaede5c55f744387ca53aaf0499abcd783e5","to":"0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc","raw_amount":"26369360912168932","decimals":18}`
	// GoodSwap is a valid uniswap-v3 swap line.
	GoodSwap = `{"kind":"swap","src":"ethereum","ts":"2023-08-08T17:13:59Z","block":17871620,"tx":"0x4a9fb3959883f5cbdb737d66a8330293db55ec5b5c5d504329f976a0dec7754c","log_index":7,"wallet":"0x24f7ef98522dd61d529464f67bb3ffe96ea8afc2","venue":"uniswap-v3","pool":"0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640","token_in":"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48","amount_in":"178646.129499","token_out":"0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2","amount_out":"96.40054706944971","symbol_in":"USDC","symbol_out":"WETH","usd":"178534.78"}`
	// GoodTrade is a valid binance trade line.
	GoodTrade = `{"kind":"trade","src":"binance","ts":"2021-10-12T00:28:43.963Z","symbol":"NKN-USDT","price":"0.3528","qty":"58","side":"buy","id":"15683430"}`
	// GoodFill is a valid hyperliquid fill line.
	GoodFill = `{"kind":"fill","src":"hyperliquid","ts":"2023-05-05T00:18:04.863Z","wallet":"0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2","coin":"SUI","side":"sell","px":"1.3189","sz":"142.7","dir":"Close Long","start_position":"4623.5","closed_pnl":"-0.25686","fee":"0.0","id":"189324432"}`
	// GoodPosition is a valid hyperliquid position line.
	GoodPosition = `{"kind":"position","src":"hyperliquid","ts":"2025-02-04T10:54:22.307521Z","wallet":"0x51f63885534cb494f4592a0311551f369bff2b39","coin":"PENDLE","size":"-63628","entry_px":"1.565548","mark_px":"1.5431","account_value":"3308134.825"}`
	// GoodPrice is a valid hyperliquid price line.
	GoodPrice = `{"kind":"price","src":"hyperliquid","ts":"2025-02-04T09:34:27.568479Z","symbol":"PENDLE","price":"1.6"}`
)

// WriteLines writes lines joined by newlines to path; the last line ends without a
// newline when noFinalNewline is set. It fails the test on error.
func WriteLines(t testing.TB, path string, lines []string, noFinalNewline bool) {
	t.Helper()
	s := strings.Join(lines, "\n")
	if !noFinalNewline {
		s += "\n"
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// DemoInput is a generated interchange file: the demo market with a few bad lines
// spliced in (so dead letters are part of every state comparison) and the six
// hand-written kinds appended.
type DemoInput struct {
	Path     string
	Lines    int              // non-blank lines = records read
	Accepted int              // events (all keys distinct)
	Dead     map[string]int64 // dead letters by reason
}

// WriteDemoInput writes the demo market for seed and ticks into dir, with bad lines
// spliced in and one line of each hand-written kind appended, and describes the result.
func WriteDemoInput(t testing.TB, dir string, seed int64, ticks int) DemoInput {
	t.Helper()
	var buf bytes.Buffer
	n, err := demo.WriteNDJSON(&buf, demo.Config{Seed: seed}, ticks)
	if err != nil {
		t.Fatal(err)
	}
	gen := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(gen) != n {
		t.Fatalf("demo wrote %d events in %d lines", n, len(gen))
	}
	// Bad lines that do not depend on the wall clock (future_timestamp's detail names
	// the current time, so it is left to the bad-input tests).
	bad := []struct{ line, reason string }{
		{`not json, line A`, "bad_json"},
		{strings.Replace(GoodTrade, `"side":"buy"`, `"side":"hold"`, 1), "bad_side"},
		{strings.Replace(GoodFill, `"px":"1.3189"`, `"px":"-1"`, 1), "non_positive"},
		{strings.Replace(GoodPrice, `"price":"1.6"`, `"price":"NaN"`, 1), "bad_number"},
	}
	in := DemoInput{Path: filepath.Join(dir, fmt.Sprintf("demo-%d-%d.ndjson", seed, ticks)), Dead: map[string]int64{}}
	var lines []string
	step := len(gen)/len(bad) + 1
	for i, l := range gen {
		if i%step == step/2 {
			b := bad[i/step]
			lines = append(lines, b.line)
			in.Dead[b.reason]++
		}
		lines = append(lines, l)
	}
	lines = append(lines, GoodTransfer, GoodSwap, GoodTrade, GoodFill, GoodPosition, GoodPrice)
	WriteLines(t, in.Path, lines, false)
	in.Lines = len(lines)
	in.Accepted = len(gen) + 6
	return in
}
