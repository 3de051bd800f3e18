package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
)

// TestReplayBadInput: every bad-input class is dead-lettered with its reason, counted in
// the summary and stored; the good lines around them are applied and the run succeeds.
// With --strict, a good line given again in the same run is dead-lettered as a
// duplicate.
func TestReplayBadInput(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	bad := badLines()

	// File A: good and bad lines interleaved; its last line is a truncated object
	// without a newline.
	var lines []string
	wantReason := map[string]int64{}
	wantSource := map[string]string{} // file:line -> reason
	seen := map[string]bool{}         // good lines: a repeat is a duplicate
	good := func(path string, n int, line string) {
		line = strings.TrimSuffix(line, "\r")
		if seen[line] {
			wantReason["duplicate"]++
			wantSource[path+":"+strconv.Itoa(n)] = "duplicate"
		}
		seen[line] = true
	}
	goodA := []string{testenv.GoodTransfer, testenv.GoodSwap, testenv.GoodTrade, testenv.GoodFill, testenv.GoodPosition, testenv.GoodPrice}
	pathA := filepath.Join(dir, "mixed.ndjson")
	for i, b := range bad {
		lines = append(lines, goodA[i%len(goodA)])
		good(pathA, len(lines), lines[len(lines)-1])
		lines = append(lines, b.line)
		wantReason[b.reason]++
		wantSource[pathA+":"+strconv.Itoa(len(lines))] = b.reason
	}
	lines = append(lines, "", "   ") // blank lines are not records
	lastBad := `{"kind":"price","src":"hyperliquid","ts":"2025-02-04T09:34:27Z","symbol":"BT`
	lines = append(lines, lastBad)
	wantReason["bad_json"]++
	wantSource[pathA+":"+strconv.Itoa(len(lines))] = "bad_json"
	testenv.WriteLines(t, pathA, lines, true)
	readA := len(bad)*2 + 1

	// File B: good lines only; the last one has no newline and must still count.
	lastGood := `{"kind":"fill","src":"hyperliquid","ts":"2025-03-01T00:00:00Z","wallet":"0x1111111111111111111111111111111111111111","coin":"ETH","side":"buy","px":"2000","sz":"1.5","fee":"0.5","id":"last-line"}`
	pathB := filepath.Join(dir, "last-line.ndjson")
	testenv.WriteLines(t, pathB, []string{testenv.GoodPrice, lastGood}, true)
	good(pathB, 1, testenv.GoodPrice)
	good(pathB, 2, lastGood)
	// File C: a several-megabyte last line without a newline.
	pathC := filepath.Join(dir, "long-last-line.ndjson")
	// (Its first 4 KiB differ from file A's long line: a dead letter is keyed by its
	// reason and the stored, clipped input.)
	longLast := `{"kind":"price","src":"hyperliquid","ts":"2025-02-04T09:34:27Z","symbol":"` + strings.Repeat("Z", 5<<20) + `"}`
	testenv.WriteLines(t, pathC, []string{testenv.GoodTrade, longLast}, true)
	good(pathC, 1, testenv.GoodTrade)
	wantReason["line_too_long"]++
	wantSource[pathC+":2"] = "line_too_long"
	// File D: CRLF line ends.
	crlfFill := strings.NewReplacer(`"id":"last-line"`, `"id":"crlf"`, `0x1111111111111111111111111111111111111111`,
		`0x2222222222222222222222222222222222222222`).Replace(lastGood)
	pathD := filepath.Join(dir, "crlf.ndjson")
	testenv.WriteLines(t, pathD, []string{testenv.GoodTrade + "\r", crlfFill + "\r"}, false)
	good(pathD, 1, testenv.GoodTrade+"\r")
	good(pathD, 2, crlfFill+"\r")
	if wantReason["duplicate"] == 0 {
		t.Fatal("the input has no duplicate line")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sum, err := e.replay(ctx, []string{pathA, pathB, pathC, pathD}, func(c *pipeline.ReplayConfig) { c.Strict = true })
	if err != nil {
		t.Fatalf("replay with bad input failed: %v", err)
	}
	var wantDead int64
	for _, n := range wantReason {
		wantDead += n
	}
	// Distinct good events: the six of file A (repeated: duplicates), the fill of B and
	// the fill of D (C and D repeat A's trade).
	const wantEvents = 8
	read := int64(readA + 2 + 2 + 2)
	if sum.Read != read || sum.DeadLettered != wantDead || sum.Accepted != read-wantDead || !sum.Committed {
		t.Errorf("summary: read %d accepted %d dead %d committed %v; want read %d accepted %d dead %d committed",
			sum.Read, sum.Accepted, sum.DeadLettered, sum.Committed, read, read-wantDead, wantDead)
	}
	if !maps.Equal(sum.ByReason, wantReason) {
		t.Errorf("summary by reason:\n got  %s\n want %s", testenv.Reasons(sum.ByReason), testenv.Reasons(wantReason))
	}
	stored, err := e.st.DeadLetterCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(stored, wantReason) {
		t.Errorf("dead_letters by reason:\n got  %s\n want %s", testenv.Reasons(stored), testenv.Reasons(wantReason))
	}
	rows, err := e.st.Pool().Query(ctx, `SELECT source, reason, detail, length(raw) FROM dead_letters`)
	if err != nil {
		t.Fatal(err)
	}
	gotSource := map[string]string{}
	for rows.Next() {
		var src, reason, detail string
		var rawLen int
		if err := rows.Scan(&src, &reason, &detail, &rawLen); err != nil {
			t.Fatal(err)
		}
		gotSource[src] = reason
		if !strings.HasPrefix(detail, reason) {
			t.Errorf("dead letter %s: detail %q does not start with its reason %q", src, detail, reason)
		}
		if rawLen == 0 || rawLen > 4096 {
			t.Errorf("dead letter %s: raw is %d bytes, want 1..4096", src, rawLen)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(gotSource, wantSource) {
		t.Errorf("dead letters by file:line:\n got  %v\n want %v", gotSource, wantSource)
	}
	if n := e.eventCount(t); n != wantEvents {
		t.Errorf("events stored: %d, want %d", n, wantEvents)
	}
	// The fill on the last line (no newline) reached the book.
	v, err := e.st.Wallet(ctx, "0x1111111111111111111111111111111111111111")
	if err != nil {
		t.Fatalf("wallet of the last line's fill: %v", err)
	}
	if len(v.Positions) != 1 || v.Positions[0].Size.String() != "1.5" || v.Fees.String() != "0.5" {
		t.Errorf("wallet of the last line's fill: %+v", v)
	}
	if _, err := e.st.Wallet(ctx, "0x2222222222222222222222222222222222222222"); err != nil {
		t.Errorf("wallet of the CRLF file's fill: %v", err)
	}
}

// TestReplayUnopenableFile: a file that cannot be read is an error, and nothing of the
// other files is produced.
func TestReplayUnopenableFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.ndjson")
	testenv.WriteLines(t, good, []string{testenv.GoodTrade, testenv.GoodPrice}, false)
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope.ndjson"), "no such file"},
		{"directory", dir, "directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := e.replay(ctx, []string{good, tc.path}, nil)
			if err == nil {
				t.Fatalf("replay of %s: no error", tc.path)
			}
			if !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q: want the path %s and %q", err, tc.path, tc.want)
			}
			if n := e.eventCount(t); n != 0 {
				t.Errorf("%d events stored although a file could not be opened", n)
			}
		})
	}
}

// TestReplayDatabaseUnreachable: a store whose database is gone makes Replay fail
// rather than hang or report success.
func TestReplayDatabaseUnreachable(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "in.ndjson")
	testenv.WriteLines(t, path, []string{testenv.GoodTrade, `not json`, testenv.GoodPrice}, false)
	e.st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, err := e.replay(ctx, []string{path}, nil)
	if err == nil {
		t.Fatalf("replay against a closed database succeeded: %+v", sum)
	}
	if ctx.Err() != nil {
		t.Fatalf("replay against a closed database did not return before the test's deadline: %v", err)
	}
	t.Logf("error: %v", err)
	if sum.Committed {
		t.Errorf("summary claims everything committed: %+v", sum)
	}
}

// TestReplayState checks the effectively-once guarantee on a generated market: replaying
// twice, a cancelled replay resumed, and two consumer groups sharing the shards all end
// in exactly the state of one uninterrupted replay.
func TestReplayState(t *testing.T) {
	in := testenv.WriteDemoInput(t, t.TempDir(), 11, 900)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	base := newEnv(t)
	t0 := time.Now()
	sum, err := base.replay(ctx, []string{in.Path}, nil)
	if err != nil {
		t.Fatalf("uninterrupted replay: %v", err)
	}
	t.Logf("uninterrupted replay of %d records: %.2fs", in.Lines, time.Since(t0).Seconds())
	if sum.Read != int64(in.Lines) || sum.Accepted != int64(in.Accepted) || !maps.Equal(sum.ByReason, in.Dead) || !sum.Committed {
		t.Fatalf("uninterrupted replay summary %+v; want read %d accepted %d by reason %s", sum, in.Lines, in.Accepted, testenv.Reasons(in.Dead))
	}
	if n := base.eventCount(t); n != int64(in.Accepted) {
		t.Fatalf("uninterrupted replay stored %d events, want %d", n, in.Accepted)
	}
	want := testenv.StateChecksum(t, base.st.Pool())

	t.Run("twice", func(t *testing.T) {
		// The baseline's schema and streams, replayed again.
		sum, err := base.replay(ctx, []string{in.Path}, nil)
		if err != nil {
			t.Fatalf("second replay: %v", err)
		}
		if !sum.Committed || sum.Accepted != int64(in.Accepted) {
			t.Errorf("second replay summary %+v", sum)
		}
		testenv.SameState(t, "replayed twice", testenv.StateChecksum(t, base.st.Pool()), want)
	})

	for _, tc := range []struct {
		name string
		at   int64 // cancel once more than this many events are committed
	}{
		{"cancelled early then resumed", 0},
		{"cancelled mid-run then resumed", int64(in.Accepted) / 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			cctx, stop := context.WithCancel(ctx)
			var partial int64
			watch := make(chan struct{})
			go func() {
				defer close(watch)
				testenv.WaitFor(cctx, func() bool {
					n, err := e.st.EventCount(cctx)
					if err == nil && n > tc.at {
						partial = n
						stop()
						return true
					}
					return false
				})
			}()
			sum, err := e.replay(cctx, []string{in.Path}, nil)
			stop()
			<-watch
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled replay returned %v (summary %+v), want context.Canceled", err, sum)
			}
			if sum.Committed {
				t.Errorf("cancelled replay reports everything committed")
			}
			got := e.eventCount(t)
			t.Logf("cancelled at %d events committed (%d after stopping) of %d; %d read", partial, got, in.Accepted, sum.Read)
			if got >= int64(in.Accepted) {
				t.Fatalf("the cancel landed after the replay had committed everything (%d events): make the input larger", got)
			}
			sum, err = e.replay(ctx, []string{in.Path}, nil)
			if err != nil || !sum.Committed {
				t.Fatalf("resumed replay: %v (summary %+v)", err, sum)
			}
			testenv.SameState(t, tc.name, testenv.StateChecksum(t, e.st.Pool()), want)
		})
	}

	t.Run("two groups share the shards", func(t *testing.T) {
		e := newEnv(t)
		gctx, stopAll := context.WithCancel(ctx)
		defer stopAll()
		var commits [2]atomic.Int64
		var wg sync.WaitGroup
		stops := make([]context.CancelFunc, 2)
		start := func(i int) error {
			// Each group has its own pool, as separate processes would.
			st, err := store.Open(gctx, store.Config{URL: e.url, MaxConns: 4})
			if err != nil {
				return err
			}
			t.Cleanup(st.Close)
			grp, err := stream.NewGroup(e.rdb, e.scfg(), stream.GroupConfig{
				Group: pipeline.BookGroup, Owner: fmt.Sprintf("worker-%d", i), Batch: 500,
				Block: 50 * time.Millisecond, Rebalance: 100 * time.Millisecond, Logger: e.logger(),
				Observe: func(_, applied, dead int, _ time.Duration) { commits[i].Add(1) },
			}, pipeline.NewBookSink(st))
			if err != nil {
				return err
			}
			c, stop := context.WithCancel(gctx)
			stops[i] = stop
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := grp.Run(c); err != nil {
					t.Errorf("group %d: %v", i, err)
				}
			}()
			return nil
		}
		if err := start(0); err != nil {
			t.Fatal(err)
		}
		// The second group joins once the first has committed something, and the
		// first leaves half-way: shards change hands twice while the producer feeds.
		watch := make(chan struct{})
		go func() {
			defer close(watch)
			joined := false
			testenv.WaitFor(gctx, func() bool {
				n, err := e.st.EventCount(gctx)
				if err != nil {
					return false
				}
				if !joined && n > 0 {
					joined = true
					if err := start(1); err != nil {
						t.Errorf("second group: %v", err)
						return true
					}
				}
				if joined && n > int64(in.Accepted)/2 && commits[1].Load() > 0 {
					stops[0]()
					return true
				}
				return false
			})
		}()
		sum, err := e.replay(ctx, []string{in.Path}, func(c *pipeline.ReplayConfig) { c.NoWorkers = true })
		// With NoWorkers, Replay returns only once the groups have committed everything.
		if n := e.eventCount(t); err == nil && n != int64(in.Accepted) {
			t.Errorf("replay with NoWorkers returned with %d of %d events committed", n, in.Accepted)
		}
		<-watch
		stopAll()
		wg.Wait()
		if err != nil || !sum.Committed {
			t.Fatalf("replay with external groups: %v (summary %+v)", err, sum)
		}
		t.Logf("batches committed: worker-0 %d, worker-1 %d", commits[0].Load(), commits[1].Load())
		if commits[0].Load() == 0 || commits[1].Load() == 0 {
			t.Errorf("both groups should have committed batches: %d and %d", commits[0].Load(), commits[1].Load())
		}
		var owners, claims int64
		if err := e.st.Pool().QueryRow(ctx, `SELECT count(DISTINCT owner), sum(epoch) FROM stream_checkpoints WHERE grp = $1`,
			pipeline.BookGroup).Scan(&owners, &claims); err != nil {
			t.Fatal(err)
		}
		t.Logf("checkpoint owners %d, shard claims %d", owners, claims)
		testenv.SameState(t, "two groups", testenv.StateChecksum(t, e.st.Pool()), want)
	})
}

// TestReplayBadFirstLine: a bad line is dead-lettered wherever it is, the first line of
// an interchange file included; it must not make the whole file unreadable.
func TestReplayBadFirstLine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, file, first, reason string
	}{
		{"not json", "a.ndjson", `this is not json`, "bad_json"},
		{"json array", "b.ndjson", `[1,2,3]`, "bad_json"},
		{"json string", "c.jsonl", `"hello"`, "bad_json"},
		{"not json, name without a hint", "d.txt", `garbage, not json`, "bad_json"},
		{"bad object", "e.ndjson", strings.Replace(testenv.GoodTrade, `"side":"buy"`, `"side":"long"`, 1), "bad_side"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			path := filepath.Join(dir, tc.file)
			testenv.WriteLines(t, path, []string{tc.first, testenv.GoodTrade, testenv.GoodPrice, testenv.GoodFill}, false)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sum, err := e.replay(ctx, []string{path}, nil)
			if err != nil {
				t.Fatalf("replay of a file whose first line is bad failed: %v", err)
			}
			if sum.Read != 4 || sum.Accepted != 3 || !maps.Equal(sum.ByReason, map[string]int64{tc.reason: 1}) {
				t.Errorf("summary read %d accepted %d by reason %s; want 4, 3, %s=1", sum.Read, sum.Accepted, testenv.Reasons(sum.ByReason), tc.reason)
			}
			if n := e.eventCount(t); n != 3 {
				t.Errorf("%d events stored, want 3", n)
			}
		})
	}
}

// TestReplaySharedRedisTwoDatabases: two databases served by one Redis with the same
// stream prefix base (the default configuration: coattail:<instance id>). A replay
// into database A is cancelled with entries still in the streams; an uninterrupted
// replay of the same file into a fresh database B must still end in the state of a
// clean run. The entries A left behind belong to A: B must not apply them (ahead of its
// own, out of order).
func TestReplaySharedRedisTwoDatabases(t *testing.T) {
	in := testenv.WriteDemoInput(t, t.TempDir(), 13, 600)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	clean := newEnv(t)
	if _, err := clean.replay(ctx, []string{in.Path}, nil); err != nil {
		t.Fatal(err)
	}
	want := testenv.StateChecksum(t, clean.st.Pool())

	a := newEnv(t)
	b := newEnv(t)
	// One Redis, two databases, each with the default prefix: base + instance id.
	base := a.prefix
	for _, e := range []*env{a, b} {
		id, err := e.st.InstanceID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e.rdb, e.prefix = a.rdb, base+":"+id
	}
	if a.prefix == b.prefix {
		t.Fatalf("two databases got the same stream prefix %q", a.prefix)
	}
	cctx, stop := context.WithCancel(ctx)
	watch := make(chan struct{})
	go func() {
		defer close(watch)
		testenv.WaitFor(cctx, func() bool {
			n, err := a.st.EventCount(cctx)
			if err == nil && n > 0 {
				stop()
				return true
			}
			return false
		})
	}()
	_, err := a.replay(cctx, []string{in.Path}, nil)
	stop()
	<-watch
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("replay into A: %v, want context.Canceled", err)
	}
	var left int64
	for s := range 8 {
		n, err := a.rdb.XLen(ctx, a.scfg().Stream(s)).Result()
		if err != nil {
			t.Fatal(err)
		}
		left += n
	}
	t.Logf("A cancelled with %d events committed and %d entries left in the streams", a.eventCount(t), left)
	if left == 0 {
		t.Skip("nothing left in the streams: the scenario did not arise")
	}
	sum, err := b.replay(ctx, []string{in.Path}, nil)
	if err != nil || !sum.Committed {
		t.Fatalf("replay into B: %v (summary %+v)", err, sum)
	}
	testenv.SameState(t, "fresh database B after A's cancelled run on the same streams", testenv.StateChecksum(t, b.st.Pool()), want)
	var refused int64
	if err := b.st.Pool().QueryRow(ctx, `SELECT count(*) FROM dead_letters WHERE reason = 'book_refused'`).Scan(&refused); err != nil {
		t.Fatal(err)
	}
	if refused > 0 {
		t.Errorf("B's book refused %d events as out of order: it applied A's leftover entries ahead of its own", refused)
	}
}
