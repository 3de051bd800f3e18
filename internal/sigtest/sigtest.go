// Package sigtest holds the helpers the signal stage's and the paper trader's
// scenario tests share: interchange lines of fills and prices, files of them, a
// producer into the shard streams, the signal stage run by 1..n workers, score runs
// and follows in the real database. Test code only.
package sigtest

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/signal"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/redis/go-redis/v9"
)

// WriteFile writes an NDJSON interchange file and returns its path.
func WriteFile(t *testing.T, lines []string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "scenario.ndjson")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Produce replays an interchange file into the shard streams as the ingress does:
// decoded, validated, canonical, keyed and sharded.
func Produce(t *testing.T, rdb *redis.Client, scfg stream.Config, path string) int {
	t.Helper()
	prod, err := stream.NewProducer(rdb, scfg)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var msgs []stream.Message
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		ev, err := event.Decode(sc.Bytes(), event.Rules{MaxFuture: 365 * 24 * time.Hour})
		if err != nil {
			t.Fatalf("fixture line %q: %v", sc.Text(), err)
		}
		k := ev.KeyHash()
		msgs = append(msgs, stream.Message{Shard: event.Shard(ev.ShardKey(), prod.Config().Shards), Key: k[:], Body: event.AppendJSON(nil, &ev)})
	}
	if err := prod.Add(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	return len(msgs)
}

// RunStage runs the signal stage with workers group members until every shard's
// checkpoint has reached what was produced, then stops them.
func RunStage(t *testing.T, st *store.Store, rdb *redis.Client, scfg stream.Config, cfg signal.Config, workers int) {
	t.Helper()
	RunStageBatch(t, st, rdb, scfg, cfg, workers, 0)
}

// RunStageBatch is RunStage with at most batch entries read and committed at once
// (0: the runtime's default).
func RunStageBatch(t *testing.T, st *store.Store, rdb *redis.Client, scfg stream.Config, cfg signal.Config, workers, batch int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, workers)
	for i := 0; i < workers; i++ {
		grp, err := stream.NewGroup(rdb, scfg, stream.GroupConfig{Group: signal.Group, Block: 50 * time.Millisecond,
			Rebalance: 50 * time.Millisecond, Batch: batch}, signal.NewSink(st, cfg))
		if err != nil {
			t.Fatal(err)
		}
		go func() { done <- grp.Run(ctx) }()
	}
	caught := func() bool {
		cps, err := st.Checkpoints(ctx, signal.Group)
		if err != nil {
			return false
		}
		n := scfg.Shards
		if n == 0 {
			n = 8
		}
		for s := 0; s < n; s++ {
			name := scfg.Stream(s)
			last, err := rdb.XInfoStream(ctx, name).Result()
			if err != nil {
				continue // an empty shard has no stream
			}
			if stream.CompareIDs(cps[name], last.LastGeneratedID) < 0 {
				return false
			}
		}
		return true
	}
	if !testenv.WaitFor(ctx, caught) {
		t.Fatal("signal stage did not catch up within 30s")
	}
	cancel()
	for i := 0; i < workers; i++ {
		if err := <-done; err != nil {
			t.Errorf("group: %v", err)
		}
	}
}

// ScoreRun stores a score run of window 'all' ranking wallets (rank, score, lcb).
func ScoreRun(t *testing.T, st *store.Store, asOf time.Time, rows map[string][3]float64) {
	t.Helper()
	ctx := context.Background()
	var id int64
	if err := st.Pool().QueryRow(ctx, `INSERT INTO score_runs (win, as_of) VALUES ('all', $1) RETURNING id`, asOf).Scan(&id); err != nil {
		t.Fatal(err)
	}
	for w, r := range rows {
		if _, err := st.Pool().Exec(ctx, `INSERT INTO wallet_scores (run_id, wallet, rank, score, lcb, n, eligible)
			VALUES ($1, $2, $3, $4, $5, 50, true)`, id, w, int(r[0]), r[1], r[2]); err != nil {
			t.Fatal(err)
		}
	}
}

// Follow makes a Telegram user follow wallet.
func Follow(t *testing.T, st *store.Store, user, wallet string) {
	t.Helper()
	if _, err := st.Follow(context.Background(), "telegram", user, wallet, "", 50); err != nil {
		t.Fatal(err)
	}
}

// Fill is an interchange fill line of a Hyperliquid wallet.
func Fill(wallet, coin, side, px, sz, start, ts, id string) string {
	return `{"kind":"fill","src":"hyperliquid","ts":"` + ts + `","wallet":"` + wallet + `","coin":"` + coin +
		`","side":"` + side + `","px":"` + px + `","sz":"` + sz + `","start_position":"` + start + `","fee":"0","id":"` + id + `"}`
}

// Price is an interchange price line.
func Price(coin, px, ts string) string {
	return `{"kind":"price","src":"hyperliquid","ts":"` + ts + `","symbol":"` + coin + `","price":"` + px + `"}`
}

// Wallet is a readable test address made of one repeated hex digit.
func Wallet(c byte) string { return "0x" + strings.Repeat(string(c), 40) }
