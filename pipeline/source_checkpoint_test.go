package pipeline_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/stream"
	"github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"
)

// counting emits n inputs as fast as the pipeline takes them (every 50th a
// rejection), holding at the half until resume is closed; its checkpoint is the
// number of emit and reject calls that have returned, as the contract allows.
type counting struct {
	n      int
	resume <-chan struct{}
	// failCheckpoints makes the first Checkpoint calls fail.
	failCheckpoints atomic.Int64
	done            atomic.Int64
}

func (s *counting) Name() string { return "counting" }

func (s *counting) Checkpoint() ([]byte, error) {
	if s.failCheckpoints.Add(-1) >= 0 {
		return nil, errors.New("position unknown yet")
	}
	return strconv.AppendInt(nil, s.done.Load(), 10), nil
}

func (s *counting) Run(ctx context.Context, emit ingest.Emit, reject ingest.Reject) error {
	ts := time.Now().UTC().Add(-time.Hour)
	for i := range s.n {
		if i == s.n/2 && s.resume != nil {
			select {
			case <-s.resume:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		var err error
		if i%50 == 49 {
			err = reject(ctx, "bad_frame", "scripted", []byte("frame "+strconv.Itoa(i)))
		} else {
			ev := event.Event{Kind: event.KindPrice, Src: "hyperliquid", TS: ts.Add(time.Duration(i) * time.Millisecond),
				Symbol: "ETH", Price: decimal.NewFromInt(2000)}
			err = emit(ctx, &ev)
		}
		if err != nil {
			return err
		}
		s.done.Add(1)
	}
	<-ctx.Done()
	return ctx.Err()
}

var _ ingest.Checkpointer = (*counting)(nil)

// inStreams counts what reached Redis: the entries of every shard stream and of the
// dead-letter stream.
func inStreams(ctx context.Context, rdb *redis.Client, scfg stream.Config) (int64, error) {
	pipe := rdb.Pipeline()
	var cmds []*redis.IntCmd
	for i := range 8 { // stream.Config's default shard count
		cmds = append(cmds, pipe.XLen(ctx, scfg.Stream(i)))
	}
	cmds = append(cmds, pipe.XLen(ctx, scfg.DLQ()))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, err
	}
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, nil
}

// saved is one call of the save function: the checkpoint and what the streams held.
type saved struct{ pos, inStreams int64 }

// recorder is a SaveCheckpoint that counts the streams at every save.
type recorder struct {
	t      *testing.T
	rdb    *redis.Client
	scfg   stream.Config
	failN  atomic.Int64 // the first saves fail
	mu     sync.Mutex
	saves  []saved
	first  chan struct{}
	closed bool
}

func newRecorder(t *testing.T, rdb *redis.Client, scfg stream.Config) *recorder {
	return &recorder{t: t, rdb: rdb, scfg: scfg, first: make(chan struct{})}
}

func (r *recorder) save(ctx context.Context, source string, pos []byte) error {
	if source != "counting" {
		r.t.Errorf("checkpoint saved for source %q", source)
	}
	if r.failN.Add(-1) >= 0 {
		return errors.New("postgres is away")
	}
	n, err := strconv.ParseInt(string(pos), 10, 64)
	if err != nil {
		r.t.Errorf("checkpoint %q: %v", pos, err)
	}
	have, err := inStreams(ctx, r.rdb, r.scfg)
	if err != nil {
		r.t.Errorf("count the streams: %v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.saves = append(r.saves, saved{n, have})
	if !r.closed {
		r.closed = true
		close(r.first)
	}
	return nil
}

func (r *recorder) snapshot() []saved {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]saved(nil), r.saves...)
}

func (r *recorder) last() int64 {
	s := r.snapshot()
	if len(s) == 0 {
		return -1
	}
	return s[len(s)-1].pos
}

// Checkpoints go through the same queue as the events: when one is saved, every
// event it covers is in the streams. The source outruns Redis by far (the queue
// holds thousands of events while checkpoints are taken every millisecond), so a
// checkpoint saved as soon as it is taken would cover events still queued.
func TestRunSourceSavesCheckpointsBehindTheirEvents(t *testing.T) {
	st := testenv.Store(t)
	rdb, prefix := testenv.Redis(t)
	scfg := stream.Config{Prefix: prefix}
	prod, err := stream.NewProducer(rdb, scfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(t, rdb, scfg)
	const n = 20000
	src := &counting{n: n, resume: rec.first}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- pipeline.RunSourceWith(ctx, src, pipeline.NewIngress(prod, rdb, st, nil, "counting"), pipeline.SourceConfig{
			Save: rec.save, CheckpointEvery: time.Millisecond,
		})
	}()
	if !testenv.WaitFor(ctx, func() bool { return rec.last() == n }) {
		t.Fatalf("the checkpoint of all %d inputs was never saved; saves %v", n, rec.snapshot())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunSourceWith: %v", err)
	}
	saves := rec.snapshot()
	for _, s := range saves {
		if s.pos > s.inStreams {
			t.Errorf("checkpoint %d saved while the streams held %d inputs", s.pos, s.inStreams)
		}
	}
	if len(saves) < 2 || saves[0].pos >= n {
		t.Errorf("saves %v: want one taken mid-run (the source waits for it) and the final one", saves)
	}
	if got, err := inStreams(context.Background(), rdb, scfg); err != nil || got != n {
		t.Errorf("streams hold %d inputs (%v), want %d", got, err, n)
	}
}

// runCounting runs src into fresh streams with cfg (Save set to a recorder) until
// stop returns true, then cancels and returns the recorder and the streams' count.
func runCounting(t *testing.T, src *counting, rec func(*recorder), cfg pipeline.SourceConfig, stop func(*recorder) bool) (*recorder, int64) {
	t.Helper()
	st := testenv.Store(t)
	rdb, prefix := testenv.Redis(t)
	scfg := stream.Config{Prefix: prefix}
	prod, err := stream.NewProducer(rdb, scfg)
	if err != nil {
		t.Fatal(err)
	}
	r := newRecorder(t, rdb, scfg)
	if rec != nil {
		rec(r)
	}
	cfg.Save = r.save
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- pipeline.RunSourceWith(ctx, src, pipeline.NewIngress(prod, rdb, st, nil, "counting"), cfg)
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	if !testenv.WaitFor(wctx, func() bool { return stop(r) }) {
		t.Fatalf("gave up: the source emitted %d of %d, saves %v", src.done.Load(), src.n, r.snapshot())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunSourceWith: %v", err)
	}
	n, err := inStreams(context.Background(), rdb, scfg)
	if err != nil {
		t.Fatal(err)
	}
	return r, n
}

// A failing Checkpoint or save is skipped: the run goes on and a later checkpoint
// is saved.
func TestRunSourceSurvivesFailedCheckpoints(t *testing.T) {
	const n = 300
	src := &counting{n: n}
	src.failCheckpoints.Store(3)
	rec, have := runCounting(t, src, func(r *recorder) { r.failN.Store(2) },
		pipeline.SourceConfig{CheckpointEvery: time.Millisecond},
		func(r *recorder) bool { return r.last() == n })
	if have != n {
		t.Errorf("streams hold %d inputs, want %d", have, n)
	}
	for _, s := range rec.snapshot() {
		if s.pos > s.inStreams {
			t.Errorf("checkpoint %d saved while the streams held %d inputs", s.pos, s.inStreams)
		}
	}
}

// The final checkpoint is taken once the source's Run has returned, and saved on the
// way out although ctx is done.
func TestRunSourceSavesTheFinalCheckpointOnShutdown(t *testing.T) {
	const n = 300
	src := &counting{n: n}
	rec, have := runCounting(t, src, nil,
		pipeline.SourceConfig{CheckpointEvery: time.Hour}, // no periodic checkpoint in the test's time
		func(*recorder) bool { return src.done.Load() == n })
	if s := rec.snapshot(); len(s) != 1 || s[0].pos != n || s[0].inStreams != n {
		t.Errorf("saves %v, want the final checkpoint %d with %d inputs in the streams", s, n, n)
	}
	if have != n {
		t.Errorf("streams hold %d inputs, want %d", have, n)
	}
}

// A source that is not a Checkpointer runs as before: nothing is saved.
func TestRunSourceWithoutCheckpointer(t *testing.T) {
	st := testenv.Store(t)
	rdb, prefix := testenv.Redis(t)
	scfg := stream.Config{Prefix: prefix}
	prod, err := stream.NewProducer(rdb, scfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Now().UTC().Add(-time.Minute)
	src := scripted{evs: []event.Event{
		{Kind: event.KindPrice, Src: "hyperliquid", TS: ts, Symbol: "ETH", Price: decimal.RequireFromString("2000")},
	}}
	var saves atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- pipeline.RunSourceWith(ctx, src, pipeline.NewIngress(prod, rdb, st, nil, "scripted"), pipeline.SourceConfig{
			Save:            func(context.Context, string, []byte) error { saves.Add(1); return nil },
			CheckpointEvery: time.Millisecond,
		})
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	if !testenv.WaitFor(wctx, func() bool { n, err := inStreams(wctx, rdb, scfg); return err == nil && n == 2 }) {
		t.Fatal("the event and the rejected frame never reached the streams")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunSourceWith: %v", err)
	}
	if n := saves.Load(); n != 0 {
		t.Errorf("%d checkpoints saved for a source without any", n)
	}
}
