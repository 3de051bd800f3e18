package stage_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/stage"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/redis/go-redis/v9"
)

// restarting is a windows sink that forgets its in-memory state before every commit,
// as if a new worker had claimed the shard after each batch: the state comes back
// from the checkpointed snapshot every time.
type restarting struct {
	st  *store.Store
	cfg stage.WindowsConfig
}

func (r restarting) Claim(ctx context.Context, s, g, o string) (int64, string, error) {
	return stage.NewWindows(r.st, r.cfg).Claim(ctx, s, g, o)
}

func (r restarting) Commit(ctx context.Context, b stream.Batch) error {
	return stage.NewWindows(r.st, r.cfg).Commit(ctx, b)
}

type run struct {
	st     *store.Store
	rdb    *redis.Client
	prefix string
	sum    pipeline.Summary
}

func replay(t *testing.T, path string, batch int, sink func(*store.Store, stage.WindowsConfig) stream.Sink) run {
	t.Helper()
	st := testenv.Store(t)
	rdb, prefix := testenv.Redis(t)
	scfg := stream.Config{Prefix: prefix, Shards: 4}
	cfg := stage.WindowsConfig{Redis: rdb, Stream: scfg}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := pipeline.Replay(ctx, rdb, st, scfg, pipeline.ReplayConfig{Files: []string{path},
		Group:  stream.GroupConfig{Batch: batch, Block: 50 * time.Millisecond},
		Stages: []pipeline.Stage{{Group: pipeline.BookGroup, Sink: pipeline.NewBookSink(st)}, {Group: stage.WindowsGroup, Sink: sink(st, cfg)}}})
	if err != nil || !sum.Committed {
		t.Fatalf("replay: %v %+v", err, sum)
	}
	return run{st: st, rdb: rdb, prefix: prefix, sum: sum}
}

func count(t *testing.T, st *store.Store, q string) int64 {
	t.Helper()
	var n int64
	if err := st.Pool().QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestWindowsDeterministic: the windowed tables are the same whatever the batch size
// and when every batch starts from the checkpointed state (a restart per batch), and
// a second replay of the same file changes nothing.
func TestWindowsDeterministic(t *testing.T) {
	in := testenv.WriteDemoInput(t, t.TempDir(), 3, 1500)
	plain := func(st *store.Store, c stage.WindowsConfig) stream.Sink { return stage.NewWindows(st, c) }
	base := replay(t, in.Path, 2000, plain)
	want := testenv.StateChecksum(t, base.st.Pool())

	// The run produced real results.
	bars := count(t, base.st, `SELECT count(*) FROM price_bars WHERE res = '1m' AND trades > 0`)
	profiles := count(t, base.st, `SELECT count(*) FROM wallet_profiles`)
	if bars < 10 || profiles < 10 {
		t.Fatalf("%d 1m bars and %d profiles: the demo input should make many", bars, profiles)
	}
	// Bars agree with the trades stored by the book stage: volume per symbol.
	mismatch := count(t, base.st, `
		WITH t AS (SELECT src, body::jsonb->>'symbol' AS symbol, sum((body::jsonb->>'qty')::numeric) AS qty, count(*) AS n
		           FROM events WHERE kind = 'trade' GROUP BY 1, 2),
		     b AS (SELECT venue, symbol, sum(volume) AS qty, sum(trades) AS n FROM price_bars WHERE res = '1h' GROUP BY 1, 2 HAVING sum(trades) > 0)
		SELECT count(*) FROM t FULL JOIN b ON t.src = b.venue AND t.symbol = b.symbol
		WHERE t.n IS DISTINCT FROM b.n OR abs(t.qty - b.qty::numeric) > 1e-6 * t.qty`)
	if mismatch != 0 {
		t.Errorf("%d (venue, symbol) pairs whose 1h bars do not add up to their trades", mismatch)
	}
	// Every 1m bar before the last minute of its symbol is final.
	open := count(t, base.st, `SELECT count(*) FROM price_bars b WHERE res = '1m' AND NOT final
		AND start < (SELECT max(start) FROM price_bars c WHERE c.venue = b.venue AND c.symbol = b.symbol AND c.res = '1m')`)
	if open != 0 {
		t.Errorf("%d 1m bars behind the watermark are still open", open)
	}

	small := replay(t, in.Path, 37, plain)
	testenv.SameState(t, "batches of 37", testenv.StateChecksum(t, small.st.Pool()), want)

	restarted := replay(t, in.Path, 101, func(st *store.Store, c stage.WindowsConfig) stream.Sink { return restarting{st, c} })
	testenv.SameState(t, "restart before every batch", testenv.StateChecksum(t, restarted.st.Pool()), want)

	// Replaying the same file into the same database changes nothing.
	ctx := context.Background()
	scfg := stream.Config{Prefix: base.prefix, Shards: 4}
	if _, err := pipeline.Replay(ctx, base.rdb, base.st, scfg, pipeline.ReplayConfig{Files: []string{in.Path},
		Stages: []pipeline.Stage{{Group: pipeline.BookGroup, Sink: pipeline.NewBookSink(base.st)},
			{Group: stage.WindowsGroup, Sink: stage.NewWindows(base.st, stage.WindowsConfig{Redis: base.rdb, Stream: scfg})}}}); err != nil {
		t.Fatal(err)
	}
	testenv.SameState(t, "replayed twice", testenv.StateChecksum(t, base.st.Pool()), want)

	// Anomalies are published once each, however often the outbox is drained.
	n := count(t, base.st, `SELECT count(*) FROM anomalies`)
	got, err := base.rdb.XLen(ctx, stage.AnomaliesStream(scfg)).Result()
	if err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Errorf("%d anomalies stored, %d published", n, got)
	}
	t.Logf("%d 1m bars, %d profiles, %d anomalies", bars, profiles, n)
}

// TestLateEventPolicies: a trade later than the allowed lateness is a dead letter
// (late_event) under DeadLetterLate, and a correction to the emitted bar otherwise.
func TestLateEventPolicies(t *testing.T) {
	lines := []string{
		`{"kind":"trade","src":"binance","ts":"2026-01-01T00:00:10Z","symbol":"ETH-USDT","price":"100","qty":"1","side":"buy","id":"1"}`,
		`{"kind":"trade","src":"binance","ts":"2026-01-01T00:02:00Z","symbol":"ETH-USDT","price":"101","qty":"1","side":"buy","id":"2"}`,
		// 110 s behind the newest: beyond a 30 s lateness, its minute was emitted.
		`{"kind":"trade","src":"binance","ts":"2026-01-01T00:00:20Z","symbol":"ETH-USDT","price":"150","qty":"2","side":"sell","id":"3"}`,
	}
	path := filepath.Join(t.TempDir(), "late.ndjson")
	testenv.WriteLines(t, path, lines, false)
	for _, dead := range []bool{true, false} {
		r := replay(t, path, 2000, func(st *store.Store, c stage.WindowsConfig) stream.Sink {
			c.DeadLetterLate = dead
			return stage.NewWindows(st, c)
		})
		var high, vol float64
		var trades, late int64
		var final bool
		err := r.st.Pool().QueryRow(context.Background(), `SELECT high, volume, trades, late, final FROM price_bars
			WHERE venue = 'binance' AND symbol = 'ETH-USDT' AND res = '1m' AND start = '2026-01-01T00:00:00Z'`).Scan(&high, &vol, &trades, &late, &final)
		if err != nil {
			t.Fatalf("the first minute's bar: %v (%d bars, %d applied keys, %d events, summary %+v)", err, count(t, r.st, `SELECT count(*) FROM price_bars`),
				count(t, r.st, `SELECT count(*) FROM window_keys`), count(t, r.st, `SELECT count(*) FROM events`), r.sum)
		}
		deadN := count(t, r.st, `SELECT count(*) FROM dead_letters WHERE reason = 'late_event'`)
		lateN := count(t, r.st, `SELECT coalesce(sum(late), 0)::bigint FROM window_sources WHERE source = 'binance'`)
		if dead {
			if high != 100 || vol != 1 || trades != 1 || late != 0 || !final || deadN != 1 || lateN != 1 {
				t.Errorf("dead-letter policy: bar high %v vol %v trades %d late %d final %v, %d dead letters, %d counted late",
					high, vol, trades, late, final, deadN, lateN)
			}
		} else if high != 150 || vol != 3 || trades != 2 || late != 1 || !final || deadN != 0 || lateN != 1 {
			t.Errorf("correction policy: bar high %v vol %v trades %d late %d final %v, %d dead letters, %d counted late",
				high, vol, trades, late, final, deadN, lateN)
		}
	}
}
