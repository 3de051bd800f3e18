package sourcetest

import (
	"context"
	"fmt"
	"sync"

	"github.com/coattailcapital/coattail/event"
)

// rejection is one call of the collector's reject.
type rejection struct {
	reason, detail string
	raw            []byte
}

func (r rejection) String() string { return fmt.Sprintf("%s (%s): %q", r.reason, r.detail, r.raw) }

// collector is the pipeline of the source under test. It keeps a copy of every event
// whose emit returned nil (so that what it holds is exactly what a checkpoint may
// cover), can fail every emit, and can hold one emit call until released or
// cancelled: a pipeline under backpressure.
type collector struct {
	fail    error // returned by every emit when set (before the run)
	blockAt int   // index of the emit call to hold; -1: none

	blocked chan struct{} // closed when the held call starts
	release chan struct{} // closed to let the held call return

	mu      sync.Mutex
	calls   int
	events  []event.Event
	rejects []rejection
}

func newCollector() *collector {
	return &collector{blockAt: -1, blocked: make(chan struct{}), release: make(chan struct{})}
}

func (c *collector) emit(ctx context.Context, ev *event.Event) error {
	c.mu.Lock()
	if c.fail != nil {
		c.mu.Unlock()
		return c.fail
	}
	n := c.calls
	c.calls++
	c.mu.Unlock()
	if n == c.blockAt {
		close(c.blocked)
		select {
		case <-c.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	c.events = append(c.events, *ev)
	c.mu.Unlock()
	return nil
}

func (c *collector) reject(_ context.Context, reason, detail string, raw []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rejects = append(c.rejects, rejection{reason: reason, detail: detail, raw: append([]byte(nil), raw...)})
	return nil
}

// snapshot returns copies of what was collected, in order.
func (c *collector) snapshot() ([]event.Event, []rejection) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]event.Event(nil), c.events...), append([]rejection(nil), c.rejects...)
}

// hasAll reports whether an event of every key of want was collected.
func (c *collector) hasAll(want map[string]string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.events) < len(want) {
		return false
	}
	seen := make(map[string]bool, len(want))
	for i := range c.events {
		if k := c.events[i].Key(); want[k] != "" {
			seen[k] = true
		}
	}
	return len(seen) == len(want)
}
