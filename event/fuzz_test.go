package event

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// tokenTransfersCSV is real ethereum-etl data read in place (see shared/data/SOURCES.md).
const tokenTransfersCSV = "../../shared/data/ethereum/token_transfers_15320500-15320599.csv"

// transferSeeds turns the first rows of the real token-transfer CSV into interchange
// lines; none when the shared data is absent.
func transferSeeds(tb testing.TB, n int) []string {
	tb.Helper()
	f, err := os.Open(tokenTransfersCSV)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Scan() // header: token_address,from_address,to_address,value,transaction_hash,log_index,block_number
	for sc.Scan() && len(out) < n {
		c := strings.Split(sc.Text(), ",")
		if len(c) != 7 {
			continue
		}
		out = append(out, `{"kind":"transfer","src":"ethereum","ts":"2022-08-11T10:00:12Z","block":`+c[6]+
			`,"tx":"`+c[4]+`","log_index":`+c[5]+`,"token":"`+c[0]+`","from":"`+c[1]+`","to":"`+c[2]+
			`","raw_amount":"`+c[3]+`","decimals":18}`)
	}
	return out
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		exTrade, exXfer, exFill, exPos, exPrice, exSwap,
		del(exTrade, "id"),
		set(set(exXfer, "block_hash", `"`+exBlkH+`"`), "removed", "true"),
		set(del(del(del(del(exXfer, "token"), "log_index"), "raw_amount"), "decimals"), "amount", `"1.5"`),
		set(exTrade, "price", `"1e-05"`),
		set(exTrade, "id", `15683430`),
		set(exFill, "dir", `"a\"\\\u00e9\ud83d\ude00"`),
		`{"kind":"transfer","src":"ethereum","ts":"2022-08-11T10:00:12Z","block":15320500,"tx":"0x54f4...b5d2","log_index":1,"from":"0x8032...83e5","to":"0xb4e1...c9dc","raw_amount":"26369360912168932","decimals":18}`,
		``, `{}`, `[]`, `{"kind":"trade"`, `{"kind":"trade",}`, exTrade + `x`,
		set(exTrade, "price", `"NaN"`), set(exTrade, "price", `0.35`), set(exTrade, "ts", `"2099-01-01T00:00:00Z"`),
		set(exTrade, "side", `"BUY"`), set(exFill, "wallet", `"0x12"`), set(exTrade, "id", `"\ud800"`),
		"{\"kind\":\"trade\x01\"}", `{"x":[[[[{"y":null}]]]],"kind":"price"}`,
	} {
		f.Add([]byte(s))
	}
	for _, s := range transferSeeds(f, 5) {
		f.Add([]byte(s))
	}
	r := testRules()
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := Decode(line, r)
		if err != nil {
			var rej *Reject
			if !errors.As(err, &rej) || rej.Reason == "" {
				t.Fatalf("error %v is not a *Reject with a reason", err)
			}
			return
		}
		enc := AppendJSON(nil, &e)
		back, err := Decode(enc, r)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", enc, err)
		}
		if d := eventDiff(back, e); d != "" {
			t.Fatalf("round trip differs: %s\n%s", d, enc)
		}
		if back.Key() != e.Key() || back.KeyHash() != e.KeyHash() {
			t.Fatalf("key changed: %q -> %q", e.Key(), back.Key())
		}
		if again := AppendJSON(nil, &back); !bytes.Equal(again, enc) {
			t.Fatalf("encoding not idempotent:\n%s\n%s", enc, again)
		}
		// A decoded event passes Validate unchanged.
		v := e
		if err := v.Validate(r); err != nil {
			t.Fatalf("Validate of a decoded event: %v", err)
		}
		if d := eventDiff(v, e); d != "" {
			t.Fatalf("Validate changed a decoded event: %s", d)
		}
	})
}

// The seeds derived from real data decode (when the data is present).
func TestDecodeRealTransfers(t *testing.T) {
	lines := transferSeeds(t, 2000)
	if lines == nil {
		t.Skip("shared data absent: " + tokenTransfersCSV)
	}
	for _, l := range lines {
		e := mustDecode(t, l)
		if !e.HasRaw || e.Amount.Sign() < 0 {
			t.Fatalf("bad transfer from %s", l)
		}
	}
}

// FuzzParseDecimal: an accepted decimal string has the value the decimal package reads
// from it, and its canonical form reads back to the same value and form.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "-0.0", "0.3528", "1500", "1e5", "2.5E-3", "-123456789012345678901234567890.5", "007.50", "1e99", "1e-99", "NaN", ".5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, detail := parseDecimal([]byte(s))
		if detail != "" {
			return
		}
		ref, err := decimal.NewFromString(s)
		if err != nil {
			t.Fatalf("accepted %q, the decimal package does not: %v", s, err)
		}
		if !d.Equal(ref) {
			t.Fatalf("%q: %s != %s", s, d, ref)
		}
		canon := appendDecimal(nil, d)
		d2, detail := parseDecimal(canon)
		if detail != "" || !d2.Equal(d) || string(appendDecimal(nil, d2)) != string(canon) {
			t.Fatalf("%q: canonical %q does not read back (%s)", s, canon, detail)
		}
		if !decimalFits(d) {
			t.Fatalf("%q accepted but does not fit", s)
		}
	})
}
