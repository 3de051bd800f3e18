package stream_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/stream"
	"github.com/redis/go-redis/v9"
)

// memSink is a Sink with the checkpoint and fencing semantics of the Postgres one,
// kept in memory so the runtime can be tested on its own against a real Redis.
type memSink struct {
	mu        sync.Mutex
	epoch     map[string]int64
	last      map[string]string
	applied   map[string][]string // stream -> bodies in commit order
	dead      map[string][]stream.DeadLetter
	failBody  string // bodies containing this fail permanently
	hangBody  string // a commit with a body containing this waits for its context (a worker stuck until killed)
	hung      int    // commits that have waited so
	transient int    // fail this many commits transiently
	commits   int
}

func newMemSink() *memSink {
	return &memSink{epoch: map[string]int64{}, last: map[string]string{}, applied: map[string][]string{}, dead: map[string][]stream.DeadLetter{}}
}

func (m *memSink) Claim(_ context.Context, s, g, _ string) (int64, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.epoch[s+g]++
	last := m.last[s+g]
	if last == "" {
		last = "0-0"
	}
	return m.epoch[s+g], last, nil
}

func (m *memSink) Commit(ctx context.Context, b stream.Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range b.Entries {
		if m.hangBody != "" && strings.Contains(string(e.Body), m.hangBody) {
			m.hung++
			m.mu.Unlock()
			<-ctx.Done()
			m.mu.Lock()
			return ctx.Err()
		}
	}
	if m.epoch[b.Stream+b.Group] != b.Epoch {
		return stream.ErrFenced
	}
	if m.transient > 0 {
		m.transient--
		return errors.New("connection reset (simulated)")
	}
	for _, e := range b.Entries {
		if m.failBody != "" && strings.Contains(string(e.Body), m.failBody) {
			return &stream.PermanentError{Err: fmt.Errorf("cannot apply %s", e.Body)}
		}
	}
	for _, e := range b.Entries {
		m.applied[b.Stream] = append(m.applied[b.Stream], string(e.Body))
	}
	m.dead[b.Stream] = append(m.dead[b.Stream], b.Dead...)
	m.last[b.Stream+b.Group] = b.LastID
	m.commits++
	return nil
}

func (m *memSink) total() (applied, dead int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range m.applied {
		applied += len(v)
	}
	for _, v := range m.dead {
		dead += len(v)
	}
	return
}

func produce(t *testing.T, p *stream.Producer, shards, n int) {
	t.Helper()
	var msgs []stream.Message
	for i := 0; i < n; i++ {
		msgs = append(msgs, stream.Message{Shard: i % shards, Key: []byte(fmt.Sprintf("k%d", i)), Body: []byte(fmt.Sprintf("e%06d", i))})
		if len(msgs) == 500 {
			if err := p.Add(context.Background(), msgs); err != nil {
				t.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
	if err := p.Add(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func runGroup(t *testing.T, rdb *redis.Client, cfg stream.Config, g stream.GroupConfig, sink stream.Sink) (*stream.Group, context.CancelFunc, chan error) {
	t.Helper()
	if g.Group == "" {
		g.Group = "book"
	}
	g.Block = 50 * time.Millisecond
	g.Rebalance = 50 * time.Millisecond
	grp, err := stream.NewGroup(rdb, cfg, g, sink)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- grp.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return grp, cancel, done
}

// oneShard is a one-shard stream config with n entries produced ("e000000", ...).
func oneShard(t *testing.T, n int) (*redis.Client, stream.Config) {
	t.Helper()
	rdb, prefix := testenv.Redis(t)
	cfg := stream.Config{Prefix: prefix, Shards: 1}
	p, err := stream.NewProducer(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	produce(t, p, 1, n)
	return rdb, cfg
}

// committedUpTo makes the sink hold stream's first n entries committed by group up
// to lastID, as an earlier owner left it.
func (m *memSink) committedUpTo(stream, group, lastID string, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last[stream+group] = lastID
	for i := 0; i < n; i++ {
		m.applied[stream] = append(m.applied[stream], fmt.Sprintf("e%06d", i))
	}
}

// inOrder checks each shard's bodies were applied once each, in production order.
func inOrder(t *testing.T, m *memSink, cfg stream.Config, shards, n int) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for s := 0; s < shards; s++ {
		var want []string
		for i := s; i < n; i += shards {
			want = append(want, fmt.Sprintf("e%06d", i))
		}
		got := m.applied[cfg.Stream(s)]
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("shard %d: applied %d entries, want %d in order (first got %v)", s, len(got), len(want), head(got))
		}
	}
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

func TestGroupAppliesEverythingOnceInOrder(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	cfg := stream.Config{Prefix: prefix, Shards: 4}
	p, err := stream.NewProducer(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	produce(t, p, 4, 5000)
	sink := newMemSink()
	sink.transient = 3 // transient failures are retried, not dead-lettered
	runGroup(t, rdb, cfg, stream.GroupConfig{Batch: 300}, sink)
	waitFor(t, "all applied", func() bool { a, _ := sink.total(); return a == 5000 })
	inOrder(t, sink, cfg, 4, 5000)
	if _, d := sink.total(); d != 0 {
		t.Fatalf("dead letters %d, want 0", d)
	}
}

func TestPendingEntriesOfADeadConsumerAreReclaimedFirst(t *testing.T) {
	rdb, cfg := oneShard(t, 100)
	ctx := context.Background()
	// A consumer that read 40 entries and died before committing them.
	if err := rdb.XGroupCreateMkStream(ctx, cfg.Stream(0), "book", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "book", Consumer: "dead", Streams: []string{cfg.Stream(0), ">"}, Count: 40}).Err(); err != nil {
		t.Fatal(err)
	}
	sink := newMemSink()
	runGroup(t, rdb, cfg, stream.GroupConfig{Batch: 16}, sink)
	waitFor(t, "all applied", func() bool { a, _ := sink.total(); return a == 100 })
	inOrder(t, sink, cfg, 1, 100)
	pend, err := rdb.XPending(ctx, cfg.Stream(0), "book").Result()
	if err != nil {
		t.Fatal(err)
	}
	if pend.Count != 0 {
		t.Fatalf("pending after processing = %d, want 0", pend.Count)
	}
}

// A worker reads with NOACK: entries it read and never committed (it died, or the
// reply was lost) are in no pending list, and the group's last delivered id is past
// them. The next owner moves the group back to the committed position.
func TestEntriesReadButNeverCommittedAreReadAgain(t *testing.T) {
	rdb, cfg := oneShard(t, 100)
	ctx := context.Background()
	if err := rdb.XGroupCreateMkStream(ctx, cfg.Stream(0), "book", "0").Err(); err != nil {
		t.Fatal(err)
	}
	// An owner read 40 entries and died before committing them; 10 were committed.
	res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "book", Consumer: "dead", Streams: []string{cfg.Stream(0), ">"}, Count: 50, NoAck: true}).Result()
	if err != nil {
		t.Fatal(err)
	}
	sink := newMemSink()
	sink.committedUpTo(cfg.Stream(0), "book", res[0].Messages[9].ID, 10)
	runGroup(t, rdb, cfg, stream.GroupConfig{Batch: 16}, sink)
	waitFor(t, "all applied", func() bool { a, _ := sink.total(); return a == 100 })
	time.Sleep(100 * time.Millisecond)
	inOrder(t, sink, cfg, 1, 100)
	if _, d := sink.total(); d != 0 {
		t.Fatalf("dead letters %d, want 0", d)
	}
}

// An entry the owners keep dying on (read, never committed, owner killed) is read
// again at most MaxDeliveries times in all, then dead-lettered.
func TestReadAgainTooOftenIsDeadLettered(t *testing.T) {
	rdb, cfg := oneShard(t, 5)
	sink := newMemSink()
	sink.hangBody = "e000002"
	g := stream.GroupConfig{MaxDeliveries: 3, Batch: 2, StopTimeout: 50 * time.Millisecond}
	for run := 1; run <= 3; run++ {
		g.Owner = fmt.Sprintf("owner-%d", run)
		grp, cancel, done := runGroup(t, rdb, cfg, g, sink)
		waitFor(t, "the owner stuck on e000002", func() bool {
			sink.mu.Lock()
			defer sink.mu.Unlock()
			return sink.hung == run && len(sink.applied[cfg.Stream(0)]) == 2
		})
		if len(grp.Owned()) != 1 {
			t.Fatalf("run %d: owner of %d shards, want 1", run, len(grp.Owned()))
		}
		cancel()
		<-done
		if err := rdb.Del(context.Background(), cfg.Prefix+":lease:book:"+cfg.Stream(0)).Err(); err != nil {
			t.Fatal(err) // as after the lease's TTL
		}
	}
	// The fourth delivery is over MaxDeliveries: dead-lettered, and the rest applied.
	runGroup(t, rdb, cfg, stream.GroupConfig{MaxDeliveries: 3, Batch: 2, Owner: "owner-4"}, sink)
	waitFor(t, "settled", func() bool { a, d := sink.total(); return a+d == 5 })
	d := sink.dead[cfg.Stream(0)]
	var got []string
	for _, x := range d {
		got = append(got, string(x.Entry.Body)+" "+x.Reason)
	}
	// Entries are read two at a time: e000002 and e000003 were in the batch that hung.
	if strings.Join(got, ",") != "e000002 max_deliveries,e000003 max_deliveries" {
		t.Fatalf("dead letters = %v, want e000002 and e000003 as max_deliveries", got)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if a := strings.Join(sink.applied[cfg.Stream(0)], ","); a != "e000000,e000001,e000004" {
		t.Fatalf("applied %s, want e000000,e000001,e000004", a)
	}
}

func TestCommittedButUnackedEntriesAreNotAppliedTwice(t *testing.T) {
	rdb, cfg := oneShard(t, 50)
	ctx := context.Background()
	_ = rdb.XGroupCreateMkStream(ctx, cfg.Stream(0), "book", "0").Err()
	res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "book", Consumer: "dead", Streams: []string{cfg.Stream(0), ">"}, Count: 20}).Result()
	if err != nil {
		t.Fatal(err)
	}
	// The dead consumer committed its 20 entries, then died before XACK.
	sink := newMemSink()
	sink.committedUpTo(cfg.Stream(0), "book", res[0].Messages[19].ID, 20)
	runGroup(t, rdb, cfg, stream.GroupConfig{}, sink)
	waitFor(t, "all applied", func() bool { a, _ := sink.total(); return a == 50 })
	time.Sleep(100 * time.Millisecond)
	inOrder(t, sink, cfg, 1, 50)
}

func TestPoisonEntriesAreDeadLetteredAlone(t *testing.T) {
	rdb, cfg := oneShard(t, 30)
	sink := newMemSink()
	sink.failBody = "e000017"
	runGroup(t, rdb, cfg, stream.GroupConfig{Batch: 10}, sink)
	waitFor(t, "all settled", func() bool { a, d := sink.total(); return a+d == 30 })
	a, d := sink.total()
	if a != 29 || d != 1 {
		t.Fatalf("applied %d dead %d, want 29 and 1", a, d)
	}
	dl := sink.dead[cfg.Stream(0)][0]
	if string(dl.Entry.Body) != "e000017" || dl.Reason != "apply_failed" {
		t.Fatalf("dead letter = %q %s, want e000017 apply_failed", dl.Entry.Body, dl.Reason)
	}
}

func TestRedeliveredTooOftenIsDeadLettered(t *testing.T) {
	rdb, cfg := oneShard(t, 3)
	ctx := context.Background()
	_ = rdb.XGroupCreateMkStream(ctx, cfg.Stream(0), "book", "0").Err()
	// Entry 0 was delivered 6 times to consumers that crashed on it.
	if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "book", Consumer: "dead", Streams: []string{cfg.Stream(0), ">"}, Count: 1}).Err(); err != nil {
		t.Fatal(err)
	}
	first, _ := rdb.XRange(ctx, cfg.Stream(0), "-", "+").Result()
	for i := 0; i < 5; i++ {
		if err := rdb.XClaim(ctx, &redis.XClaimArgs{Stream: cfg.Stream(0), Group: "book", Consumer: "dead", Messages: []string{first[0].ID}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	sink := newMemSink()
	runGroup(t, rdb, cfg, stream.GroupConfig{MaxDeliveries: 5}, sink)
	waitFor(t, "settled", func() bool { a, d := sink.total(); return a+d == 3 })
	if d := sink.dead[cfg.Stream(0)]; len(d) != 1 || d[0].Reason != "max_deliveries" || string(d[0].Entry.Body) != "e000000" {
		t.Fatalf("dead letters = %+v, want e000000 max_deliveries", d)
	}
}

func TestBackpressureWaitsInsteadOfTrimming(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	cfg := stream.Config{Prefix: prefix, Shards: 1, MaxLen: 1000}
	p, _ := stream.NewProducer(rdb, cfg)
	produce(t, p, 1, 1000)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := p.Add(ctx, []stream.Message{{Shard: 0, Key: []byte("x"), Body: []byte("over")}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Add over the bound = %v, want it to block until the deadline", err)
	}
	if n := rdb.XLen(context.Background(), cfg.Stream(0)).Val(); n != 1000 {
		t.Fatalf("stream length %d, want 1000 (nothing trimmed, nothing added)", n)
	}
	// Once a consumer group has processed the entries, they are trimmed and room returns.
	sink := newMemSink()
	runGroup(t, rdb, cfg, stream.GroupConfig{}, sink)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel2()
	if err := p.Add(ctx2, []stream.Message{{Shard: 0, Key: []byte("x"), Body: []byte("e001000")}}); err != nil {
		t.Fatalf("Add after consumption: %v", err)
	}
	waitFor(t, "all applied", func() bool { a, _ := sink.total(); return a == 1001 })
}

func TestTrimKeepsWhatASlowGroupStillNeeds(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	cfg := stream.Config{Prefix: prefix, Shards: 1}
	p, _ := stream.NewProducer(rdb, cfg)
	// XTRIM MINID ~ removes whole nodes of the stream (100 entries each by default).
	produce(t, p, 1, 1000)
	ctx := context.Background()
	s := cfg.Stream(0)
	_ = rdb.XGroupCreateMkStream(ctx, s, "fast", "0").Err()
	_ = rdb.XGroupCreateMkStream(ctx, s, "slow", "0").Err()
	res, _ := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "fast", Consumer: "a", Streams: []string{s, ">"}, Count: 1000}).Result()
	var ids []string
	for _, m := range res[0].Messages {
		ids = append(ids, m.ID)
	}
	rdb.XAck(ctx, s, "fast", ids...)
	// slow read 600 and acked only the first 300.
	_ = rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "slow", Consumer: "b", Streams: []string{s, ">"}, Count: 600}).Err()
	rdb.XAck(ctx, s, "slow", ids[:300]...)
	if err := stream.TrimAcked(ctx, rdb, s); err != nil {
		t.Fatal(err)
	}
	left, _ := rdb.XRange(ctx, s, "-", "+").Result()
	if len(left) == 0 || stream.CompareIDs(left[0].ID, ids[300]) > 0 {
		t.Fatalf("trimmed past the slow group's oldest pending entry %s", ids[300])
	}
	if len(left) == 1000 {
		t.Fatal("nothing trimmed, want the entries every group acked gone")
	}
}

func TestTwoProcessesShareShardsAndHandOver(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	cfg := stream.Config{Prefix: prefix, Shards: 6}
	p, _ := stream.NewProducer(rdb, cfg)
	sink := newMemSink()
	a, stopA, doneA := runGroup(t, rdb, cfg, stream.GroupConfig{Owner: "a"}, sink)
	b, _, _ := runGroup(t, rdb, cfg, stream.GroupConfig{Owner: "b"}, sink)
	waitFor(t, "shards split", func() bool { return len(a.Owned()) == 3 && len(b.Owned()) == 3 })
	produce(t, p, 6, 3000)
	waitFor(t, "first half applied", func() bool { x, _ := sink.total(); return x == 3000 })
	stopA()
	<-doneA
	waitFor(t, "b owns every shard", func() bool { return len(b.Owned()) == 6 })
	var msgs []stream.Message
	for i := 3000; i < 6000; i++ {
		msgs = append(msgs, stream.Message{Shard: i % 6, Key: []byte("k"), Body: []byte(fmt.Sprintf("e%06d", i))})
	}
	if err := p.Add(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "all applied", func() bool { x, _ := sink.total(); return x == 6000 })
	inOrder(t, sink, cfg, 6, 6000)
}

func TestParseAndCompareIDs(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1-0", "1-0", 0}, {"1-1", "1-0", 1}, {"9-5", "10-0", -1}, {"0-0", "1-0", -1}, {"", "1-0", -1},
	}
	for _, tt := range tests {
		if got := stream.CompareIDs(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareIDs(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if _, err := stream.ParseID("12"); err == nil {
		t.Error("ParseID(12) succeeded, want an error")
	}
}

func TestWaitedCountsOnlyBlockedTime(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	cfg := stream.Config{Prefix: prefix, Shards: 1, MaxLen: 1000}
	p, _ := stream.NewProducer(rdb, cfg)
	produce(t, p, 1, 500)
	if w := p.Waited(); w != 0 {
		t.Fatalf("Waited = %v with room in the stream, want 0", w)
	}
	produce(t, p, 1, 500) // now full
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = p.Add(ctx, []stream.Message{{Shard: 0, Key: []byte("k"), Body: []byte("b")}})
	if w := p.Waited(); w == 0 {
		t.Fatal("Waited = 0 after blocking on a full stream")
	}
}

// A stream and group deleted under a running worker (FLUSHALL, a Redis restart without
// persistence) are re-created, and new entries are processed.
func TestGroupRecoversFromDeletedStream(t *testing.T) {
	rdb, cfg := oneShard(t, 10)
	sink := newMemSink()
	runGroup(t, rdb, cfg, stream.GroupConfig{}, sink)
	waitFor(t, "first entries", func() bool { a, _ := sink.total(); return a == 10 })
	if err := rdb.Del(context.Background(), cfg.Stream(0)).Err(); err != nil {
		t.Fatal(err)
	}
	msgs := []stream.Message{{Shard: 0, Key: []byte("k"), Body: []byte("after-restart")}}
	p, err := stream.NewProducer(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "entry after the stream was deleted", func() bool {
		_ = p.Add(context.Background(), msgs)
		a, _ := sink.total()
		return a > 10
	})
}

// A client that retries commands itself could re-send a lost XREADGROUP and take a
// second batch while the first is never seen (lost with NOACK reads, out of order with
// a pending list): NewGroup refuses it.
func TestGroupRefusesARetryingClient(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", MaxRetries: 3})
	defer rdb.Close()
	_, err := stream.NewGroup(rdb, stream.Config{}, stream.GroupConfig{Group: "g"}, newMemSink())
	if err == nil || !strings.Contains(err.Error(), "MaxRetries") {
		t.Fatalf("NewGroup with a retrying client: %v, want a refusal naming MaxRetries", err)
	}
	ok := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", MaxRetries: -1})
	defer ok.Close()
	if _, err := stream.NewGroup(ok, stream.Config{}, stream.GroupConfig{Group: "g"}, newMemSink()); err != nil {
		t.Fatalf("NewGroup without retries: %v", err)
	}
}

// batchMemSink is memSink that also commits several shards' batches at once, all or
// nothing, as the Postgres sinks do in one transaction.
type batchMemSink struct {
	*memSink
	combined int           // CommitMany calls that applied more than one batch
	most     int           // most batches applied by one CommitMany
	delay    time.Duration // each commit takes this long, as a database's would
}

func (m *batchMemSink) Commit(ctx context.Context, b stream.Batch) error {
	time.Sleep(m.delay)
	return m.memSink.Commit(ctx, b)
}

func (m *batchMemSink) CommitMany(_ context.Context, bs []stream.Batch) error {
	time.Sleep(m.delay)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range bs {
		if m.epoch[b.Stream+b.Group] != b.Epoch {
			return stream.ErrFenced
		}
	}
	if m.transient > 0 {
		m.transient--
		return errors.New("connection reset (simulated)")
	}
	for _, b := range bs {
		for _, e := range b.Entries {
			if m.failBody != "" && strings.Contains(string(e.Body), m.failBody) {
				return &stream.PermanentError{Err: fmt.Errorf("cannot apply %s", e.Body)}
			}
		}
	}
	for _, b := range bs {
		for _, e := range b.Entries {
			m.applied[b.Stream] = append(m.applied[b.Stream], string(e.Body))
		}
		m.dead[b.Stream] = append(m.dead[b.Stream], b.Dead...)
		m.last[b.Stream+b.Group] = b.LastID
	}
	m.commits++
	m.combined++
	m.most = max(m.most, len(bs))
	return nil
}

// TestShardsShareCommits: with a sink that commits several shards at once, the
// workers' ready batches share transactions, and everything is still applied once, in
// each shard's order; a combined commit that fails (transiently, or permanently on one
// poison entry) is redone batch by batch, so the poison entry alone is dead-lettered.
func TestShardsShareCommits(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	const shards, n = 8, 8000
	cfg := stream.Config{Prefix: prefix, Shards: shards}
	p, err := stream.NewProducer(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	produce(t, p, shards, n)
	sink := &batchMemSink{memSink: newMemSink(), delay: 2 * time.Millisecond}
	sink.transient = 3
	sink.failBody = "e004321"
	runGroup(t, rdb, cfg, stream.GroupConfig{Batch: 40, Concurrency: 1}, sink)
	waitFor(t, "all applied", func() bool { a, d := sink.total(); return a+d == n })
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for s := 0; s < shards; s++ {
		var want []string
		for i := s; i < n; i += shards {
			if b := fmt.Sprintf("e%06d", i); b != sink.failBody {
				want = append(want, b)
			}
		}
		if got := sink.applied[cfg.Stream(s)]; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("shard %d: applied %d entries, want %d in order (first got %v)", s, len(got), len(want), head(got))
		}
	}
	if d := sink.dead[cfg.Stream(4321%shards)]; len(d) != 1 || string(d[0].Entry.Body) != sink.failBody {
		t.Errorf("dead letters of the poison entry's shard: %v, want it alone", d)
	}
	if sink.combined == 0 || sink.most < 2 {
		t.Errorf("combined commits %d, most batches in one %d: want shards to share commits", sink.combined, sink.most)
	}
}

// TestLingerGathersShards: under a trickle (no backlog), a group with Linger waits for
// more shards' batches before each combined commit: a few large transactions instead
// of one per read, everything still applied once in order.
func TestLingerGathersShards(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	const shards, rounds = 8, 100
	cfg := stream.Config{Prefix: prefix, Shards: shards}
	p, err := stream.NewProducer(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sink := &batchMemSink{memSink: newMemSink()}
	runGroup(t, rdb, cfg, stream.GroupConfig{Batch: 1000, Linger: 100 * time.Millisecond}, sink)
	start := time.Now()
	for r := 0; r < rounds; r++ {
		var msgs []stream.Message
		for s := 0; s < shards; s++ {
			i := r*shards + s
			msgs = append(msgs, stream.Message{Shard: s, Key: []byte(fmt.Sprintf("k%d", i)), Body: []byte(fmt.Sprintf("e%06d", i))})
		}
		if err := p.Add(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitFor(t, "all applied", func() bool { a, _ := sink.total(); return a == shards*rounds })
	took := time.Since(start)
	inOrder(t, sink.memSink, cfg, shards, shards*rounds)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	// At most one commit per Linger (plus the first ones before every shard is read).
	if limit := int(took/(100*time.Millisecond)) + 10; sink.commits > limit {
		t.Errorf("%d commits in %v, want at most %d: the commits did not linger", sink.commits, took.Round(time.Millisecond), limit)
	}
	if sink.most < shards/2 {
		t.Errorf("at most %d batches in one commit, want at least %d", sink.most, shards/2)
	}
}

// TestTrimWaitsForEveryRequiredGroup: with Config.Groups, a group that has consumed
// everything does not trim the stream while another required group has not been
// created, so that group, started late, still gets every entry. Without Groups the
// first group trims what it acknowledged, and the late one misses it.
func TestTrimWaitsForEveryRequiredGroup(t *testing.T) {
	for _, required := range []bool{true, false} {
		rdb, prefix := testenv.Redis(t)
		cfg := stream.Config{Prefix: prefix, Shards: 1}
		if required {
			cfg.Groups = []string{"early", "late"}
		}
		p, _ := stream.NewProducer(rdb, cfg)
		produce(t, p, 1, 300)
		early := newMemSink()
		_, stopEarly, _ := runGroup(t, rdb, cfg, stream.GroupConfig{Group: "early"}, early)
		waitFor(t, "the early group", func() bool { n, _ := early.total(); return n == 300 })
		xlen := func() int64 {
			n, err := rdb.XLen(context.Background(), cfg.Stream(0)).Result()
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if !required {
			// The control: without required groups the early group trims what it
			// acknowledged (else this test would show nothing).
			waitFor(t, "a trim without required groups", func() bool { return xlen() < 300 })
			stopEarly()
			continue
		}
		time.Sleep(500 * time.Millisecond) // past the workers' trim interval, twice
		stopEarly()
		if n := xlen(); n != 300 {
			t.Fatalf("the stream was trimmed to %d entries before the required group late existed", n)
		}
		late := newMemSink()
		runGroup(t, rdb, cfg, stream.GroupConfig{Group: "late"}, late)
		waitFor(t, "the late group", func() bool { n, _ := late.total(); return n == 300 })
		inOrder(t, late, cfg, 1, 300)
	}
}
