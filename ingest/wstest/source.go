package wstest

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest"
)

// Rejected is one call of a Collector's Reject.
type Rejected struct {
	Reason, Detail string
	Raw            []byte
}

// Collector is the pipeline of a source under test: it records what the source emits
// and rejects. The zero value is ready to use; it is safe for concurrent use.
type Collector struct {
	// EmitErr, when set before the source runs, is what Emit returns instead of
	// recording the event: a pipeline that cannot take events any more.
	EmitErr error

	mu      sync.Mutex
	events  []*event.Event
	rejects []Rejected
}

// Emit records ev (an ingest.Emit).
func (c *Collector) Emit(_ context.Context, ev *event.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.EmitErr != nil {
		return c.EmitErr
	}
	c.events = append(c.events, ev)
	return nil
}

// Reject records a rejection (an ingest.Reject).
func (c *Collector) Reject(_ context.Context, reason, detail string, raw []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rejects = append(c.rejects, Rejected{Reason: reason, Detail: detail, Raw: raw})
	return nil
}

// Snapshot returns copies of the events and rejections recorded so far, in order.
func (c *Collector) Snapshot() ([]*event.Event, []Rejected) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*event.Event(nil), c.events...), append([]Rejected(nil), c.rejects...)
}

// Runner is what Start runs: an ingest source's Run.
type Runner interface {
	Run(ctx context.Context, emit ingest.Emit, reject ingest.Reject) error
}

// Running is a Run in progress, started by Start.
type Running struct {
	cancel context.CancelFunc
	done   chan error
}

// Start runs src in the background with c as its pipeline. The run is stopped when
// the test ends, if the test did not Stop it before.
func Start(tb testing.TB, src Runner, c *Collector) *Running {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- src.Run(ctx, c.Emit, c.Reject) }()
	tb.Cleanup(func() { r.Stop(tb) })
	return r
}

// Stop cancels the run and returns what Run returned; a second call returns nil. It
// fails the test when Run does not return within 10 s of the cancellation.
func (r *Running) Stop(tb testing.TB) error {
	tb.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if !ok {
			return nil
		}
		close(r.done)
		return err
	case <-time.After(10 * time.Second):
		tb.Fatal("Run did not return after cancellation")
		return nil
	}
}

// WaitFor polls cond until it holds, failing the test after 10 s with what it waited
// for.
func WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// CheckGoroutines fails the test, with every goroutine's stack, when more goroutines
// run than before (a count taken with runtime.NumGoroutine before the source started),
// after giving exiting ones 5 s to finish.
func CheckGoroutines(tb testing.TB, before int) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			tb.Fatalf("goroutines: %d before, %d after the source stopped:\n%s", before, runtime.NumGoroutine(), buf[:n])
		}
		time.Sleep(5 * time.Millisecond)
	}
}
