package hyperliquid

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/internal/testenv"
)

// cassetteDir holds recorded responses of the real info API (VCR YAML, see
// shared/data/SOURCES.md), read in place beside the repository.
const cassetteDir = "../../../shared/data/hyperliquid/info-api-cassettes"

// fixedNow is the fake clock of the tests: later than every recorded or written
// event time.
func fixedNow() time.Time { return time.Date(2026, 2, 4, 10, 0, 0, 0, time.UTC) }

// cassette returns the response body recorded in a cassette, or skips the test when
// the recorded data is not there.
func cassette(tb testing.TB, name string) []byte {
	tb.Helper()
	path := filepath.Join(cassetteDir, name)
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("recorded Hyperliquid responses not present (%v): they live in shared/data beside the repository", err)
	}
	return []byte(testenv.CassetteBody(tb, path))
}

// rejection is one input handed to reject.
type rejection struct {
	reason, detail string
	raw            []byte
}

// collector is the pipeline of the tests: it keeps what the source emits and
// rejects, and lets a test wait for a condition on it.
type collector struct {
	mu      sync.Mutex
	events  []event.Event
	rejects []rejection
	changed chan struct{}
	fail    error // returned by emit when set
}

func newCollector() *collector { return &collector{changed: make(chan struct{}, 1)} }

func (c *collector) emit(_ context.Context, ev *event.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	c.events = append(c.events, *ev)
	c.signal()
	return nil
}

func (c *collector) reject(_ context.Context, reason, detail string, raw []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rejects = append(c.rejects, rejection{reason: reason, detail: detail, raw: append([]byte(nil), raw...)})
	c.signal()
	return nil
}

func (c *collector) signal() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// snapshot returns copies of what was collected.
func (c *collector) snapshot() ([]event.Event, []rejection) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]event.Event(nil), c.events...), append([]rejection(nil), c.rejects...)
}

// waitFor waits until cond holds for what was collected. The deadline only turns a
// hang into a failure; no test depends on timing.
func (c *collector) waitFor(t *testing.T, what string, cond func(evs []event.Event, rejs []rejection) bool) {
	t.Helper()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for {
		evs, rejs := c.snapshot()
		if cond(evs, rejs) {
			return
		}
		select {
		case <-c.changed:
		case <-deadline.C:
			t.Fatalf("gave up waiting for %s: have %d events, %d rejections %v", what, len(evs), len(rejs), rejs)
		}
	}
}

// ofKind returns the events of kind k.
func ofKind(evs []event.Event, k event.Kind) []event.Event {
	var out []event.Event
	for _, ev := range evs {
		if ev.Kind == k {
			out = append(out, ev)
		}
	}
	return out
}

// infoReq is a request the fake info API received.
type infoReq struct {
	Type      string `json:"type"`
	User      string `json:"user"`
	StartTime *int64 `json:"startTime"`
	EndTime   *int64 `json:"endTime"`
}

// fakeInfo is an info API on httptest: it answers each request type with a
// handler, and can answer 429 a given number of times first.
type fakeInfo struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	handlers map[string]func(infoReq) []byte
	tooMany  map[string]int // type → 429 answers still to give
	requests []infoReq
}

func newFakeInfo(t *testing.T) *fakeInfo {
	f := &fakeInfo{t: t, handlers: map[string]func(infoReq) []byte{}, tooMany: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// answer serves body for every request of type typ.
func (f *fakeInfo) answer(typ string, body []byte) {
	f.handle(typ, func(infoReq) []byte { return body })
}

func (f *fakeInfo) handle(typ string, h func(infoReq) []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[typ] = h
}

func (f *fakeInfo) serve(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "want a JSON POST", http.StatusBadRequest)
		return
	}
	var req infoReq
	if err := json.Unmarshal(b, &req); err != nil {
		http.Error(w, "bad JSON", http.StatusUnprocessableEntity)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	h := f.handlers[req.Type]
	limited := f.tooMany[req.Type] > 0
	if limited {
		f.tooMany[req.Type]--
	}
	f.mu.Unlock()
	switch {
	case limited:
		http.Error(w, "rate limited", http.StatusTooManyRequests)
	case h == nil:
		http.Error(w, "no handler for "+req.Type, http.StatusUnprocessableEntity)
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(h(req))
	}
}

// requestsOf returns the requests of type typ received so far.
func (f *fakeInfo) requestsOf(typ string) []infoReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []infoReq
	for _, r := range f.requests {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// testConfig is a configuration for tests: fake clock, tiny backoffs, a large
// weight budget (the limiter has its own tests), nothing subscribed.
func testConfig(infoURL string) Config {
	return Config{
		WSURL:           "ws://127.0.0.1:1/ws",
		InfoURL:         infoURL,
		Now:             fixedNow,
		MinBackoff:      time.Millisecond,
		MaxBackoff:      5 * time.Millisecond,
		WeightPerMinute: 1 << 30,
		PollInterval:    time.Hour,
	}
}

// run starts src.Run and returns a stop function that cancels it and returns what
// Run returned.
func run(t *testing.T, src *Source, c *collector) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, c.emit, c.reject) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(15 * time.Second):
				t.Fatal("Run did not return after cancellation")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}
