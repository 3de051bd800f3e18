package coinbase

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/wstest"
)

// The shared data set lives beside the repository (shared/ next to the repository
// root), read in place.
const captureFile = "../../../shared/data/coinbase/advanced-trade-ws-capture.jsonl.zst"

// testNow is the clock of the quality rules in tests: after every captured trade.
func testNow() time.Time { return time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC) }

func testConfig(srv *wstest.Server, products ...string) Config {
	return Config{
		URL:        srv.URL(),
		ProductIDs: products,
		BackoffMin: time.Millisecond,
		BackoffMax: 5 * time.Millisecond,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:        testNow,
	}
}

// capturedTrade is one trade of a market_trades frame of the capture.
type capturedTrade struct {
	frame int // index of its frame among the recv frames
	raw   json.RawMessage
	w     struct {
		ProductID string `json:"product_id"`
		TradeID   string `json:"trade_id"`
		Price     string `json:"price"`
		Size      string `json:"size"`
		Time      string `json:"time"`
		Side      string `json:"side"`
	}
	id int64
}

// captureTrades lists the trades of the frames, in frame order (newest first within
// a frame, as Coinbase sends them).
func captureTrades(t *testing.T, frames [][]byte) []capturedTrade {
	t.Helper()
	var out []capturedTrade
	for i, f := range frames {
		if bytes.HasPrefix(f, []byte(`{"channel":"l2_data"`)) {
			continue // large and tradeless: skip the parse
		}
		var fr struct {
			Channel string `json:"channel"`
			Events  []struct {
				Trades []json.RawMessage `json:"trades"`
			} `json:"events"`
		}
		if err := json.Unmarshal(f, &fr); err != nil {
			t.Fatalf("capture frame %d: %v", i, err)
		}
		if fr.Channel != channelMarketTrades {
			continue
		}
		for _, ev := range fr.Events {
			for _, raw := range ev.Trades {
				ct := capturedTrade{frame: i, raw: raw}
				if err := json.Unmarshal(raw, &ct.w); err != nil {
					t.Fatal(err)
				}
				id, err := strconv.ParseInt(ct.w.TradeID, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				ct.id = id
				out = append(out, ct)
			}
		}
	}
	return out
}

// wantIDs is the sorted, distinct trade ids per product of trades.
func wantIDs(trades []capturedTrade) map[string][]int64 {
	set := map[string]map[int64]bool{}
	for _, tr := range trades {
		if set[tr.w.ProductID] == nil {
			set[tr.w.ProductID] = map[int64]bool{}
		}
		set[tr.w.ProductID][tr.id] = true
	}
	out := map[string][]int64{}
	for p, ids := range set {
		for id := range ids {
			out[p] = append(out[p], id)
		}
		sort.Slice(out[p], func(i, j int) bool { return out[p][i] < out[p][j] })
	}
	return out
}

// gotIDs is the emitted ids per product, in emission order.
func gotIDs(t *testing.T, evs []*event.Event) map[string][]int64 {
	t.Helper()
	out := map[string][]int64{}
	for _, ev := range evs {
		id, err := strconv.ParseInt(ev.ID, 10, 64)
		if err != nil {
			t.Fatalf("event id %q: %v", ev.ID, err)
		}
		out[ev.Symbol] = append(out[ev.Symbol], id)
	}
	return out
}

// snapshotFrames synthesizes the market_trades snapshot Coinbase sends on subscribing,
// as of frame index upto: per product, its last 100 trades of frames[:upto], newest
// first, with sequence numbers from seq on.
func snapshotFrames(t *testing.T, trades []capturedTrade, upto int, seq int64, products ...string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, p := range products {
		var mine []capturedTrade
		for _, tr := range trades {
			if tr.frame < upto && tr.w.ProductID == p {
				mine = append(mine, tr)
			}
		}
		sort.Slice(mine, func(i, j int) bool { return mine[i].id > mine[j].id })
		if len(mine) > 100 {
			mine = mine[:100]
		}
		raws := make([]json.RawMessage, len(mine))
		for i, tr := range mine {
			raws[i] = tr.raw
		}
		b, err := json.Marshal(map[string]any{
			"channel": channelMarketTrades, "client_id": "", "timestamp": "2026-08-09T21:06:00Z",
			"sequence_num": seq, "events": []any{map[string]any{"type": "snapshot", "trades": raws}},
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
		seq++
	}
	return out
}

// renumber rewrites the sequence_num of frames from seq on, as a new connection (or
// a resubscription on the same one) would number them.
func renumber(t *testing.T, frames [][]byte, seq int64) [][]byte {
	t.Helper()
	out := make([][]byte, len(frames))
	for i, f := range frames {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(f, &m); err != nil {
			t.Fatal(err)
		}
		m["sequence_num"] = json.RawMessage(strconv.FormatInt(seq, 10))
		seq++
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// readSubscriptions reads n client messages and returns them decoded.
func readSubscriptions(t *testing.T, c *wstest.Conn, n int) []subscription {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []subscription
	for range n {
		msg, err := c.Next(ctx)
		if err != nil {
			t.Errorf("read subscription: %v", err)
			return out
		}
		var s subscription
		if err := json.Unmarshal(msg, &s); err != nil {
			t.Errorf("subscription %s: %v", msg, err)
		}
		out = append(out, s)
	}
	return out
}

type subscription struct {
	Type       string   `json:"type"`
	ProductIDs []string `json:"product_ids"`
	Channel    string   `json:"channel"`
}
