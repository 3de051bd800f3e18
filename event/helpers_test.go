package event

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// testNow is the fixed clock of the tests.
func testNow() time.Time {
	return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
}

func testRules() Rules {
	return Rules{Now: testNow}
}

// Real values (token_transfers_15320500-15320599.csv, first row) behind the abbreviated
// transfer example of EVENTS.md.
const (
	exTx    = "0x54f4d2da70b5dbb1b3729b2816621c2d56c02969668fa67fa30b8f7db3b8b5d2"
	exFrom  = "0x8032eaede5c55f744387ca53aaf0499abcd783e5"
	exTo    = "0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc"
	exWETH  = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
	exBlkH  = "0xaa5ab9bb22d8020d438496a7edb4eff508b1c5128b0dc01fdecf57f96aac1bb3"
	exWal   = "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"
	exPool  = "0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640"
	exUSDC  = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
	exTrade = `{"kind":"trade","src":"binance","ts":"2021-10-12T00:28:43.963Z","symbol":"NKN-USDT","price":"0.3528","qty":"58","side":"buy","id":"15683430"}`
	exXfer  = `{"kind":"transfer","src":"ethereum","ts":"2022-08-11T10:00:12Z","block":15320500,"tx":"` + exTx + `","log_index":1,"token":"` + exWETH + `","symbol":"WETH","from":"` + exFrom + `","to":"` + exTo + `","raw_amount":"26369360912168932","decimals":18}`
	exFill  = `{"kind":"fill","src":"hyperliquid","ts":"2023-05-05T00:18:04.863Z","wallet":"0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2","coin":"SUI","side":"sell","px":"1.3189","sz":"142.7","dir":"Close Long","start_position":"4623.5","closed_pnl":"-0.25686","fee":"0.0","id":"189324432"}`
	exPos   = `{"kind":"position","src":"hyperliquid","ts":"2026-02-04T10:54:22.307521Z","wallet":"0x51f63885534cb494f4592a0311551f369bff2b39","coin":"PENDLE","size":"-63628","entry_px":"1.565548","mark_px":"1.5431","account_value":"3308134.825"}`
	exPrice = `{"kind":"price","src":"hyperliquid","ts":"2026-02-04T09:34:27.568479Z","symbol":"ETH","price":"2251.4"}`
	exSwap  = `{"kind":"swap","src":"ethereum","ts":"2023-08-08T17:13:59Z","block":17871620,"tx":"0x4a9fb3959883f5cbdb737d66a8330293db55ec5b5c5d504329f976a0dec7754c","log_index":7,"wallet":"0x24f7ef98522dd61d529464f67bb3ffe96ea8afc2","venue":"uniswap-v3","pool":"` + exPool + `","token_in":"` + exUSDC + `","amount_in":"178646.129499","token_out":"` + exWETH + `","amount_out":"96.40054706944971","symbol_in":"USDC","symbol_out":"WETH","usd":"178534.78"}`
)

func dec(s string) decimal.Decimal {
	return decimal.RequireFromString(s)
}

func ndec(s string) decimal.NullDecimal {
	return decimal.NullDecimal{Decimal: dec(s), Valid: true}
}

func mustDecode(t testing.TB, line string) Event {
	t.Helper()
	e, err := Decode([]byte(line), testRules())
	if err != nil {
		t.Fatalf("Decode(%.120s): %v", line, err)
	}
	return e
}

// reasonOf returns the Reason of err, or "" when err is not a *Reject.
func reasonOf(err error) Reason {
	var rej *Reject
	if errors.As(err, &rej) {
		return rej.Reason
	}
	return ""
}

// eventDiff compares two events field by field, decimals by value; "" means equal.
func eventDiff(a, b Event) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := 0; i < va.NumField(); i++ {
		name := va.Type().Field(i).Name
		fa, fb := va.Field(i).Interface(), vb.Field(i).Interface()
		switch x := fa.(type) {
		case decimal.Decimal:
			if !x.Equal(fb.(decimal.Decimal)) {
				return fmt.Sprintf("%s: %s != %s", name, x, fb)
			}
		case decimal.NullDecimal:
			y := fb.(decimal.NullDecimal)
			if x.Valid != y.Valid || (x.Valid && !x.Decimal.Equal(y.Decimal)) {
				return fmt.Sprintf("%s: %v != %v", name, x, y)
			}
		case time.Time:
			y := fb.(time.Time)
			if !x.Equal(y) || x.Location() != y.Location() {
				return fmt.Sprintf("%s: %v != %v", name, x, y)
			}
		default:
			if !reflect.DeepEqual(fa, fb) {
				return fmt.Sprintf("%s: %#v != %#v", name, fa, fb)
			}
		}
	}
	return ""
}
