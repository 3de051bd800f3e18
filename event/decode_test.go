package event

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// set replaces the value of key in a flat JSON object line (values without ',' or '}'),
// or adds key when absent. raw is JSON ("\"x\"", "1", "null").
func set(line, key, raw string) string {
	k := `"` + key + `":`
	i := strings.Index(line, k)
	if i < 0 {
		return line[:len(line)-1] + `,` + k + raw + `}`
	}
	j := i + len(k)
	end := j + strings.IndexAny(line[j:], ",}")
	return line[:j] + raw + line[end:]
}

// del removes key from a flat JSON object line.
func del(line, key string) string {
	k := `"` + key + `":`
	i := strings.Index(line, k)
	if i < 0 {
		panic("no key " + key)
	}
	j := i + len(k)
	end := j + strings.IndexAny(line[j:], ",}")
	if line[end] == ',' {
		return line[:i] + line[end+1:]
	}
	return line[:i-1] + line[end:] // last field: drop the comma before it
}

func TestDecodeExamples(t *testing.T) {
	tests := map[string]struct {
		line string
		want Event
	}{
		"trade": {exTrade, Event{
			Kind: KindTrade, Src: "binance", TS: time.Date(2021, 10, 12, 0, 28, 43, 963e6, time.UTC),
			ID: "15683430", Symbol: "NKN-USDT", Price: dec("0.3528"), Qty: dec("58"), Side: Buy,
		}},
		"transfer": {exXfer, Event{
			Kind: KindTransfer, Src: "ethereum", TS: time.Date(2022, 8, 11, 10, 0, 12, 0, time.UTC),
			Block: 15320500, Tx: exTx, LogIndex: 1, Token: exWETH, Symbol: "WETH", From: exFrom, To: exTo,
			Amount: dec("0.026369360912168932"), RawAmount: "26369360912168932", Decimals: 18, HasRaw: true,
		}},
		"fill": {exFill, Event{
			Kind: KindFill, Src: "hyperliquid", TS: time.Date(2023, 5, 5, 0, 18, 4, 863e6, time.UTC), ID: "189324432",
			Wallet: exWal, Coin: "SUI", Side: Sell, Px: dec("1.3189"), Sz: dec("142.7"), Dir: "Close Long",
			StartPosition: ndec("4623.5"), ClosedPnl: ndec("-0.25686"), Fee: ndec("0"),
		}},
		"position": {exPos, Event{
			Kind: KindPosition, Src: "hyperliquid", TS: time.Date(2026, 2, 4, 10, 54, 22, 307521e3, time.UTC),
			Wallet: "0x51f63885534cb494f4592a0311551f369bff2b39", Coin: "PENDLE", Size: dec("-63628"),
			EntryPx: ndec("1.565548"), MarkPx: ndec("1.5431"), AccountValue: ndec("3308134.825"),
		}},
		"price": {exPrice, Event{
			Kind: KindPrice, Src: "hyperliquid", TS: time.Date(2026, 2, 4, 9, 34, 27, 568479e3, time.UTC),
			Symbol: "ETH", Price: dec("2251.4"),
		}},
		"swap": {exSwap, Event{
			Kind: KindSwap, Src: "ethereum", TS: time.Date(2023, 8, 8, 17, 13, 59, 0, time.UTC),
			Block: 17871620, Tx: "0x4a9fb3959883f5cbdb737d66a8330293db55ec5b5c5d504329f976a0dec7754c", LogIndex: 7,
			Wallet: "0x24f7ef98522dd61d529464f67bb3ffe96ea8afc2", Venue: "uniswap-v3", Pool: exPool,
			TokenIn: exUSDC, AmountIn: dec("178646.129499"), TokenOut: exWETH, AmountOut: dec("96.40054706944971"),
			SymbolIn: "USDC", SymbolOut: "WETH", USD: ndec("178534.78"),
		}},
		"native transfer, log_index absent": {
			`{"kind":"transfer","src":"ethereum","ts":"2023-05-02T12:19:59Z","block":17173049,"tx":"` + exTx + `","from":"` + exFrom + `","to":"` + exTo + `","amount":"1.5","usd":"2800"}`,
			Event{Kind: KindTransfer, Src: "ethereum", TS: time.Date(2023, 5, 2, 12, 19, 59, 0, time.UTC),
				Block: 17173049, Tx: exTx, LogIndex: NativeLogIndex, From: exFrom, To: exTo, Amount: dec("1.5"), USD: ndec("2800")},
		},
		"reorg retraction with block_hash": {
			set(set(exXfer, "block_hash", `"`+exBlkH+`"`), "removed", "true"),
			Event{Kind: KindTransfer, Src: "ethereum", TS: time.Date(2022, 8, 11, 10, 0, 12, 0, time.UTC),
				Block: 15320500, BlockHash: exBlkH, Tx: exTx, LogIndex: 1, Token: exWETH, Symbol: "WETH", From: exFrom, To: exTo,
				Amount: dec("0.026369360912168932"), RawAmount: "26369360912168932", Decimals: 18, HasRaw: true, Removed: true},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := mustDecode(t, tc.line)
			if d := eventDiff(got, tc.want); d != "" {
				t.Fatal(d)
			}
		})
	}
}

// The transfer example of the shared EVENTS.md abbreviates its hashes and addresses
// ("0x54f4...b5d2"); as written it is dead-lettered, which is the point of the rules.
func TestDecodeAbbreviatedSharedExample(t *testing.T) {
	line := `{"kind":"transfer","src":"ethereum","ts":"2022-08-11T10:00:12Z","block":15320500,"tx":"0x54f4...b5d2","log_index":1,"token":"0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2","symbol":"WETH","from":"0x8032...83e5","to":"0xb4e1...c9dc","raw_amount":"26369360912168932","decimals":18}`
	_, err := Decode([]byte(line), testRules())
	if got := reasonOf(err); got != ReasonBadHash {
		t.Fatalf("reason %q (%v), want %q", got, err, ReasonBadHash)
	}
}

// Every example line in the project's docs/EVENTS.md decodes and round-trips.
func TestDecodeDocsExamples(t *testing.T) {
	f, err := os.Open("../docs/EVENTS.md")
	if err != nil {
		t.Fatalf("open docs: %v", err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, `{"kind":`) {
			continue
		}
		n++
		e := mustDecode(t, line)
		if got := string(AppendJSON(nil, &e)); got != line {
			t.Errorf("docs example is not canonical:\n got %s\nwant %s", got, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 6 {
		t.Fatalf("found %d example lines in docs/EVENTS.md, want at least 6 (one per kind)", n)
	}
}

func TestDecodeRejects(t *testing.T) {
	hex40 := strings.Repeat("a", 40)
	tests := map[string]struct {
		line  string
		want  Reason
		field string
	}{
		// JSON syntax
		"not JSON":                {`hello`, ReasonBadJSON, ""},
		"empty line":              {``, ReasonBadJSON, ""},
		"only spaces":             {`   `, ReasonBadJSON, ""},
		"array":                   {`[1,2]`, ReasonBadJSON, ""},
		"string":                  {`"trade"`, ReasonBadJSON, ""},
		"truncated":               {exTrade[:60], ReasonBadJSON, ""},
		"trailing garbage":        {exTrade + `x`, ReasonBadJSON, ""},
		"two objects":             {exTrade + ` {}`, ReasonBadJSON, ""},
		"trailing comma":          {`{"kind":"trade",}`, ReasonBadJSON, ""},
		"single quotes":           {`{'kind':'trade'}`, ReasonBadJSON, ""},
		"unquoted key":            {`{kind:"trade"}`, ReasonBadJSON, ""},
		"bad escape":              {`{"kind":"tr\ade"}`, ReasonBadJSON, ""},
		"bad unicode escape":      {`{"kind":"\u12g4"}`, ReasonBadJSON, ""},
		"bad literal":             {`{"x":tru,"kind":"trade"}`, ReasonBadJSON, ""},
		"bad nested value":        {`{"x":{"a":[1,2,}]},"kind":"trade"}`, ReasonBadJSON, ""},
		"leading zero number":     {`{"x":01}`, ReasonBadJSON, ""},
		"nesting too deep":        {`{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, ReasonBadJSON, ""},
		"duplicate key":           {exTrade[:len(exTrade)-1] + `,"price":"1"}`, ReasonBadJSON, ""},
		"duplicate escaped key":   {exTrade[:len(exTrade)-1] + `,"\u0070rice":"1"}`, ReasonBadJSON, ""},
		"duplicate kind null":     {`{"kind":null,"kind":"trade"}`, ReasonBadJSON, ""},
		"NaN as JSON":             {set(exTrade, "price", "NaN"), ReasonBadJSON, ""},
		"Infinity as JSON":        {set(exTrade, "price", "Infinity"), ReasonBadJSON, ""},
		"unterminated string":     {`{"kind":"trade`, ReasonBadJSON, ""},
		"missing colon":           {`{"kind" "trade"}`, ReasonBadJSON, ""},
		"byte order mark":         {"\ufeff" + exTrade, ReasonBadJSON, ""},
		"several MB line":         {strings.Repeat("a", 3<<20), ReasonLineTooLong, ""},
		"one byte over the limit": {`{"kind":"trade","pad":"` + strings.Repeat("x", MaxLineBytes-24) + `"}`, ReasonLineTooLong, ""},

		// encoding
		"control character in string":  {set(exTrade, "symbol", "\"NKN\x01-USDT\""), ReasonBadEncoding, ""},
		"NUL between tokens":           {strings.Replace(exTrade, ",", ",\x00", 1), ReasonBadEncoding, ""},
		"raw tab in string":            {set(exTrade, "symbol", "\"NKN\t-USDT\""), ReasonBadEncoding, ""},
		"raw newline in string":        {set(exTrade, "id", "\"1\n2\""), ReasonBadEncoding, ""},
		"DEL in string":                {set(exTrade, "id", "\"1\x7f2\""), ReasonBadEncoding, ""},
		"C1 control in string":         {set(exTrade, "id", "\"1\u00852\""), ReasonBadEncoding, ""},
		"invalid UTF-8":                {set(exTrade, "id", "\"1\xff2\""), ReasonBadEncoding, ""},
		"invalid UTF-8 in unknown":     {set(exTrade, "note", "\"\xc3\x28\""), ReasonBadEncoding, ""},
		"escaped control in symbol":    {set(exTrade, "symbol", `"NKN\u0001-USDT"`), ReasonBadEncoding, "symbol"},
		"escaped newline in id":        {set(exTrade, "id", `"1\n2"`), ReasonBadEncoding, "id"},
		"escaped unit separator in id": {set(exTrade, "id", `"1\u001f2"`), ReasonBadEncoding, "id"},
		"lone surrogate in id":         {set(exTrade, "id", `"\ud800"`), ReasonBadEncoding, "id"},
		"lone low surrogate in id":     {set(exTrade, "id", `"\udc00x"`), ReasonBadEncoding, "id"},

		// kind
		"unknown kind":    {set(exTrade, "kind", `"order"`), ReasonUnknownKind, "kind"},
		"missing kind":    {del(exTrade, "kind"), ReasonUnknownKind, "kind"},
		"null kind":       {set(exTrade, "kind", `null`), ReasonUnknownKind, "kind"},
		"upper-case kind": {set(exTrade, "kind", `"TRADE"`), ReasonUnknownKind, "kind"},
		"numeric kind":    {set(exTrade, "kind", `1`), ReasonBadType, "kind"},
		"empty object":    {`{}`, ReasonUnknownKind, "kind"},

		// missing fields
		"trade without price":      {del(exTrade, "price"), ReasonMissingField, "price"},
		"trade with null price":    {set(exTrade, "price", "null"), ReasonMissingField, "price"},
		"trade with empty price":   {set(exTrade, "price", `""`), ReasonMissingField, "price"},
		"trade without symbol":     {del(exTrade, "symbol"), ReasonMissingField, "symbol"},
		"trade with empty symbol":  {set(exTrade, "symbol", `""`), ReasonMissingField, "symbol"},
		"trade without side":       {del(exTrade, "side"), ReasonMissingField, "side"},
		"trade with empty side":    {set(exTrade, "side", `""`), ReasonMissingField, "side"},
		"without src":              {del(exTrade, "src"), ReasonMissingField, "src"},
		"without ts":               {del(exTrade, "ts"), ReasonMissingField, "ts"},
		"with empty ts":            {set(exTrade, "ts", `""`), ReasonMissingField, "ts"},
		"fill without wallet":      {del(exFill, "wallet"), ReasonMissingField, "wallet"},
		"fill without coin":        {del(exFill, "coin"), ReasonMissingField, "coin"},
		"fill without sz":          {del(exFill, "sz"), ReasonMissingField, "sz"},
		"position without size":    {del(exPos, "size"), ReasonMissingField, "size"},
		"price without price":      {del(exPrice, "price"), ReasonMissingField, "price"},
		"transfer without block":   {del(exXfer, "block"), ReasonMissingField, "block"},
		"transfer without tx":      {del(exXfer, "tx"), ReasonMissingField, "tx"},
		"transfer without from":    {del(exXfer, "from"), ReasonMissingField, "from"},
		"transfer without to":      {del(exXfer, "to"), ReasonMissingField, "to"},
		"transfer without token":   {del(exXfer, "token"), ReasonMissingField, "token"},
		"transfer without amounts": {del(del(exXfer, "raw_amount"), "decimals"), ReasonMissingField, "amount"},
		"raw_amount no decimals":   {del(exXfer, "decimals"), ReasonMissingField, "decimals"},
		"empty raw_amount":         {set(exXfer, "raw_amount", `""`), ReasonMissingField, "raw_amount"},
		"swap without log_index":   {del(exSwap, "log_index"), ReasonMissingField, "log_index"},
		"swap without venue":       {del(exSwap, "venue"), ReasonMissingField, "venue"},
		"swap without pool":        {del(exSwap, "pool"), ReasonMissingField, "pool"},
		"swap without amount_out":  {del(exSwap, "amount_out"), ReasonMissingField, "amount_out"},
		"swap without wallet":      {del(exSwap, "wallet"), ReasonMissingField, "wallet"},

		// wrong JSON types
		"price as JSON number": {set(exTrade, "price", "0.3528"), ReasonBadType, "price"},
		"qty as JSON integer":  {set(exTrade, "qty", "58"), ReasonBadType, "qty"},
		"fee as JSON number":   {set(exFill, "fee", "0.0"), ReasonBadType, "fee"},
		"block as string":      {set(exXfer, "block", `"15320500"`), ReasonBadType, "block"},
		"block as float":       {set(exXfer, "block", `15320500.0`), ReasonBadType, "block"},
		"block with exponent":  {set(exXfer, "block", `1e7`), ReasonBadType, "block"},
		"log_index as string":  {set(exXfer, "log_index", `"1"`), ReasonBadType, "log_index"},
		"decimals as string":   {set(exXfer, "decimals", `"18"`), ReasonBadType, "decimals"},
		"raw_amount as number": {set(exXfer, "raw_amount", `26369360912168932`), ReasonBadType, "raw_amount"},
		"removed as string":    {set(exXfer, "removed", `"true"`), ReasonBadType, "removed"},
		"symbol as number":     {set(exTrade, "symbol", `5`), ReasonBadType, "symbol"},
		"side as boolean":      {set(exTrade, "side", `true`), ReasonBadType, "side"},
		"wallet as number":     {set(exFill, "wallet", `12`), ReasonBadType, "wallet"},
		"ts as unix number":    {set(exTrade, "ts", `1634000000`), ReasonBadType, "ts"},
		"id as float":          {set(exTrade, "id", `1.5`), ReasonBadType, "id"},
		"id as object":         {set(exTrade, "id", `{}`), ReasonBadType, "id"},
		"id as boolean":        {set(exTrade, "id", `false`), ReasonBadType, "id"},
		"price as array":       {set(exTrade, "price", `["1"]`), ReasonBadType, "price"},

		// decimal syntax
		"NaN string":             {set(exTrade, "price", `"NaN"`), ReasonBadNumber, "price"},
		"Inf string":             {set(exTrade, "price", `"Inf"`), ReasonBadNumber, "price"},
		"-Infinity string":       {set(exFill, "closed_pnl", `"-Infinity"`), ReasonBadNumber, "closed_pnl"},
		"huge exponent":          {set(exTrade, "qty", `"1e1000000"`), ReasonBadNumber, "qty"},
		"exponent too long":      {set(exTrade, "qty", `"1e0001"`), ReasonBadNumber, "qty"},
		"exponent out of digits": {set(exTrade, "qty", `"1e101"`), ReasonBadNumber, "qty"},
		"tiny exponent":          {set(exTrade, "qty", `"1e-100"`), ReasonBadNumber, "qty"},
		"101 digits":             {set(exTrade, "qty", `"`+strings.Repeat("1", 101)+`"`), ReasonBadNumber, "qty"},
		"comma decimal":          {set(exTrade, "price", `"0,35"`), ReasonBadNumber, "price"},
		"plus sign":              {set(exTrade, "price", `"+1"`), ReasonBadNumber, "price"},
		"leading point":          {set(exTrade, "price", `".5"`), ReasonBadNumber, "price"},
		"trailing point":         {set(exTrade, "price", `"5."`), ReasonBadNumber, "price"},
		"space in number":        {set(exTrade, "price", `" 5"`), ReasonBadNumber, "price"},
		"hex number":             {set(exTrade, "price", `"0x10"`), ReasonBadNumber, "price"},
		"underscore number":      {set(exTrade, "qty", `"1_000"`), ReasonBadNumber, "qty"},
		"double minus":           {set(exFill, "fee", `"--1"`), ReasonBadNumber, "fee"},
		"unicode minus":          {set(exFill, "fee", `"−1"`), ReasonBadNumber, "fee"},
		"bare exponent":          {set(exTrade, "qty", `"1e"`), ReasonBadNumber, "qty"},
		"bad usd":                {set(exSwap, "usd", `"1.2.3"`), ReasonBadNumber, "usd"},

		// timestamps
		"ts with space":            {set(exTrade, "ts", `"2021-10-12 00:28:43Z"`), ReasonBadTimestamp, "ts"},
		"ts without zone":          {set(exTrade, "ts", `"2021-10-12T00:28:43"`), ReasonBadTimestamp, "ts"},
		"ts date only":             {set(exTrade, "ts", `"2021-10-12"`), ReasonBadTimestamp, "ts"},
		"ts unix string":           {set(exTrade, "ts", `"1634000000"`), ReasonBadTimestamp, "ts"},
		"ts February 30":           {set(exTrade, "ts", `"2021-02-30T00:00:00Z"`), ReasonBadTimestamp, "ts"},
		"ts hour 24":               {set(exTrade, "ts", `"2021-10-12T24:00:00Z"`), ReasonBadTimestamp, "ts"},
		"ts leap second":           {set(exTrade, "ts", `"2016-12-31T23:59:60Z"`), ReasonBadTimestamp, "ts"},
		"ts 10 fraction digits":    {set(exTrade, "ts", `"2021-10-12T00:28:43.1234567891Z"`), ReasonBadTimestamp, "ts"},
		"ts empty fraction":        {set(exTrade, "ts", `"2021-10-12T00:28:43.Z"`), ReasonBadTimestamp, "ts"},
		"ts bad offset":            {set(exTrade, "ts", `"2021-10-12T00:28:43+0100"`), ReasonBadTimestamp, "ts"},
		"ts offset hour 24":        {set(exTrade, "ts", `"2021-10-12T00:28:43+24:00"`), ReasonBadTimestamp, "ts"},
		"ts trailing text":         {set(exTrade, "ts", `"2021-10-12T00:28:43Zx"`), ReasonBadTimestamp, "ts"},
		"ts before 2009":           {set(exTrade, "ts", `"2008-12-31T23:59:59.999Z"`), ReasonBadTimestamp, "ts"},
		"ts before 2009 by offset": {set(exTrade, "ts", `"2009-01-01T00:30:00+01:00"`), ReasonBadTimestamp, "ts"},
		"ts far future":            {set(exTrade, "ts", `"2099-01-01T00:00:00Z"`), ReasonFutureTime, "ts"},
		"ts an hour ahead":         {set(exTrade, "ts", `"2026-06-01T13:00:00Z"`), ReasonFutureTime, "ts"},
		"ts just past the skew":    {set(exTrade, "ts", `"2026-06-01T12:05:00.000000001Z"`), ReasonFutureTime, "ts"},

		// signs
		"zero price":               {set(exTrade, "price", `"0"`), ReasonNonPositive, "price"},
		"negative price":           {set(exTrade, "price", `"-0.3528"`), ReasonNonPositive, "price"},
		"negative zero price":      {set(exTrade, "price", `"-0.0"`), ReasonNonPositive, "price"},
		"zero qty":                 {set(exTrade, "qty", `"0.000"`), ReasonNonPositive, "qty"},
		"negative px":              {set(exFill, "px", `"-1.3189"`), ReasonNonPositive, "px"},
		"zero sz":                  {set(exFill, "sz", `"0"`), ReasonNonPositive, "sz"},
		"negative sz":              {set(exFill, "sz", `"-142.7"`), ReasonNonPositive, "sz"},
		"zero price kind price":    {set(exPrice, "price", `"0"`), ReasonNonPositive, "price"},
		"zero mark_px":             {set(exPos, "mark_px", `"0"`), ReasonNonPositive, "mark_px"},
		"negative entry_px":        {set(exPos, "entry_px", `"-1"`), ReasonNonPositive, "entry_px"},
		"negative leverage":        {set(exPos, "leverage", `"-3"`), ReasonNonPositive, "leverage"},
		"negative transfer amount": {set(del(del(exXfer, "raw_amount"), "decimals"), "amount", `"-1"`), ReasonNonPositive, "amount"},
		"negative transfer usd":    {set(exXfer, "usd", `"-5"`), ReasonNonPositive, "usd"},
		"zero amount_in":           {set(exSwap, "amount_in", `"0"`), ReasonNonPositive, "amount_in"},
		"negative amount_out":      {set(exSwap, "amount_out", `"-96.4"`), ReasonNonPositive, "amount_out"},

		// sides
		"upper-case side":       {set(exTrade, "side", `"BUY"`), ReasonBadSide, "side"},
		"side long":             {set(exTrade, "side", `"long"`), ReasonBadSide, "side"},
		"hyperliquid side code": {set(exFill, "side", `"A"`), ReasonBadSide, "side"},

		// addresses and hashes
		"short wallet":      {set(exFill, "wallet", `"0x123"`), ReasonBadAddress, "wallet"},
		"wallet without 0x": {set(exFill, "wallet", `"b7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"`), ReasonBadAddress, "wallet"},
		"wallet 41 hex":     {set(exFill, "wallet", `"0x`+hex40+`a"`), ReasonBadAddress, "wallet"},
		"wallet non-hex":    {set(exFill, "wallet", `"0x`+hex40[:39]+`g"`), ReasonBadAddress, "wallet"},
		"wallet with space": {set(exFill, "wallet", `" 0x`+hex40+`"`), ReasonBadAddress, "wallet"},
		"wallet tx-length":  {set(exFill, "wallet", `"`+exTx+`"`), ReasonBadAddress, "wallet"},
		"position wallet":   {set(exPos, "wallet", `"0xzz"`), ReasonBadAddress, "wallet"},
		"bad token":         {set(exXfer, "token", `"WETH"`), ReasonBadAddress, "token"},
		"bad from":          {set(exXfer, "from", `"0x8032...83e5"`), ReasonBadAddress, "from"},
		"bad to":            {set(exXfer, "to", `"0x"`), ReasonBadAddress, "to"},
		"bad pool":          {set(exSwap, "pool", `"0x1"`), ReasonBadAddress, "pool"},
		"bad token_in":      {set(exSwap, "token_in", `"USDC"`), ReasonBadAddress, "token_in"},
		"bad token_out":     {set(exSwap, "token_out", `"0x`+hex40[:38]+`"`), ReasonBadAddress, "token_out"},
		"short tx":          {set(exXfer, "tx", `"0x54f4"`), ReasonBadHash, "tx"},
		"tx without 0x":     {set(exXfer, "tx", `"`+exTx[2:]+`"`), ReasonBadHash, "tx"},
		"tx non-hex":        {set(exXfer, "tx", `"`+exTx[:65]+`z"`), ReasonBadHash, "tx"},
		"bad block_hash":    {set(exXfer, "block_hash", `"0xabc"`), ReasonBadHash, "block_hash"},
		"swap bad tx":       {set(exSwap, "tx", `"0x"`), ReasonBadHash, "tx"},

		// symbols
		"symbol with space":         {set(exTrade, "symbol", `"NKN USDT"`), ReasonBadSymbol, "symbol"},
		"trade symbol not a pair":   {set(exTrade, "symbol", `"NKNUSDT"`), ReasonBadSymbol, "symbol"},
		"trade symbol leading dash": {set(exTrade, "symbol", `"-USDT"`), ReasonBadSymbol, "symbol"},
		"coin with dollar":          {set(exFill, "coin", `"$SUI"`), ReasonBadSymbol, "coin"},
		"coin non-ASCII":            {set(exFill, "coin", `"SÜI"`), ReasonBadSymbol, "coin"},
		"coin too long":             {set(exFill, "coin", `"`+strings.Repeat("A", 65)+`"`), ReasonBadSymbol, "coin"},
		"price symbol with quote":   {set(exPrice, "symbol", `"E\"TH"`), ReasonBadSymbol, "symbol"},
		"token symbol too long":     {set(exXfer, "symbol", `"`+strings.Repeat("W", 65)+`"`), ReasonBadSymbol, "symbol"},
		"swap symbol_in too long":   {set(exSwap, "symbol_in", `"`+strings.Repeat("U", 65)+`"`), ReasonBadSymbol, "symbol_in"},

		// other rules
		"log_index -2":             {set(exXfer, "log_index", `-2`), ReasonBadValue, "log_index"},
		"swap log_index -1":        {set(exSwap, "log_index", `-1`), ReasonBadValue, "log_index"},
		"log_index overflow":       {set(exXfer, "log_index", `99999999999999999999`), ReasonBadValue, "log_index"},
		"decimals 78":              {set(exXfer, "decimals", `78`), ReasonBadValue, "decimals"},
		"decimals -1":              {set(exXfer, "decimals", `-1`), ReasonBadValue, "decimals"},
		"raw_amount not integer":   {set(exXfer, "raw_amount", `"12.5"`), ReasonBadValue, "raw_amount"},
		"raw_amount negative":      {set(exXfer, "raw_amount", `"-5"`), ReasonBadValue, "raw_amount"},
		"raw_amount hex":           {set(exXfer, "raw_amount", `"0x1f"`), ReasonBadValue, "raw_amount"},
		"raw_amount 79 digits":     {set(exXfer, "raw_amount", `"`+strings.Repeat("9", 79)+`"`), ReasonBadValue, "raw_amount"},
		"amount and raw_amount":    {set(exXfer, "amount", `"1"`), ReasonBadValue, "amount"},
		"decimals without raw":     {set(del(exXfer, "raw_amount"), "amount", `"1"`), ReasonBadValue, "amount"},
		"decimals alone":           {del(exXfer, "raw_amount"), ReasonBadValue, "decimals"},
		"native transfer w/ token": {set(exXfer, "log_index", `-1`), ReasonBadValue, "token"},
		"token without log_index":  {del(exXfer, "log_index"), ReasonMissingField, "log_index"},
		"block zero":               {set(exXfer, "block", `0`), ReasonBadValue, "block"},
		"block negative":           {set(exXfer, "block", `-5`), ReasonBadValue, "block"},
		"block overflow":           {set(exXfer, "block", `18446744073709551616`), ReasonBadValue, "block"},
		"src with space":           {set(exTrade, "src", `"bin ance"`), ReasonBadValue, "src"},
		"src with colon":           {set(exTrade, "src", `"h:x"`), ReasonBadValue, "src"},
		"id too long":              {set(exTrade, "id", `"`+strings.Repeat("7", 129)+`"`), ReasonBadValue, "id"},
		"venue too long":           {set(exSwap, "venue", `"`+strings.Repeat("v", 65)+`"`), ReasonBadValue, "venue"},
		"dir too long":             {set(exFill, "dir", `"`+strings.Repeat("d", 65)+`"`), ReasonBadValue, "dir"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, err := Decode([]byte(tc.line), testRules())
			if err == nil {
				t.Fatalf("accepted: %s", AppendJSON(nil, &e))
			}
			var rej *Reject
			if !errors.As(err, &rej) {
				t.Fatalf("error %T %v is not a *Reject", err, err)
			}
			if rej.Reason != tc.want || rej.Field != tc.field {
				t.Fatalf("got %s field %q (%v), want %s field %q", rej.Reason, rej.Field, err, tc.want, tc.field)
			}
			if len(rej.Detail) > 200 {
				t.Fatalf("detail of %d bytes; details must stay short", len(rej.Detail))
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	tests := map[string]struct {
		line  string
		check func(t *testing.T, e Event)
	}{
		"trailing CR": {exTrade + "\r", func(t *testing.T, e Event) {
			if e.ID != "15683430" {
				t.Fatalf("id %q", e.ID)
			}
		}},
		"whitespace around tokens": {" {\t\"kind\" : \"price\" ,\n\"src\":\"hyperliquid\", \"ts\":\"2026-02-04T09:34:27Z\",\"symbol\":\"ETH\",\"price\":\"2251.4\" } ", func(t *testing.T, e Event) {
			if e.Symbol != "ETH" {
				t.Fatalf("symbol %q", e.Symbol)
			}
		}},
		"integer id": {set(exTrade, "id", `15683430`), func(t *testing.T, e Event) {
			if e.ID != "15683430" {
				t.Fatalf("id %q", e.ID)
			}
		}},
		"integer id beyond float precision": {set(exFill, "id", `900719925474099312345`), func(t *testing.T, e Event) {
			if e.ID != "900719925474099312345" {
				t.Fatalf("id %q", e.ID)
			}
		}},
		"empty id is absent": {set(exTrade, "id", `""`), func(t *testing.T, e Event) {
			if e.ID != "" || !strings.HasPrefix(e.Key(), "h:") {
				t.Fatalf("id %q key %q", e.ID, e.Key())
			}
		}},
		"null optionals are absent": {set(set(exFill, "fee", "null"), "dir", "null"), func(t *testing.T, e Event) {
			if e.Fee.Valid || e.Dir != "" {
				t.Fatalf("fee %v dir %q", e.Fee, e.Dir)
			}
		}},
		"empty optional decimal is absent": {set(exFill, "fee", `""`), func(t *testing.T, e Event) {
			if e.Fee.Valid {
				t.Fatalf("fee %v", e.Fee)
			}
		}},
		"unknown and nested fields ignored": {set(set(exTrade, "extra", `{"a":[1,2.5e3,{"b":null}],"c":"\ud83d\ude00"}`), "m", "true"), func(t *testing.T, e Event) {
			if e.Symbol != "NKN-USDT" {
				t.Fatalf("symbol %q", e.Symbol)
			}
		}},
		"duplicate unknown keys ignored": {set(exTrade, "x", `1,"x":2`), func(t *testing.T, e Event) {}},
		"fields of other kinds ignored": {set(set(exTrade, "wallet", `"nonsense"`), "block", `"x"`), func(t *testing.T, e Event) {
			if e.Wallet != "" || e.Block != 0 {
				t.Fatalf("wallet %q block %d", e.Wallet, e.Block)
			}
		}},
		"escaped strings and key": {`{"\u006bind":"price","src":"hyperliquid","ts":"2026-02-04T09:34:27Z","symbol":"\u0045TH\/USDC","price":"2251.4","id":"a\"b\\c😀é"}`, func(t *testing.T, e Event) {
			if e.Kind != KindPrice || e.Symbol != "ETH/USDC" || e.ID != "a\"b\\c😀é" {
				t.Fatalf("kind %q symbol %q id %q", e.Kind, e.Symbol, e.ID)
			}
		}},
		"surrogate pair escape": {set(exTrade, "id", `"\ud83d\ude00"`), func(t *testing.T, e Event) {
			if e.ID != "😀" {
				t.Fatalf("id %q", e.ID)
			}
		}},
		"hyperliquid spot and builder coins": {set(exFill, "coin", `"@107"`), func(t *testing.T, e Event) {
			if e.Coin != "@107" {
				t.Fatalf("coin %q", e.Coin)
			}
		}},
		"position size zero and negative zero": {set(exPos, "size", `"-0"`), func(t *testing.T, e Event) {
			if !e.Size.IsZero() {
				t.Fatalf("size %s", e.Size)
			}
		}},
		"position size positive": {set(exPos, "size", `"12.5"`), func(t *testing.T, e Event) {
			if !e.Size.Equal(dec("12.5")) {
				t.Fatalf("size %s", e.Size)
			}
		}},
		"transfer amount zero": {set(del(del(exXfer, "raw_amount"), "decimals"), "amount", `"0"`), func(t *testing.T, e Event) {
			if !e.Amount.IsZero() || e.HasRaw {
				t.Fatalf("amount %s hasRaw %v", e.Amount, e.HasRaw)
			}
		}},
		"raw_amount zero padded, uint256 max": {set(set(exXfer, "raw_amount", `"00115792089237316195423570985008687907853269984665640564039457584007913129639935"`), "decimals", `77`), func(t *testing.T, e Event) {
			if e.RawAmount != "115792089237316195423570985008687907853269984665640564039457584007913129639935" {
				t.Fatalf("raw %q", e.RawAmount)
			}
			if e.Amount.String() != "1.15792089237316195423570985008687907853269984665640564039457584007913129639935" {
				t.Fatalf("amount %s", e.Amount)
			}
		}},
		"raw_amount decimals 0": {set(set(exXfer, "raw_amount", `"5"`), "decimals", `0`), func(t *testing.T, e Event) {
			if !e.Amount.Equal(dec("5")) {
				t.Fatalf("amount %s", e.Amount)
			}
		}},
		"explicit native log_index": {set(del(exXfer, "token"), "log_index", `-1`), func(t *testing.T, e Event) {
			if e.LogIndex != NativeLogIndex || e.Token != "" {
				t.Fatalf("log_index %d token %q", e.LogIndex, e.Token)
			}
		}},
		"removed false": {set(exSwap, "removed", `false`), func(t *testing.T, e Event) {
			if e.Removed {
				t.Fatal("removed")
			}
		}},
		"small exponent": {set(exTrade, "qty", `"1.5E+2"`), func(t *testing.T, e Event) {
			if !e.Qty.Equal(dec("150")) {
				t.Fatalf("qty %s", e.Qty)
			}
		}},
		"negative exponent": {set(exTrade, "price", `"1e-05"`), func(t *testing.T, e Event) {
			if !e.Price.Equal(dec("0.00001")) {
				t.Fatalf("price %s", e.Price)
			}
		}},
		"100 digits": {set(exTrade, "qty", `"`+strings.Repeat("1", 50)+"."+strings.Repeat("1", 50)+`"`), func(t *testing.T, e Event) {
			if e.Qty.String() != strings.Repeat("1", 50)+"."+strings.Repeat("1", 50) {
				t.Fatalf("qty %s", e.Qty)
			}
		}},
		"upper-case src normalised": {set(exTrade, "src", `"Binance"`), func(t *testing.T, e Event) {
			if e.Src != "binance" {
				t.Fatalf("src %q", e.Src)
			}
		}},
		"ts with offset": {set(exTrade, "ts", `"2021-10-12T02:28:43.963+02:00"`), func(t *testing.T, e Event) {
			if !e.TS.Equal(time.Date(2021, 10, 12, 0, 28, 43, 963e6, time.UTC)) || e.TS.Location() != time.UTC {
				t.Fatalf("ts %v", e.TS)
			}
		}},
		"ts with negative offset and nanoseconds": {set(exTrade, "ts", `"2021-10-11T19:28:43.123456789-05:00"`), func(t *testing.T, e Event) {
			if !e.TS.Equal(time.Date(2021, 10, 12, 0, 28, 43, 123456789, time.UTC)) {
				t.Fatalf("ts %v", e.TS)
			}
		}},
		"ts lower-case t and z": {set(exTrade, "ts", `"2021-10-12t00:28:43z"`), func(t *testing.T, e Event) {
			if !e.TS.Equal(time.Date(2021, 10, 12, 0, 28, 43, 0, time.UTC)) {
				t.Fatalf("ts %v", e.TS)
			}
		}},
		"ts leap day":        {set(exTrade, "ts", `"2024-02-29T00:00:00Z"`), func(t *testing.T, e Event) {}},
		"ts at 2009-01-01":   {set(exTrade, "ts", `"2009-01-01T00:00:00Z"`), func(t *testing.T, e Event) {}},
		"ts within the skew": {set(exTrade, "ts", `"2026-06-01T12:05:00Z"`), func(t *testing.T, e Event) {}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := mustDecode(t, tc.line)
			tc.check(t, e)
		})
	}
}

func TestDecodeMaxLineBoundary(t *testing.T) {
	pad := func(n int) string {
		head := `{"pad":"`
		tail := `",` + exTrade[1:]
		return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
	}
	if _, err := Decode([]byte(pad(MaxLineBytes)), testRules()); err != nil {
		t.Fatalf("line of MaxLineBytes: %v", err)
	}
	if _, err := Decode([]byte(pad(MaxLineBytes+1)), testRules()); reasonOf(err) != ReasonLineTooLong {
		t.Fatalf("line of MaxLineBytes+1: %v", err)
	}
}

func TestDecodeAddressNormalisation(t *testing.T) {
	const mixed = "0xb7b6f3CeA3f66bF525f5d8f965F6DBf6d9B017B2" // exWal's EIP-55 checksum
	const upper = "0XC02AAA39B223FE8D0A0E5C4F27EAD9083C756CC2"
	tests := map[string]struct {
		line string
		get  func(Event) []string
		want []string
	}{
		"fill wallet": {set(exFill, "wallet", `"`+mixed+`"`), func(e Event) []string { return []string{e.Wallet} }, []string{exWal}},
		"transfer": {
			set(set(set(exXfer, "token", `"`+upper+`"`), "from", `"0x`+strings.ToUpper(exFrom[2:])+`"`), "tx", `"`+strings.ToUpper(exTx)+`"`),
			func(e Event) []string { return []string{e.Token, e.From, e.Tx} },
			[]string{exWETH, exFrom, exTx},
		},
		"swap": {
			set(set(set(exSwap, "pool", `"0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640"`), "token_in", `"0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"`), "block_hash", `"0x`+strings.ToUpper(exBlkH[2:])+`"`),
			func(e Event) []string { return []string{e.Pool, e.TokenIn, e.BlockHash} },
			[]string{exPool, exUSDC, exBlkH},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := mustDecode(t, tc.line)
			got := tc.get(e)
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("got %q, want %q", got[i], tc.want[i])
				}
			}
			// The key is the same as for the lower-case line.
			lower := mustDecode(t, strings.ToLower(tc.line))
			if lower.Key() != e.Key() {
				t.Errorf("key differs between cases: %q vs %q", e.Key(), lower.Key())
			}
		})
	}
}

// A mixed-case address must carry its EIP-55 checksum: one letter off is bad_checksum
// on the field, while the same address in one case (lower or upper) is accepted.
func TestDecodeAddressChecksum(t *testing.T) {
	const (
		wethSum = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2" // WETH's EIP-55 form
		wethBad = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756CC2" // its last letter upper-cased
	)
	tests := map[string]struct {
		line  string
		want  Reason
		field string
	}{
		"checksummed token":    {set(exXfer, "token", `"`+wethSum+`"`), "", ""},
		"lower token":          {set(exXfer, "token", `"`+exWETH+`"`), "", ""},
		"upper token":          {set(exXfer, "token", `"0x`+strings.ToUpper(exWETH[2:])+`"`), "", ""},
		"bad checksum token":   {set(exXfer, "token", `"`+wethBad+`"`), ReasonBadChecksum, "token"},
		"bad checksum from":    {set(exXfer, "from", `"0x8032EAEDE5C55F744387CA53AAF0499ABCD783e5"`), ReasonBadChecksum, "from"},
		"bad checksum wallet":  {set(exFill, "wallet", `"0xB7b6F3CEA3f66BF525f5D8f965F6DbF6d9B017B2"`), ReasonBadChecksum, "wallet"},
		"bad checksum escaped": {set(exFill, "wallet", `"0xB7b6F3CEA3f66BF525f5D8f965F6DbF6d9B017B2"`), ReasonBadChecksum, "wallet"},
		"bad checksum pool":    {set(exSwap, "pool", `"0x88E6A0c2dDD26FEEb64F039a2c41296FcB3f5640"`), ReasonBadChecksum, "pool"},
		"mixed and too short":  {set(exSwap, "token_out", `"`+wethSum[:41]+`"`), ReasonBadAddress, "token_out"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, err := Decode([]byte(tc.line), testRules())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if e.Token != exWETH {
					t.Fatalf("token %q, want %q", e.Token, exWETH)
				}
				return
			}
			var rej *Reject
			if !errors.As(err, &rej) || rej.Reason != tc.want || rej.Field != tc.field {
				t.Fatalf("got %v, want %s on %s", err, tc.want, tc.field)
			}
		})
	}
}

// The zero Rules use the real clock and a 5-minute skew.
func TestDecodeDefaultRules(t *testing.T) {
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)
	_, err := Decode([]byte(set(exTrade, "ts", `"`+future+`"`)), Rules{})
	if reasonOf(err) != ReasonFutureTime {
		t.Fatalf("an hour ahead with default rules: %v", err)
	}
	near := time.Now().Add(time.Minute).UTC().Format(time.RFC3339Nano)
	if _, err := Decode([]byte(set(exTrade, "ts", `"`+near+`"`)), Rules{}); err != nil {
		t.Fatalf("a minute ahead with default rules: %v", err)
	}
	r := Rules{Now: testNow, MaxFuture: 2 * time.Hour}
	if _, err := Decode([]byte(set(exTrade, "ts", `"2026-06-01T13:00:00Z"`)), r); err != nil {
		t.Fatalf("an hour ahead with a 2h skew: %v", err)
	}
}

func TestParseDecimal(t *testing.T) {
	tests := map[string]struct {
		in, want string // want "" = bad_number
	}{
		"integer":               {"58", "58"},
		"fraction":              {"0.3528", "0.3528"},
		"trailing zeros":        {"0.35280000", "0.3528"},
		"integer zeros kept":    {"1500", "1500"},
		"point zero":            {"10.0", "10"},
		"negative":              {"-63628", "-63628"},
		"negative zero":         {"-0.000", "0"},
		"zero":                  {"0", "0"},
		"leading zeros":         {"007.50", "7.5"},
		"exponent":              {"1e5", "100000"},
		"exponent upper":        {"2.5E-3", "0.0025"},
		"exponent plus":         {"1.25e+2", "125"},
		"exponent to integer":   {"1.5e1", "15"},
		"19 digits":             {"1234567890123456789", "1234567890123456789"},
		"big fraction":          {"0.026369360912168932", "0.026369360912168932"},
		"big negative":          {"-123456789012345678901234567890.5", "-123456789012345678901234567890.5"},
		"max exponent in range": {"1e99", "1" + strings.Repeat("0", 99)},
		"min exponent in range": {"1e-99", "0." + strings.Repeat("0", 98) + "1"},
		"empty":                 {"", ""},
		"minus only":            {"-", ""},
		"NaN":                   {"NaN", ""},
		"inf":                   {"inf", ""},
		"too many digits":       {strings.Repeat("1", 101), ""},
		"too far out":           {"1e100", ""},
		"too small":             {"1e-100", ""},
		"4-digit exponent":      {"1e1000", ""},
		"exponent sign only":    {"1e+", ""},
		"two points":            {"1.2.3", ""},
		"trailing space":        {"1 ", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, detail := parseDecimal([]byte(tc.in))
			if tc.want == "" {
				if detail == "" {
					t.Fatalf("accepted %q as %s", tc.in, d)
				}
				return
			}
			if detail != "" {
				t.Fatalf("rejected %q: %s", tc.in, detail)
			}
			if got := string(appendDecimal(nil, d)); got != tc.want {
				t.Fatalf("canonical %q, want %q", got, tc.want)
			}
			if !d.Equal(decimal.RequireFromString(tc.in)) {
				t.Fatalf("value %s differs from the decimal package's %s", d, tc.in)
			}
		})
	}
}

// checkEncoding's word-at-a-time fast path agrees with the byte rule for every byte value
// at every position of a word.
func TestCheckEncodingEveryByte(t *testing.T) {
	for b := 0; b < 256; b++ {
		for pos := 0; pos < 16; pos++ {
			buf := []byte(strings.Repeat("a", 20))
			buf[pos] = byte(b)
			bad := (b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b >= 0x7f // a lone byte >= 0x80 is invalid UTF-8
			if got := checkEncoding(buf) != nil; got != bad {
				t.Fatalf("byte 0x%02x at %d: rejected=%v, want %v", b, pos, got, bad)
			}
		}
	}
	for _, s := range []string{"aaaaaaaé", "ééééééééé", "aaaaaaa😀aaaaaaaa", "€"} {
		if rej := checkEncoding([]byte(s)); rej != nil {
			t.Fatalf("%q: %v", s, rej)
		}
	}
	for _, s := range []string{"aaaaaaa\u0080", "aaaaaaaaa\u009f", "aaaaaaaa\xe2\x82", "\xed\xa0\x80aaaaaaaa"} {
		if rej := checkEncoding([]byte(s)); rej == nil || rej.Reason != ReasonBadEncoding {
			t.Fatalf("%q accepted", s)
		}
	}
}
