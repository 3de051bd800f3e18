package coinbase

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest"
	"github.com/coattailcapital/coattail/ingest/wstest"
	"github.com/shopspring/decimal"
)

// wantLine is the canonical interchange line of a captured trade, built
// independently of the decoder under test (side: the opposite of the maker's).
func wantLine(t *testing.T, tr capturedTrade) string {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, tr.w.Time)
	if err != nil {
		t.Fatal(err)
	}
	side := map[string]string{"SELL": "buy", "BUY": "sell"}[tr.w.Side]
	return fmt.Sprintf(`{"kind":"trade","src":"coinbase","ts":%q,"symbol":%q,"price":%q,"qty":%q,"side":%q,"id":%q}`,
		ts.UTC().Format(time.RFC3339Nano), tr.w.ProductID, decimal.RequireFromString(tr.w.Price).String(),
		decimal.RequireFromString(tr.w.Size).String(), side, tr.w.TradeID)
}

// TestCapture replays every received frame of the real capture (market trades,
// heartbeats, and the level2, ticker and candles channels the source ignores) after
// checking the subscription messages against the captured ones. Every captured trade
// becomes one event, oldest first per product, and the taker side agrees with the
// order book in the same capture.
func TestCapture(t *testing.T) {
	before := runtime.NumGoroutine()
	recs := wstest.LoadCapture(t, captureFile)
	frames := wstest.Frames(recs, "recv")
	var wantSubs []subscription
	for _, f := range wstest.Frames(recs, "send") {
		var s subscription
		if err := json.Unmarshal(f, &s); err != nil {
			t.Fatal(err)
		}
		if s.Channel == channelMarketTrades || s.Channel == channelHeartbeats {
			wantSubs = append(wantSubs, s)
		}
	}
	gotSubs := make(chan []subscription, 1)
	srv := wstest.NewServer(func(c *wstest.Conn) {
		gotSubs <- readSubscriptions(t, c, 2)
		if err := c.SendAll(frames); err != nil {
			t.Errorf("send: %v", err)
		}
		c.Hold()
	}, nil)
	src, err := New(testConfig(srv, "BTC-USD", "ETH-USD"))
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
	wstest.CheckGoroutines(t, before)

	if got := <-gotSubs; !slices.EqualFunc(got, wantSubs, func(a, b subscription) bool {
		return a.Type == b.Type && a.Channel == b.Channel && slices.Equal(a.ProductIDs, b.ProductIDs)
	}) {
		t.Errorf("subscriptions %+v, want the captured %+v", got, wantSubs)
	}
	trades := captureTrades(t, frames)
	evs, rejects := c.Snapshot()
	if len(rejects) != 0 {
		t.Errorf("rejects: %+v", rejects)
	}
	want, got := wantIDs(trades), gotIDs(t, evs)
	for p, ids := range want {
		if !slices.Equal(got[p], ids) {
			t.Errorf("%s: ids\n got %v\nwant %v", p, got[p], ids)
		}
	}
	if len(evs) != len(trades) {
		t.Errorf("%d events, want %d", len(evs), len(trades))
	}
	lines := map[string]string{}
	for _, tr := range trades {
		lines[tr.w.TradeID] = wantLine(t, tr)
	}
	for _, ev := range evs {
		if line := string(event.AppendJSON(nil, ev)); line != lines[ev.ID] {
			t.Errorf("event\n got %s\nwant %s", line, lines[ev.ID])
		}
	}
	st := src.Stats()
	if st.SeqGaps != 0 || st.Resubscribes != 0 || st.Duplicates != 0 || st.Heartbeats == 0 || st.Ignored == 0 || st.Connects != 1 {
		t.Errorf("stats %+v: want no gap, no duplicate, heartbeats counted, other channels ignored, 1 connect", st)
	}
	checkSideAgainstBook(t, frames, evs)
}

// checkSideAgainstBook compares each emitted trade of an update with the best bid and
// ask of the last ticker before it: a taker buy lifts the ask, a taker sell hits the
// bid.
func checkSideAgainstBook(t *testing.T, frames [][]byte, evs []*event.Event) {
	t.Helper()
	side := map[string]event.Side{}
	for _, ev := range evs {
		side[ev.ID] = ev.Side
	}
	type book struct{ bid, ask decimal.Decimal }
	books := map[string]book{}
	agree, disagree := 0, 0
	for _, f := range frames {
		if bytes.HasPrefix(f, []byte(`{"channel":"l2_data"`)) {
			continue // large, and neither trades nor tickers
		}
		var fr struct {
			Channel string `json:"channel"`
			Events  []struct {
				Type    string `json:"type"`
				Tickers []struct {
					ProductID string `json:"product_id"`
					BestBid   string `json:"best_bid"`
					BestAsk   string `json:"best_ask"`
				} `json:"tickers"`
				Trades []struct {
					ProductID string `json:"product_id"`
					TradeID   string `json:"trade_id"`
					Price     string `json:"price"`
				} `json:"trades"`
			} `json:"events"`
		}
		if err := json.Unmarshal(f, &fr); err != nil {
			t.Fatal(err)
		}
		for _, e := range fr.Events {
			for _, tk := range e.Tickers {
				bid, err1 := decimal.NewFromString(tk.BestBid)
				ask, err2 := decimal.NewFromString(tk.BestAsk)
				if err1 == nil && err2 == nil {
					books[tk.ProductID] = book{bid, ask}
				}
			}
			if fr.Channel != channelMarketTrades || e.Type != "update" {
				continue
			}
			for _, tr := range e.Trades {
				b, ok := books[tr.ProductID]
				if !ok {
					continue
				}
				px := decimal.RequireFromString(tr.Price)
				switch {
				case px.GreaterThanOrEqual(b.ask) && side[tr.TradeID] == event.Buy,
					px.LessThanOrEqual(b.bid) && side[tr.TradeID] == event.Sell:
					agree++
				case px.GreaterThanOrEqual(b.ask), px.LessThanOrEqual(b.bid):
					disagree++
				}
			}
		}
	}
	if agree < 50 || agree < 9*disagree {
		t.Errorf("taker side agrees with the book on %d trades and disagrees on %d", agree, disagree)
	}
}

// TestReconnect drops the connection mid-stream; frames are lost during the drop and
// the new connection starts, as Coinbase's does, with a snapshot of each product's
// last 100 trades and sequence numbers from 0. Every captured trade comes out once,
// in order per product, and the snapshot's trades already emitted are dropped.
func TestReconnect(t *testing.T) {
	before := runtime.NumGoroutine()
	frames := wstest.Frames(wstest.LoadCapture(t, captureFile), "recv")
	trades := captureTrades(t, frames)
	const dropAt, lost = 400, 150
	if len(frames) < dropAt+lost+100 {
		t.Fatalf("capture has %d frames, the test needs %d", len(frames), dropAt+lost+100)
	}
	missed := map[string]int{}
	for _, tr := range trades {
		if tr.frame >= dropAt && tr.frame < dropAt+lost {
			missed[tr.w.ProductID]++
		}
	}
	if missed["BTC-USD"] == 0 || missed["ETH-USD"] == 0 || missed["BTC-USD"] > 100 || missed["ETH-USD"] > 100 {
		t.Fatalf("the lost frames hold %v trades; the test needs 1..100 per product", missed)
	}
	var src *Source
	subs := make(chan []subscription, 2)
	srv := wstest.NewServer(func(c *wstest.Conn) {
		switch c.Index {
		case 0:
			subs <- readSubscriptions(t, c, 2)
			if err := c.SendAll(frames[:dropAt]); err != nil {
				t.Errorf("send: %v", err)
			}
			wstest.WaitFor(t, "frames read", func() bool { return src.Stats().Frames >= dropAt })
			c.Drop()
			return
		case 1:
			subs <- readSubscriptions(t, c, 2)
			out := snapshotFrames(t, trades, dropAt+lost, 0, "BTC-USD", "ETH-USD")
			out = append(out, renumber(t, frames[dropAt+lost:], int64(len(out)))...)
			if err := c.SendAll(out); err != nil {
				t.Errorf("send: %v", err)
			}
		}
		c.Hold()
	}, nil)
	src, err := New(testConfig(srv, "BTC-USD", "ETH-USD"))
	if err != nil {
		t.Fatal(err)
	}
	var c wstest.Collector
	run := wstest.Start(t, src, &c)
	wstest.WaitFor(t, "all frames", func() bool { return src.Stats().Frames == int64(len(frames)-lost+2) })
	if err := run.Stop(t); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	wstest.CheckGoroutines(t, before)

	for i := range 2 {
		if s := <-subs; len(s) != 2 || s[0].Channel != channelMarketTrades || s[1].Channel != channelHeartbeats {
			t.Errorf("connection %d subscribed with %+v", i, s)
		}
	}
	evs, _ := c.Snapshot()
	want, got := wantIDs(trades), gotIDs(t, evs)
	for p, ids := range want {
		if !slices.Equal(got[p], ids) {
			t.Errorf("%s: ids\n got %v\nwant %v", p, got[p], ids)
		}
	}
	st := src.Stats()
	if st.Connects != 2 || st.Duplicates == 0 || st.SeqGaps != 0 || st.Stale != 0 {
		t.Errorf("stats %+v: want 2 connects, the snapshot's overlap dropped, no sequence gap", st)
	}
}

// TestSequenceGap loses frames mid-connection: the source sees sequence_num jump,
// resubscribes to market_trades on the same connection, and the snapshot that answers
// fills the hole. Every captured trade comes out once (the filled ones after the
// newer trade that revealed the gap).
func TestSequenceGap(t *testing.T) {
	frames := wstest.Frames(wstest.LoadCapture(t, captureFile), "recv")
	trades := captureTrades(t, frames)
	const gapAt, lost = 300, 200
	resubs := make(chan []subscription, 1)
	srv := wstest.NewServer(func(c *wstest.Conn) {
		if c.Index > 0 {
			t.Errorf("reconnected after a sequence gap")
			c.Hold()
			return
		}
		readSubscriptions(t, c, 2)
		// Captured sequence numbers equal the frame index: frames[gapAt+lost] jumps.
		err := c.SendAll(append(slices.Clone(frames[:gapAt]), frames[gapAt+lost]))
		if err != nil {
			t.Errorf("send: %v", err)
		}
		resubs <- readSubscriptions(t, c, 2)
		seq := int64(gapAt + lost + 1)
		out := snapshotFrames(t, trades, gapAt+lost+1, seq, "BTC-USD", "ETH-USD")
		out = append(out, renumber(t, frames[gapAt+lost+1:], seq+int64(len(out)))...)
		if err := c.SendAll(out); err != nil {
			t.Errorf("send: %v", err)
		}
		c.Hold()
	}, nil)
	defer srv.Close()
	src, err := New(testConfig(srv, "BTC-USD", "ETH-USD"))
	if err != nil {
		t.Fatal(err)
	}
	var c wstest.Collector
	run := wstest.Start(t, src, &c)
	wstest.WaitFor(t, "all frames", func() bool { return src.Stats().Frames == int64(len(frames)-lost+2) })
	if err := run.Stop(t); err != nil {
		t.Fatal(err)
	}
	got := <-resubs
	if len(got) != 2 || got[0].Type != "unsubscribe" || got[1].Type != "subscribe" ||
		got[0].Channel != channelMarketTrades || got[1].Channel != channelMarketTrades ||
		!slices.Equal(got[1].ProductIDs, []string{"BTC-USD", "ETH-USD"}) {
		t.Errorf("after the gap the client sent %+v, want unsubscribe and subscribe market_trades", got)
	}
	evs, _ := c.Snapshot()
	want, gotIDs := wantIDs(trades), gotIDs(t, evs)
	for p, ids := range want {
		sorted := slices.Sorted(slices.Values(gotIDs[p]))
		if !slices.Equal(sorted, ids) {
			t.Errorf("%s: ids (sorted)\n got %v\nwant %v", p, sorted, ids)
		}
	}
	st := src.Stats()
	if st.SeqGaps != 1 || st.Resubscribes != 1 || st.Connects != 1 || st.Duplicates == 0 {
		t.Errorf("stats %+v: want 1 gap, 1 resubscription, 1 connect, the snapshot's overlap dropped", st)
	}
}

// TestBadInput sends malformed frames and trades: each is dead-lettered with its
// reason and raw bytes (a bad trade alone, not its frame), and the source goes on.
func TestBadInput(t *testing.T) {
	trade := func(id int, override map[string]any) map[string]any {
		tr := map[string]any{"product_id": "BTC-USD", "trade_id": fmt.Sprint(id), "price": "65083.67",
			"size": "0.002186", "time": "2026-08-09T21:05:42.514318Z", "side": "SELL"}
		for k, v := range override {
			if v == nil {
				delete(tr, k)
			} else {
				tr[k] = v
			}
		}
		return tr
	}
	marshal := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tradesFrame := func(trs ...map[string]any) []byte {
		return marshal(map[string]any{"channel": "market_trades", "timestamp": "2026-08-09T21:05:48Z",
			"events": []any{map[string]any{"type": "update", "trades": trs}}})
	}
	future := testNow().Add(time.Hour).Format(time.RFC3339Nano)
	badTrades := []struct {
		name   string
		trade  map[string]any
		reason event.Reason
	}{
		{"price a number", trade(2, map[string]any{"price": 65083.67}), event.ReasonBadType},
		{"price not a decimal", trade(3, map[string]any{"price": "6.5e4"}), event.ReasonBadNumber},
		{"zero size", trade(4, map[string]any{"size": "0"}), event.ReasonNonPositive},
		{"time not RFC 3339", trade(5, map[string]any{"time": "yesterday"}), event.ReasonBadTimestamp},
		{"future time", trade(6, map[string]any{"time": future}), event.ReasonFutureTime},
		{"unknown side", trade(7, map[string]any{"side": "UNKNOWN_ORDER_SIDE"}), event.ReasonBadSide},
		{"no side", trade(8, map[string]any{"side": nil}), event.ReasonMissingField},
		{"no trade id", trade(9, map[string]any{"trade_id": nil}), event.ReasonMissingField},
		{"no product", trade(10, map[string]any{"product_id": nil}), event.ReasonMissingField},
		{"product not followed", trade(11, map[string]any{"product_id": "DOGE-USD"}), event.ReasonBadSymbol},
	}
	badFrames := []struct {
		name   string
		frame  []byte
		reason event.Reason
	}{
		{"not JSON", []byte("not json"), event.ReasonBadJSON},
		{"array", []byte("[]"), event.ReasonBadJSON},
		{"no channel", []byte(`{"foo":1}`), event.ReasonMissingField},
		{"sequence a string", []byte(`{"channel":"heartbeats","sequence_num":"7"}`), event.ReasonBadType},
		{"events not a list", []byte(`{"channel":"market_trades","events":5}`), event.ReasonBadType},
		{"trades not a list", []byte(`{"channel":"market_trades","events":[{"type":"update","trades":{}}]}`), event.ReasonBadType},
	}
	var frames [][]byte
	for _, bf := range badFrames {
		frames = append(frames, bf.frame)
	}
	// One frame with a good trade on each side of every bad one.
	trs := []map[string]any{trade(20, nil)}
	for _, bt := range badTrades {
		trs = append(trs, bt.trade)
	}
	trs = append(trs, trade(21, nil))
	slices.Reverse(trs) // newest first, as Coinbase sends them
	frames = append(frames, tradesFrame(trs...))

	srv := wstest.NewServer(func(c *wstest.Conn) {
		readSubscriptions(t, c, 2)
		if err := c.SendAll(frames); err != nil {
			t.Errorf("send: %v", err)
		}
		c.Hold()
	}, nil)
	defer srv.Close()
	src, err := New(testConfig(srv, "BTC-USD"))
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
	if ids := gotIDs(t, evs)["BTC-USD"]; !slices.Equal(ids, []int64{20, 21}) || len(evs) != 2 {
		t.Errorf("events %v, want trades 20 and 21", gotIDs(t, evs))
	}
	if len(rejects) != len(badFrames)+len(badTrades) {
		t.Fatalf("%d rejects, want %d: %+v", len(rejects), len(badFrames)+len(badTrades), rejects)
	}
	for i, bf := range badFrames {
		if r := rejects[i]; r.Reason != string(bf.reason) || string(r.Raw) != string(bf.frame) {
			t.Errorf("%s: reject %q (%s) of %s, want %q of the frame", bf.name, r.Reason, r.Detail, r.Raw, bf.reason)
		}
	}
	// Trades without a numeric id order first (stable), then the rest by id: collect
	// by raw bytes instead of relying on the order.
	byRaw := map[string]wstest.Rejected{}
	for _, r := range rejects[len(badFrames):] {
		byRaw[string(r.Raw)] = r
	}
	for _, bt := range badTrades {
		r, ok := byRaw[string(marshal(bt.trade))]
		if !ok {
			t.Errorf("%s: not rejected as its own trade object", bt.name)
			continue
		}
		if r.Reason != string(bt.reason) || r.Detail == "" {
			t.Errorf("%s: reject %q (%s), want %q", bt.name, r.Reason, r.Detail, bt.reason)
		}
	}
}

// TestSubscriptionErrors: an error before the subscription is confirmed ends Run
// with a *SubscribeError; after it, the source reconnects and subscribes again.
func TestSubscriptionErrors(t *testing.T) {
	errFrame := []byte(`{"type":"error","message":"Failure to subscribe"}`)
	confirm := []byte(`{"channel":"subscriptions","timestamp":"2026-08-09T21:05:48Z","sequence_num":0,"events":[{"subscriptions":{"heartbeats":["heartbeats"],"market_trades":["BTC-USD"]}}]}`)
	t.Run("refused", func(t *testing.T) {
		srv := wstest.NewServer(func(c *wstest.Conn) {
			readSubscriptions(t, c, 2)
			_ = c.Send(errFrame)
			c.Hold()
		}, nil)
		defer srv.Close()
		src, err := New(testConfig(srv, "BTC-USD"))
		if err != nil {
			t.Fatal(err)
		}
		var c wstest.Collector
		err = src.Run(context.Background(), c.Emit, c.Reject)
		var se *SubscribeError
		if !errors.As(err, &se) || se.Message != "Failure to subscribe" {
			t.Fatalf("Run = %v, want a *SubscribeError", err)
		}
	})
	t.Run("after confirmation", func(t *testing.T) {
		// The test stops the source once the second connection has subscribed, not
		// merely connected: stopping it mid-subscription would fail the handler's read.
		resubscribed := make(chan struct{})
		srv := wstest.NewServer(func(c *wstest.Conn) {
			subs := readSubscriptions(t, c, 2)
			switch {
			case c.Index == 0:
				_ = c.SendAll([][]byte{confirm, errFrame})
			case c.Index == 1 && len(subs) == 2:
				close(resubscribed)
			}
			c.Hold()
		}, nil)
		defer srv.Close()
		src, err := New(testConfig(srv, "BTC-USD"))
		if err != nil {
			t.Fatal(err)
		}
		var c wstest.Collector
		run := wstest.Start(t, src, &c)
		select {
		case <-resubscribed:
		case <-time.After(10 * time.Second):
			t.Fatal("the source did not subscribe again on a second connection")
		}
		if err := run.Stop(t); err != nil {
			t.Fatalf("Run = %v, want nil after cancel", err)
		}
	})
	t.Run("handshake 400", func(t *testing.T) {
		srv := wstest.NewServer(func(c *wstest.Conn) { c.Hold() }, nil)
		defer srv.Close()
		srv.Refuse(http.StatusServiceUnavailable, http.StatusBadRequest)
		src, err := New(testConfig(srv, "BTC-USD"))
		if err != nil {
			t.Fatal(err)
		}
		var c wstest.Collector
		if err := src.Run(context.Background(), c.Emit, c.Reject); err == nil || !strings.Contains(err.Error(), "HTTP 400") {
			t.Fatalf("Run = %v, want the HTTP 400 after retrying the 503", err)
		}
	})
}

// TestKeepAlive: the client answers pings; a silent connection times out and the
// source reconnects and subscribes again.
func TestKeepAlive(t *testing.T) {
	pinged := make(chan error, 1)
	resubscribed := make(chan []subscription, 1)
	srv := wstest.NewServer(func(c *wstest.Conn) {
		switch c.Index {
		case 0:
			readSubscriptions(t, c, 2)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			pinged <- c.Ping(ctx, "hello")
			cancel()
		case 1:
			resubscribed <- readSubscriptions(t, c, 2)
		}
		c.Hold() // silent: the client times out
	}, nil)
	defer srv.Close()
	cfg := testConfig(srv, "BTC-USD")
	cfg.ReadTimeout = 100 * time.Millisecond
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var c wstest.Collector
	run := wstest.Start(t, src, &c)
	if err := <-pinged; err != nil {
		t.Errorf("ping: %v", err)
	}
	if s := <-resubscribed; len(s) != 2 || s[0].Channel != channelMarketTrades || s[1].Channel != channelHeartbeats {
		t.Errorf("after reconnecting the client subscribed with %+v", s)
	}
	if err := run.Stop(t); err != nil {
		t.Fatal(err)
	}
}

// TestResume: with a checkpoint, the trades of the first snapshot up to it are not
// emitted again.
func TestResume(t *testing.T) {
	frames := wstest.Frames(wstest.LoadCapture(t, captureFile), "recv")
	trades := captureTrades(t, frames)
	snap := snapshotFrames(t, trades, 2, 0, "BTC-USD") // the captured BTC-USD snapshot
	want := wantIDs(trades[:100])["BTC-USD"]
	if len(want) != 100 {
		t.Fatalf("captured BTC-USD snapshot has %d trades", len(want))
	}
	srv := wstest.NewServer(func(c *wstest.Conn) {
		readSubscriptions(t, c, 2)
		_ = c.SendAll(snap)
		c.Hold()
	}, nil)
	defer srv.Close()
	cfg := testConfig(srv, "BTC-USD", "ETH-USD")
	cfg.Resume = map[string]int64{"BTC-USD": want[89]}
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var c wstest.Collector
	run := wstest.Start(t, src, &c)
	wstest.WaitFor(t, "the snapshot", func() bool { return src.Stats().Frames == 1 })
	if err := run.Stop(t); err != nil {
		t.Fatal(err)
	}
	evs, _ := c.Snapshot()
	if got := gotIDs(t, evs)["BTC-USD"]; !slices.Equal(got, want[90:]) {
		t.Errorf("ids %v, want %v", got, want[90:])
	}
	if got := src.LastIDs(); len(got) != 1 || got["BTC-USD"] != want[99] {
		t.Errorf("LastIDs %v, want BTC-USD %d", got, want[99])
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"ok", Config{ProductIDs: []string{"BTC-USD", "BTC-PERP-INTX"}}, ""},
		{"no products", Config{}, "no product ids"},
		{"lower case", Config{ProductIDs: []string{"btc-usd"}}, "upper case"},
		{"no dash", Config{ProductIDs: []string{"BTCUSD"}}, "BASE-QUOTE"},
		{"twice", Config{ProductIDs: []string{"BTC-USD", "BTC-USD"}}, "given twice"},
		{"bad URL", Config{ProductIDs: []string{"BTC-USD"}, URL: "https://x"}, "URL"},
		{"backoff order", Config{ProductIDs: []string{"BTC-USD"}, BackoffMin: time.Second, BackoffMax: time.Millisecond}, "maximum backoff"},
		{"resume unknown", Config{ProductIDs: []string{"BTC-USD"}, Resume: map[string]int64{"ETH-USD": 1}}, "not followed"},
		{"negative window", Config{ProductIDs: []string{"BTC-USD"}, DedupWindow: -1}, "dedup window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestWindow(t *testing.T) {
	type step struct {
		id   string
		want verdict
	}
	tests := []struct {
		name   string
		size   int
		resume int64 // -1: none
		steps  []step
	}{
		{"in order and replayed", 64, -1, []step{{"10", fresh}, {"11", fresh}, {"11", dup}, {"10", dup}, {"12", fresh}}},
		{"hole filled later", 64, -1, []step{{"10", fresh}, {"14", fresh}, {"12", fresh}, {"12", dup}, {"13", fresh}, {"11", fresh}, {"14", dup}}},
		{"older than the window", 64, -1, []step{{"100", fresh}, {"36", stale}, {"37", fresh}, {"37", dup}}},
		{"jump beyond the window forgets", 64, -1, []step{{"1", fresh}, {"500", fresh}, {"499", fresh}, {"1", stale}}},
		{"slot reuse", 64, -1, []step{{"5", fresh}, {"69", fresh}, {"68", fresh}, {"5", stale}, {"133", fresh}, {"70", fresh}, {"69", stale}}},
		{"resumed", 64, 100, []step{{"100", dup}, {"99", dup}, {"37", dup}, {"101", fresh}, {"101", dup}, {"10", stale}}},
		{"not numeric", 2, -1, []step{{"x", fresh}, {"x", dup}, {"y", fresh}, {"z", fresh}, {"x", fresh}, {"z", dup}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWindow((tt.size + 63) / 64 * 64)
			w.size = tt.size // a tiny set for the string case
			if tt.size < 64 {
				w.bits = make([]uint64, 1)
			}
			if tt.resume >= 0 {
				w.resume(tt.resume)
			}
			for i, s := range tt.steps {
				if got := w.see(s.id); got != s.want {
					t.Fatalf("step %d: see(%s) = %d, want %d", i, s.id, got, s.want)
				}
			}
		})
	}
}

var _ ingest.Source = (*Source)(nil)
