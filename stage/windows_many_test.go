package stage_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/stage"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/redis/go-redis/v9"
)

const (
	manyShards   = 4
	manyExchange = "0x28c6c06298d514db089934071355e5743bf21d60"
)

// manyStreams names the shard streams alike in every run (each run has its own
// schema), so window_state rows compare by stream.
var manyStreams = stream.Config{Prefix: "many", Shards: manyShards}

// manyInput returns each shard's entries as the ingress would write them (canonical
// bodies, key hashes, one shard per ShardKey): the demo market, transfers to and from
// a labelled exchange (flows, and large-transfer anomalies), and, on shard 1 after
// half its entries, a repeat of its first twenty (an event produced twice).
func manyInput(t *testing.T) [][]stream.Entry {
	t.Helper()
	in := testenv.WriteDemoInput(t, t.TempDir(), 5, 600)
	raw, err := os.ReadFile(in.Path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for n := 1; n <= 400; n++ {
		wallet := fmt.Sprintf("0x%040x", 0xa0+n%23)
		from, to := wallet, manyExchange
		if n%3 == 0 {
			from, to = manyExchange, wallet
		}
		usd := fmt.Sprintf("%d", 1000*n)
		if n%40 == 0 {
			usd = "2500000" // a large transfer: an anomaly
		}
		lines = append(lines, fmt.Sprintf(`{"kind":"transfer","src":"ethereum","ts":"%s","block":%d,"tx":"0x%064x","log_index":1,`+
			`"token":"0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2","symbol":"WETH","from":"%s","to":"%s","amount":"%d","usd":"%s"}`,
			base.Add(time.Duration(n)*37*time.Second).Format(time.RFC3339), 19000000+n, n, from, to, n, usd))
	}
	rules := event.Rules{MaxFuture: 365 * 24 * time.Hour}
	shards := make([][]stream.Entry, manyShards)
	for _, l := range lines {
		ev, err := event.Decode([]byte(l), rules)
		if err != nil {
			continue // the bad lines spliced into the demo input
		}
		k := event.Shard(ev.ShardKey(), manyShards)
		key := ev.KeyHash()
		shards[k] = append(shards[k], stream.Entry{Key: key[:], Body: event.AppendJSON(nil, &ev)})
	}
	s1 := shards[1]
	shards[1] = slices.Concat(s1[:len(s1)/2], s1[:20], s1[len(s1)/2:])
	for k := range shards {
		if len(shards[k]) < 200 {
			t.Fatalf("shard %d has %d entries: the input should spread over every shard", k, len(shards[k]))
		}
		for i := range shards[k] {
			shards[k][i].ID = fmt.Sprintf("%d-0", i+1)
		}
	}
	return shards
}

// manyRun is one database the input is committed into.
type manyRun struct {
	t      *testing.T
	st     *store.Store
	rdb    *redis.Client
	cfg    stage.WindowsConfig
	w      *stage.Windows
	epochs []int64
	next   []int // next entry per shard
	size   int   // entries per batch

	combined, alone int // CommitMany calls that succeeded / that fell back
	keysApplied     int // CommitMany calls that failed with ErrKeysApplied
}

func newManyRun(t *testing.T, size int) *manyRun {
	t.Helper()
	ctx := context.Background()
	st := testenv.Store(t)
	rdb, prefix := testenv.Redis(t)
	if _, _, err := st.ImportLabels(ctx, []store.Label{{Address: manyExchange, Source: "test", Name: "Binance 14",
		Categories: []string{"binance"}, UpdatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}); err != nil {
		t.Fatal(err)
	}
	cfg := stage.WindowsConfig{Redis: rdb, Stream: stream.Config{Prefix: prefix}}
	r := &manyRun{t: t, st: st, rdb: rdb, cfg: cfg, w: stage.NewWindows(st, cfg), epochs: make([]int64, manyShards),
		next: make([]int, manyShards), size: size}
	for k := range manyShards {
		epoch, _, err := r.w.Claim(ctx, manyStreams.Stream(k), stage.WindowsGroup, "a")
		if err != nil {
			t.Fatal(err)
		}
		r.epochs[k] = epoch
	}
	return r
}

// take returns shard k's next batch, false when its entries are all taken.
func (r *manyRun) take(in [][]stream.Entry, k int) (stream.Batch, bool) {
	es := in[k][r.next[k]:]
	if len(es) == 0 {
		return stream.Batch{}, false
	}
	es = es[:min(r.size, len(es))]
	r.next[k] += len(es)
	return stream.Batch{Stream: manyStreams.Stream(k), Group: stage.WindowsGroup, Shard: k, Epoch: r.epochs[k],
		Entries: es, LastID: es[len(es)-1].ID}, true
}

// commit commits bs as the stream runtime does: together (ordered by stream) when
// there are several, and each alone when that fails.
func (r *manyRun) commit(w *stage.Windows, bs []stream.Batch) {
	r.t.Helper()
	ctx := context.Background()
	if len(bs) > 1 {
		slices.SortFunc(bs, func(a, b stream.Batch) int { return cmp.Compare(a.Stream, b.Stream) })
		err := w.CommitMany(ctx, bs)
		if err == nil {
			r.combined++
			return
		}
		r.alone++
		if errors.Is(err, store.ErrKeysApplied) {
			r.keysApplied++
		}
	}
	for _, b := range bs {
		if err := w.Commit(ctx, b); err != nil {
			r.t.Fatalf("commit %s up to %s: %v", b.Stream, b.LastID, err)
		}
	}
}

// round takes the next batch of each shard of ks and commits them in groups of size
// (all alone when size is 1).
func (r *manyRun) round(in [][]stream.Entry, ks []int, size int) bool {
	var bs []stream.Batch
	for _, k := range ks {
		if b, ok := r.take(in, k); ok {
			bs = append(bs, b)
		}
	}
	for len(bs) > 0 {
		n := min(size, len(bs))
		r.commit(r.w, bs[:n])
		bs = bs[n:]
	}
	return r.next[0] < len(in[0]) || r.next[1] < len(in[1]) || r.next[2] < len(in[2]) || r.next[3] < len(in[3])
}

// state is what a run has written: the result tables, each shard's window_state and
// per-source progress, the applied keys and the checkpoints.
func (r *manyRun) state() map[string]string {
	r.t.Helper()
	out := testenv.StateChecksum(r.t, r.st.Pool())
	for name, q := range map[string]string{
		"window_state":   `SELECT stream, grp, state FROM window_state`,
		"window_sources": `SELECT stream, grp, source, watermark, max_event, late FROM window_sources`,
		"window_keys":    `SELECT key FROM window_keys`,
		"checkpoints":    `SELECT stream, grp, last_id FROM stream_checkpoints`,
	} {
		var sum string
		if err := r.st.Pool().QueryRow(context.Background(), `SELECT count(*)::text || ':' || coalesce(md5(string_agg(r::text, E'\n' ORDER BY r::text)), '')
			FROM (`+q+`) r`).Scan(&sum); err != nil {
			r.t.Fatalf("%s: %v", name, err)
		}
		out[name] = sum
	}
	return out
}

func sameMany(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if got[name] != want[name] {
			t.Errorf("%s: %s is %s, want %s", what, name, got[name], want[name])
		}
	}
}

// published checks that every stored anomaly was published once, and marked so.
func (r *manyRun) published() {
	r.t.Helper()
	n := count(r.t, r.st, `SELECT count(*) FROM anomalies`)
	unmarked := count(r.t, r.st, `SELECT count(*) FROM anomalies WHERE published_at IS NULL`)
	got, err := r.rdb.XLen(context.Background(), stage.AnomaliesStream(r.cfg.Stream)).Result()
	if err != nil {
		r.t.Fatal(err)
	}
	if got != n || unmarked != 0 {
		r.t.Errorf("%d anomalies stored, %d published, %d not marked published", n, got, unmarked)
	}
}

var allShards = []int{0, 1, 2, 3}

// TestWindowsCommitMany: batches of several shards committed together (CommitMany)
// write exactly what the same batches write committed one by one, however the shards
// are grouped, repeats included (the combined commit fails with ErrKeysApplied and
// each batch is redone alone); and a combined commit holding a batch of a shard
// claimed since fails as a whole with ErrFenced, writing nothing, after which the
// batches committed alone (the fenced one by the new owner) end where an uninterrupted
// run ends.
func TestWindowsCommitMany(t *testing.T) {
	in := manyInput(t)

	one := newManyRun(t, 23)
	for one.round(in, allShards, 1) {
	}
	want := one.state()
	bars := count(t, one.st, `SELECT count(*) FROM price_bars WHERE trades > 0`)
	flows := count(t, one.st, `SELECT count(*) FROM exchange_flows WHERE deposits + withdrawals > 0`)
	anomalies := count(t, one.st, `SELECT count(*) FROM anomalies`)
	large := count(t, one.st, `SELECT count(*) FROM anomalies WHERE kind = 'large_deposit' OR kind = 'large_withdrawal'`)
	profiles := count(t, one.st, `SELECT count(*) FROM wallet_profiles`)
	if bars < 10 || flows < 4 || large != 10 || anomalies <= large || profiles < 10 {
		t.Fatalf("%d bars, %d flows, %d anomalies (%d large transfers), %d profiles: the input should make many of each",
			bars, flows, anomalies, large, profiles)
	}
	one.published()

	t.Run("grouped", func(t *testing.T) {
		r := newManyRun(t, 23)
		// Groups of two, three and four shards in turn, and a different shard order
		// each round, so each shard shares transactions with different others.
		for i := 0; ; i++ {
			ks := slices.Clone(allShards)
			for range i % manyShards {
				ks = append(ks[1:], ks[0])
			}
			if !r.round(in, ks, 2+i%3) {
				break
			}
		}
		sameMany(t, "grouped", r.state(), want)
		r.published()
		if r.combined < 20 || r.keysApplied != 1 {
			t.Errorf("%d combined commits, %d fell back (%d with keys applied before): want most combined and the repeat to fail one",
				r.combined, r.alone, r.keysApplied)
		}
		t.Logf("%d combined commits, %d fell back to commits alone", r.combined, r.alone)
	})

	t.Run("fenced", func(t *testing.T) {
		ctx := context.Background()
		r := newManyRun(t, 23)
		for range 5 {
			r.round(in, allShards, 4)
		}
		// Another owner claims shard 1; the batch the first owner then reads of it
		// goes in a combined commit between shards 0 and 2, which have no reason to
		// fail.
		w2 := stage.NewWindows(r.st, r.cfg)
		epoch2, last, err := w2.Claim(ctx, manyStreams.Stream(1), stage.WindowsGroup, "b")
		if err != nil {
			t.Fatal(err)
		}
		var bs []stream.Batch
		for _, k := range []int{0, 1, 2} {
			b, _ := r.take(in, k)
			bs = append(bs, b)
		}
		if last != in[1][r.next[1]-len(bs[1].Entries)-1].ID {
			t.Fatalf("new owner starts after %s", last)
		}
		before := r.state()
		err = r.w.CommitMany(ctx, bs)
		if !errors.Is(err, stream.ErrFenced) {
			t.Fatalf("combined commit with a fenced batch: %v, want ErrFenced", err)
		}
		sameMany(t, "after the fenced combined commit", r.state(), before)
		// The runtime commits each alone: shard 1's fails at its fence again, and its
		// new owner commits it from the checkpoint.
		for _, b := range bs {
			err := r.w.Commit(ctx, b)
			if b.Shard == 1 {
				if !errors.Is(err, stream.ErrFenced) {
					t.Fatalf("fenced batch alone: %v, want ErrFenced", err)
				}
				b.Epoch = epoch2
				err = w2.Commit(ctx, b)
			}
			if err != nil {
				t.Fatalf("commit %s alone: %v", b.Stream, err)
			}
		}
		r.epochs[1] = epoch2
		for more := true; more; {
			b, ok := r.take(in, 1)
			if ok {
				r.commit(w2, []stream.Batch{b})
			}
			more = r.round(in, []int{0, 2, 3}, 3)
		}
		sameMany(t, "after a fenced combined commit", r.state(), want)
		r.published()
	})
}

// TestCommitManyRejectsAStreamTwice: two batches of one shard in one combined commit
// would fold into one state and fence one checkpoint twice; CommitMany refuses them,
// writing nothing.
func TestCommitManyRejectsAStreamTwice(t *testing.T) {
	in := manyInput(t)
	r := newManyRun(t, 10)
	b1, _ := r.take(in, 0)
	b2, _ := r.take(in, 0)
	before := r.state()
	if err := r.w.CommitMany(context.Background(), []stream.Batch{b1, b2}); err == nil {
		t.Fatal("two batches of one stream committed together")
	}
	sameMany(t, "after the refused commit", r.state(), before)
	if n := count(t, r.st, `SELECT count(*) FROM window_keys`); n != 0 {
		t.Errorf("%d keys recorded", n)
	}
}
