package replay

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/internal/testenv"
)

// sharedData returns the path of a file in the shared real-data directory (beside the
// repository root, /work/main/../shared/data), skipping the test when it is absent.
func sharedData(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real data %s not available (%v); it lives in ../shared/data beside the repository", rel, err)
	}
	return p
}

func TestRealBinanceKlines(t *testing.T) {
	path := sharedData(t, "binance/ETHUSDT-1h-klines.csv")
	recs, format := readAll(t, path, Options{})
	if format != FormatBinanceKlines {
		t.Fatalf("format %q", format)
	}
	if len(recs) != 17520 {
		t.Fatalf("%d records, want 17520", len(recs))
	}
	var prev time.Time
	for _, rec := range recs {
		if rec.Err != nil {
			t.Fatalf("line %d rejected: %v (%q)", rec.Line, rec.Err, rec.Raw)
		}
		e := rec.Event
		if e.Kind != event.KindPrice || e.Symbol != "ETH-USDT" || !e.TS.After(prev) {
			t.Fatalf("line %d: %+v after %v", rec.Line, e, prev)
		}
		prev = e.TS
	}
	// First data row: ...,2976.33,19006.39,1715619599999,...
	if first := recs[0]; first.Line != 2 || first.Event.Price.String() != "2976.33" ||
		!first.Event.TS.Equal(time.UnixMilli(1715619599999)) {
		t.Errorf("first kline %+v", first)
	}
}

func TestRealTokenTransfersCSV(t *testing.T) {
	path := sharedData(t, "ethereum/token_transfers_15320500-15320599.csv")
	recs, format := readAll(t, path, Options{})
	if format != FormatETLTransfersCSV {
		t.Fatalf("format %q", format)
	}
	if len(recs) != 14323 {
		t.Fatalf("%d records, want 14323", len(recs))
	}
	known := 0
	for _, rec := range recs {
		if rec.Err != nil {
			t.Fatalf("line %d rejected: %v (%q)", rec.Line, rec.Err, rec.Raw)
		}
		e := rec.Event
		if e.Block < 15320500 || e.Block > 15320599 || e.Amount.Sign() < 0 {
			t.Fatalf("line %d: %+v", rec.Line, e)
		}
		if e.Symbol != "" {
			known++
		}
	}
	if known == 0 {
		t.Error("no transfer of a well-known token (WETH, USDC, ...) recognised")
	}
	// The range is from 2022-08-11/12; the estimate must land within a day of it.
	first := recs[0].Event.TS
	if first.Before(time.Date(2022, 8, 10, 0, 0, 0, 0, time.UTC)) || first.After(time.Date(2022, 8, 13, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("block 15320500 estimated at %v", first)
	}
}

func TestRealTokenTransfersJSON(t *testing.T) {
	path := sharedData(t, "ethereum/blocks_17173049_17173050/token_transfers.json")
	recs, format := readAll(t, path, Options{})
	if format != FormatETLTransfersJSON {
		t.Fatalf("format %q", format)
	}
	lines := countLines(t, path)
	if len(recs) != lines {
		t.Fatalf("%d records from %d lines", len(recs), lines)
	}
	blockTime := map[uint64]time.Time{17173049: time.Unix(1683029999, 0), 17173050: time.Unix(1683030011, 0)}
	for _, rec := range recs {
		if rec.Err != nil {
			t.Fatalf("line %d rejected: %v", rec.Line, rec.Err)
		}
		e := rec.Event
		if want, ok := blockTime[e.Block]; !ok || !e.TS.Equal(want) || len(e.BlockHash) != 66 {
			t.Fatalf("line %d: block %d at %v, hash %q", rec.Line, e.Block, e.TS, e.BlockHash)
		}
	}
	// The first line: WETH, value 7056176614974947328.
	if e := recs[0].Event; e.Symbol != "WETH" || e.Amount.String() != "7.056176614974947328" {
		t.Errorf("first transfer %+v", e)
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(bytes.TrimSpace(b), []byte("\n")) + 1
}

// TestRealBlockTimeEstimate checks the block-time estimate against real mainnet block
// headers recorded in ethereum-etl's test resources.
func TestRealBlockTimeEstimate(t *testing.T) {
	dir := sharedData(t, "ethereum/rpc-responses")
	files, err := filepath.Glob(filepath.Join(dir, "web3_response.eth_getBlockByNumber_*.json"))
	if err != nil || len(files) == 0 {
		t.Skipf("no block responses in %s", dir)
	}
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var resp struct {
			Result struct {
				Number    string `json:"number"`
				Timestamp string `json:"timestamp"`
			} `json:"result"`
		}
		if err := json.Unmarshal(b, &resp); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		num, err1 := strconv.ParseUint(strings.TrimPrefix(resp.Result.Number, "0x"), 16, 64)
		ts, err2 := strconv.ParseInt(strings.TrimPrefix(resp.Result.Timestamp, "0x"), 16, 64)
		if err1 != nil || err2 != nil || num == 0 { // genesis has timestamp 0
			continue
		}
		got := approxBlockTime(num)
		// The estimate is coarse in 2015-2017 (block times swung with the difficulty
		// bomb); two days bounds it there.
		d := got.Sub(time.Unix(ts, 0)).Abs()
		t.Logf("block %d: estimate off by %v", num, d)
		if d > 48*time.Hour {
			t.Errorf("block %d: estimated %v, real %v (off by %v)", num, got, time.Unix(ts, 0).UTC(), d)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no block header checked")
	}
	// A post-merge block from the ethereum-etl JSON export.
	if d := approxBlockTime(17173049).Sub(time.Unix(1683029999, 0)).Abs(); d > 6*time.Hour {
		t.Errorf("block 17173049 off by %v", d)
	}
}

// cassetteFills extracts the userFills response body and the requested wallet (the
// first address of the recorded request) from a VCR cassette.
func cassetteFills(t *testing.T, path string) (body []byte, wallet string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if r := strings.Index(s, "response:"); r >= 0 {
		wallet = addressIn(s[:r])
	}
	if wallet == "" {
		t.Fatalf("%s: no wallet in the request", path)
	}
	return []byte(testenv.CassetteBody(t, path)), wallet
}

func TestRealHyperliquidUserFills(t *testing.T) {
	for _, name := range []string{"test_get_user_fills.yaml", "test_get_user_fills_by_time.yaml"} {
		t.Run(name, func(t *testing.T) {
			body, wallet := cassetteFills(t, sharedData(t, "hyperliquid/info-api-cassettes/"+name))
			var raw []map[string]any
			if err := json.Unmarshal(body, &raw); err != nil {
				t.Fatalf("cassette body is not a JSON array: %v", err)
			}
			path := writeFile(t, "userFills.json.zst", zstdBytes(t, body))
			recs, format := readAll(t, path, Options{Wallet: wallet})
			if format != FormatHyperliquidFills {
				t.Fatalf("format %q", format)
			}
			if len(recs) != len(raw) || len(recs) == 0 {
				t.Fatalf("%d records from %d fills", len(recs), len(raw))
			}
			var prev time.Time
			for i, rec := range recs {
				if rec.Err != nil {
					t.Fatalf("fill %d rejected: %v", rec.Line, rec.Err)
				}
				e := rec.Event
				if e.TS.Before(prev) {
					t.Fatalf("record %d at %v, before %v", i, e.TS, prev)
				}
				prev = e.TS
				// Every field against the cassette's own fill.
				f := raw[rec.Line-1]
				side := event.Buy
				if f["side"] == "A" {
					side = event.Sell
				}
				if e.Wallet != wallet || e.Coin != f["coin"] || e.Side != side || e.Px.String() != decStr(t, f["px"]) ||
					e.Sz.String() != decStr(t, f["sz"]) || e.Dir != f["dir"] ||
					e.ClosedPnl.Decimal.String() != decStr(t, f["closedPnl"]) ||
					e.StartPosition.Decimal.String() != decStr(t, f["startPosition"]) ||
					e.Fee.Decimal.String() != decStr(t, f["fee"]) ||
					e.TS.UnixMilli() != int64(f["time"].(float64)) || e.ID != "" {
					t.Fatalf("fill %d: %+v from %v", rec.Line, e, f)
				}
			}
			// The newest fills are first in the response: the three parts of order
			// 189324432 (SUI, 1683245884863) end the output in execution order, each
			// starting where the previous left off: 4623.5 - 142.7 = 4480.8, - 3749.1 = 731.7.
			n := len(recs)
			var starts []string
			for _, rec := range recs[n-3:] {
				starts = append(starts, rec.Event.StartPosition.Decimal.String())
			}
			if strings.Join(starts, " ") != "4623.5 4480.8 731.7" || recs[n-3].Event.ClosedPnl.Decimal.String() != "-0.25686" {
				t.Errorf("last three fills start at %v", starts)
			}
		})
	}
}

// decStr normalises a decimal string the way decimal.Decimal.String prints it.
func decStr(t *testing.T, v any) string {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%v is not a string", v)
	}
	d, err := parseDecimal("x", []byte(s))
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return d.String()
}
