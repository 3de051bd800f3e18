package binance

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/wstest"
)

// The shared data set lives beside the repository (shared/ next to the repository
// root), read in place.
const (
	spotCapture    = "../../../shared/data/binance/spot-ws-capture.jsonl.zst"
	futuresCapture = "../../../shared/data/binance/futures-ws-capture.jsonl.zst"
)

// testNow is the clock of the quality rules in tests: after every captured trade.
func testNow() time.Time { return time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC) }

// lines is what c recorded, as interchange lines.
func lines(c *wstest.Collector) []string {
	evs, _ := c.Snapshot()
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = string(event.AppendJSON(nil, ev))
	}
	return out
}

// testConfig is a configuration for the test server: tiny backoff, a private HTTP
// transport (closed by the test) and a fixed clock.
func testConfig(t *testing.T, srv *wstest.Server, symbols ...string) Config {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return Config{
		BaseURL:    srv.URL(),
		RESTURL:    srv.HTTPURL(),
		Symbols:    symbols,
		BackoffMin: time.Millisecond,
		BackoffMax: 5 * time.Millisecond,
		HTTPClient: &http.Client{Transport: tr, Timeout: 5 * time.Second},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:        testNow,
	}
}

// capturedTrade is an aggTrade frame of a capture, with their symbol, id and
// payload.
type capturedTrade struct {
	raw     []byte
	symbol  string
	id      int64
	payload map[string]json.RawMessage
}

func aggTradeFrames(t *testing.T, frames [][]byte) []capturedTrade {
	t.Helper()
	var out []capturedTrade
	for _, f := range frames {
		var env struct {
			Stream string                     `json:"stream"`
			Data   map[string]json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(f, &env); err != nil {
			t.Fatalf("capture frame: %v", err)
		}
		if string(env.Data["e"]) != `"aggTrade"` {
			continue
		}
		var sym string
		var id int64
		if err := json.Unmarshal(env.Data["s"], &sym); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(env.Data["a"], &id); err != nil {
			t.Fatal(err)
		}
		out = append(out, capturedTrade{raw: f, symbol: sym, id: id, payload: env.Data})
	}
	return out
}

func raws(fs []capturedTrade) [][]byte {
	out := make([][]byte, len(fs))
	for i, f := range fs {
		out[i] = f.raw
	}
	return out
}

// restAggTrades fakes /api/v3/aggTrades from capture frames: it serves the trades of
// the frames before index horizon (what the exchange "has" so far), in the REST
// shape (the stream payload without e, E and s).
type restAggTrades struct {
	t        *testing.T
	frames   []capturedTrade
	horizon  atomic.Int64
	requests atomic.Int64
	status   int // when non-zero, every request fails with it
	path     string
}

func (h *restAggTrades) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	want := h.path
	if want == "" {
		want = "/api/v3/aggTrades"
	}
	if r.URL.Path != want {
		h.t.Errorf("REST request for %s, want %s", r.URL.Path, want)
		http.NotFound(w, r)
		return
	}
	if h.status != 0 {
		http.Error(w, `{"code":-1003,"msg":"Too many requests"}`, h.status)
		return
	}
	q := r.URL.Query()
	sym := q.Get("symbol")
	from, err1 := strconv.ParseInt(q.Get("fromId"), 10, 64)
	limit, err2 := strconv.Atoi(q.Get("limit"))
	if sym == "" || err1 != nil || err2 != nil || limit < 1 || limit > 1000 {
		h.t.Errorf("bad REST query %q", r.URL.RawQuery)
		http.Error(w, "bad query", http.StatusBadRequest)
		return
	}
	// Capture order is id order within a symbol.
	var items []map[string]json.RawMessage
	for _, f := range h.frames[:h.horizon.Load()] {
		if f.symbol != sym || f.id < from {
			continue
		}
		item := map[string]json.RawMessage{}
		for k, v := range f.payload {
			if k != "e" && k != "E" && k != "s" {
				item[k] = v
			}
		}
		items = append(items, item)
	}
	if len(items) > limit {
		items = items[:limit]
	}
	if items == nil {
		items = []map[string]json.RawMessage{}
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(items); err != nil {
		h.t.Errorf("encode REST response: %v", err)
	}
}

// idsBySymbol groups the emitted events' ids by symbol, in emission order.
func idsBySymbol(evs []*event.Event) map[string][]string {
	out := map[string][]string{}
	for _, ev := range evs {
		out[ev.Symbol] = append(out[ev.Symbol], ev.ID)
	}
	return out
}
