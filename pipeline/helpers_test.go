package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/analytics/demo"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// Hand-written interchange lines of every kind (the demo market only makes fills,
// positions, prices and trades).
const (
	goodTransfer = `{"kind":"transfer","src":"ethereum","ts":"2022-08-11T10:00:12Z","block":15320500,"tx":"0x54f4d2da70b5dbb1b3729b2816621c2d56c02969668fa67fa30b8f7db3b8b5d2","log_index":1,"token":"0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2","symbol":"WETH","from":"0x8032eaede5c55f744387ca53aaf0499abcd783e5","to":"0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc","raw_amount":"26369360912168932","decimals":18}`
	goodSwap     = `{"kind":"swap","src":"ethereum","ts":"2023-08-08T17:13:59Z","block":17871620,"tx":"0x4a9fb3959883f5cbdb737d66a8330293db55ec5b5c5d504329f976a0dec7754c","log_index":7,"wallet":"0x24f7ef98522dd61d529464f67bb3ffe96ea8afc2","venue":"uniswap-v3","pool":"0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640","token_in":"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48","amount_in":"178646.129499","token_out":"0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2","amount_out":"96.40054706944971","symbol_in":"USDC","symbol_out":"WETH","usd":"178534.78"}`
	goodTrade    = `{"kind":"trade","src":"binance","ts":"2021-10-12T00:28:43.963Z","symbol":"NKN-USDT","price":"0.3528","qty":"58","side":"buy","id":"15683430"}`
	goodFill     = `{"kind":"fill","src":"hyperliquid","ts":"2023-05-05T00:18:04.863Z","wallet":"0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2","coin":"SUI","side":"sell","px":"1.3189","sz":"142.7","dir":"Close Long","start_position":"4623.5","closed_pnl":"-0.25686","fee":"0.0","id":"189324432"}`
	goodPosition = `{"kind":"position","src":"hyperliquid","ts":"2025-02-04T10:54:22.307521Z","wallet":"0x51f63885534cb494f4592a0311551f369bff2b39","coin":"PENDLE","size":"-63628","entry_px":"1.565548","mark_px":"1.5431","account_value":"3308134.825"}`
	goodPrice    = `{"kind":"price","src":"hyperliquid","ts":"2025-02-04T09:34:27.568479Z","symbol":"PENDLE","price":"1.6"}`
)

// badLine is one input of a bad-input class and the reason it must be dead-lettered with.
type badLine struct {
	name   string
	line   string
	reason string
}

// badLines covers every bad-input class of the interchange format. Each line is
// distinct, so each is stored as its own dead letter.
func badLines() []badLine {
	big := `{"kind":"trade","src":"binance","ts":"2021-10-12T00:28:43.963Z","symbol":"NKN-USDT","price":"0.3528","qty":"58","side":"buy","id":"` +
		strings.Repeat("x", 3<<20) + `"}`
	return []badLine{
		{"not json", `this is not json`, "bad_json"},
		{"json but not an object", `[1,2,3]`, "bad_json"},
		{"truncated object", `{"kind":"trade","src":"binance","ts":"2021-10-12T00:28:43.963Z","symbol":"NKN-US`, "bad_json"},
		{"float price", strings.Replace(goodTrade, `"price":"0.3528"`, `"price":0.3528`, 1), "bad_type"},
		{"numeric kind", strings.Replace(goodPrice, `"kind":"price"`, `"kind":5`, 1), "bad_type"},
		{"missing symbol", strings.Replace(goodTrade, `"symbol":"NKN-USDT",`, ``, 1), "missing_field"},
		{"missing wallet", strings.Replace(goodFill, `"wallet":"0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2",`, ``, 1), "missing_field"},
		{"unknown kind", strings.Replace(goodPrice, `"kind":"price"`, `"kind":"liquidation"`, 1), "unknown_kind"},
		{"unparseable ts", strings.Replace(goodPrice, `"ts":"2025-02-04T09:34:27.568479Z"`, `"ts":"yesterday"`, 1), "bad_timestamp"},
		{"ts before 2009", strings.Replace(goodPrice, `"ts":"2025-02-04T09:34:27.568479Z"`, `"ts":"2001-02-04T09:34:27Z"`, 1), "bad_timestamp"},
		{"far-future ts", strings.Replace(goodPrice, `"ts":"2025-02-04T09:34:27.568479Z"`, `"ts":"2099-01-01T00:00:00Z"`, 1), "future_timestamp"},
		{"zero price", strings.Replace(goodTrade, `"price":"0.3528"`, `"price":"0"`, 1), "non_positive"},
		{"negative size", strings.Replace(goodFill, `"sz":"142.7"`, `"sz":"-142.7"`, 1), "non_positive"},
		{"invalid side", strings.Replace(goodTrade, `"side":"buy"`, `"side":"long"`, 1), "bad_side"},
		{"short address", strings.Replace(goodFill, `0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2`, `0xb7b6f3`, 1), "bad_address"},
		{"non-hex hash", strings.Replace(goodTransfer, `0x54f4d2da70b5dbb1b3729b2816621c2d56c02969668fa67fa30b8f7db3b8b5d2`, `0x54f4d2da70b5dbb1b3729b2816621c2d56c02969668fa67fa30b8f7db3bzzzz`, 1), "bad_hash"},
		{"NaN price", strings.Replace(goodPrice, `"price":"1.6"`, `"price":"NaN"`, 1), "bad_number"},
		{"raw control character", strings.Replace(goodTrade, `NKN-USDT`, "NKN\x01-USDT", 1), "bad_encoding"},
		{"escaped control character", strings.Replace(goodTrade, `NKN-USDT`, `NKN\u0007-USDT`, 1), "bad_encoding"},
		{"invalid UTF-8", strings.Replace(goodTrade, `"id":"15683430"`, "\"id\":\"1568\xff3430\"", 1), "bad_encoding"},
		{"several-megabyte line", big, "line_too_long"},
	}
}

// writeFile writes lines joined by newlines; the last line ends without a newline
// when noFinalNewline is set.
func writeFile(t testing.TB, path string, lines []string, noFinalNewline bool) {
	t.Helper()
	s := strings.Join(lines, "\n")
	if !noFinalNewline {
		s += "\n"
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// demoInput is a generated interchange file: the demo market with a few bad lines
// spliced in (so dead letters are part of every state comparison) and the six
// hand-written kinds appended.
type demoInput struct {
	path     string
	lines    int // non-blank lines = records read
	accepted int // events (all keys distinct)
	dead     map[string]int64
}

func writeDemoInput(t testing.TB, dir string, seed int64, ticks int) demoInput {
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
	// the current time, so it is left to the bad-input test).
	bad := []badLine{
		{line: `not json, line A`, reason: "bad_json"},
		{line: strings.Replace(goodTrade, `"side":"buy"`, `"side":"hold"`, 1), reason: "bad_side"},
		{line: strings.Replace(goodFill, `"px":"1.3189"`, `"px":"-1"`, 1), reason: "non_positive"},
		{line: strings.Replace(goodPrice, `"price":"1.6"`, `"price":"NaN"`, 1), reason: "bad_number"},
	}
	in := demoInput{path: filepath.Join(dir, fmt.Sprintf("demo-%d-%d.ndjson", seed, ticks)), dead: map[string]int64{}}
	var lines []string
	step := len(gen)/len(bad) + 1
	for i, l := range gen {
		if i%step == step/2 {
			b := bad[i/step]
			lines = append(lines, b.line)
			in.dead[b.reason]++
		}
		lines = append(lines, l)
	}
	lines = append(lines, goodTransfer, goodSwap, goodTrade, goodFill, goodPosition, goodPrice)
	writeFile(t, in.path, lines, false)
	in.lines = len(lines)
	in.accepted = len(gen) + 6
	return in
}

// env is one test's slice of Postgres and Redis.
type env struct {
	url    string
	st     *store.Store
	rdb    *redis.Client
	prefix string
	logs   *syncBuffer
}

func newEnv(t testing.TB) *env {
	t.Helper()
	url := testenv.Schema(t)
	rdb, prefix := testenv.Redis(t)
	e := &env{url: url, st: testenv.StoreAt(t, url), rdb: rdb, prefix: prefix, logs: &syncBuffer{}}
	t.Cleanup(func() {
		if t.Failed() && e.logs.Len() > 0 {
			t.Logf("pipeline warnings:\n%s", e.logs.String())
		}
	})
	return e
}

func (e *env) scfg() stream.Config { return stream.Config{Prefix: e.prefix} }

func (e *env) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// replay runs pipeline.Replay over files with the test's streams.
func (e *env) replay(ctx context.Context, files []string, mod func(*pipeline.ReplayConfig)) (pipeline.Summary, error) {
	cfg := pipeline.ReplayConfig{Files: files, Logger: e.logger(),
		Group: stream.GroupConfig{Block: 100 * time.Millisecond}}
	if mod != nil {
		mod(&cfg)
	}
	return pipeline.Replay(ctx, e.rdb, e.st, e.scfg(), cfg)
}

func (e *env) eventCount(t testing.TB) int64 {
	t.Helper()
	n, err := e.st.EventCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// stateTables lists the result tables and the columns compared: everything but the
// insertion timestamps (stream_checkpoints hold stream ids that differ run to run).
var stateTables = []struct{ name, cols string }{
	{"events", "key, kind, src, ts, body"},
	{"positions", "wallet, coin, size, entry_px, realized_pnl, fees, n, unknown_basis, unknown_closes, mark_px, last_ts, last_delta, last_px, updated_at"},
	{"prices", "symbol, price, ts, src, event_key"},
	{"dead_letters", "key, reason, detail, source, raw"},
}

// stateChecksum returns "rows:md5" per result table.
func stateChecksum(t testing.TB, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tb := range stateTables {
		var sum string
		q := `SELECT count(*)::text || ':' || coalesce(md5(string_agg(r::text, E'\n' ORDER BY r::text)), '')
			FROM (SELECT ` + tb.cols + ` FROM ` + tb.name + `) r`
		if err := pool.QueryRow(context.Background(), q).Scan(&sum); err != nil {
			t.Fatalf("checksum of %s: %v", tb.name, err)
		}
		out[tb.name] = sum
	}
	return out
}

// sameState fails the test when two checksums differ, naming the tables.
func sameState(t testing.TB, what string, got, want map[string]string) {
	t.Helper()
	var diff []string
	for _, tb := range stateTables {
		if got[tb.name] != want[tb.name] {
			diff = append(diff, fmt.Sprintf("%s: got %s, want %s", tb.name, got[tb.name], want[tb.name]))
		}
	}
	if len(diff) > 0 {
		t.Errorf("%s: state differs from an uninterrupted run:\n  %s", what, strings.Join(diff, "\n  "))
	}
}

// waitFor polls cond every few milliseconds until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) bool {
	for {
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func reasonsOf(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, m[k])
	}
	return strings.TrimSpace(b.String())
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}
