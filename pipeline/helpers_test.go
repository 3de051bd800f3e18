package pipeline_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/redis/go-redis/v9"
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
		{"float price", strings.Replace(testenv.GoodTrade, `"price":"0.3528"`, `"price":0.3528`, 1), "bad_type"},
		{"numeric kind", strings.Replace(testenv.GoodPrice, `"kind":"price"`, `"kind":5`, 1), "bad_type"},
		{"missing symbol", strings.Replace(testenv.GoodTrade, `"symbol":"NKN-USDT",`, ``, 1), "missing_field"},
		{"missing wallet", strings.Replace(testenv.GoodFill, `"wallet":"0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2",`, ``, 1), "missing_field"},
		{"unknown kind", strings.Replace(testenv.GoodPrice, `"kind":"price"`, `"kind":"liquidation"`, 1), "unknown_kind"},
		{"unparseable ts", strings.Replace(testenv.GoodPrice, `"ts":"2025-02-04T09:34:27.568479Z"`, `"ts":"yesterday"`, 1), "bad_timestamp"},
		{"ts before 2009", strings.Replace(testenv.GoodPrice, `"ts":"2025-02-04T09:34:27.568479Z"`, `"ts":"2001-02-04T09:34:27Z"`, 1), "bad_timestamp"},
		{"far-future ts", strings.Replace(testenv.GoodPrice, `"ts":"2025-02-04T09:34:27.568479Z"`, `"ts":"2099-01-01T00:00:00Z"`, 1), "future_timestamp"},
		{"zero price", strings.Replace(testenv.GoodTrade, `"price":"0.3528"`, `"price":"0"`, 1), "non_positive"},
		{"negative size", strings.Replace(testenv.GoodFill, `"sz":"142.7"`, `"sz":"-142.7"`, 1), "non_positive"},
		{"invalid side", strings.Replace(testenv.GoodTrade, `"side":"buy"`, `"side":"long"`, 1), "bad_side"},
		{"short address", strings.Replace(testenv.GoodFill, `0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2`, `0xb7b6f3`, 1), "bad_address"},
		{"non-hex hash", strings.Replace(testenv.GoodTransfer, `0x54f4d2da70b5dbb1b3729b2816621c2d56c02969668fa67fa30b8f7db3b8b5d2`, `0x54f4d2da70b5dbb1b3729b2816621c2d56c02969668fa67fa30b8f7db3bzzzz`, 1), "bad_hash"},
		{"NaN price", strings.Replace(testenv.GoodPrice, `"price":"1.6"`, `"price":"NaN"`, 1), "bad_number"},
		{"raw control character", strings.Replace(testenv.GoodTrade, `NKN-USDT`, "NKN\x01-USDT", 1), "bad_encoding"},
		{"escaped control character", strings.Replace(testenv.GoodTrade, `NKN-USDT`, `NKN\u0007-USDT`, 1), "bad_encoding"},
		{"invalid UTF-8", strings.Replace(testenv.GoodTrade, `"id":"15683430"`, "\"id\":\"1568\xff3430\"", 1), "bad_encoding"},
		{"several-megabyte line", big, "line_too_long"},
	}
}

// env is one test's slice of Postgres and Redis.
type env struct {
	url    string
	st     *store.Store
	rdb    *redis.Client
	prefix string
	logs   *testenv.SyncBuffer
}

func newEnv(t testing.TB) *env {
	t.Helper()
	url := testenv.Schema(t)
	rdb, prefix := testenv.Redis(t)
	e := &env{url: url, st: testenv.StoreAt(t, url), rdb: rdb, prefix: prefix, logs: &testenv.SyncBuffer{}}
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

// runSourceWithBook runs the book stage and a source (through run, given the ingress it
// must feed) until cond holds or 30 s pass, then stops both, reporting their errors.
// It returns whether cond held.
func runSourceWithBook(t *testing.T, st *store.Store, rdb *redis.Client, scfg stream.Config,
	run func(ctx context.Context, in *pipeline.Ingress) error, cond func(ctx context.Context) bool) bool {
	t.Helper()
	prod, err := stream.NewProducer(rdb, scfg)
	if err != nil {
		t.Fatal(err)
	}
	grp, err := stream.NewGroup(rdb, scfg, stream.GroupConfig{Group: pipeline.BookGroup, Block: 50 * time.Millisecond,
		Rebalance: 50 * time.Millisecond}, pipeline.NewBookSink(st))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 2)
	go func() { done <- grp.Run(ctx) }()
	go func() { done <- run(ctx, pipeline.NewIngress(prod, rdb, st, nil, "scripted")) }()
	ok := testenv.WaitFor(ctx, func() bool { return cond(ctx) })
	cancel()
	for i := 0; i < 2; i++ {
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("run: %v", err)
		}
	}
	return ok
}
