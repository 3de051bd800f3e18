package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/api"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/prometheus/client_golang/prometheus"
)

// env is a server on a fresh schema and an isolated Redis prefix.
type env struct {
	st     *store.Store
	srv    *httptest.Server
	prefix string
	scf    stream.Config
}

// newEnv starts a server; tune adjusts its configuration before it is built.
func newEnv(t *testing.T, tune func(*api.Config)) *env {
	t.Helper()
	st := testenv.Store(t)
	rdb, prefix := testenv.Redis(t)
	scf := stream.Config{Prefix: prefix, Shards: 2}
	cfg := api.Config{Store: st, Redis: rdb, Gatherer: prometheus.NewRegistry(), Streams: scf,
		SignalPoll: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if tune != nil {
		tune(&cfg)
	}
	srv := httptest.NewServer(api.New(cfg).Handler())
	t.Cleanup(srv.Close)
	return &env{st: st, srv: srv, prefix: prefix, scf: scf}
}

// insertSignal adds a row to the signals table as the signal engine would, and returns
// its id.
func insertSignal(t *testing.T, st *store.Store, rule, wallet, coin string, usd float64) int64 {
	t.Helper()
	var id int64
	err := st.Pool().QueryRow(context.Background(), `INSERT INTO signals
		(dedup_key, rule, wallet, coin, side, action, usd, price, confidence, ts, evidence)
		VALUES ($1, $2, $3, $4, 'long', 'open', $5, 101.5, 0.8, now(), '{"n":1}') RETURNING id`,
		rule+"/"+wallet+"/"+coin+"/"+time.Now().Format(time.RFC3339Nano), rule, wallet, coin, usd).Scan(&id)
	if err != nil {
		t.Fatalf("insert signal: %v", err)
	}
	return id
}

// do sends a request and returns the status and body.
func do(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return v
}
