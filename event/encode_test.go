package event

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// roundTrip checks Decode(AppendJSON(e)) == e and that the encoding is a fixed point.
func roundTrip(t *testing.T, e Event) {
	t.Helper()
	enc := AppendJSON(nil, &e)
	if !json.Valid(enc) {
		t.Fatalf("invalid JSON: %s", enc)
	}
	back, err := Decode(enc, testRules())
	if err != nil {
		t.Fatalf("Decode(AppendJSON(e)): %v\n%s", err, enc)
	}
	if d := eventDiff(back, e); d != "" {
		t.Fatalf("round trip differs: %s\n%s", d, enc)
	}
	if again := AppendJSON(nil, &back); !bytes.Equal(again, enc) {
		t.Fatalf("encoding not stable:\n%s\n%s", enc, again)
	}
	if back.Key() != e.Key() {
		t.Fatalf("key changed: %q -> %q", e.Key(), back.Key())
	}
}

func TestRoundTripDecoded(t *testing.T) {
	tests := map[string]string{
		"trade":                      exTrade,
		"trade without id":           del(exTrade, "id"),
		"transfer raw":               exXfer,
		"transfer amount":            set(del(del(exXfer, "raw_amount"), "decimals"), "amount", `"0.026369360912168932"`),
		"transfer all optionals":     set(set(set(exXfer, "block_hash", `"`+exBlkH+`"`), "usd", `"43.21"`), "removed", "true"),
		"transfer native":            set(del(del(del(del(exXfer, "token"), "log_index"), "raw_amount"), "decimals"), "amount", `"1.5"`),
		"transfer raw zero decimals": set(set(exXfer, "raw_amount", `"1000"`), "decimals", "0"),
		"swap":                       exSwap,
		"swap minimal":               del(del(del(exSwap, "symbol_in"), "symbol_out"), "usd"),
		"swap removed with hash":     set(set(exSwap, "removed", "true"), "block_hash", `"`+exBlkH+`"`),
		"fill":                       exFill,
		"fill minimal":               del(del(del(del(del(exFill, "dir"), "start_position"), "closed_pnl"), "fee"), "id"),
		"position":                   exPos,
		"position all optionals":     set(set(exPos, "leverage", `"20"`), "unrealized_pnl", `"-1423.5"`),
		"position flat":              set(del(del(del(exPos, "entry_px"), "mark_px"), "account_value"), "size", `"0"`),
		"price":                      exPrice,
		"price with id":              set(exPrice, "id", `"p-1"`),
		"text needing escapes":       set(set(exFill, "dir", `"Long \"x\" \\ é 😀"`), "id", `"a/b"`),
	}
	for name, line := range tests {
		t.Run(name, func(t *testing.T) {
			roundTrip(t, mustDecode(t, line))
		})
	}
}

// An event built in Go, validated, survives encoding and decoding.
func TestRoundTripBuilt(t *testing.T) {
	berlin := time.FixedZone("CEST", 2*3600)
	tests := map[string]Event{
		"trade": {Kind: KindTrade, Src: "coinbase", TS: time.Date(2026, 5, 1, 12, 0, 0, 1, berlin), Symbol: "BTC-USD",
			Price: decimal.New(6543210, -2), Qty: decimal.New(5, -9), Side: Sell, ID: "987654321"},
		"transfer raw big": {Kind: KindTransfer, Src: "ethereum", TS: time.Date(2023, 5, 2, 12, 19, 59, 0, time.UTC),
			Block: 17173049, BlockHash: "0xAA5AB9BB22D8020D438496A7EDB4EFF508B1C5128B0DC01FDECF57F96AAC1BB3", Tx: exTx, LogIndex: 0,
			Token: "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", From: exFrom, To: exTo,
			RawAmount: "7056176614974947328000000", Decimals: 18, HasRaw: true, Removed: true},
		"transfer native": {Kind: KindTransfer, Src: "ethereum", TS: time.Date(2023, 5, 2, 12, 19, 59, 0, time.UTC),
			Block: 1, Tx: exTx, LogIndex: NativeLogIndex, From: exFrom, To: exTo, Amount: decimal.New(15, -1), USD: ndec("2800.5")},
		"swap": {Kind: KindSwap, Src: "ethereum", TS: time.Date(2023, 8, 8, 17, 13, 59, 0, time.UTC), Block: 17871620, Tx: exTx,
			LogIndex: 3, Wallet: exFrom, Venue: "uniswap-v2", Pool: exPool, TokenIn: exUSDC, AmountIn: dec("100"),
			TokenOut: exWETH, AmountOut: dec("0.05"), SymbolIn: "USDC"},
		"fill": {Kind: KindFill, Src: "hyperliquid", TS: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Wallet: exWal, Coin: "kPEPE",
			Side: Buy, Px: dec("0.0123"), Sz: dec("1000"), Fee: ndec("-0.01"), ID: "42"},
		"position": {Kind: KindPosition, Src: "hyperliquid", TS: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Wallet: exWal,
			Coin: "xyz:TSLA", Size: dec("-3.5"), MarkPx: ndec("250.1"), Leverage: ndec("5")},
		"price": {Kind: KindPrice, Src: "hyperliquid", TS: time.Date(2025, 1, 1, 0, 0, 0, 999999999, time.UTC), Symbol: "PURR/USDC",
			Price: decimal.New(1, -30)},
	}
	for name, e := range tests {
		t.Run(name, func(t *testing.T) {
			if err := e.Validate(testRules()); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			roundTrip(t, e)
		})
	}
}

// The canonical form is fixed: field order, trimmed decimals, UTC timestamps.
func TestAppendJSONCanonical(t *testing.T) {
	tests := map[string]struct {
		line, want string
	}{
		"fill": {exFill,
			`{"kind":"fill","src":"hyperliquid","ts":"2023-05-05T00:18:04.863Z","wallet":"0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2","coin":"SUI","side":"sell","px":"1.3189","sz":"142.7","dir":"Close Long","start_position":"4623.5","closed_pnl":"-0.25686","fee":"0","id":"189324432"}`},
		"transfer": {exXfer,
			`{"kind":"transfer","src":"ethereum","ts":"2022-08-11T10:00:12Z","block":15320500,"tx":"` + exTx + `","log_index":1,"token":"` + exWETH + `","symbol":"WETH","from":"` + exFrom + `","to":"` + exTo + `","raw_amount":"26369360912168932","decimals":18}`},
		"native transfer": {`{"src":"ethereum","kind":"transfer","amount":"1.50","ts":"2023-05-02T14:19:59.500+02:00","to":"` + exTo + `","from":"` + exFrom + `","tx":"` + exTx + `","block":17173049,"removed":true}`,
			`{"kind":"transfer","src":"ethereum","ts":"2023-05-02T12:19:59.5Z","block":17173049,"tx":"` + exTx + `","log_index":-1,"from":"` + exFrom + `","to":"` + exTo + `","amount":"1.5","removed":true}`},
		"trade reordered with integer id and exponent": {`{"id":15683430,"side":"buy","qty":"5.8e1","price":"0.35280","symbol":"NKN-USDT","ts":"2021-10-12T00:28:43.963000Z","src":"binance","kind":"trade","ignored":[1]}`,
			exTrade},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := mustDecode(t, tc.line)
			if got := string(AppendJSON(nil, &e)); got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestAppendJSONAppends(t *testing.T) {
	e := mustDecode(t, exPrice)
	got := AppendJSON([]byte("x"), &e)
	if string(got) != "x"+exPrice {
		t.Fatalf("got %s", got)
	}
}

// An unvalidated event with control characters or bad UTF-8 still encodes to valid JSON.
func TestAppendJSONEscapesUnvalidatedText(t *testing.T) {
	e := Event{Kind: KindPrice, Src: "x", TS: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Symbol: "a\x00b\x1f\u0085\xff\"\\", Price: dec("1")}
	enc := AppendJSON(nil, &e)
	if !json.Valid(enc) {
		t.Fatalf("invalid JSON: %q", enc)
	}
	if rej := checkEncoding(enc); rej != nil {
		t.Fatalf("encoding has raw bad bytes: %v", rej)
	}
}

// KindPrefix reads the kind of every canonical body, and of nothing else.
func TestKindPrefix(t *testing.T) {
	for _, line := range []string{exTrade, exXfer, exSwap, exFill, exPos, exPrice} {
		e := mustDecode(t, line)
		body := AppendJSON(nil, &e)
		if k, ok := KindPrefix(body); !ok || k != e.Kind {
			t.Errorf("KindPrefix(%.40s...) = %q, %v; want %q", body, k, ok, e.Kind)
		}
	}
	for _, body := range []string{
		``, `{`, `{"kind":"`, `{"kind":"trade"`, `{"kind":"trade"}`, `{"kind":"trades",`,
		`{"kind":"trad",`, `{"kind":"transferred",`, `{"src":"x","kind":"trade",`, `{ "kind":"trade",`,
		`{"kind":"TRADE",`, `{"kind":"",`,
	} {
		if k, ok := KindPrefix([]byte(body)); ok {
			t.Errorf("KindPrefix(%q) = %q, true; want false", body, k)
		}
	}
}
