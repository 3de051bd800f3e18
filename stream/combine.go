package stream

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// BatchSink is a Sink that can also commit the batches of several shards of one group
// in one transaction. A group whose sink is one combines the batches its shard workers
// have ready at the same moment: under a steady load each shard's batch is small, and
// one transaction for all of them costs about what one of them costs alone, instead of
// each shard paying its own round trips and commit and queueing behind the others.
type BatchSink interface {
	Sink
	// CommitMany applies every batch of bs (of distinct shards of one group, each with
	// its own epoch and LastID) in one transaction: all or nothing. On any error the
	// runtime commits each batch on its own with Commit, which attributes a fence, a
	// permanent error or a retry to its batch.
	CommitMany(ctx context.Context, bs []Batch) error
}

// Positions names batches' positions ("stream up to id, ..."), for errors.
func Positions(bs []Batch) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = b.Stream + " up to " + b.LastID
	}
	return strings.Join(parts, ", ")
}

// combiner group-commits the batches of a group's shard workers: a worker that finds no
// combined commit in flight (fewer than max when it is working through a backlog)
// leads one, taking every batch queued by then (its own included); the others wait,
// and when a commit ends, the oldest waiting worker leads the next with what has
// queued meanwhile. Under a steady load one commit at a time gathers the most batches
// per transaction (at 5k events/s on two cores: p99 ~90 ms against ~150 ms with two);
// in a backlog, batches are full anyway and two commits overlap Go and Postgres work.
type combiner struct {
	sink   BatchSink
	max    int
	linger time.Duration // wait before a commit not in a backlog

	mu       sync.Mutex
	queue    []*pendingCommit
	inflight int
	commits  int // combined transactions run, for tests

	// beforeWait, when set (tests), runs after a worker queued its batch and before
	// it waits for it: tests widen that window to force the interleavings it allows.
	beforeWait func(Batch)
}

type pendingCommit struct {
	b    Batch
	err  error
	done chan struct{} // closed when committed or failed
	lead chan struct{} // closed when this worker is to lead the next commit
	// promoted: lead is closed (under the combiner's lock)
	promoted bool
}

func newCombiner(sink Sink, n int, linger time.Duration) *combiner {
	bs, ok := sink.(BatchSink)
	if !ok {
		return nil
	}
	return &combiner{sink: bs, max: max(1, n), linger: linger}
}

// commit commits b, in one transaction with whatever other shards have ready, and
// returns that transaction's error (the caller then commits b on its own). backlog:
// the worker's last read came back full.
func (c *combiner) commit(ctx context.Context, b Batch, backlog bool) error {
	p := &pendingCommit{b: b, done: make(chan struct{}), lead: make(chan struct{})}
	limit := 1
	if backlog {
		limit = c.max
	}
	c.mu.Lock()
	c.queue = append(c.queue, p)
	if c.inflight < limit {
		c.inflight++
		c.mu.Unlock()
		c.run(ctx, backlog)
	} else {
		c.mu.Unlock()
		if c.beforeWait != nil {
			c.beforeWait(b)
		}
		select {
		case <-p.lead:
			c.run(ctx, backlog)
		case <-p.done:
			// Another leader (one in a backlog may run beside the one that
			// handed over) took this batch, possibly after the lead was handed to
			// this worker: then both channels are closed, and a worker that
			// took this case without passing the lead on would hold its commit
			// slot forever, and every later commit would wait for it.
			c.mu.Lock()
			promoted := p.promoted
			c.mu.Unlock()
			if promoted {
				c.handoff()
			}
		}
	}
	<-p.done
	return p.err
}

// run leads one combined commit of the queue, then hands the lead to the oldest
// worker still waiting, if any.
func (c *combiner) run(ctx context.Context, backlog bool) {
	if c.linger > 0 && !backlog {
		t := time.NewTimer(c.linger)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	c.mu.Lock()
	take := c.queue
	c.queue = nil
	if len(take) > 0 {
		c.commits++
	}
	c.mu.Unlock()
	var err error
	switch {
	case len(take) == 0: // another leader took them first
	case len(take) == 1:
		err = c.sink.Commit(ctx, take[0].b)
	default:
		bs := make([]Batch, len(take))
		for i, p := range take {
			bs[i] = p.b
		}
		// One order of checkpoint rows for every transaction: no lock cycles.
		slices.SortFunc(bs, func(a, b Batch) int { return cmp.Compare(a.Stream, b.Stream) })
		err = c.sink.CommitMany(ctx, bs)
	}
	for _, p := range take {
		p.err = err
		close(p.done)
	}
	c.handoff()
}

// handoff ends a leader's turn: the oldest worker still waiting, if any, leads next
// (keeping the commit slot); otherwise the slot is freed.
func (c *combiner) handoff() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.queue {
		if !p.promoted {
			p.promoted = true
			close(p.lead)
			return
		}
	}
	c.inflight--
}
