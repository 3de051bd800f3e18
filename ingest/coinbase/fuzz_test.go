package coinbase

import (
	"errors"
	"testing"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/wstest"
)

// seedFrames are a few frames of every channel from the capture, read in place (only
// frames up to 4 KB, so snapshots are left out), plus self-written ones (used alone
// when the capture is absent).
func seedFrames(tb testing.TB) [][]byte {
	seeds := [][]byte{
		[]byte(`{"channel":"market_trades","client_id":"","timestamp":"2026-08-09T21:05:48.251397169Z","sequence_num":9,"events":[{"type":"update","trades":[{"product_id":"BTC-USD","trade_id":"1068572091","price":"65083.67","size":"0.01034361","time":"2026-08-09T21:05:48.167634Z","side":"SELL"}]}]}`),
		[]byte(`{"channel":"heartbeats","timestamp":"2026-08-09T21:05:48.856364007Z","sequence_num":35,"events":[{"current_time":"2026-08-09 21:05:48.854840045 +0000 UTC","heartbeat_counter":41691}]}`),
		[]byte(`{"channel":"subscriptions","sequence_num":2,"events":[{"subscriptions":{"market_trades":["BTC-USD"]}}]}`),
		[]byte(`{"type":"error","message":"Failure to subscribe"}`),
		[]byte(`{"channel":"market_trades","events":[{"type":"snapshot","trades":[{"product_id":"X-Y","trade_id":"a-b","price":"1.0","size":"2","time":"2026-08-09T21:05:48Z","side":"BUY"},{}]}]}`),
	}
	recs, err := wstest.ReadCapture(captureFile)
	if err != nil {
		tb.Logf("fuzz seeds without the capture: %v", err)
		return seeds
	}
	seen := map[string]int{}
	for _, f := range wstest.Frames(recs, "recv") {
		if len(f) > 4<<10 { // large seeds make the fuzzer spend its time minimizing
			continue
		}
		fr, rej := decodeFrame(f)
		if rej != nil {
			continue
		}
		key := fr.Channel
		if len(fr.Events) > 0 {
			key += "/" + fr.Events[0].Type
		}
		if seen[key] < 2 {
			seen[key]++
			seeds = append(seeds, f)
		}
	}
	return seeds
}

// FuzzFrame feeds arbitrary frames to the decoder: it must not panic; a frame is
// either decoded or rejected with a reason; every trade of a decoded market_trades
// frame is either an event or a rejection, and an event that passes the quality rules
// round-trips through the interchange format.
func FuzzFrame(f *testing.F) {
	for _, s := range seedFrames(f) {
		f.Add(s)
	}
	rules := event.Rules{Now: testNow}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, rej := decodeFrame(b)
		if rej != nil {
			if rej.Reason == "" {
				t.Fatalf("rejection without a reason: %+v", rej)
			}
			return
		}
		if fr.Channel == "" && fr.Type == "" {
			t.Fatalf("accepted a frame with neither channel nor type: %s", b)
		}
		for _, ev := range fr.Events {
			for _, raw := range ev.Trades {
				w, e, rej := decodeTrade(raw)
				if (e == nil) == (rej == nil) {
					t.Fatalf("trade %s: event %v and rejection %v", raw, e, rej)
				}
				if rej != nil {
					if rej.Reason == "" {
						t.Fatalf("trade %s: rejection without a reason", raw)
					}
					continue
				}
				if e.ID != w.TradeID || e.Symbol != w.ProductID || (e.Side != event.Buy && e.Side != event.Sell) {
					t.Fatalf("trade %s: event %+v", raw, e)
				}
				if err := e.Validate(rules); err != nil {
					var rj *event.Reject
					if !errors.As(err, &rj) {
						t.Fatalf("Validate returned %T %v", err, err)
					}
					continue
				}
				line := event.AppendJSON(nil, e)
				back, err := event.Decode(line, rules)
				if err != nil {
					t.Fatalf("own event %s does not decode: %v", line, err)
				}
				if again := event.AppendJSON(nil, &back); string(again) != string(line) {
					t.Fatalf("round trip\n%s\n%s", line, again)
				}
			}
		}
	})
}

func BenchmarkDecodeTrades(b *testing.B) {
	frame := []byte(`{"channel":"market_trades","client_id":"","timestamp":"2026-08-09T21:05:48.251397169Z","sequence_num":9,"events":[{"type":"update","trades":[{"product_id":"BTC-USD","trade_id":"1068572096","price":"65083.67","size":"0.01034361","time":"2026-08-09T21:05:48.167634Z","side":"SELL"},{"product_id":"BTC-USD","trade_id":"1068572095","price":"65083.66","size":"0.00171442","time":"2026-08-09T21:05:48.167634Z","side":"BUY"}]}]}`)
	rules := event.Rules{Now: testNow}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		fr, rej := decodeFrame(frame)
		if rej != nil {
			b.Fatal(rej)
		}
		for _, raw := range fr.Events[0].Trades {
			_, e, rej := decodeTrade(raw)
			if rej != nil {
				b.Fatal(rej)
			}
			if err := e.Validate(rules); err != nil {
				b.Fatal(err)
			}
		}
	}
}
