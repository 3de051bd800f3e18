package binance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest"
	"github.com/coattailcapital/coattail/ingest/wstest"
	"github.com/shopspring/decimal"
)

// futuresNames maps the futures capture's symbols to BASE-QUOTE.
func futuresNames() map[string]string {
	return map[string]string{
		"CTKUSDT": "CTK-USDT", "AKROUSDT": "AKRO-USDT", "SUSHIUSDT": "SUSHI-USDT", "KEEPUSDT": "KEEP-USDT",
	}
}

// wantLine is the canonical interchange line of an aggTrade frame, built
// independently of the decoder under test.
func wantLine(t *testing.T, f capturedTrade, name string) string {
	t.Helper()
	var (
		p, q  string
		ms    int64
		maker bool
	)
	for k, dst := range map[string]any{"p": &p, "q": &q, "T": &ms, "m": &maker} {
		if err := json.Unmarshal(f.payload[k], dst); err != nil {
			t.Fatalf("frame %s: field %s: %v", f.raw, k, err)
		}
	}
	side := "buy"
	if maker {
		side = "sell"
	}
	return fmt.Sprintf(`{"kind":"trade","src":"binance","ts":%q,"symbol":%q,"price":%q,"qty":%q,"side":%q,"id":"a%d"}`,
		time.UnixMilli(ms).UTC().Format(time.RFC3339Nano), name,
		decimal.RequireFromString(p).String(), decimal.RequireFromString(q).String(), side, f.id)
}

// TestSpotCapture replays every frame of the real spot capture (trades, depth,
// bookTicker, klines) and checks the URL, the two trades and that nothing else was
// emitted or rejected; then it cancels and checks that no goroutine is left.
func TestSpotCapture(t *testing.T) {
	before := runtime.NumGoroutine()
	frames := wstest.Frames(wstest.LoadCapture(t, spotCapture), "recv")
	urls := make(chan string, 4)
	srv := wstest.NewServer(func(c *wstest.Conn) {
		urls <- c.Request.URL.String()
		if err := c.SendAll(frames); err != nil {
			t.Errorf("send: %v", err)
		}
		c.Hold()
	}, nil)
	cfg := testConfig(t, srv, "NKN-USDT", "blzeth", "LRCBTC", "RUNE-EUR")
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var c wstest.Collector
	run := wstest.Start(t, src, &c)
	wstest.WaitFor(t, "all frames", func() bool { return src.Stats().Frames == int64(len(frames)) })
	if err := run.Stop(t); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	srv.Close()
	cfg.HTTPClient.CloseIdleConnections()
	wstest.CheckGoroutines(t, before)

	if got, want := <-urls, "/stream?streams=nknusdt@aggTrade/blzeth@aggTrade/lrcbtc@aggTrade/runeeur@aggTrade"; got != want {
		t.Errorf("URL %s, want %s", got, want)
	}
	want := []string{
		// The example of docs/EVENTS.md, with the aggregate-id prefix.
		`{"kind":"trade","src":"binance","ts":"2021-10-12T00:28:43.963Z","symbol":"NKN-USDT","price":"0.3528","qty":"58","side":"buy","id":"a15683430"}`,
		`{"kind":"trade","src":"binance","ts":"2021-10-12T00:28:54.486Z","symbol":"LRC-BTC","price":"0.00000638","qty":"177","side":"buy","id":"a9213679"}`,
	}
	if got := lines(&c); !slices.Equal(got, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	_, rejects := c.Snapshot()
	if len(rejects) != 0 {
		t.Errorf("rejects: %+v", rejects)
	}
	st := src.Stats()
	if st.Ignored != int64(len(frames)-2) || st.Connects != 1 || st.BackfillRequests != 0 || st.Events != 2 {
		t.Errorf("stats %+v: want %d ignored, 1 connect, no backfill, 2 events", st, len(frames)-2)
	}
	if got, want := src.LastIDs(), map[string]int64{"NKN-USDT": 15683430, "LRC-BTC": 9213679}; !mapsEqual(got, want) {
		t.Errorf("LastIDs %v, want %v", got, want)
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestReconnectBackfill drops the connection mid-stream and skips frames the client
// then never sees on the websocket; the REST backfill (served from the same captured
// frames) must close every gap, and the frames sent twice (REST and websocket) must
// come out once. Output per symbol: every captured id, in order, once.
func TestReconnectBackfill(t *testing.T) {
	before := runtime.NumGoroutine()
	all := aggTradeFrames(t, wstest.Frames(wstest.LoadCapture(t, futuresCapture), "recv"))
	if len(all) < 80 {
		t.Fatalf("capture has %d aggTrade frames, the test needs 80", len(all))
	}
	rest := &restAggTrades{t: t, frames: all}
	rest.horizon.Store(45) // the exchange has the trades of frames[:45] when the client reconnects
	var src *Source
	srv := wstest.NewServer(func(c *wstest.Conn) {
		switch c.Index {
		case 0:
			if err := c.SendAll(raws(all[:30])); err != nil {
				t.Errorf("send: %v", err)
			}
			// Drop only once the client has read them, so the test is deterministic.
			wstest.WaitFor(t, "30 frames read", func() bool { return src.Stats().Frames >= 30 })
			c.Drop()
			return
		case 1:
			// frames[30:40] were missed during the drop; [40:45] come twice.
			err := c.SendAll(raws(all[40:60]))
			// frames[60:65] are lost mid-stream; REST has them by the time 65 comes.
			rest.horizon.Store(65)
			if err == nil {
				err = c.SendAll(raws(all[65:]))
			}
			if err != nil {
				t.Errorf("send: %v", err)
			}
		}
		c.Hold()
	}, rest)
	cfg := testConfig(t, srv, "CTKUSDT", "AKRO-USDT", "SUSHIUSDT", "KEEP-USDT")
	var err error
	if src, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	var c wstest.Collector
	run := wstest.Start(t, src, &c)
	wstest.WaitFor(t, "every trade", func() bool {
		return src.Stats().Events >= int64(len(all)) && src.Stats().Frames >= int64(30+20+len(all)-65)
	})
	if err := run.Stop(t); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	srv.Close()
	cfg.HTTPClient.CloseIdleConnections()
	wstest.CheckGoroutines(t, before)

	evs, rejects := c.Snapshot()
	if len(rejects) != 0 {
		t.Errorf("rejects: %+v", rejects)
	}
	names := futuresNames()
	want := map[string][]string{}
	wantLines := map[string]string{}
	for _, f := range all {
		name := names[f.symbol]
		id := "a" + fmt.Sprint(f.id)
		want[name] = append(want[name], id)
		wantLines[id] = wantLine(t, f, name)
	}
	got := idsBySymbol(evs)
	for name, ids := range want {
		if !slices.Equal(got[name], ids) {
			t.Errorf("%s ids:\n got %v\nwant %v", name, got[name], ids)
		}
	}
	if len(evs) != len(all) {
		t.Errorf("%d events, want %d", len(evs), len(all))
	}
	for _, ev := range evs {
		if line := string(event.AppendJSON(nil, ev)); line != wantLines[ev.ID] {
			t.Errorf("event\n got %s\nwant %s", line, wantLines[ev.ID])
		}
	}
	st := src.Stats()
	if st.Connects != 2 || st.Gaps == 0 || st.Unrecovered != 0 || st.Duplicates == 0 || st.Backfilled == 0 {
		t.Errorf("stats %+v: want 2 connects, gaps all recovered, duplicates skipped, events backfilled", st)
	}
	if st.BackfillRequests != rest.requests.Load() {
		t.Errorf("stats count %d requests, the server saw %d", st.BackfillRequests, rest.requests.Load())
	}
	lastWant := map[string]int64{}
	for _, f := range all {
		lastWant[names[f.symbol]] = f.id
	}
	if got := src.LastIDs(); !mapsEqual(got, lastWant) {
		t.Errorf("LastIDs %v, want %v", got, lastWant)
	}
}

// TestBackfillLimits: a gap of 10 trades with pages of 2 and at most 2 pages leaves 6
// missing (reported), and a failing REST API leaves the whole gap (reported) — the
// stream goes on in both cases.
func TestBackfillLimits(t *testing.T) {
	all := aggTradeFrames(t, wstest.Frames(wstest.LoadCapture(t, futuresCapture), "recv"))
	var ctk []capturedTrade
	for _, f := range all {
		if f.symbol == "CTKUSDT" {
			ctk = append(ctk, f)
		}
	}
	if len(ctk) < 20 {
		t.Fatalf("capture has %d CTKUSDT trades, the test needs 20", len(ctk))
	}
	ids := func(fs ...[]capturedTrade) []string {
		var out []string
		for _, part := range fs {
			for _, f := range part {
				out = append(out, "a"+fmt.Sprint(f.id))
			}
		}
		return out
	}
	tests := []struct {
		name         string
		status       int
		wantIDs      []string
		wantRequests int64
	}{
		{"bounded pages", 0, ids(ctk[:5], ctk[5:9], ctk[15:]), 2},
		{"rate limited", http.StatusTooManyRequests, ids(ctk[:5], ctk[15:]), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rest := &restAggTrades{t: t, frames: ctk, status: tt.status}
			rest.horizon.Store(int64(len(ctk)))
			srv := wstest.NewServer(func(c *wstest.Conn) {
				err := c.SendAll(raws(ctk[:5]))
				if err == nil {
					err = c.SendAll(raws(ctk[15:]))
				}
				if err != nil {
					t.Errorf("send: %v", err)
				}
				c.Hold()
			}, rest)
			defer srv.Close()
			cfg := testConfig(t, srv, "CTK-USDT")
			cfg.BackfillPages, cfg.BackfillLimit = 2, 2
			src, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var c wstest.Collector
			run := wstest.Start(t, src, &c)
			wstest.WaitFor(t, "all frames", func() bool { return src.Stats().Frames == int64(5+len(ctk)-15) })
			if err := run.Stop(t); err != nil {
				t.Fatal(err)
			}
			evs, _ := c.Snapshot()
			if got := idsBySymbol(evs)["CTK-USDT"]; !slices.Equal(got, tt.wantIDs) {
				t.Errorf("ids\n got %v\nwant %v", got, tt.wantIDs)
			}
			st := src.Stats()
			if st.Gaps != 1 || st.Unrecovered != 1 || st.BackfillRequests != tt.wantRequests || rest.requests.Load() != tt.wantRequests {
				t.Errorf("stats %+v (server saw %d requests): want 1 gap, 1 unrecovered, %d requests", st, rest.requests.Load(), tt.wantRequests)
			}
		})
	}
}

// aggTradeJSON writes an aggTrade frame of NKNUSDT with the given id and payload
// fields overridden (a nil value removes the field).
func aggTradeJSON(t *testing.T, id int64, override map[string]any) []byte {
	t.Helper()
	data := map[string]any{
		"e": "aggTrade", "E": 1633998523963, "s": "NKNUSDT", "a": id, "p": "0.35280000",
		"q": "58.00000000", "f": 19862790, "l": 19862790, "T": 1633998523963, "m": false, "M": true,
	}
	for k, v := range override {
		if v == nil {
			delete(data, k)
		} else {
			data[k] = v
		}
	}
	b, err := json.Marshal(map[string]any{"stream": "nknusdt@aggTrade", "data": data})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBadFrames sends malformed and invalid frames between two good ones: each is
// dead-lettered with its reason and the frame itself, and the source goes on. A bad
// trade whose id could be read takes its place in the sequence (next()), so no gap
// follows it; one without a readable id leaves the sequence alone.
func TestBadFrames(t *testing.T) {
	future := testNow().Add(time.Hour).UnixMilli()
	id := int64(100)
	next := func() int64 { id++; return id }
	first := aggTradeJSON(t, id, nil)
	tests := []struct {
		name   string
		frame  []byte
		reason event.Reason
	}{
		{"not JSON", []byte("not json"), event.ReasonBadJSON},
		{"truncated", []byte(`{"stream":"nknusdt@aggTrade","data":{"e":"aggTrade"`), event.ReasonBadJSON},
		{"array", []byte(`[1,2]`), event.ReasonBadJSON},
		{"no stream", []byte(`{"data":{}}`), event.ReasonMissingField},
		{"stream without @", []byte(`{"stream":"nknusdt","data":{}}`), event.ReasonBadValue},
		{"data not an object", []byte(`{"stream":"nknusdt@aggTrade","data":5}`), event.ReasonBadType},
		{"no data", []byte(`{"stream":"nknusdt@aggTrade"}`), event.ReasonMissingField},
		{"id a string", aggTradeJSON(t, 0, map[string]any{"a": "x"}), event.ReasonBadType},
		{"id a float", aggTradeJSON(t, 0, map[string]any{"a": 1.5}), event.ReasonBadType},
		{"price a number", aggTradeJSON(t, 0, map[string]any{"p": 0.35}), event.ReasonBadType},
		{"maker a string", aggTradeJSON(t, 0, map[string]any{"m": "yes"}), event.ReasonBadType},
		{"no id", aggTradeJSON(t, 0, map[string]any{"a": nil}), event.ReasonMissingField},
		{"no maker flag", aggTradeJSON(t, next(), map[string]any{"m": nil}), event.ReasonMissingField},
		{"no time", aggTradeJSON(t, next(), map[string]any{"T": nil}), event.ReasonMissingField},
		{"no symbol", aggTradeJSON(t, 0, map[string]any{"s": nil}), event.ReasonMissingField},
		{"negative id", aggTradeJSON(t, 0, map[string]any{"a": -5}), event.ReasonBadValue},
		{"price with a comma", aggTradeJSON(t, next(), map[string]any{"p": "0,35"}), event.ReasonBadNumber},
		{"price NaN", aggTradeJSON(t, next(), map[string]any{"p": "NaN"}), event.ReasonBadNumber},
		{"qty empty", aggTradeJSON(t, next(), map[string]any{"q": ""}), event.ReasonMissingField},
		{"zero qty", aggTradeJSON(t, next(), map[string]any{"q": "0.000"}), event.ReasonNonPositive},
		{"future time", aggTradeJSON(t, next(), map[string]any{"T": future}), event.ReasonFutureTime},
		{"time in seconds", aggTradeJSON(t, next(), map[string]any{"T": 1633998523}), event.ReasonBadTimestamp},
		{"symbol not followed", aggTradeJSON(t, 0, map[string]any{"s": "XYZUSDT"}), event.ReasonBadSymbol},
	}
	last := aggTradeJSON(t, next(), nil)
	frames := [][]byte{first}
	for _, tt := range tests {
		frames = append(frames, tt.frame)
	}
	frames = append(frames, last)

	srv := wstest.NewServer(func(c *wstest.Conn) {
		if err := c.SendAll(frames); err != nil {
			t.Errorf("send: %v", err)
		}
		c.Hold()
	}, nil)
	defer srv.Close()
	src, err := New(testConfig(t, srv, "NKN-USDT"))
	if err != nil {
		t.Fatal(err)
	}
	var c wstest.Collector
	run := wstest.Start(t, src, &c)
	wstest.WaitFor(t, "all frames", func() bool { return src.Stats().Frames == int64(len(frames)) })
	if err := run.Stop(t); err != nil {
		t.Fatal(err)
	}
	evs, rejects := c.Snapshot()
	if got := idsBySymbol(evs)["NKN-USDT"]; !slices.Equal(got, []string{"a100", fmt.Sprintf("a%d", id)}) || len(evs) != 2 {
		t.Errorf("events %v, want the first and the last frame's", idsBySymbol(evs))
	}
	if len(rejects) != len(tests) {
		t.Fatalf("%d rejects, want %d: %+v", len(rejects), len(tests), rejects)
	}
	for i, tt := range tests {
		r := rejects[i]
		if r.Reason != string(tt.reason) || string(r.Raw) != string(tt.frame) || r.Detail == "" {
			t.Errorf("%s: reject %q (%s) of %s, want %q of the frame", tt.name, r.Reason, r.Detail, r.Raw, tt.reason)
		}
	}
	if st := src.Stats(); st.BackfillRequests != 0 || st.Gaps != 0 || st.Rejected != int64(len(tests)) {
		t.Errorf("stats %+v: want no gap, no backfill, %d rejected", st, len(tests))
	}
}

// TestKeepAlive: the client answers pings, and pings alone keep a connection alive
// past ReadTimeout; silence does not, and the source reconnects.
func TestKeepAlive(t *testing.T) {
	frames := [][]byte{aggTradeJSON(t, 1, nil), aggTradeJSON(t, 2, nil)}
	srv := wstest.NewServer(func(c *wstest.Conn) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		switch c.Index {
		case 0:
			if err := c.Send(frames[0]); err != nil {
				t.Errorf("send: %v", err)
			}
			// 15 pings 100 ms apart outlast the 1 s read timeout only if each one
			// extends the deadline.
			for i := range 15 {
				if err := c.Ping(ctx, fmt.Sprint("ping-", i)); err != nil {
					t.Errorf("ping %d: %v", i, err)
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err := c.Send(frames[1]); err != nil {
				t.Errorf("send: %v", err)
			}
		}
		c.Hold() // silent: the client times out and reconnects
	}, nil)
	defer srv.Close()
	cfg := testConfig(t, srv, "NKNUSDT")
	cfg.ReadTimeout = time.Second
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var c wstest.Collector
	run := wstest.Start(t, src, &c)
	wstest.WaitFor(t, "both events", func() bool { return src.Stats().Events == 2 })
	if n := src.Stats().Connects; n != 1 {
		t.Errorf("%d connections while pinged, want 1", n)
	}
	wstest.WaitFor(t, "a reconnect after silence", func() bool { return srv.Accepted() >= 2 })
	if err := run.Stop(t); err != nil {
		t.Fatal(err)
	}
}

// TestMaxConnAge: a connection older than MaxConnAge is replaced; the output is still
// every trade once.
func TestMaxConnAge(t *testing.T) {
	all := aggTradeFrames(t, wstest.Frames(wstest.LoadCapture(t, futuresCapture), "recv"))
	var src *Source
	srv := wstest.NewServer(func(c *wstest.Conn) {
		var err error
		switch c.Index {
		case 0:
			err = c.SendAll(raws(all[:10]))
		case 1:
			err = c.SendAll(raws(all[10:]))
		}
		if err != nil {
			t.Errorf("send: %v", err)
		}
		c.Hold()
	}, nil)
	defer srv.Close()
	cfg := testConfig(t, srv, "CTKUSDT", "AKROUSDT", "SUSHIUSDT", "KEEPUSDT")
	cfg.MaxConnAge = 50 * time.Millisecond
	var err error
	if src, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	var c wstest.Collector
	run := wstest.Start(t, src, &c)
	wstest.WaitFor(t, "every trade", func() bool { return src.Stats().Events == int64(len(all)) })
	if err := run.Stop(t); err != nil {
		t.Fatal(err)
	}
	evs, _ := c.Snapshot()
	if len(evs) != len(all) {
		t.Errorf("%d events, want %d", len(evs), len(all))
	}
	if st := src.Stats(); st.Connects < 2 || st.Gaps != 0 || st.BackfillRequests != 0 {
		t.Errorf("stats %+v: want a reconnect, no gap", st)
	}
}

// TestHandshake: refusals with 503 are retried; a 400 (bad stream request) stops Run
// with an error.
func TestHandshake(t *testing.T) {
	t.Run("retry", func(t *testing.T) {
		srv := wstest.NewServer(func(c *wstest.Conn) {
			if err := c.Send(aggTradeJSON(t, 7, nil)); err != nil {
				t.Errorf("send: %v", err)
			}
			c.Hold()
		}, nil)
		defer srv.Close()
		srv.Refuse(http.StatusServiceUnavailable, http.StatusServiceUnavailable)
		src, err := New(testConfig(t, srv, "NKNUSDT"))
		if err != nil {
			t.Fatal(err)
		}
		var c wstest.Collector
		run := wstest.Start(t, src, &c)
		wstest.WaitFor(t, "the event", func() bool { return src.Stats().Events == 1 })
		if err := run.Stop(t); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bad request", func(t *testing.T) {
		srv := wstest.NewServer(func(c *wstest.Conn) { c.Hold() }, nil)
		defer srv.Close()
		srv.Refuse(http.StatusBadRequest)
		src, err := New(testConfig(t, srv, "NKNUSDT"))
		if err != nil {
			t.Fatal(err)
		}
		var c wstest.Collector
		err = src.Run(context.Background(), c.Emit, c.Reject)
		if err == nil || !strings.Contains(err.Error(), "HTTP 400") {
			t.Fatalf("Run = %v, want an HTTP 400 error", err)
		}
	})
}

// TestEmitFailureStops: when the pipeline refuses an event, Run returns its error.
func TestEmitFailureStops(t *testing.T) {
	srv := wstest.NewServer(func(c *wstest.Conn) {
		_ = c.Send(aggTradeJSON(t, 7, nil))
		c.Hold()
	}, nil)
	defer srv.Close()
	src, err := New(testConfig(t, srv, "NKNUSDT"))
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("streams unavailable")
	c := wstest.Collector{EmitErr: boom}
	if err := src.Run(context.Background(), c.Emit, c.Reject); !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want %v", err, boom)
	}
	if got := src.LastIDs(); len(got) != 0 {
		t.Errorf("LastIDs %v after a refused event, want none", got)
	}
}

// TestTradeStreamAndResume follows the raw trade stream from a checkpoint: the first
// frame is beyond the resumed id, so the gap is backfilled from historicalTrades.
func TestTradeStreamAndResume(t *testing.T) {
	tradeFrame := func(id int64, maker bool) []byte {
		return []byte(fmt.Sprintf(`{"stream":"btcusdt@trade","data":{"e":"trade","E":1700000000100,"s":"BTCUSDT","t":%d,"p":"37000.10","q":"0.5","T":1700000000000,"m":%t,"M":true}}`, id, maker))
	}
	var requests atomic.Int64
	rest := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		q := r.URL.Query()
		if r.URL.Path != "/api/v3/historicalTrades" || q.Get("symbol") != "BTCUSDT" || q.Get("fromId") != "11" {
			t.Errorf("REST request %s", r.URL)
		}
		fmt.Fprint(w, `[{"id":11,"price":"37000.00","qty":"1.25","quoteQty":"46250","time":1700000000001,"isBuyerMaker":true,"isBestMatch":true},`+
			`{"id":12,"price":"37000.05","qty":"0.1","quoteQty":"3700.005","time":1700000000002,"isBuyerMaker":false,"isBestMatch":true}]`)
	})
	urls := make(chan string, 1)
	srv := wstest.NewServer(func(c *wstest.Conn) {
		urls <- c.Request.URL.String()
		if err := c.SendAll([][]byte{tradeFrame(13, false), tradeFrame(14, true)}); err != nil {
			t.Errorf("send: %v", err)
		}
		c.Hold()
	}, rest)
	defer srv.Close()
	cfg := testConfig(t, srv, "BTC-USDT")
	cfg.Stream = StreamTrade
	cfg.Resume = map[string]int64{"BTCUSDT": 10}
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var c wstest.Collector
	run := wstest.Start(t, src, &c)
	wstest.WaitFor(t, "four events", func() bool { return src.Stats().Events == 4 })
	if err := run.Stop(t); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"kind":"trade","src":"binance","ts":"2023-11-14T22:13:20.001Z","symbol":"BTC-USDT","price":"37000","qty":"1.25","side":"sell","id":"11"}`,
		`{"kind":"trade","src":"binance","ts":"2023-11-14T22:13:20.002Z","symbol":"BTC-USDT","price":"37000.05","qty":"0.1","side":"buy","id":"12"}`,
		`{"kind":"trade","src":"binance","ts":"2023-11-14T22:13:20Z","symbol":"BTC-USDT","price":"37000.1","qty":"0.5","side":"buy","id":"13"}`,
		`{"kind":"trade","src":"binance","ts":"2023-11-14T22:13:20Z","symbol":"BTC-USDT","price":"37000.1","qty":"0.5","side":"sell","id":"14"}`,
	}
	if got := lines(&c); !slices.Equal(got, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := <-urls; got != "/stream?streams=btcusdt@trade" {
		t.Errorf("URL %s", got)
	}
	if requests.Load() != 1 {
		t.Errorf("%d REST requests, want 1 (a short page ends the backfill)", requests.Load())
	}
	if got := src.LastIDs(); !mapsEqual(got, map[string]int64{"BTC-USDT": 14}) {
		t.Errorf("LastIDs %v", got)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantURL string
		wantErr string
	}{
		{"defaults", Config{Symbols: []string{"ETH-USDT", "btcusdt"}},
			"wss://stream.binance.com:9443/stream?streams=ethusdt@aggTrade/btcusdt@aggTrade", ""},
		{"trade stream", Config{Symbols: []string{"SOLUSDC"}, Stream: "trade", BaseURL: "ws://localhost:1/"},
			"ws://localhost:1/stream?streams=solusdc@trade", ""},
		{"no symbols", Config{}, "", "no symbols"},
		{"unsplittable", Config{Symbols: []string{"FOOBAR"}}, "", "no known quote asset"},
		{"bad dash form", Config{Symbols: []string{"ETH-"}}, "", "BASE-QUOTE"},
		{"twice", Config{Symbols: []string{"ETH-USDT", "ETHUSDT"}}, "", "given twice"},
		{"bad stream", Config{Symbols: []string{"ETHUSDT"}, Stream: "depth"}, "", "stream"},
		{"bad base URL", Config{Symbols: []string{"ETHUSDT"}, BaseURL: "https://x"}, "", "base URL"},
		{"bad REST URL", Config{Symbols: []string{"ETHUSDT"}, RESTURL: "ftp://x"}, "", "REST URL"},
		{"backoff order", Config{Symbols: []string{"ETHUSDT"}, BackoffMin: time.Second, BackoffMax: time.Millisecond}, "", "maximum backoff"},
		{"limit too large", Config{Symbols: []string{"ETHUSDT"}, BackfillLimit: 5000}, "", "backfill limit"},
		{"resume unknown", Config{Symbols: []string{"ETHUSDT"}, Resume: map[string]int64{"BTC-USDT": 1}}, "", "not followed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := New(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New = %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if src.URL() != tt.wantURL {
				t.Errorf("URL %s, want %s", src.URL(), tt.wantURL)
			}
		})
	}
}

func TestSplitSymbol(t *testing.T) {
	tests := map[string]string{
		"ETHUSDT": "ETH-USDT", "NKNUSDT": "NKN-USDT", "BLZETH": "BLZ-ETH", "LRCBTC": "LRC-BTC",
		"RUNEEUR": "RUNE-EUR", "BTCFDUSD": "BTC-FDUSD", "EURUSDT": "EUR-USDT", "BTCEURI": "BTC-EURI",
		"USDT": "", "FOO": "", "ethusdt": "", "ETH-USDT": "", "": "",
	}
	for in, want := range tests {
		if got := SplitSymbol(in); got != want {
			t.Errorf("SplitSymbol(%q) = %q, want %q", in, got, want)
		}
	}
}

var _ ingest.Source = (*Source)(nil)
