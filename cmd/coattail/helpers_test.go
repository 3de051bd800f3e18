package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/analytics/demo"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5/pgxpool"
)

// coattailBin is the binary TestMain builds; the tests run it as a subprocess, the way
// other tools use the command-line contract.
var coattailBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "coattail-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		os.Exit(1)
	}
	coattailBin = filepath.Join(dir, "coattail")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	build := exec.Command(goBin, "build", "-o", coattailBin, "./cmd/coattail")
	build.Dir = filepath.Join("..", "..") // the repository root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build coattail: %v\n%s", err, out)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs the binary against one test's schema and stream prefix.
type cli struct {
	env map[string]string // COATTAIL_* settings
}

func newCLI(url, prefix string) cli {
	return cli{env: map[string]string{
		"COATTAIL_DATABASE_URL":  url,
		"COATTAIL_REDIS_URL":     testenv.RedisURL(),
		"COATTAIL_STREAM_PREFIX": prefix,
		"COATTAIL_LOG_LEVEL":     "warn",
	}}
}

// with returns a copy with extra settings.
func (c cli) with(kv ...string) cli {
	out := cli{env: map[string]string{}}
	for k, v := range c.env {
		out.env[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.env[kv[i]] = kv[i+1]
	}
	return out
}

// command prepares a run; the process's own COATTAIL_* variables are not inherited.
func (c cli) command(ctx context.Context, args ...string) (*exec.Cmd, *syncBuffer, *syncBuffer) {
	cmd := exec.CommandContext(ctx, coattailBin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COATTAIL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	return cmd, &stdout, &stderr
}

// result is a finished run.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %.2fs\nstdout:\n%s\nstderr:\n%s", r.code, r.took.Seconds(), clipText(r.stdout), clipText(r.stderr))
}

func clipText(s string) string {
	if len(s) > 4000 {
		return s[:2000] + "\n...\n" + s[len(s)-2000:]
	}
	return s
}

// run runs the binary to completion (at most two minutes).
func (c cli) run(t testing.TB, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, stdout, stderr := c.command(ctx, args...)
	t0 := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(t0)}
	if ctx.Err() != nil {
		t.Fatalf("coattail %s did not finish within the test's bound: %s", strings.Join(args, " "), r)
	}
	r.code = cmd.ProcessState.ExitCode()
	if err != nil && r.code == 0 {
		t.Fatalf("coattail %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// replaySummary checks the shape of replay --json's last stdout line and returns it.
type replaySummary struct {
	Read         int64            `json:"read"`
	Accepted     int64            `json:"accepted"`
	DeadLettered int64            `json:"dead_lettered"`
	ByReason     map[string]int64 `json:"by_reason"`
}

func parseSummary(t testing.TB, r result) replaySummary {
	t.Helper()
	line := lastLine(r.stdout)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &raw); err != nil {
		t.Fatalf("last stdout line of replay --json is not a JSON object: %v\n%s", err, r)
	}
	for _, k := range []string{"read", "accepted", "dead_lettered", "by_reason"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("replay --json summary lacks %q: %s", k, line)
		}
	}
	var s replaySummary
	dec := json.NewDecoder(strings.NewReader(line))
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("replay --json summary has wrong types: %v: %s", err, line)
	}
	if s.ByReason == nil {
		t.Fatalf("replay --json by_reason is not an object: %s", line)
	}
	return s
}

// Interchange lines of every kind for hand-made inputs.
const (
	goodTransfer = `{"kind":"transfer","src":"ethereum","ts":"2022-08-11T10:00:12Z","block":15320500,"tx":"0x54f4d2da70b5dbb1b3729b2816621c2d56c02969668fa67fa30b8f7db3b8b5d2","log_index":1,"token":"0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2","symbol":"WETH","from":"0x8032eaede5c55f744387ca53aaf0499abcd783e5","to":"0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc","raw_amount":"26369360912168932","decimals":18}`
	goodSwap     = `{"kind":"swap","src":"ethereum","ts":"2023-08-08T17:13:59Z","block":17871620,"tx":"0x4a9fb3959883f5cbdb737d66a8330293db55ec5b5c5d504329f976a0dec7754c","log_index":7,"wallet":"0x24f7ef98522dd61d529464f67bb3ffe96ea8afc2","venue":"uniswap-v3","pool":"0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640","token_in":"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48","amount_in":"178646.129499","token_out":"0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2","amount_out":"96.40054706944971","symbol_in":"USDC","symbol_out":"WETH","usd":"178534.78"}`
	goodTrade    = `{"kind":"trade","src":"binance","ts":"2021-10-12T00:28:43.963Z","symbol":"NKN-USDT","price":"0.3528","qty":"58","side":"buy","id":"15683430"}`
	goodFill     = `{"kind":"fill","src":"hyperliquid","ts":"2023-05-05T00:18:04.863Z","wallet":"0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2","coin":"SUI","side":"sell","px":"1.3189","sz":"142.7","dir":"Close Long","start_position":"4623.5","closed_pnl":"-0.25686","fee":"0.0","id":"189324432"}`
	goodPosition = `{"kind":"position","src":"hyperliquid","ts":"2025-02-04T10:54:22.307521Z","wallet":"0x51f63885534cb494f4592a0311551f369bff2b39","coin":"PENDLE","size":"-63628","entry_px":"1.565548","mark_px":"1.5431","account_value":"3308134.825"}`
	goodPrice    = `{"kind":"price","src":"hyperliquid","ts":"2025-02-04T09:34:27.568479Z","symbol":"PENDLE","price":"1.6"}`
)

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
// spliced in and one line of each hand-written kind appended.
type demoInput struct {
	path     string
	lines    int
	accepted int
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
	bad := []struct{ line, reason string }{
		{`not json, line A`, "bad_json"},
		{strings.Replace(goodTrade, `"side":"buy"`, `"side":"hold"`, 1), "bad_side"},
		{strings.Replace(goodFill, `"px":"1.3189"`, `"px":"-1"`, 1), "non_positive"},
		{strings.Replace(goodPrice, `"price":"1.6"`, `"price":"NaN"`, 1), "bad_number"},
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

// schema is a fresh schema with the CLI and a store on it, plus a fresh stream prefix.
type schema struct {
	url string
	st  *store.Store
	cli cli
}

func newSchema(t testing.TB) schema {
	t.Helper()
	url := testenv.Schema(t)
	_, prefix := testenv.Redis(t)
	return schema{url: url, st: testenv.StoreAt(t, url), cli: newCLI(url, prefix)}
}

func (s schema) eventCount(t testing.TB) int64 {
	t.Helper()
	n, err := s.st.EventCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var stateTables = []struct{ name, cols string }{
	{"events", "key, kind, src, ts, body"},
	{"positions", "wallet, coin, size, entry_px, realized_pnl, fees, n, unknown_basis, unknown_closes, mark_px, last_ts, last_delta, last_px, updated_at"},
	{"prices", "symbol, price, ts, src, event_key"},
	{"dead_letters", "key, reason, detail, source, raw"},
}

// stateChecksum returns "rows:md5" per result table (insertion timestamps excluded).
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

// syncBuffer collects a subprocess's output.
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
