package signal_test

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/signal"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/jackc/pgx/v5"
)

var (
	wA = wallet('a') // followed, not ranked
	wB = wallet('b') // high-alpha by rank
	wC = wallet('c') // high-alpha by rank
	wD = wallet('d') // high-alpha by lcb
	wE = wallet('e') // ranked, neither in the top N nor lcb > 0
	wF = wallet('f') // in the top N, but its skill estimate is negative: not high-alpha
)

// scenario is the fixture: a followed wallet opens, three high-alpha wallets go long
// ETH within one hour (one below the alpha_move size), a low-ranked wallet and a
// top-ranked wallet without skill (every wallet losing, the top N are still ranked) go
// long too, and one high-alpha wallet closes.
func scenario() []string {
	return []string{
		price("ETH", "2000", "2024-06-01T10:00:00Z"),
		fill(wA, "ETH", "buy", "2000", "1", "0", "2024-06-01T10:01:00Z", "1"),
		fill(wB, "ETH", "buy", "2000", "10", "0", "2024-06-01T10:02:00Z", "2"),
		fill(wB, "ETH", "buy", "2000", "1", "10", "2024-06-01T10:02:00.5Z", "3"), // an add below the alpha_move size: nothing
		fill(wE, "ETH", "buy", "2000", "50", "0", "2024-06-01T10:03:00Z", "4"),
		fill(wF, "ETH", "buy", "2000", "20", "0", "2024-06-01T10:05:00Z", "8"),
		fill(wC, "ETH", "buy", "2001", "6", "0", "2024-06-01T10:10:00Z", "5"),
		fill(wD, "ETH", "buy", "2002", "2.5", "0", "2024-06-01T10:20:00Z", "6"),
		fill(wB, "ETH", "sell", "2010", "11", "11", "2024-06-01T10:40:00Z", "7"),
		price("ETH", "2010", "2024-06-01T10:41:00Z"),
	}
}

func setup(t *testing.T) (*store.Store, stream.Config) {
	st := testenv.Store(t)
	follow(t, st, "u1", wA)
	follow(t, st, "u2", wA)
	scoreRun(t, st, time.Date(2024, 5, 31, 0, 0, 0, 0, time.UTC), map[string][3]float64{
		wB: {1, 0.6, 0.2}, wC: {2, 0.4, 0.1}, wD: {40, 0.3, 0.05}, wE: {50, 0.05, -0.1},
		wF: {3, -0.2, -0.4},
	})
	return st, stream.Config{Shards: 4}
}

// signals lists the stored signals as "rule wallet action side" sorted.
func signals(t *testing.T, st *store.Store) []string {
	t.Helper()
	got, err := signal.Recent(context.Background(), st, signal.Query{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range got {
		w := s.Wallet
		if s.Rule == signal.RuleConsensus {
			w = "*"
		}
		out = append(out, strings.Join([]string{s.Rule, short(w), s.Action, s.Side}, " "))
	}
	sort.Strings(out)
	return out
}

func short(w string) string {
	if len(w) > 3 {
		return w[2:3]
	}
	return w
}

func TestSignalsFireOnceAcrossReplaysAndRestarts(t *testing.T) {
	st, scfg := setup(t)
	rdb, prefix := testenv.Redis(t)
	scfg.Prefix = prefix
	file := writeFile(t, scenario())

	var mu sync.Mutex
	hooked := map[string]int{}
	cfg := signal.Config{OnSignals: func(ctx context.Context, tx pgx.Tx, sigs []signal.Stored) error {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range sigs {
			hooked[s.DedupKey]++
		}
		return nil
	}}
	want := []string{
		"alpha_move b close long",
		"alpha_move b open long",
		"alpha_move c open long",
		"consensus * open long",
		"followed_move a open long",
	}
	produce(t, rdb, scfg, file)
	runStage(t, st, rdb, scfg, cfg, 2)
	if got := signals(t, st); !slices.Equal(got, want) {
		t.Fatalf("signals after the first replay:\n got %q\nwant %q", got, want)
	}
	// The same file again, then a restarted worker on a third copy: nothing new.
	produce(t, rdb, scfg, file)
	runStage(t, st, rdb, scfg, cfg, 1)
	produce(t, rdb, scfg, file)
	runStage(t, st, rdb, scfg, cfg, 3)
	if got := signals(t, st); !slices.Equal(got, want) {
		t.Fatalf("signals after replays and restarts:\n got %q\nwant %q", got, want)
	}
	if len(hooked) != len(want) {
		t.Fatalf("OnSignals saw %d distinct signals, want %d", len(hooked), len(want))
	}
	for k, n := range hooked {
		if n != 1 {
			t.Errorf("OnSignals got %s %d times", k, n)
		}
	}
	// The consensus names the three high-alpha wallets, not the low-ranked one nor the
	// top-ranked one without skill.
	got, err := signal.Recent(context.Background(), st, signal.Query{Rule: signal.RuleConsensus})
	if err != nil || len(got) != 1 {
		t.Fatalf("consensus: %v %v", got, err)
	}
	ws, _ := got[0].Evidence["wallets"].([]any)
	if len(ws) != 3 || ws[0] != wB || ws[1] != wC || ws[2] != wD {
		t.Errorf("consensus wallets = %v, want b, c, d", ws)
	}
	// followed_move: confidence in range; alpha evidence carries the score.
	for _, s := range mustRecent(t, st) {
		if s.Confidence <= 0 || s.Confidence > 1 {
			t.Errorf("%s confidence %v out of (0,1]", s.DedupKey, s.Confidence)
		}
		if s.Rule == signal.RuleAlpha && s.Edge <= 0 {
			t.Errorf("%s has no edge", s.DedupKey)
		}
	}
}

func mustRecent(t *testing.T, st *store.Store) []signal.Stored {
	t.Helper()
	got, err := signal.Recent(context.Background(), st, signal.Query{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestConsensusNeedsK(t *testing.T) {
	for _, tc := range []struct {
		k    int
		want bool
	}{{3, true}, {4, false}} {
		st, scfg := setup(t)
		rdb, prefix := testenv.Redis(t)
		scfg.Prefix = prefix
		produce(t, rdb, scfg, writeFile(t, scenario()))
		runStage(t, st, rdb, scfg, signal.Config{ConsensusK: tc.k}, 2)
		got, err := signal.Recent(context.Background(), st, signal.Query{Rule: signal.RuleConsensus})
		if err != nil {
			t.Fatal(err)
		}
		if (len(got) == 1) != tc.want || len(got) > 1 {
			t.Errorf("k=%d: %d consensus signals, want fired=%v", tc.k, len(got), tc.want)
		}
	}
}

// TestConsensusIndependentOfShards: the same wallets on 1 shard and on 8 shards with
// 3 workers fire the same signals.
func TestConsensusIndependentOfShards(t *testing.T) {
	var results [][]string
	for _, c := range []struct{ shards, workers int }{{1, 1}, {8, 3}} {
		st, scfg := setup(t)
		rdb, prefix := testenv.Redis(t)
		scfg.Prefix, scfg.Shards = prefix, c.shards
		produce(t, rdb, scfg, writeFile(t, scenario()))
		runStage(t, st, rdb, scfg, signal.Config{}, c.workers)
		results = append(results, signals(t, st))
	}
	if !slices.Equal(results[0], results[1]) {
		t.Errorf("1 shard: %q\n8 shards: %q", results[0], results[1])
	}
}
