package quality

import (
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
)

// now is the tests' fixed clock.
func now() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) }

// Lines of each kind in canonical form (docs/EVENTS.md examples, some with other times).
const (
	lineTrade    = `{"kind":"trade","src":"binance","ts":"2026-06-01T11:00:00Z","symbol":"NKN-USDT","price":"0.3528","qty":"58","side":"buy","id":"15683430"}`
	lineTransfer = `{"kind":"transfer","src":"ethereum","ts":"2026-06-01T11:00:00Z","block":15320500,"tx":"0x54f4d2da70b5dbb1b3729b2816621c2d56c02969668fa67fa30b8f7db3b8b5d2","log_index":1,"token":"0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2","symbol":"WETH","from":"0x8032eaede5c55f744387ca53aaf0499abcd783e5","to":"0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc","raw_amount":"26369360912168932","decimals":18}`
	lineSwap     = `{"kind":"swap","src":"ethereum","ts":"2026-06-01T11:00:00Z","block":17871620,"tx":"0x4a9fb3959883f5cbdb737d66a8330293db55ec5b5c5d504329f976a0dec7754c","log_index":7,"wallet":"0x24f7ef98522dd61d529464f67bb3ffe96ea8afc2","venue":"uniswap-v3","pool":"0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640","token_in":"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48","amount_in":"178646.129499","token_out":"0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2","amount_out":"96.40054706944971"}`
	lineFill     = `{"kind":"fill","src":"hyperliquid","ts":"2026-06-01T11:00:00Z","wallet":"0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2","coin":"SUI","side":"sell","px":"1.3189","sz":"142.7","id":"189324432"}`
	linePosition = `{"kind":"position","src":"hyperliquid","ts":"2026-06-01T11:00:00Z","wallet":"0x51f63885534cb494f4592a0311551f369bff2b39","coin":"PENDLE","size":"-63628","mark_px":"1.5431"}`
	linePrice    = `{"kind":"price","src":"hyperliquid","ts":"2026-06-01T11:00:00Z","symbol":"ETH","price":"2251.4"}`
)

// edit applies old→new replacements (each must occur) to a line.
func edit(t testing.TB, line string, pairs ...string) string {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(line, pairs[i]) {
			t.Fatalf("edit: %q not in %s", pairs[i], line)
		}
		line = strings.Replace(line, pairs[i], pairs[i+1], 1)
	}
	return line
}

func decode(t testing.TB, line string) (event.Event, error) {
	t.Helper()
	return event.Decode([]byte(line), event.Rules{Now: now})
}

func mustDecode(t testing.TB, line string) event.Event {
	t.Helper()
	ev, err := decode(t, line)
	if err != nil {
		t.Fatalf("decode %.100s: %v", line, err)
	}
	return ev
}

func mustGate(t testing.TB, cfg Config) *Gate {
	t.Helper()
	g, err := NewGate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// reason is the gate's verdict as a reason ("" accepted).
func reason(rej *event.Reject) event.Reason {
	if rej == nil {
		return ""
	}
	return rej.Reason
}
