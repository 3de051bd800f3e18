package stream

import (
	"context"
	"sync"
	"testing"
	"time"
)

// gateSink commits at once, except a batch of a stream with a gate, which waits for it.
type gateSink struct {
	mu    sync.Mutex
	gates map[string]chan struct{}
}

func (g *gateSink) wait(bs ...Batch) {
	for _, b := range bs {
		g.mu.Lock()
		ch := g.gates[b.Stream]
		g.mu.Unlock()
		if ch != nil {
			<-ch
		}
	}
}

func (g *gateSink) Claim(context.Context, string, string, string) (int64, string, error) {
	return 1, "0-0", nil
}

func (g *gateSink) Commit(_ context.Context, b Batch) error { g.wait(b); return nil }
func (g *gateSink) CommitMany(_ context.Context, bs []Batch) error {
	g.wait(bs...)
	return nil
}

// A worker handed the lead while a backlog leader (who may run beside the first) has
// already committed its batch sees both its channels closed. Whichever it takes, it
// must pass the lead on: a worker that kept the commit slot would make every later
// commit of the group wait forever (a CI run's book stage committed nothing for three
// minutes). The race is forced: worker B is held between queueing and waiting while
// A hands it the lead and D, in a backlog, commits B's batch with its own.
func TestHandedLeadIsPassedOnWhenAnotherLeaderCommitted(t *testing.T) {
	ctx := context.Background()
	// Select picks at random among ready cases: enough rounds to take each often.
	for round := 0; round < 40; round++ {
		gateA := make(chan struct{})
		sink := &gateSink{gates: map[string]chan struct{}{"a": gateA}}
		c := newCombiner(sink, 2, 0)
		holdB, releaseB := make(chan struct{}), make(chan struct{})
		c.beforeWait = func(b Batch) {
			if b.Stream == "b" {
				close(holdB)
				<-releaseB
			}
		}
		var wg sync.WaitGroup
		commit := func(stream string, backlog bool) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := c.commit(ctx, Batch{Stream: stream}, backlog); err != nil {
					t.Errorf("commit %s: %v", stream, err)
				}
			}()
		}
		commit("a", false) // leads; its commit waits for gateA
		waitUntil(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.inflight == 1 && len(c.queue) == 0 })
		commit("b", false) // queues behind A, held before it waits
		<-holdB
		close(gateA) // A commits and hands the lead to B
		waitUntil(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.queue) == 1 && c.queue[0].promoted })
		commit("d", true) // a backlog leader beside B's slot: takes B's batch too
		waitUntil(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.queue) == 0 && c.inflight == 1 })
		close(releaseB)
		wg.Wait()
		c.mu.Lock()
		inflight := c.inflight
		c.mu.Unlock()
		if inflight != 0 {
			t.Fatalf("round %d: %d commit slots still held after every worker returned", round, inflight)
		}
		// And the group still commits.
		done := make(chan error, 1)
		go func() { done <- c.commit(ctx, Batch{Stream: "e"}, false) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: a later commit waited forever", round)
		}
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
