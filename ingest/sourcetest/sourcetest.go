// Package sourcetest is the contract suite every live ingest source must pass. A
// source's package implements a Harness — its fake venue playing a known script, and
// the events the script must turn into — in a contract_test.go, and calls Run.
//
// What Run checks, each in its own subtest with a fresh venue and source:
//
//   - Normalise: the first part of the script comes out as exactly the expected
//     events (compared by key and canonical interchange line), each already
//     normalised (event.Validate changes nothing and accepts it); every bad input
//     the script injects is rejected with a reason, and the frames after it are
//     still read; no second connection is opened.
//   - Reconnect: the venue drops the connection after the first part; the source
//     connects again and the union of everything emitted is exactly the events of
//     both parts: no event twice (by event.Key), none missing. The reconnect comes
//     no sooner than the smallest wait the source's backoff can draw after a
//     connection that delivered (Setup.MinReconnectWait).
//   - Resume (sources that are an ingest.Checkpointer): the pipeline holds one emit
//     call in the middle of the first part; the checkpoint taken meanwhile is JSON;
//     a new source started from it (Options.Resume) against a fresh venue playing
//     the script again emits exactly the events the first run's emit calls had not
//     returned: the checkpoint covers every returned emit and nothing more.
//   - PipelineFailure: when emit fails, Run stops by itself and returns that error.
//   - Shutdown: cancelling the context while an emit call is held, or right after
//     the connection was dropped, makes Run return nil; in every subtest, once Run
//     has returned and the venue is closed, no goroutine is left behind.
//
// Timing: nothing is asserted about how long anything takes except as a lower
// bound, which cannot flake (a timer never fires early). The reconnect delay is
// checked against its floor only; its ceiling and the growth of the wait over
// consecutive failures are the backoff package's own tests (ingest/backoff), which
// every source uses. Waits for the source only turn a hang into a failure after
// 10 s.
package sourcetest

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest"
	"github.com/coattailcapital/coattail/ingest/wstest"
)

// Options says how a Harness starts its source.
type Options struct {
	// Resume is a checkpoint (from ingest.Checkpointer) the source must start from;
	// nil: none.
	Resume []byte
}

// Venue is a harness's fake exchange, playing its script to one source.
type Venue interface {
	// Accepted returns when each connection of the source was accepted, in order.
	Accepted() []time.Time
	// Drop cuts the connection in use without a close handshake, as a network
	// failure would, and returns when it did. The venue plays the second part of
	// its script from the next connection on.
	Drop() time.Time
	// Close ends every connection and shuts the venue down.
	Close()
}

// Setup is a venue and a fresh source pointed at it, made by Harness.Start.
type Setup struct {
	// Source is the source under test.
	Source ingest.Source
	// Venue is its fake exchange, playing the first part of the script on the first
	// connection and the second part on every later one.
	Venue Venue
	// First are the events the first part must come out as, in the order the source
	// emits them. The part's last frame must carry a new event, so that once all of
	// First is out every frame of the part was handled.
	First []event.Event
	// Rest are the events that come out of the second part only (what the first
	// part carries too is the source's to drop), in any order. Its last frame
	// must carry a new event, as for First. Required for the Reconnect test.
	Rest []event.Event
	// BadFrames is how many inputs of the first part must be rejected. They must
	// come before the part's last frame, and not be resent by the second part.
	BadFrames int
	// Group is how many consecutive events the source emits for one step of its
	// position (2 for a source that turns a trade into two fills and checkpoints
	// per trade); the Resume test holds the pipeline only between groups.
	// Defaults to 1.
	Group int
	// MinReconnectWait is the shortest wait the source's backoff can draw after a
	// connection that delivered: its minimum with full jitter, half of it with equal
	// jitter.
	MinReconnectWait time.Duration
	// Rules are the rules (the clock) the source validates with.
	Rules event.Rules
}

// Harness makes, for one test, a fake venue and a source pointed at it.
type Harness interface {
	// Start starts a fresh venue (closed by t.Cleanup too, Close being idempotent)
	// and a new source configured for it, with opts.Resume as its checkpoint.
	Start(t *testing.T, opts Options) Setup
}

// Run runs the contract suite against h, as subtests of t.
func Run(t *testing.T, h Harness) {
	t.Run("Normalise", func(t *testing.T) { testNormalise(t, h) })
	t.Run("Reconnect", func(t *testing.T) { testReconnect(t, h) })
	t.Run("Resume", func(t *testing.T) { testResume(t, h) })
	t.Run("PipelineFailure", func(t *testing.T) { testPipelineFailure(t, h) })
	t.Run("Shutdown", func(t *testing.T) {
		t.Run("BlockedEmit", func(t *testing.T) { testShutdownBlocked(t, h) })
		t.Run("AfterDrop", func(t *testing.T) { testShutdownAfterDrop(t, h) })
	})
}

// wait bounds every wait for the source.
const wait = 10 * time.Second

// running is one Run of a source.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func start(src ingest.Source, c *collector) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- src.Run(ctx, c.emit, c.reject) }()
	return r
}

// stop cancels the run and returns what Run returned, failing the test when Run does
// not return.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.result(t)
}

// result waits for Run to return by itself.
func (r *running) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(wait):
		t.Fatalf("Run did not return within %v", wait)
		return nil
	}
}

// begin starts a venue and its source, and records the goroutines before them.
func begin(t *testing.T, h Harness, opts Options) (Setup, int) {
	t.Helper()
	before := runtime.NumGoroutine()
	s := h.Start(t, opts)
	t.Cleanup(s.Venue.Close)
	if s.Group == 0 {
		s.Group = 1
	}
	if len(s.First) == 0 {
		t.Fatal("harness: no events in the first part")
	}
	return s, before
}

// end closes the venue and checks that nothing of the run is left.
func end(t *testing.T, s Setup, before int) {
	t.Helper()
	s.Venue.Close()
	wstest.CheckGoroutines(t, before)
}

// waitAll waits until c holds an event of every key of want, failing the test with
// the missing ones after wait.
func waitAll(t *testing.T, what string, c *collector, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !c.hasAll(want) {
		if time.Now().After(deadline) {
			evs, rejs := c.snapshot()
			have := make(map[string]bool, len(evs))
			for i := range evs {
				have[evs[i].Key()] = true
			}
			var missing []string
			for k, line := range want {
				if !have[k] {
					missing = append(missing, line)
				}
			}
			t.Fatalf("timed out after %v waiting for %s: %d events so far, rejections %v; missing:\n%s",
				wait, what, len(evs), rejs, strings.Join(missing, "\n"))
		}
		time.Sleep(time.Millisecond)
	}
}

// keyed maps events to their canonical lines by key; a harness listing one key twice
// is a broken harness.
func keyed(t *testing.T, evs []event.Event) map[string]string {
	t.Helper()
	out := make(map[string]string, len(evs))
	for i := range evs {
		k := evs[i].Key()
		if _, dup := out[k]; dup {
			t.Fatalf("harness: expected event listed twice: %s", event.AppendJSON(nil, &evs[i]))
		}
		out[k] = string(event.AppendJSON(nil, &evs[i]))
	}
	return out
}

// checkEvents checks that got is exactly want: every event normalised and valid,
// none twice, none missing, none unexpected.
func checkEvents(t *testing.T, got []event.Event, want map[string]string, r event.Rules) {
	t.Helper()
	seen := make(map[string]bool, len(got))
	for i := range got {
		line := string(event.AppendJSON(nil, &got[i]))
		v := got[i]
		if err := v.Validate(r); err != nil {
			t.Errorf("emitted event fails validation (%v): %s", err, line)
		} else if after := string(event.AppendJSON(nil, &v)); after != line {
			t.Errorf("emitted event not normalised:\n got %s\nwant %s", line, after)
		}
		k := got[i].Key()
		switch w, ok := want[k]; {
		case !ok:
			t.Errorf("unexpected event: %s", line)
		case seen[k]:
			t.Errorf("event emitted twice: %s", line)
		case w != line:
			t.Errorf("event\n got %s\nwant %s", line, w)
		}
		seen[k] = true
	}
	for k, w := range want {
		if !seen[k] {
			t.Errorf("event missing: %s", w)
		}
	}
}

// checkRejects checks that n inputs were rejected, each with a reason and a detail.
func checkRejects(t *testing.T, rejs []rejection, n int) {
	t.Helper()
	if len(rejs) != n {
		t.Errorf("%d inputs rejected, want %d: %v", len(rejs), n, rejs)
	}
	for _, r := range rejs {
		if strings.TrimSpace(r.reason) == "" || strings.TrimSpace(r.detail) == "" {
			t.Errorf("rejection without a reason or a detail: %v", r)
		}
	}
}

func testNormalise(t *testing.T, h Harness) {
	s, before := begin(t, h, Options{})
	want := keyed(t, s.First)
	c := newCollector()
	run := start(s.Source, c)
	waitAll(t, "the events of the first part", c, want)
	if err := run.stop(t); err != nil {
		t.Errorf("Run after cancellation: %v, want nil", err)
	}
	end(t, s, before)

	evs, rejs := c.snapshot()
	checkEvents(t, evs, want, s.Rules)
	checkRejects(t, rejs, s.BadFrames)
	if n := len(s.Venue.Accepted()); n != 1 {
		t.Errorf("%d connections, want 1: nothing was dropped", n)
	}
}

func testReconnect(t *testing.T, h Harness) {
	s, before := begin(t, h, Options{})
	if len(s.Rest) == 0 {
		t.Fatal("harness: no events in the second part")
	}
	first := keyed(t, s.First)
	all := keyed(t, append(append([]event.Event(nil), s.First...), s.Rest...))
	c := newCollector()
	run := start(s.Source, c)
	waitAll(t, "the events of the first part", c, first)
	dropped := s.Venue.Drop()
	waitAll(t, "the events of both parts", c, all)
	if err := run.stop(t); err != nil {
		t.Errorf("Run after cancellation: %v, want nil", err)
	}
	end(t, s, before)

	evs, rejs := c.snapshot()
	checkEvents(t, evs, all, s.Rules)
	checkRejects(t, rejs, s.BadFrames)
	acc := s.Venue.Accepted()
	if len(acc) < 2 {
		t.Fatalf("%d connections, want a second one after the drop", len(acc))
	}
	if gap := acc[1].Sub(dropped); gap < s.MinReconnectWait {
		t.Errorf("reconnected %v after the drop, sooner than the backoff allows (%v)", gap, s.MinReconnectWait)
	}
}

func testResume(t *testing.T, h Harness) {
	s, before := begin(t, h, Options{})
	cp, ok := s.Source.(ingest.Checkpointer)
	if !ok {
		s.Venue.Close()
		t.Skipf("%s is not an ingest.Checkpointer", s.Source.Name())
	}
	initial, err := cp.Checkpoint()
	if err != nil || !json.Valid(initial) {
		t.Fatalf("Checkpoint before Run: %q, %v; want JSON", initial, err)
	}
	// Hold the emit call that starts a group in the middle of the first part.
	k := len(s.First) / 2 / s.Group * s.Group
	if k == 0 || k >= len(s.First) {
		t.Fatalf("harness: %d events in groups of %d are too few to stop in the middle", len(s.First), s.Group)
	}
	ca := newCollector()
	ca.blockAt = k
	run := start(s.Source, ca)
	select {
	case <-ca.blocked:
	case <-time.After(wait):
		t.Fatalf("emit call %d never came", k)
	}
	pos, err := cp.Checkpoint()
	if err != nil || !json.Valid(pos) {
		t.Fatalf("Checkpoint: %q, %v; want JSON", pos, err)
	}
	// A pipeline that stays blocked until shutdown: the held event is never
	// delivered, so the checkpoint must not cover it.
	if err := run.stop(t); err != nil {
		t.Errorf("Run cancelled during a held emit: %v, want nil", err)
	}
	end(t, s, before)
	gotA, _ := ca.snapshot()
	checkEvents(t, gotA, keyed(t, s.First[:k]), s.Rules)

	s2, before := begin(t, h, Options{Resume: pos})
	rest := keyed(t, s.First[k:])
	cb := newCollector()
	run = start(s2.Source, cb)
	waitAll(t, "the events after the checkpoint", cb, rest)
	if err := run.stop(t); err != nil {
		t.Errorf("Run after cancellation: %v, want nil", err)
	}
	end(t, s2, before)
	gotB, _ := cb.snapshot()
	t.Logf("checkpoint after %d of %d events: %s", k, len(s.First), pos)
	checkEvents(t, gotB, rest, s.Rules)
}

// errPipeline is the failure of the pipeline in PipelineFailure.
var errPipeline = errors.New("sourcetest: the pipeline takes no more events")

func testPipelineFailure(t *testing.T, h Harness) {
	s, before := begin(t, h, Options{})
	c := newCollector()
	c.fail = errPipeline
	run := start(s.Source, c)
	err := run.result(t) // no cancellation: Run must stop by itself
	run.cancel()
	end(t, s, before)
	if !errors.Is(err, errPipeline) {
		t.Errorf("Run returned %v, want the pipeline's error", err)
	}
}

func testShutdownBlocked(t *testing.T, h Harness) {
	s, before := begin(t, h, Options{})
	c := newCollector()
	c.blockAt = 0
	run := start(s.Source, c)
	select {
	case <-c.blocked:
	case <-time.After(wait):
		t.Fatal("the first emit call never came")
	}
	if err := run.stop(t); err != nil {
		t.Errorf("Run cancelled during a held emit: %v, want nil", err)
	}
	end(t, s, before)
}

func testShutdownAfterDrop(t *testing.T, h Harness) {
	s, before := begin(t, h, Options{})
	want := keyed(t, s.First)
	c := newCollector()
	run := start(s.Source, c)
	waitAll(t, "the events of the first part", c, want)
	s.Venue.Drop()
	if err := run.stop(t); err != nil {
		t.Errorf("Run cancelled while reconnecting: %v, want nil", err)
	}
	end(t, s, before)
}
