package quality

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coattailcapital/coattail/event"
)

func TestRulesList(t *testing.T) {
	rules := Rules()
	if len(rules) < 12 {
		t.Fatalf("%d rules, want at least 12", len(rules))
	}
	names, reasons := map[string]bool{}, map[event.Reason]bool{}
	stages := map[Stage]int{}
	for _, r := range rules {
		if r.Name == "" || r.Reason == "" || r.Description == "" {
			t.Errorf("incomplete rule %+v", r)
		}
		if names[r.Name] || reasons[r.Reason] {
			t.Errorf("rule %s (%s): name or reason given twice", r.Name, r.Reason)
		}
		names[r.Name], reasons[r.Reason] = true, true
		stages[r.Stage]++
		got, ok := RuleFor(r.Reason)
		if !ok || got != r {
			t.Errorf("RuleFor(%s) = %+v, %v; want %+v", r.Reason, got, ok, r)
		}
	}
	if stages[StageCodec]+stages[StageGate] != len(rules) {
		t.Errorf("stages %v: every rule is the codec's or the gate's", stages)
	}
	// Every reason the codec can give is a rule's; max_deliveries is the stream
	// runtime's, not a data-quality rule.
	codec := []event.Reason{event.ReasonLineTooLong, event.ReasonBadJSON, event.ReasonBadEncoding,
		event.ReasonUnknownKind, event.ReasonMissingField, event.ReasonBadType, event.ReasonBadNumber,
		event.ReasonBadTimestamp, event.ReasonFutureTime, event.ReasonNonPositive, event.ReasonBadSide,
		event.ReasonBadAddress, event.ReasonBadChecksum, event.ReasonBadHash, event.ReasonBadSymbol, event.ReasonBadValue}
	gate := []event.Reason{ReasonDuplicate, ReasonZeroValue, ReasonSelfTransfer, ReasonDecimalsMismatch, ReasonLate, ReasonPriceDeviation}
	for i, list := range [][]event.Reason{codec, gate} {
		want := []Stage{StageCodec, StageGate}[i]
		for _, reason := range list {
			if r, ok := RuleFor(reason); !ok || r.Stage != want {
				t.Errorf("reason %s: rule %+v, %v; want a %s rule", reason, r, ok, want)
			}
		}
	}
	if len(codec)+len(gate) != len(rules) {
		t.Errorf("%d rules, %d known reasons", len(rules), len(codec)+len(gate))
	}
	for _, reason := range []event.Reason{event.ReasonRetried, "bad_frame", ""} {
		if r, ok := RuleFor(reason); ok {
			t.Errorf("RuleFor(%q) = %+v, want none", reason, r)
		}
	}
}

// TestCodecRules: each codec rule rejects its bad lines with its reason and accepts its
// good twins. The rules are the codec's (event.Decode); this checks that Rules names
// them right.
func TestCodecRules(t *testing.T) {
	pad := func(n int) string { // a valid trade line of n bytes
		head := `{"pad":"`
		tail := `",` + lineTrade[1:]
		return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
	}
	tests := map[string]struct{ bad, good []string }{
		"line_length": {[]string{pad(event.MaxLineBytes + 1)}, []string{pad(event.MaxLineBytes)}},
		"encoding": {
			[]string{edit(t, lineTrade, "NKN-USDT", "NKN\x01-USDT"), edit(t, lineTrade, `"id":"15683430"`, `"id":"1\u0007"`), edit(t, lineTrade, "15683430", "1568\xff")},
			[]string{edit(t, lineTrade, `"id":"15683430"`, `"id":"\u00e9t\u00e9"`)},
		},
		"json_object": {
			[]string{`[1,2]`, lineTrade[:40], lineTrade + `{}`, edit(t, lineTrade, `"qty":"58"`, `"qty":"58","qty":"58"`)},
			[]string{" " + lineTrade + " ", edit(t, lineTrade, `"qty":"58"`, `"qty":"58","x":1,"x":2`)},
		},
		"known_kind": {
			[]string{edit(t, lineTrade, `"kind":"trade"`, `"kind":"liquidation"`), edit(t, lineTrade, `"kind":"trade"`, `"kind":"Trade"`)},
			[]string{lineTrade},
		},
		"required_fields": {
			[]string{edit(t, lineTrade, `"symbol":"NKN-USDT",`, ``), edit(t, lineFill, `"wallet":"0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2",`, ``), edit(t, linePrice, `"price":"2251.4"`, `"price":""`)},
			[]string{edit(t, lineTrade, `,"id":"15683430"`, ``)},
		},
		"field_types": {
			[]string{edit(t, lineTrade, `"price":"0.3528"`, `"price":0.3528`), edit(t, lineTransfer, `"block":15320500`, `"block":"15320500"`)},
			[]string{edit(t, lineTrade, `"id":"15683430"`, `"id":15683430`)},
		},
		"decimal_syntax": {
			[]string{edit(t, lineTrade, `"0.3528"`, `"NaN"`), edit(t, lineTrade, `"0.3528"`, `"0,3528"`), edit(t, lineTrade, `"0.3528"`, `".3528"`), edit(t, lineTrade, `"0.3528"`, `"1e1000"`)},
			[]string{edit(t, lineTrade, `"0.3528"`, `"3.528e-1"`)},
		},
		"timestamp_valid": {
			[]string{edit(t, lineTrade, `2026-06-01T11:00:00Z`, `2001-06-01T11:00:00Z`), edit(t, lineTrade, `2026-06-01T11:00:00Z`, `2026-02-30T11:00:00Z`), edit(t, lineTrade, `2026-06-01T11:00:00Z`, `yesterday`)},
			[]string{edit(t, lineTrade, `2026-06-01T11:00:00Z`, `2009-01-01T00:00:00Z`), edit(t, lineTrade, `2026-06-01T11:00:00Z`, `2026-06-01T13:00:00+02:00`)},
		},
		"timestamp_not_future": {
			[]string{edit(t, lineTrade, `2026-06-01T11:00:00Z`, `2026-06-01T12:05:01Z`)},
			[]string{edit(t, lineTrade, `2026-06-01T11:00:00Z`, `2026-06-01T12:04:59Z`)},
		},
		"positive_price_size": {
			[]string{edit(t, lineTrade, `"qty":"58"`, `"qty":"0"`), edit(t, lineTrade, `"price":"0.3528"`, `"price":"-0.3528"`), edit(t, lineFill, `"sz":"142.7"`, `"sz":"0.0"`)},
			[]string{edit(t, linePosition, `"size":"-63628"`, `"size":"0"`)},
		},
		"known_side": {
			[]string{edit(t, lineTrade, `"side":"buy"`, `"side":"hold"`), edit(t, lineTrade, `"side":"buy"`, `"side":"BUY"`)},
			[]string{edit(t, lineTrade, `"side":"buy"`, `"side":"sell"`)},
		},
		"address_format": {
			[]string{edit(t, lineFill, `0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2`, `0xb7b6f3`), edit(t, lineFill, `0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2`, `0xg7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2`)},
			[]string{edit(t, lineFill, `0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2`, `0x0000000000000000000000000000000000000000`)},
		},
		"address_checksum": {
			[]string{edit(t, lineFill, `0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2`, `0xB7b6F3CEA3f66BF525f5D8f965F6DbF6d9B017B2`), edit(t, lineSwap, `0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48`, `0xa0B86991c6218b36c1d19D4a2e9Eb0cE3606eB48`)},
			[]string{edit(t, lineFill, `0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2`, `0xb7b6f3CeA3f66bF525f5d8f965F6DBf6d9B017B2`), edit(t, lineFill, `0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2`, `0xB7B6F3CEA3F66BF525F5D8F965F6DBF6D9B017B2`), edit(t, lineSwap, `0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48`, `0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48`)},
		},
		"hash_format": {
			[]string{edit(t, lineTransfer, `0x54f4d2da70b5dbb1b3729b2816621c2d56c02969668fa67fa30b8f7db3b8b5d2`, `0x54f4`), edit(t, lineTransfer, `"log_index":1`, `"log_index":1,"block_hash":"0xzz"`)},
			[]string{edit(t, lineTransfer, `0x54f4d2da70b5dbb1b3729b2816621c2d56c02969668fa67fa30b8f7db3b8b5d2`, `0x54F4D2DA70B5DBB1B3729B2816621C2D56C02969668FA67FA30B8F7DB3B8B5D2`)},
		},
		"symbol_format": {
			[]string{edit(t, lineTrade, `NKN-USDT`, `NKNUSDT`), edit(t, linePrice, `"ETH"`, `"E TH"`), edit(t, linePrice, `"ETH"`, `"`+strings.Repeat("E", 65)+`"`)},
			[]string{edit(t, linePrice, `"ETH"`, `"@107"`), edit(t, linePrice, `"ETH"`, `"xyz:TSLA"`)},
		},
		"field_values": {
			[]string{edit(t, lineTransfer, `"decimals":18`, `"decimals":78`), edit(t, lineTransfer, `"block":15320500`, `"block":0`), edit(t, lineTransfer, `"src":"ethereum"`, `"src":"eth mainnet"`), edit(t, lineTransfer, `"raw_amount":"26369360912168932"`, `"raw_amount":"0x5"`)},
			[]string{edit(t, lineTransfer, `"decimals":18`, `"decimals":77`), edit(t, lineTransfer, `"src":"ethereum"`, `"src":"Ethereum"`)},
		},
	}
	for _, r := range Rules() {
		if r.Stage != StageCodec {
			continue
		}
		tc, ok := tests[r.Name]
		if !ok {
			t.Errorf("codec rule %s has no test case", r.Name)
			continue
		}
		delete(tests, r.Name)
		t.Run(r.Name, func(t *testing.T) {
			for i, line := range tc.bad {
				_, err := decode(t, line)
				var rej *event.Reject
				if !errors.As(err, &rej) || rej.Reason != r.Reason {
					t.Errorf("bad line %d: got %v, want %s", i, err, r.Reason)
				}
			}
			for i, line := range tc.good {
				if _, err := decode(t, line); err != nil {
					t.Errorf("good line %d: %v", i, err)
				}
			}
		})
	}
	for name := range tests {
		t.Errorf("test case %s names no codec rule", name)
	}
}

// TestRulesDocumented: docs/EVENTS.md lists every rule by name with its reason, and
// every reason in its reasons table.
func TestRulesDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "EVENTS.md"))
	if err != nil {
		t.Fatalf("read docs: %v", err)
	}
	doc := string(b)
	for _, r := range Rules() {
		row := "| `" + r.Name + "` | `" + string(r.Reason) + "` |"
		if !strings.Contains(doc, row) {
			t.Errorf("docs/EVENTS.md has no rules row starting %s", row)
		}
		if !strings.Contains(doc, "\n| `"+string(r.Reason)+"` |") {
			t.Errorf("docs/EVENTS.md does not list reason %s", r.Reason)
		}
	}
}
