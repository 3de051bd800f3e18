package replay

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/coattailcapital/coattail/event"
)

// testRules fixes "now" so that future_timestamp checks do not depend on the clock.
func testRules() event.Rules {
	return event.Rules{Now: func() time.Time { return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) }}
}

// outcome is what became of one record: its line and reject reason ("" = accepted).
type outcome struct {
	Line   int64
	Reason event.Reason
}

func reasonOf(t *testing.T, err error) event.Reason {
	t.Helper()
	if err == nil {
		return ""
	}
	var rej *event.Reject
	if !errors.As(err, &rej) {
		t.Fatalf("record error %v (%T) is not an *event.Reject", err, err)
	}
	return rej.Reason
}

// readAll reads every record of a file and checks the invariants every record keeps.
func readAll(t *testing.T, path string, opt Options) ([]Record, string) {
	t.Helper()
	if opt.Rules.Now == nil {
		opt.Rules = testRules()
	}
	r, err := Open(path, opt)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	var recs []Record
	for {
		rec, ok := r.Next()
		if !ok {
			break
		}
		if rec.Source != path {
			t.Errorf("record source %q, want %q", rec.Source, path)
		}
		if rec.Err == nil && rec.Raw != nil {
			t.Errorf("line %d: accepted record carries Raw", rec.Line)
		}
		if rec.Err != nil && len(rec.Raw) > rawLimit {
			t.Errorf("line %d: Raw of %d bytes, limit %d", rec.Line, len(rec.Raw), rawLimit)
		}
		recs = append(recs, rec)
	}
	if err := r.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return recs, r.Format()
}

func outcomes(t *testing.T, recs []Record) []outcome {
	t.Helper()
	out := make([]outcome, len(recs))
	for i, r := range recs {
		out[i] = outcome{r.Line, reasonOf(t, r.Err)}
	}
	return out
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstdBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(data, nil)
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInterchangeCompression(t *testing.T) {
	plain := readTestdata(t, "interchange.ndjson")
	want := []outcome{
		{1, ""}, {3, ""}, {4, event.ReasonBadType}, {5, event.ReasonBadJSON},
		{6, ""}, {8, ""}, {9, event.ReasonUnknownKind},
	}
	tests := map[string]struct {
		name string
		data []byte
	}{
		"plain":                    {"events.ndjson", plain},
		"gzip":                     {"events.ndjson.gz", gzipBytes(t, plain)},
		"zstd":                     {"events.ndjson.zst", zstdBytes(t, plain)},
		"gzip without extension":   {"events.dat", gzipBytes(t, plain)},
		"zstd with gz extension":   {"events.ndjson.gz", zstdBytes(t, plain)},
		"plain with zst extension": {"events.zst", plain},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			recs, format := readAll(t, writeFile(t, tc.name, tc.data), Options{})
			if format != FormatInterchange {
				t.Errorf("format %q, want %q", format, FormatInterchange)
			}
			if got := outcomes(t, recs); !slices.Equal(got, want) {
				t.Fatalf("outcomes\n got %v\nwant %v", got, want)
			}
			fill := recs[1].Event
			if fill.Kind != event.KindFill || fill.Wallet != "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2" ||
				fill.Px.String() != "1.3189" || fill.ID != "900001" {
				t.Errorf("fill decoded as %+v", fill)
			}
			if got := string(recs[3].Raw); got != "this is not json" {
				t.Errorf("Raw of the bad line %q", got)
			}
			if tr := recs[4].Event; tr.Amount.String() != "0.026369360912168932" {
				t.Errorf("transfer amount %s", tr.Amount)
			}
		})
	}
}

// event line returns a valid interchange trade line of exactly n bytes (without the
// newline), padded with an unknown field.
func paddedLine(t *testing.T, id string, n int) []byte {
	t.Helper()
	head := `{"kind":"trade","src":"binance","ts":"2024-01-01T00:00:00Z","symbol":"BTC-USDT","price":"42000","qty":"1","side":"buy","id":"` + id + `","pad":"`
	pad := n - len(head) - 2
	if pad < 0 {
		t.Fatalf("line of %d bytes is too short", n)
	}
	return []byte(head + strings.Repeat("x", pad) + `"}`)
}

func TestLineEndings(t *testing.T) {
	good := func(id string) string {
		return `{"kind":"price","src":"binance","ts":"2024-01-01T00:00:00Z","symbol":"ETH-USDT","price":"2000","id":"` + id + `"}`
	}
	tests := map[string]struct {
		data string
		want []outcome
		ids  []string
	}{
		"last line without newline": {good("a") + "\n" + good("b"), []outcome{{1, ""}, {2, ""}}, []string{"a", "b"}},
		"CRLF":                      {good("a") + "\r\n" + good("b") + "\r\n", []outcome{{1, ""}, {2, ""}}, []string{"a", "b"}},
		"CRLF without last newline": {good("a") + "\r\n" + good("b"), []outcome{{1, ""}, {2, ""}}, []string{"a", "b"}},
		"blank lines skipped":       {"\n\n" + good("a") + "\n \t\n\r\n" + good("b") + "\n\n", []outcome{{3, ""}, {6, ""}}, []string{"a", "b"}},
		"byte order mark":           {"\xef\xbb\xbf" + good("a") + "\n", []outcome{{1, ""}}, []string{"a"}},
		"empty file":                {"", nil, nil},
		"only blank lines":          {"\n\r\n  \n", nil, nil},
		"bad last line":             {good("a") + "\n{", []outcome{{1, ""}, {2, event.ReasonBadJSON}}, []string{"a", ""}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			recs, _ := readAll(t, writeFile(t, "x.ndjson", []byte(tc.data)), Options{})
			if got := outcomes(t, recs); !slices.Equal(got, tc.want) {
				t.Fatalf("outcomes\n got %v\nwant %v", got, tc.want)
			}
			for i, rec := range recs {
				if rec.Event.ID != tc.ids[i] {
					t.Errorf("record %d: id %q, want %q", i, rec.Event.ID, tc.ids[i])
				}
			}
		})
	}
}

func TestLongLines(t *testing.T) {
	max := event.MaxLineBytes
	tests := map[string]struct {
		middle      []byte
		crlf        bool
		wantReason  event.Reason
		wantRawHead string
	}{
		"3 MB line":               {middle: bytes.Repeat([]byte("z"), 3_000_000), wantReason: event.ReasonLineTooLong, wantRawHead: "zzzz"},
		"valid 200 KB line":       {middle: paddedLine(t, "mid", 200_000)},
		"exactly the limit":       {middle: paddedLine(t, "mid", max)},
		"exactly the limit, CRLF": {middle: paddedLine(t, "mid", max), crlf: true},
		"one byte over the limit": {middle: paddedLine(t, "mid", max+1), wantReason: event.ReasonLineTooLong, wantRawHead: `{"kind":"trade"`},
		"two bytes over, CRLF":    {middle: paddedLine(t, "mid", max+2), crlf: true, wantReason: event.ReasonLineTooLong, wantRawHead: `{"kind":"trade"`},
		"bad JSON of 100 KB":      {middle: bytes.Repeat([]byte("{"), 100_000), wantReason: event.ReasonBadJSON, wantRawHead: "{{{{"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			eol := "\n"
			if tc.crlf {
				eol = "\r\n"
			}
			var buf bytes.Buffer
			buf.Write(paddedLine(t, "first", 300))
			buf.WriteString(eol)
			buf.Write(tc.middle)
			buf.WriteString(eol)
			buf.Write(paddedLine(t, "last", 300))
			buf.WriteString(eol)
			recs, _ := readAll(t, writeFile(t, "long.ndjson", buf.Bytes()), Options{})
			want := []outcome{{1, ""}, {2, tc.wantReason}, {3, ""}}
			if got := outcomes(t, recs); !slices.Equal(got, want) {
				t.Fatalf("outcomes\n got %v\nwant %v", got, want)
			}
			if recs[0].Event.ID != "first" || recs[2].Event.ID != "last" {
				t.Errorf("ids %q, %q", recs[0].Event.ID, recs[2].Event.ID)
			}
			if tc.wantReason == "" {
				if recs[1].Event.ID != "mid" {
					t.Errorf("middle id %q", recs[1].Event.ID)
				}
				return
			}
			raw := recs[1].Raw
			if len(raw) != rawLimit {
				t.Errorf("Raw of %d bytes, want %d", len(raw), rawLimit)
			}
			if !bytes.HasPrefix(raw, []byte(tc.wantRawHead)) {
				t.Errorf("Raw starts %q", raw[:min(len(raw), 20)])
			}
		})
	}
}

// TestLongLineMemory checks that a huge line is skipped, not held: reading a file with
// a 32 MiB line allocates a small fraction of that.
func TestLongLineMemory(t *testing.T) {
	const huge = 32 << 20
	var buf bytes.Buffer
	buf.Write(paddedLine(t, "first", 200))
	buf.WriteByte('\n')
	buf.Write(bytes.Repeat([]byte("y"), huge))
	buf.WriteByte('\n')
	buf.Write(paddedLine(t, "last", 200))
	path := writeFile(t, "huge.ndjson", buf.Bytes())
	buf = bytes.Buffer{}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, err := Open(path, Options{Rules: testRules()})
	if err != nil {
		t.Fatal(err)
	}
	var got []outcome
	for {
		rec, ok := r.Next()
		if !ok {
			break
		}
		got = append(got, outcome{rec.Line, reasonOf(t, rec.Err)})
	}
	runtime.ReadMemStats(&after)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	want := []outcome{{1, ""}, {2, event.ReasonLineTooLong}, {3, ""}}
	if !slices.Equal(got, want) {
		t.Fatalf("outcomes\n got %v\nwant %v", got, want)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("reading a %d MiB line allocated %d KiB", huge>>20, alloc>>10)
	if alloc > 4<<20 {
		t.Errorf("reading a %d MiB line allocated %d bytes; the line must not be held", huge>>20, alloc)
	}
}

func TestOpenErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-file.ndjson")
	_, err := Open(missing, Options{})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: error %v, want fs.ErrNotExist naming the path", err)
	}

	tests := map[string]struct {
		name, data string
		opt        Options
	}{
		"unknown content":                 {"notes.txt", "hello world\nsecond line\n", Options{}},
		"unknown CSV layout":              {"foo.csv", "a,b,c\n1,2,3\n", Options{}},
		"unknown format option":           {"x.ndjson", "", Options{Format: "parquet"}},
		"array of non-fills":              {"x.json", `[1,2,3]`, Options{}},
		"kline header without close_time": {"ETHUSDT-1h.csv", "open_time,open,high,low,close\n", Options{Format: FormatBinanceKlines}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := writeFile(t, tc.name, []byte(tc.data))
			r, err := Open(path, tc.opt)
			if err == nil {
				_ = r.Close()
				t.Fatalf("Open succeeded with format %q", r.Format())
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if name != "kline header without close_time" && !errors.Is(err, ErrUnknownFormat) {
				t.Errorf("error %v is not ErrUnknownFormat", err)
			}
		})
	}
}

func TestCorruptCompressedInput(t *testing.T) {
	line := []byte(`{"kind":"price","src":"binance","ts":"2024-01-01T00:00:00Z","symbol":"ETH-USDT","price":"2000"}` + "\n")
	tests := map[string]struct {
		lines    int
		openFail bool // cut before the first buffer could be filled
	}{
		"cut early": {lines: 1000, openFail: true},
		"cut late":  {lines: 200_000},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			gz := gzipBytes(t, bytes.Repeat(line, tc.lines))
			path := writeFile(t, "cut.ndjson.gz", gz[:len(gz)/2])
			r, err := Open(path, Options{Rules: testRules()})
			if tc.openFail {
				if err == nil || !strings.Contains(err.Error(), path) {
					t.Fatalf("Open error %v, want one naming the file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			n := 0
			for {
				rec, ok := r.Next()
				if !ok {
					break
				}
				if rec.Err != nil {
					t.Fatalf("line %d: %v", rec.Line, rec.Err)
				}
				n++
			}
			if r.Err() == nil || !strings.Contains(r.Err().Error(), path) {
				t.Fatalf("after %d records: Err %v, want a read error naming the file", n, r.Err())
			}
			if n == 0 || n >= tc.lines {
				t.Errorf("%d records before the damage, want some but not all %d", n, tc.lines)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	tests := map[string]struct {
		name, head string
		want       string
	}{
		"interchange":               {"x.dat", `{"kind":"trade"}`, FormatInterchange},
		"interchange after blanks":  {"x.dat", "\n\r\n" + `{"src":"x","kind":"trade"}`, FormatInterchange},
		"json object by default":    {"x.dat", `{"foo":1}`, FormatInterchange},
		"etl json":                  {"x.dat", `{"type": "token_transfer", "value": 1}`, FormatETLTransfersJSON},
		"fills array":               {"x.dat", `[{"closedPnl":"0","coin":"BTC"}]`, FormatHyperliquidFills},
		"pretty fills array":        {"x.dat", "[\n  {\n    \"coin\": \"BTC\",\n    \"oid\": 1\n  }\n]", FormatHyperliquidFills},
		"empty fills array":         {"x.dat", `[ ]`, FormatHyperliquidFills},
		"fill object lines":         {"x.dat", `{"coin":"BTC","oid":1,"px":"1"}`, FormatHyperliquidFills},
		"etl csv":                   {"x.dat", "token_address,from_address,to_address,value,transaction_hash,log_index,block_number\n", FormatETLTransfersCSV},
		"kline header":              {"x.dat", "timestamp,open,high,low,close,volume,close_time\n", FormatBinanceKlines},
		"futures aggTrades header":  {"x.dat", "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n", FormatBinanceAggTrades},
		"futures trades header":     {"x.dat", "id,price,qty,quote_qty,time,is_buyer_maker\n", FormatBinanceTrades},
		"headerless trades":         {"x.dat", "1,42000.1,0.1,4200.01,1704067200004,True,True\n", FormatBinanceTrades},
		"headerless futures trades": {"x.dat", "1,42000.1,0.1,4200.01,1704067200004,true\n", FormatBinanceTrades},
		"headerless aggTrades":      {"x.dat", "1,42000.1,0.1,5,6,1704067200004,False,True\n", FormatBinanceAggTrades},
		"headerless klines":         {"x.dat", "1715616000000,2961.21,2976.91,2954.52,2976.33,19006.39,1715619599999,56397441.38,41899,12180.34,36136346.85,0\n", FormatBinanceKlines},
		"empty ndjson":              {"x.ndjson", "", FormatInterchange},
		"empty by name":             {"btcusdt-trades-2024-01.csv", "", FormatBinanceTrades},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := detect([]byte(tc.head), tc.name)
			if err != nil || got != tc.want {
				t.Errorf("detect = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestEmptyFiles(t *testing.T) {
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			recs, got := readAll(t, writeFile(t, "empty", nil), Options{Format: format})
			if got != format || len(recs) != 0 {
				t.Errorf("format %q, %d records", got, len(recs))
			}
		})
	}
	recs, got := readAll(t, writeFile(t, "BTCUSDT-trades-2024-01.csv", nil), Options{})
	if got != FormatBinanceTrades || len(recs) != 0 {
		t.Errorf("detected format %q, %d records", got, len(recs))
	}
}

func TestFormatOptionOverrides(t *testing.T) {
	// A JSON object without "kind" is interchange by detection; forced, it is read as a
	// Hyperliquid fill.
	data := `{"coin":"BTC","side":"B","px":"1","sz":"1","time":1735689600000,"tid":5}` + "\n"
	path := writeFile(t, "x.json", []byte(data))
	recs, format := readAll(t, path, Options{Format: FormatHyperliquidFills, Wallet: "0x31ca8395cf837de08b24da3f660e77761dfb974b"})
	if format != FormatHyperliquidFills || len(recs) != 1 || recs[0].Err != nil || recs[0].Event.ID != "5" {
		t.Fatalf("format %q, records %+v", format, recs)
	}
	recs, format = readAll(t, path, Options{Format: FormatInterchange})
	if format != FormatInterchange || len(recs) != 1 || reasonOf(t, recs[0].Err) != event.ReasonUnknownKind {
		t.Fatalf("format %q, records %+v", format, recs)
	}
}
