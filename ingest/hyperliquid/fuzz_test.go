package hyperliquid

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/internal/testenv"
)

// knownReasons are the reason codes a rejection of this package may carry.
func knownReasons() map[event.Reason]bool {
	return map[event.Reason]bool{
		event.ReasonBadJSON: true, event.ReasonBadEncoding: true, event.ReasonMissingField: true,
		event.ReasonBadType: true, event.ReasonBadNumber: true, event.ReasonBadTimestamp: true,
		event.ReasonFutureTime: true, event.ReasonNonPositive: true, event.ReasonBadSide: true,
		event.ReasonBadAddress: true, event.ReasonBadChecksum: true, event.ReasonBadSymbol: true, event.ReasonBadValue: true,
	}
}

// checkEvent checks that an emitted event is valid and survives the interchange
// encoding with its key.
func checkEvent(t *testing.T, ev event.Event) {
	t.Helper()
	r := event.Rules{Now: fixedNow}
	again := ev
	if err := again.Validate(r); err != nil {
		t.Fatalf("emitted event is invalid: %v: %+v", err, ev)
	}
	line := event.AppendJSON(nil, &ev)
	back, err := event.Decode(line, r)
	if err != nil {
		t.Fatalf("emitted event does not decode: %v: %s", err, line)
	}
	if back.Key() != ev.Key() {
		t.Fatalf("key %q after a round trip, was %q: %s", back.Key(), ev.Key(), line)
	}
}

// statOK reports whether path exists: the recorded data is not part of the repository.
func statOK(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// seedCassette adds the first elements of a recorded array response to a fuzz
// corpus when the recorded data is there. The whole response (500 fills) would make
// the fuzzer's minimisation crawl.
func seedCassette(f *testing.F, name string, n int) {
	path := filepath.Join(cassetteDir, name)
	if !statOK(path) {
		return
	}
	var elems []json.RawMessage
	if json.Unmarshal([]byte(testenv.CassetteBody(f, path)), &elems) != nil {
		return
	}
	for i := 0; i+n <= len(elems) && i < 5*n; i += n {
		if seed, err := json.Marshal(elems[i : i+n]); err == nil {
			f.Add(seed)
		}
	}
}

func FuzzTradesFrame(f *testing.F) {
	f.Add([]byte(tradesFrame("ETH", 1, 2, 3)))
	f.Add([]byte(tradesFrame("@107", 9)))
	f.Add([]byte(midsFrame))
	f.Add([]byte(`{"channel":"trades","data":[{"coin":"BTC","side":"B","px":"90058.0","sz":"0.00012","hash":"0x0a4c","time":1767878803102,"tid":907188554740561,"users":["0xb08ed6f6ad7b22138d4db6d0549efcf1f5e51767","0x13558be785661958932ceac35ba20de187275a42"]}]}`))
	f.Add([]byte(`{"channel":"trades","data":[{"coin":"ETH","side":"A","px":"1","sz":"1","time":1,"tid":1,"users":[]}]}`))
	f.Add([]byte(`{"channel":"error","data":"Already subscribed"}`))
	f.Add([]byte(`{"channel":"pong"}`))
	f.Add([]byte(greeting))
	f.Add([]byte(`{"channel":"trades","data":null}`))
	if path := filepath.Join(cassetteDir, "test_get_all_mids.yaml"); statOK(path) {
		f.Add([]byte(`{"channel":"allMids","data":{"mids":` + testenv.CassetteBody(f, path) + `}}`))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		d := newWSDecoder(event.Rules{Now: fixedNow}, 16, []string{AllCoins})
		fr := d.decode(msg, fixedNow())
		if fr.kind != frameData && len(fr.items) != 0 {
			t.Fatalf("a protocol frame (%d) with items", fr.kind)
		}
		for i := 0; i < len(fr.items); i++ {
			it := fr.items[i]
			if it.rej != nil {
				if !knownReasons()[it.rej.Reason] {
					t.Fatalf("unknown reason %q", it.rej.Reason)
				}
				if len(it.raw) > maxRaw || len(it.raw) == 0 && len(bytes.TrimSpace(msg)) > 0 {
					t.Fatalf("rejection with %d raw bytes of a %d-byte message", len(it.raw), len(msg))
				}
				continue
			}
			checkEvent(t, it.ev)
			if it.ev.Kind == event.KindPrice {
				continue
			}
			// A fill is followed by the other side of its trade.
			if i+1 >= len(fr.items) || fr.items[i+1].rej != nil {
				t.Fatalf("fill %d has no other side", i)
			}
			b, s := it.ev, fr.items[i+1].ev
			if b.Kind != event.KindFill || s.Kind != event.KindFill || b.Side != event.Buy || s.Side != event.Sell ||
				b.ID != s.ID || b.Wallet == s.Wallet || b.Key() == s.Key() || !b.Px.Equal(s.Px) || !b.Sz.Equal(s.Sz) {
				t.Fatalf("items %d, %d are not the two sides of one trade: %+v / %+v", i, i+1, b, s)
			}
			i++
		}
		// The same message again is all duplicates, except what could not be keyed.
		for _, it := range d.decode(msg, fixedNow()).items {
			if it.rej == nil && it.ev.Kind == event.KindFill {
				t.Fatalf("trade %s emitted twice", it.ev.ID)
			}
		}
	})
}

func FuzzUserFills(f *testing.F) {
	seedCassette(f, "test_get_user_fills.yaml", 4)
	f.Add([]byte(`[{"closedPnl":"-0.25686","coin":"SUI","crossed":true,"dir":"Close Long","fee":"0.0","hash":"0x3d47","oid":189324432,"px":"1.3189","side":"A","startPosition":"4623.5","sz":"142.7","time":1683245884863,"tid":118906512037719}]`))
	f.Add([]byte(`[{"coin":"ETH","px":"1","sz":"1","side":"B","time":"1683245884863"}]`))
	f.Add([]byte(`[{"coin":"ETH","px":1,"sz":"1","side":"B","time":1683245884863}, 7, null]`))
	f.Add([]byte(`{"coin":"ETH"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		items, rej := decodeFills(body, fillsWallet, event.Rules{Now: fixedNow})
		var elems []json.RawMessage
		isArray := json.Unmarshal(body, &elems) == nil && elems != nil
		if isArray != (rej == nil) {
			t.Fatalf("whole-body rejection %v for a body that is an array: %v", rej, isArray)
		}
		if rej != nil {
			if !knownReasons()[rej.Reason] {
				t.Fatalf("unknown reason %q", rej.Reason)
			}
			return
		}
		if len(items) != len(elems) {
			t.Fatalf("%d items from %d elements", len(items), len(elems))
		}
		for _, it := range items {
			if it.rej != nil {
				if !knownReasons()[it.rej.Reason] {
					t.Fatalf("unknown reason %q", it.rej.Reason)
				}
				continue
			}
			checkEvent(t, it.ev)
			if it.ev.Wallet != fillsWallet || it.ev.Kind != event.KindFill || it.ms != it.ev.TS.UnixMilli() {
				t.Fatalf("fill %+v (ms %d)", it.ev, it.ms)
			}
		}
		sortByTime(items)
		for i := 1; i < len(items); i++ {
			if items[i].ms < items[i-1].ms {
				t.Fatal("not sorted by time")
			}
		}
	})
}

func TestDecodeFill(t *testing.T) {
	const base = `"coin":"ETH","px":"2000.5","sz":"0.5","time":1700000000000`
	tests := map[string]struct {
		elem   string
		reason event.Reason
		check  func(ev event.Event) bool
	}{
		"tid is the id": {`{` + base + `,"side":"B","tid":118906512037719}`, "",
			func(ev event.Event) bool { return ev.ID == "118906512037719" && ev.Side == event.Buy }},
		"no tid, no id": {`{` + base + `,"side":"A"}`, "",
			func(ev event.Event) bool { return ev.ID == "" && ev.Side == event.Sell && !ev.Fee.Valid }},
		"optional fields": {`{` + base + `,"side":"A","startPosition":"-1.0","closedPnl":"-0.5","fee":"-0.01","dir":"Open Short"}`, "",
			func(ev event.Event) bool {
				return ev.StartPosition.Decimal.String() == "-1" && ev.ClosedPnl.Decimal.String() == "-0.5" &&
					ev.Fee.Decimal.String() == "-0.01" && ev.Dir == "Open Short"
			}},
		"no side":      {`{` + base + `}`, event.ReasonMissingField, nil},
		"bad side":     {`{` + base + `,"side":"S"}`, event.ReasonBadSide, nil},
		"float px":     {`{"coin":"ETH","px":2000.5,"sz":"0.5","time":1700000000000,"side":"B"}`, event.ReasonBadType, nil},
		"exponent":     {`{"coin":"ETH","px":"2e3","sz":"0.5","time":1700000000000,"side":"B"}`, event.ReasonBadNumber, nil},
		"no coin":      {`{"px":"1","sz":"0.5","time":1700000000000,"side":"B"}`, event.ReasonMissingField, nil},
		"seconds":      {`{"coin":"ETH","px":"1","sz":"0.5","time":1700000000,"side":"B"}`, event.ReasonBadTimestamp, nil},
		"bad coin":     {`{"coin":"ETH USD","px":"1","sz":"0.5","time":1700000000000,"side":"B"}`, event.ReasonBadSymbol, nil},
		"not a object": {`7`, event.ReasonBadType, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			items, rej := decodeFills([]byte("["+tc.elem+"]"), fillsWallet, event.Rules{Now: fixedNow})
			if rej != nil || len(items) != 1 {
				t.Fatalf("%d items, body rejected: %v", len(items), rej)
			}
			it := items[0]
			switch {
			case tc.reason != "" && (it.rej == nil || it.rej.Reason != tc.reason):
				t.Errorf("rejection %v, want %s", it.rej, tc.reason)
			case tc.reason == "" && it.rej != nil:
				t.Errorf("rejected: %v", it.rej)
			case tc.check != nil && !tc.check(it.ev):
				t.Errorf("event %+v", it.ev)
			}
		})
	}
}
