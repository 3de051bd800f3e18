package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ticks is the demo market's length in the short run (about 100k events) and the
// long one (about 1M).
func ticks() int {
	if long() {
		return 40000
	}
	return 4000
}

// reference replays path uninterrupted into a fresh schema on the shared servers and
// returns the checksums of the result tables.
func reference(t *testing.T, path string) map[string]string {
	t.Helper()
	url := testenv.Schema(t)
	_, prefix := testenv.Redis(t)
	e := newEnv(url, testenv.RedisURL(), prefix)
	followSome(t, url, path)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e.start(t, ctx, "replay", "--quiet", path).wait(t, 10*time.Minute, "reference replay")
	return checksums(t, url)
}

func checksums(t *testing.T, url string) map[string]string {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// Dead letters by reason, in the log: what explains a difference first.
	rows, err := pool.Query(context.Background(), `SELECT reason, count(*) FROM dead_letters GROUP BY reason ORDER BY reason`)
	if err == nil {
		var parts []string
		for rows.Next() {
			var r string
			var n int
			if rows.Scan(&r, &n) == nil {
				parts = append(parts, fmt.Sprintf("%s=%d", r, n))
			}
		}
		rows.Close()
		t.Logf("dead letters: %s", strings.Join(parts, " "))
	}
	// A stage's refusal is never expected from good input: show a few.
	if rows, err := pool.Query(context.Background(), `SELECT reason, detail, raw FROM dead_letters WHERE source NOT LIKE '%.ndjson%' LIMIT 3`); err == nil {
		for rows.Next() {
			var r, d, raw string
			if rows.Scan(&r, &d, &raw) == nil {
				t.Logf("dead letter %s: %s: %.300s", r, d, raw)
			}
		}
		rows.Close()
	}
	sums := testenv.StateChecksum(t, pool)
	t.Logf("signals %s, alert_outbox %s, price_bars %s (rows:md5)", sums["signals"], sums["alert_outbox"], sums["price_bars"])
	return sums
}

// migrate applies the schema first, so the processes started together do not race
// for it (they would wait on the migration lock, which is correct but slow to watch).
func (e env) migrate(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e.start(t, ctx, "migrate").wait(t, time.Minute, "migrate")
}

// TestRedisRestart: Redis (with AOF) is restarted twice while a worker commits a
// replay; the replay finishes by itself and the result equals an uninterrupted run.
func TestRedisRestart(t *testing.T) {
	in := testenv.WriteDemoInput(t, t.TempDir(), 21, ticks())
	want := reference(t, in.Path)
	r := testenv.StartPrivateRedis(t)
	url := testenv.Schema(t)
	e := newEnv(url, r.URL(), "chaos")
	e.migrate(t)
	followSome(t, url, in.Path)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	w := e.start(t, ctx, "worker")
	defer w.stop()
	rp := e.start(t, ctx, "replay", "--no-workers", "--quiet", in.Path)
	for i := 0; i < 2; i++ {
		time.Sleep(700 * time.Millisecond)
		r.Stop()
		time.Sleep(500 * time.Millisecond)
		r.Start()
	}
	rp.wait(t, 10*time.Minute, "replay across Redis restarts")
	t.Logf("replay stderr:\n%s\nworker stderr:\n%s", clip(rp.stderr.String()), clip(w.stderr.String()))
	t.Logf("%d lines replayed across 2 Redis restarts", in.Lines)
	testenv.SameState(t, "after Redis restarts", checksums(t, url), want)
}

// TestPostgresCrash: Postgres crashes (immediate stop: recovery from the WAL) and comes
// back twice while a replay runs; the replay finishes by itself, nothing lost or doubled.
func TestPostgresCrash(t *testing.T) {
	in := testenv.WriteDemoInput(t, t.TempDir(), 22, ticks())
	want := reference(t, in.Path)
	pg := testenv.StartPrivatePostgres(t)
	_, prefix := testenv.Redis(t)
	e := newEnv(pg.URL(), testenv.RedisURL(), prefix)
	e.migrate(t)
	followSome(t, pg.URL(), in.Path)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	w := e.start(t, ctx, "worker")
	defer w.stop()
	rp := e.start(t, ctx, "replay", "--no-workers", "--quiet", in.Path)
	for i := 0; i < 2; i++ {
		time.Sleep(700 * time.Millisecond)
		pg.Crash()
		time.Sleep(500 * time.Millisecond)
		pg.Start()
	}
	rp.wait(t, 10*time.Minute, "replay across Postgres crashes")
	testenv.SameState(t, "after Postgres crashes", checksums(t, pg.URL()), want)
}

// followSome makes three users follow the first three wallets that trade in path, so
// the runs fire signals and fan alerts out: the comparisons then cover the signals
// and the alert outbox too (nothing lost, nothing twice).
func followSome(t *testing.T, url, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var wallets []string
	for _, line := range strings.Split(string(b), "\n") {
		var ev struct {
			Kind, Wallet string
		}
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Kind != "fill" || slices.Contains(wallets, ev.Wallet) {
			continue
		}
		if wallets = append(wallets, ev.Wallet); len(wallets) == 3 {
			break
		}
	}
	if len(wallets) == 0 {
		t.Fatalf("%s has no fills to follow", path)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for i, w := range wallets {
		if _, err := st.Follow(ctx, "telegram", fmt.Sprint(1000+i), w, "", 10); err != nil {
			t.Fatal(err)
		}
	}
}
