package userfills

import (
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
)

const wallet = "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"

func rules() event.Rules {
	return event.Rules{Now: func() time.Time { return time.Date(2026, 2, 4, 10, 0, 0, 0, time.UTC) }}
}

// A recorded fill (test_get_user_fills.yaml): the first part of order 189324432.
const recorded = `{"closedPnl":"-0.25686","coin":"SUI","crossed":true,"dir":"Close Long","fee":"0.0",` +
	`"hash":"0x0","oid":189324432,"px":"1.3189","side":"A","startPosition":"4623.5","sz":"142.7","time":1683245884863}`

func TestRecordedFill(t *testing.T) {
	f, ms, rej := Decode([]byte(recorded))
	if rej != nil || ms != 1683245884863 {
		t.Fatalf("Decode: ms %d, %v", ms, rej)
	}
	ev, rej := f.Event(wallet, rules())
	if rej != nil {
		t.Fatal(rej)
	}
	want := `{"kind":"fill","src":"hyperliquid","ts":"2023-05-05T00:18:04.863Z","wallet":"` + wallet +
		`","coin":"SUI","side":"sell","px":"1.3189","sz":"142.7","dir":"Close Long","start_position":"4623.5","closed_pnl":"-0.25686","fee":"0"}`
	if got := string(event.AppendJSON(nil, &ev)); got != want {
		t.Errorf("event\n got %s\nwant %s", got, want)
	}
	if ev.ID != "" {
		t.Errorf("a fill without tid has id %q", ev.ID)
	}
}

func TestFills(t *testing.T) {
	fill := func(fields string) string {
		return `{"coin":"BTC","side":"B","px":"97000.5","sz":"0.25","time":1735689602000,"tid":700003` + fields + `}`
	}
	tests := map[string]struct {
		raw        string
		wantMs     int64
		wantReason event.Reason // "" for an event
		wantField  string
	}{
		"buy with tid":      {raw: fill(""), wantMs: 1735689602000},
		"optional fields":   {raw: fill(`,"closedPnl":"12.5","fee":"-0.01","startPosition":"-3"`), wantMs: 1735689602000},
		"not an object":     {raw: `"x"`, wantMs: UnknownTime, wantReason: event.ReasonBadType},
		"not JSON":          {raw: `{"coin":`, wantMs: UnknownTime, wantReason: event.ReasonBadJSON},
		"numeric px":        {raw: `{"coin":"ETH","side":"B","px":3333,"sz":"1","time":1735689600500}`, wantMs: 1735689600500, wantReason: event.ReasonBadType, wantField: "px"},
		"time not a number": {raw: `{"coin":"ETH","side":"B","px":"1","sz":"1","time":"soon"}`, wantMs: UnknownTime, wantReason: event.ReasonBadJSON},
		"no coin":           {raw: `{"side":"B","px":"1","sz":"1","time":1735689600000}`, wantMs: 1735689600000, wantReason: event.ReasonMissingField, wantField: "coin"},
		"no px":             {raw: `{"coin":"BTC","side":"B","sz":"1","time":1735689600000}`, wantMs: 1735689600000, wantReason: event.ReasonMissingField, wantField: "px"},
		"exponent in sz":    {raw: `{"coin":"BTC","side":"B","px":"1","sz":"1e3","time":1735689600000}`, wantMs: 1735689600000, wantReason: event.ReasonBadNumber, wantField: "sz"},
		"no side":           {raw: `{"coin":"BTC","px":"1","sz":"1","time":1735689600000}`, wantMs: 1735689600000, wantReason: event.ReasonMissingField, wantField: "side"},
		"bad side":          {raw: `{"coin":"BTC","side":"X","px":"1","sz":"1","time":1735689600000}`, wantMs: 1735689600000, wantReason: event.ReasonBadSide, wantField: "side"},
		"no time":           {raw: `{"coin":"BTC","side":"B","px":"1","sz":"1"}`, wantMs: UnknownTime, wantReason: event.ReasonMissingField, wantField: "time"},
		"fractional time":   {raw: `{"coin":"BTC","side":"B","px":"1","sz":"1","time":1.5}`, wantMs: UnknownTime, wantReason: event.ReasonBadTimestamp, wantField: "time"},
		"bad fee":           {raw: fill(`,"fee":"free"`), wantMs: 1735689602000, wantReason: event.ReasonBadNumber, wantField: "fee"},
		"future fill":       {raw: `{"coin":"BTC","side":"B","px":"1","sz":"1","time":1893456000000}`, wantMs: 1893456000000, wantReason: event.ReasonFutureTime},
		"non-positive px":   {raw: `{"coin":"BTC","side":"B","px":"-1","sz":"1","time":1735689600000}`, wantMs: 1735689600000, wantReason: event.ReasonNonPositive},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f, ms, rej := Decode([]byte(tc.raw))
			if ms != tc.wantMs {
				t.Errorf("ms %d, want %d", ms, tc.wantMs)
			}
			var ev event.Event
			if rej == nil {
				ev, rej = f.Event(wallet, rules())
			}
			if tc.wantReason == "" {
				if rej != nil {
					t.Fatalf("rejected: %v", rej)
				}
				if ev.Kind != event.KindFill || ev.Src != "hyperliquid" || ev.Wallet != wallet || ev.Side != event.Buy ||
					ev.ID != "700003" || ev.TS.UnixMilli() != tc.wantMs {
					t.Errorf("event %+v", ev)
				}
				return
			}
			if rej == nil || rej.Reason != tc.wantReason || (tc.wantField != "" && rej.Field != tc.wantField) {
				t.Fatalf("got %v, want %s of %q", rej, tc.wantReason, tc.wantField)
			}
		})
	}
}
