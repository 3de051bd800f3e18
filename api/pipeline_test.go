package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/api"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// seedPipeline makes shard 0 of group "book" hold 5 entries (ids 1000-0 … 5000-0), 2
// of them delivered and not acknowledged, the first one committed; shard 1 has no
// stream yet; and 3 dead letters in 2 reasons.
func seedPipeline(t *testing.T, st *store.Store, rdb *redis.Client, scf stream.Config) {
	t.Helper()
	ctx := context.Background()
	s0 := scf.Stream(0)
	for i := 1; i <= 5; i++ {
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: s0, ID: strconv.Itoa(i*1000) + "-0",
			Values: map[string]any{"e": "x"}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdb.XGroupCreate(ctx, s0, "book", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "book", Consumer: "w1", Streams: []string{s0, ">"}, Count: 2}).Err(); err != nil {
		t.Fatal(err)
	}
	epoch, _, err := st.ClaimShard(ctx, s0, "book", "w1")
	if err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		return store.AdvanceCheckpoint(ctx, tx, s0, "book", epoch, "1000-0")
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddDeadLetters(ctx, []store.DeadLetter{
		{Reason: "bad_json", Source: "a.ndjson:1", Raw: []byte("x")},
		{Reason: "bad_json", Source: "a.ndjson:2", Raw: []byte("y")},
		{Reason: "book_refused", Source: "book", Raw: []byte("z")},
	}); err != nil {
		t.Fatal(err)
	}
}

func TestPipelineHealth(t *testing.T) {
	st := testenv.Store(t)
	rdb, prefix := testenv.Redis(t)
	scf := stream.Config{Prefix: prefix, Shards: 2}
	seedPipeline(t, st, rdb, scf)
	srv := httptest.NewServer(api.New(api.Config{Store: st, Redis: rdb, Streams: scf, Gatherer: prometheus.NewRegistry()}).Handler())
	defer srv.Close()

	code, body := do(t, "GET", srv.URL+"/api/pipeline", "", "")
	if code != 200 {
		t.Fatalf("GET /api/pipeline = %d %s", code, body)
	}
	h := decode[api.PipelineHealth](t, body)
	if h.Prefix != prefix || h.Shards != 2 || h.RedisError != "" || len(h.Groups) != 1 {
		t.Fatalf("pipeline %+v", h)
	}
	g := h.Groups[0]
	if g.Group != "book" || g.Pending != 2 || g.Lag == nil || *g.Lag != 3 || len(g.Shards) != 2 {
		t.Fatalf("group %+v (lag %v)", g, g.Lag)
	}
	s0, s1 := g.Shards[0], g.Shards[1]
	if s0.Shard != 0 || s0.Length != 5 || s0.LastID != "5000-0" || s0.CommittedID != "1000-0" || s0.Owner != "w1" ||
		s0.Epoch != 1 || s0.Pending != 2 || s0.Lag == nil || *s0.Lag != 3 || s0.BehindSeconds != 4 || s0.CommittedAt == nil {
		t.Errorf("shard 0 %+v", s0)
	}
	if s1.Shard != 1 || s1.Length != 0 || s1.CommittedID != "" || s1.Lag != nil || s1.BehindSeconds != 0 {
		t.Errorf("shard 1 (no stream) %+v", s1)
	}
	if h.DeadLetters.Total != 3 || h.DeadLetters.ByReason["bad_json"] != 2 || h.DeadLetters.ByReason["book_refused"] != 1 {
		t.Errorf("dead letters %+v", h.DeadLetters)
	}
	if len(h.Watermarks) != 0 || h.AlertLatency.Delivered != 0 || h.AlertLatency.P50 != nil ||
		!strings.Contains(body, `"watermarks":[]`) || !strings.Contains(body, `"p99_seconds":null`) {
		t.Errorf("no windowed stage and no alert yet: watermarks [] and null percentiles: %s", body)
	}

	_, metrics := do(t, "GET", srv.URL+"/metrics", "", "")
	for _, want := range []string{
		`coattail_pipeline_health_up 1`,
		`coattail_stream_length{shard="0"} 5`,
		`coattail_stream_length{shard="1"} 0`,
		`coattail_consumer_pending_entries{group="book",shard="0"} 2`,
		`coattail_consumer_lag_entries{group="book",shard="0"} 3`,
		`coattail_consumer_behind_seconds{group="book",shard="0"} 4`,
		`coattail_checkpoint_age_seconds{group="book",shard="0"}`,
		`coattail_dead_letters_stored{reason="bad_json"} 2`,
		`coattail_dead_letters_stored{reason="book_refused"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(metrics, `coattail_consumer_lag_entries{group="book",shard="1"}`) {
		t.Error("a lag is exported for a shard whose stream does not exist (unknown, not 0)")
	}
}

func TestPipelineHealthWithoutRedis(t *testing.T) {
	st := testenv.Store(t)
	rdb, prefix := testenv.Redis(t)
	scf := stream.Config{Prefix: prefix, Shards: 2}
	seedPipeline(t, st, rdb, scf)
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer dead.Close()
	srv := httptest.NewServer(api.New(api.Config{Store: st, Redis: dead, Streams: scf, Gatherer: prometheus.NewRegistry(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler())
	defer srv.Close()
	code, body := do(t, "GET", srv.URL+"/api/pipeline", "", "")
	if code != 200 {
		t.Fatalf("GET /api/pipeline = %d %s", code, body)
	}
	h := decode[api.PipelineHealth](t, body)
	if h.RedisError == "" || len(h.Groups) != 1 || h.Groups[0].Lag != nil || h.Groups[0].Shards[0].CommittedID != "1000-0" {
		t.Fatalf("without Redis: %s", body)
	}
	_, metrics := do(t, "GET", srv.URL+"/metrics", "", "")
	if !strings.Contains(metrics, "coattail_pipeline_health_up 0") || !strings.Contains(metrics, `coattail_dead_letters_stored{reason="bad_json"} 2`) {
		t.Errorf("/metrics without Redis:\n%s", metrics)
	}
}

// Without the stream layout the server names the streams from the checkpoints and
// exports no scrape-time series (a worker's --metrics-addr).
func TestPipelineHealthFromCheckpointsOnly(t *testing.T) {
	st := testenv.Store(t)
	rdb, prefix := testenv.Redis(t)
	seedPipeline(t, st, rdb, stream.Config{Prefix: prefix, Shards: 2})
	srv := httptest.NewServer(api.New(api.Config{Store: st, Redis: rdb, Gatherer: prometheus.NewRegistry()}).Handler())
	defer srv.Close()
	_, body := do(t, "GET", srv.URL+"/api/pipeline", "", "")
	h := decode[api.PipelineHealth](t, body)
	if len(h.Groups) != 1 || len(h.Groups[0].Shards) != 1 || h.Groups[0].Shards[0].Length != 5 || h.Groups[0].Pending != 2 {
		t.Fatalf("from checkpoints: %s", body)
	}
	if _, m := do(t, "GET", srv.URL+"/metrics", "", ""); strings.Contains(m, "coattail_consumer_lag_entries") {
		t.Error("lag series exported without a stream layout")
	}
}
