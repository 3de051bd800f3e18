package binance

import (
	"errors"
	"testing"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/wstest"
)

// seedFrames are a few frames of every kind from the captures, read in place, plus
// self-written ones (used alone when the captures are absent).
func seedFrames(tb testing.TB) [][]byte {
	seeds := [][]byte{
		[]byte(`{"stream":"nknusdt@aggTrade","data":{"e":"aggTrade","E":1633998523963,"s":"NKNUSDT","a":15683430,"p":"0.35280000","q":"58.00000000","f":19862790,"l":19862790,"T":1633998523963,"m":false,"M":true}}`),
		[]byte(`{"stream":"btcusdt@trade","data":{"e":"trade","E":1700000000100,"s":"BTCUSDT","t":12,"p":"37000.10","q":"0.5","T":1700000000000,"m":true,"M":true}}`),
		[]byte(`{"stream":"nknusdt@bookTicker","data":{"u":1,"s":"NKNUSDT","b":"0.3521","B":"672","a":"0.3529","A":"10968"}}`),
		[]byte(`{"stream":"x@aggTrade","data":{"a":1e3,"p":"1","q":"1","T":1,"m":true,"s":"X"}}`),
		[]byte(`{"stream":"x@aggTrade","data":null}`),
		[]byte(`[]`),
	}
	for _, path := range []string{spotCapture, futuresCapture} {
		recs, err := wstest.ReadCapture(path)
		if err != nil {
			tb.Logf("fuzz seeds without %s: %v", path, err)
			continue
		}
		seen := map[string]bool{}
		for _, f := range wstest.Frames(recs, "recv") {
			kind := streamKind(f)
			if !seen[kind] {
				seen[kind] = true
				seeds = append(seeds, f)
			}
		}
	}
	return seeds
}

// streamKind is the part of a frame's stream name after '@', roughly.
func streamKind(f []byte) string {
	_, t, _ := decodeFrame(f, StreamAggTrade)
	if t.id != absent {
		return "aggTrade"
	}
	for i := 0; i+1 < len(f) && i < 80; i++ {
		if f[i] == '@' {
			j := i + 1
			for j < len(f) && f[j] != '"' {
				j++
			}
			return string(f[i+1 : j])
		}
	}
	return ""
}

// FuzzFrame feeds arbitrary frames to the decoder of both streams: it must not panic,
// must return either a trade or a rejection with a reason, and a trade it accepts
// must become an event that, once valid, round-trips through the interchange format.
func FuzzFrame(f *testing.F) {
	for _, s := range seedFrames(f) {
		f.Add(s)
	}
	rules := event.Rules{Now: testNow}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, stream := range []string{StreamAggTrade, StreamTrade} {
			kind, tr, rej := decodeFrame(b, stream)
			if rej != nil {
				if rej.Reason == "" || kind == frameIgnored {
					t.Fatalf("%s: rejection %+v of kind %d", stream, rej, kind)
				}
				continue
			}
			if kind == frameIgnored {
				continue
			}
			if kind != frameTrade || tr.id < 0 || tr.wire == "" || tr.price.IsNegative() || tr.qty.IsNegative() {
				t.Fatalf("%s: accepted %+v (kind %d)", stream, tr, kind)
			}
			ev := tr.toEvent("X-Y", stream)
			err := ev.Validate(rules)
			if err != nil {
				var rj *event.Reject
				if !errors.As(err, &rj) {
					t.Fatalf("Validate returned %T %v", err, err)
				}
				continue
			}
			line := event.AppendJSON(nil, ev)
			back, err := event.Decode(line, rules)
			if err != nil {
				t.Fatalf("%s: own event %s does not decode: %v", stream, line, err)
			}
			if again := event.AppendJSON(nil, &back); string(again) != string(line) {
				t.Fatalf("round trip\n%s\n%s", line, again)
			}
		}
	})
}

func BenchmarkDecodeFrame(b *testing.B) {
	frame := []byte(`{"stream":"nknusdt@aggTrade","data":{"e":"aggTrade","E":1633998523963,"s":"NKNUSDT","a":15683430,"p":"0.35280000","q":"58.00000000","f":19862790,"l":19862790,"T":1633998523963,"m":false,"M":true}}`)
	rules := event.Rules{Now: testNow}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		_, tr, rej := decodeFrame(frame, StreamAggTrade)
		if rej != nil {
			b.Fatal(rej)
		}
		ev := tr.toEvent("NKN-USDT", StreamAggTrade)
		if err := ev.Validate(rules); err != nil {
			b.Fatal(err)
		}
	}
}
