package replay

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
)

func TestBinanceTrades(t *testing.T) {
	data := readTestdata(t, "BTCUSDT-trades-2024-01.csv")
	for name, file := range map[string]string{
		"plain": "BTCUSDT-trades-2024-01.csv",
		"gzip":  "BTCUSDT-trades-2024-01.csv.gz",
		"zstd":  "BTCUSDT-trades-2024-01.csv.zst",
	} {
		t.Run(name, func(t *testing.T) {
			b := data
			switch name {
			case "gzip":
				b = gzipBytes(t, data)
			case "zstd":
				b = zstdBytes(t, data)
			}
			recs, format := readAll(t, writeFile(t, file, b), Options{})
			if format != FormatBinanceTrades {
				t.Fatalf("format %q", format)
			}
			want := []outcome{
				{1, ""}, {2, ""}, {4, event.ReasonNonPositive}, {5, event.ReasonBadNumber},
				{6, event.ReasonBadValue}, {7, event.ReasonMissingField},
			}
			if got := outcomes(t, recs); !slices.Equal(got, want) {
				t.Fatalf("outcomes\n got %v\nwant %v", got, want)
			}
			e := recs[0].Event
			if e.Kind != event.KindTrade || e.Src != "binance" || e.Symbol != "BTC-USDT" || e.ID != "3355612301" ||
				e.Price.String() != "42283.58" || e.Qty.String() != "0.004" || e.Side != event.Sell ||
				!e.TS.Equal(time.UnixMilli(1704067200004)) {
				t.Errorf("first trade %+v", e)
			}
			if recs[1].Event.Side != event.Buy {
				t.Errorf("buyer not maker: side %q, want buy", recs[1].Event.Side)
			}
			var rej *event.Reject
			if !errors.As(recs[5].Err, &rej) || rej.Field != "qty" {
				t.Errorf("short row: %v, want missing qty", recs[5].Err)
			}
			if string(recs[3].Raw) != "3355612304,abc,0.1,4228.359,1704067200011,False,True" {
				t.Errorf("Raw %q", recs[3].Raw)
			}
		})
	}
}

func TestBinanceAggTradesMicroseconds(t *testing.T) {
	recs, format := readAll(t, filepath.Join("testdata", "ETHUSDT-aggTrades-2025-01-01.csv"), Options{})
	if format != FormatBinanceAggTrades {
		t.Fatalf("format %q", format)
	}
	if got, want := outcomes(t, recs), []outcome{{1, ""}, {2, ""}}; !slices.Equal(got, want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	e := recs[0].Event
	if e.ID != "a2025010001" || e.Symbol != "ETH-USDT" || e.Side != event.Sell || e.Qty.String() != "0.015" ||
		!e.TS.Equal(time.UnixMicro(1735689600008123)) {
		t.Errorf("first aggTrade %+v", e)
	}
	if e := recs[1].Event; e.ID != "a2025010002" || e.Side != event.Buy || !e.TS.Equal(time.UnixMicro(1735689600123456)) {
		t.Errorf("second aggTrade %+v", e)
	}
}

func TestBinanceKlines(t *testing.T) {
	tests := map[string]struct {
		file    string
		opt     Options
		symbol  string
		closes  []string
		closeTS []time.Time
	}{
		"headerless, ms": {
			file: "ETHUSDT-1h-2024-05.csv", symbol: "ETH-USDT", closes: []string{"2976.33", "2940.97"},
			closeTS: []time.Time{time.UnixMilli(1715619599999), time.UnixMilli(1715623199999)},
		},
		"header, µs": {
			file: "SOLUSDC-1m-klines-header.csv", symbol: "SOL-USDC", closes: []string{"189.8"},
			closeTS: []time.Time{time.UnixMicro(1735689659999999)},
		},
		"symbol option": {
			file: "ETHUSDT-1h-2024-05.csv", opt: Options{Symbol: "ethbtc"}, symbol: "ETH-BTC",
			closes:  []string{"2976.33", "2940.97"},
			closeTS: []time.Time{time.UnixMilli(1715619599999), time.UnixMilli(1715623199999)},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			recs, format := readAll(t, filepath.Join("testdata", tc.file), tc.opt)
			if format != FormatBinanceKlines {
				t.Fatalf("format %q", format)
			}
			if len(recs) != len(tc.closes) {
				t.Fatalf("%d records, want %d", len(recs), len(tc.closes))
			}
			for i, rec := range recs {
				e := rec.Event
				if rec.Err != nil || e.Kind != event.KindPrice || e.Src != "binance" || e.Symbol != tc.symbol ||
					e.Price.String() != tc.closes[i] || !e.TS.Equal(tc.closeTS[i]) {
					t.Errorf("kline %d: %+v, err %v", i, e, rec.Err)
				}
			}
		})
	}
}

func TestBinanceSymbolMissing(t *testing.T) {
	path := writeFile(t, "trades.csv", readTestdata(t, "ETHUSDT-aggTrades-2025-01-01.csv"))
	recs, _ := readAll(t, path, Options{})
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	for _, rec := range recs {
		var rej *event.Reject
		if !errors.As(rec.Err, &rej) || rej.Reason != event.ReasonMissingField || rej.Field != "symbol" {
			t.Errorf("line %d: %v, want missing_field symbol", rec.Line, rec.Err)
		}
	}
	recs, _ = readAll(t, path, Options{Symbol: "ETH-USDT"})
	if recs[0].Err != nil || recs[0].Event.Symbol != "ETH-USDT" {
		t.Errorf("with the symbol option: %+v", recs[0])
	}
}

func TestSymbolFor(t *testing.T) {
	tests := []struct{ opt, name, want string }{
		{"", "ethusdt-1h-klines.csv", "ETH-USDT"},
		{"", "btcusdt-trades-2024-01.csv", "BTC-USDT"},
		{"", "ethbtc-aggtrades-2024-01-01.csv", "ETH-BTC"},
		{"", "btcfdusd-1m-2024-01.csv", "BTC-FDUSD"},
		{"", "usdcusdt-trades-2024-01.csv", "USDC-USDT"},
		{"", "bnbeth-1d.csv", "BNB-ETH"},
		{"", "btceuri-1h.csv", "BTC-EURI"},
		{"", "1000satsusdt-1h.csv", "1000SATS-USDT"},
		{"", "usdt-1h.csv", ""}, // only a quote
		{"", "trades.csv", ""},
		{"", "klines_2024.csv", ""},
		{"BTCUSDT", "whatever.csv", "BTC-USDT"},
		{"btc-usdt", "ethusdt-1h.csv", "BTC-USDT"},
		{"FOO", "ethusdt-1h.csv", "FOO"},
	}
	for _, tc := range tests {
		if got := symbolFor(tc.opt, tc.name); got != tc.want {
			t.Errorf("symbolFor(%q, %q) = %q, want %q", tc.opt, tc.name, got, tc.want)
		}
	}
}

func TestETLTransfersCSV(t *testing.T) {
	recs, format := readAll(t, filepath.Join("testdata", "token_transfers.csv"), Options{})
	if format != FormatETLTransfersCSV {
		t.Fatalf("format %q", format)
	}
	want := []outcome{{2, ""}, {3, ""}, {4, ""}, {5, event.ReasonBadAddress}, {6, event.ReasonBadNumber}}
	if got := outcomes(t, recs); !slices.Equal(got, want) {
		t.Fatalf("outcomes\n got %v\nwant %v", got, want)
	}
	weth := recs[0].Event
	if weth.Kind != event.KindTransfer || weth.Src != "ethereum" || weth.Token != "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2" ||
		weth.Symbol != "WETH" || weth.Decimals != 18 || !weth.HasRaw || weth.RawAmount != "26369360912168932" ||
		weth.Amount.String() != "0.026369360912168932" || weth.Block != 15320500 || weth.LogIndex != 1 ||
		weth.Tx != "0x54f4d2da70b5dbb1b3729b2816621c2d56c02969668fa67fa30b8f7db3b8b5d2" ||
		weth.From != "0x8032eaede5c55f744387ca53aaf0499abcd783e5" || weth.BlockHash != "" {
		t.Errorf("WETH transfer %+v", weth)
	}
	if !weth.TS.Equal(approxBlockTime(15320500)) {
		t.Errorf("ts %v, want the block estimate %v", weth.TS, approxBlockTime(15320500))
	}
	if usdc := recs[1].Event; usdc.Symbol != "USDC" || usdc.Decimals != 6 || usdc.Amount.String() != "49.730618" {
		t.Errorf("USDC transfer %+v", usdc)
	}
	unknown := recs[2].Event
	if unknown.Symbol != "" || unknown.Decimals != 0 || unknown.RawAmount != "1000000000000000000000000000000" ||
		unknown.Amount.String() != "1000000000000000000000000000000" {
		t.Errorf("unknown-token transfer %+v", unknown)
	}
	if !unknown.TS.After(weth.TS) {
		t.Errorf("block 15320501 at %v, not after block 15320500 at %v", unknown.TS, weth.TS)
	}
}

func TestETLTransfersJSON(t *testing.T) {
	recs, format := readAll(t, filepath.Join("testdata", "token_transfers.json"), Options{})
	if format != FormatETLTransfersJSON {
		t.Fatalf("format %q", format)
	}
	want := []outcome{{1, ""}, {2, ""}, {3, event.ReasonUnknownKind}, {4, event.ReasonBadType}}
	if got := outcomes(t, recs); !slices.Equal(got, want) {
		t.Fatalf("outcomes\n got %v\nwant %v", got, want)
	}
	usdt := recs[0].Event
	if usdt.Symbol != "USDT" || usdt.Decimals != 6 || usdt.RawAmount != "150188698577042438264952193024" ||
		usdt.Amount.String() != "150188698577042438264952.193024" || !usdt.TS.Equal(time.Unix(1683029999, 0)) ||
		usdt.BlockHash != "0xaa5ab9bb22d8020d438496a7edb4eff508b1c5128b0dc01fdecf57f96aac1bb3" || usdt.LogIndex != 3 {
		t.Errorf("USDT transfer %+v", usdt)
	}
	noTS := recs[1].Event
	if noTS.RawAmount != "42" || noTS.Block != 17173050 || !noTS.TS.Equal(approxBlockTime(17173050)) {
		t.Errorf("transfer without block_timestamp %+v", noTS)
	}
}

func TestHyperliquidFills(t *testing.T) {
	const wallet = "0x31ca8395cf837de08b24da3f660e77761dfb974b"
	path := filepath.Join("testdata", "userFills_"+wallet+".json")
	// File order is newest first; within one millisecond it is execution order.
	want := []outcome{{6, ""}, {5, event.ReasonBadSide}, {4, event.ReasonBadType}, {2, ""}, {3, ""}, {1, ""}}

	t.Run("wallet from the file name", func(t *testing.T) {
		recs, format := readAll(t, path, Options{})
		if format != FormatHyperliquidFills {
			t.Fatalf("format %q", format)
		}
		if got := outcomes(t, recs); !slices.Equal(got, want) {
			t.Fatalf("outcomes\n got %v\nwant %v", got, want)
		}
		ids := []string{recs[0].Event.ID, recs[3].Event.ID, recs[4].Event.ID, recs[5].Event.ID}
		if !slices.Equal(ids, []string{"", "700002", "700004", "700003"}) {
			t.Errorf("ids in order %q", ids)
		}
		old := recs[0].Event // no tid
		if old.Kind != event.KindFill || old.Src != "hyperliquid" || old.Wallet != wallet || old.Coin != "SOL" ||
			old.Side != event.Sell || old.Px.String() != "189.9" || old.Sz.String() != "4" || old.Dir != "Close Long" ||
			old.StartPosition.Decimal.String() != "10" || old.ClosedPnl.Decimal.String() != "-1.5" ||
			old.Fee.Decimal.String() != "0.01" || !old.TS.Equal(time.UnixMilli(1735689599000)) {
			t.Errorf("fill without tid %+v", old)
		}
		if e := recs[3].Event; e.Side != event.Buy || e.StartPosition.Decimal.String() != "0" {
			t.Errorf("buy fill %+v", e)
		}
		var rej *event.Reject
		if !errors.As(recs[2].Err, &rej) || rej.Field != "px" {
			t.Errorf("numeric px: %v, want bad_type px", recs[2].Err)
		}
	})
	t.Run("wallet option", func(t *testing.T) {
		p := writeFile(t, "fills.json", readTestdata(t, "userFills_"+wallet+".json"))
		recs, _ := readAll(t, p, Options{Wallet: "0xAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})
		if got := outcomes(t, recs); !slices.Equal(got, want) {
			t.Fatalf("outcomes\n got %v\nwant %v", got, want)
		}
		if recs[0].Event.Wallet != "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
			t.Errorf("wallet %q", recs[0].Event.Wallet)
		}
	})
	t.Run("no wallet", func(t *testing.T) {
		p := writeFile(t, "fills.json", readTestdata(t, "userFills_"+wallet+".json"))
		recs, _ := readAll(t, p, Options{})
		want := []outcome{{6, event.ReasonMissingField}, {5, event.ReasonMissingField}, {4, event.ReasonBadType},
			{2, event.ReasonMissingField}, {3, event.ReasonMissingField}, {1, event.ReasonMissingField}}
		if got := outcomes(t, recs); !slices.Equal(got, want) {
			t.Fatalf("outcomes\n got %v\nwant %v", got, want)
		}
		var rej *event.Reject
		if !errors.As(recs[0].Err, &rej) || rej.Field != "wallet" {
			t.Errorf("%v, want missing wallet", recs[0].Err)
		}
	})
}

func TestHyperliquidFillsShapes(t *testing.T) {
	fill := func(tid, ms string) string {
		return `{"coin":"BTC","side":"B","px":"1","sz":"1","time":` + ms + `,"tid":` + tid + `,"oid":1}`
	}
	opt := Options{Wallet: "0x31ca8395cf837de08b24da3f660e77761dfb974b"}
	tests := map[string]struct {
		data string
		want []outcome
		ids  []string
	}{
		"empty array":     {"[]", nil, nil},
		"empty file":      {"", nil, nil},
		"ascending kept":  {"[" + fill("1", "1735689600000") + "," + fill("2", "1735689601000") + "]", []outcome{{1, ""}, {2, ""}}, []string{"1", "2"}},
		"appended arrays": {"[" + fill("3", "1735689603000") + "]\n[" + fill("1", "1735689601000") + "]\n", []outcome{{2, ""}, {1, ""}}, []string{"1", "3"}},
		"one fill a line": {fill("2", "1735689602000") + "\n" + fill("1", "1735689601000") + "\n", []outcome{{2, ""}, {1, ""}}, []string{"1", "2"}},
		"truncated array": {"[" + fill("2", "1735689602000") + "," + fill("1", "1735689601000") + `,{"coin":"B`, []outcome{{2, ""}, {1, ""}, {3, event.ReasonBadJSON}}, []string{"1", "2", ""}},
		"garbage after":   {"[" + fill("1", "1735689601000") + "] 42", []outcome{{1, ""}, {2, event.ReasonBadJSON}}, []string{"1", ""}},
		"not an object":   {"[" + fill("1", "1735689601000") + `,"x"]`, []outcome{{2, event.ReasonBadType}, {1, ""}}, []string{"", "1"}},
		"missing px":      {`[{"coin":"BTC","side":"B","sz":"1","time":1735689600000}]`, []outcome{{1, event.ReasonMissingField}}, []string{""}},
		"exponent in sz":  {`[{"coin":"BTC","side":"B","px":"1","sz":"1e3","time":1735689600000}]`, []outcome{{1, event.ReasonBadNumber}}, []string{""}},
		"future fill":     {"[" + fill("1", "1893456000000") + "]", []outcome{{1, event.ReasonFutureTime}}, []string{""}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := opt
			o.Format = FormatHyperliquidFills
			recs, _ := readAll(t, writeFile(t, "f.json", []byte(tc.data)), o)
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

func TestAddressIn(t *testing.T) {
	tests := []struct{ in, want string }{
		{"userfills_0x31ca8395cf837de08b24da3f660e77761dfb974b.json", "0x31ca8395cf837de08b24da3f660e77761dfb974b"},
		{"0X31CA8395CF837DE08B24DA3F660E77761DFB974B-fills.json", "0x31ca8395cf837de08b24da3f660e77761dfb974b"},
		{"fills-0x31ca8395cf837de08b24da3f660e77761dfb974b0.json", ""}, // 41 hex digits: not an address
		{"fills.json", ""},
		{"0x1234.json", ""},
	}
	for _, tc := range tests {
		if got := addressIn(tc.in); got != tc.want {
			t.Errorf("addressIn(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestApproxBlockTimeMonotonic(t *testing.T) {
	prev := approxBlockTime(0)
	for b := uint64(1); b < 30_000_000; b += 997 {
		ts := approxBlockTime(b)
		if ts.Before(prev) {
			t.Fatalf("block %d at %v, before block %d at %v", b, ts, b-997, prev)
		}
		prev = ts
	}
	// The anchors themselves are exact.
	for _, a := range mainnetAnchors() {
		if got := approxBlockTime(a.block); got.Unix() != a.unix {
			t.Errorf("anchor block %d: %v, want %v", a.block, got, time.Unix(a.unix, 0).UTC())
		}
	}
}

func TestCSVRepeatedHeader(t *testing.T) {
	one := readTestdata(t, "token_transfers.csv")
	recs, _ := readAll(t, writeFile(t, "token_transfers.csv", append(append([]byte(nil), one...), one...)), Options{})
	single, _ := readAll(t, filepath.Join("testdata", "token_transfers.csv"), Options{})
	if len(recs) != 2*len(single) {
		t.Fatalf("%d records from two copies of a file with %d", len(recs), len(single))
	}
	for i, rec := range recs[len(single):] {
		if got, want := reasonOf(t, rec.Err), reasonOf(t, single[i].Err); got != want {
			t.Errorf("second copy, record %d: %q, want %q", i, got, want)
		}
	}
}
