package event

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func validFill() Event {
	return Event{Kind: KindFill, Src: "hyperliquid", TS: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Wallet: exWal, Coin: "SUI", Side: Buy, Px: dec("1.3"), Sz: dec("2"), ID: "7"}
}

func validTransfer() Event {
	return Event{Kind: KindTransfer, Src: "ethereum", TS: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Block: 10, Tx: exTx, LogIndex: 2, Token: exWETH, From: exFrom, To: exTo, Amount: dec("3")}
}

func validSwap() Event {
	return Event{Kind: KindSwap, Src: "ethereum", TS: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Block: 10, Tx: exTx, LogIndex: 2, Wallet: exFrom, Venue: "uniswap-v3", Pool: exPool,
		TokenIn: exUSDC, AmountIn: dec("10"), TokenOut: exWETH, AmountOut: dec("0.005")}
}

func validPosition() Event {
	return Event{Kind: KindPosition, Src: "hyperliquid", TS: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Wallet: exWal, Coin: "BTC", Size: dec("0")}
}

func TestValidateNormalises(t *testing.T) {
	e := validTransfer()
	e.Src = "Ethereum"
	e.TS = time.Date(2025, 1, 1, 2, 0, 0, 0, time.FixedZone("X", 2*3600))
	e.Tx = "0x54F4D2DA70B5DBB1B3729B2816621C2D56C02969668FA67FA30B8F7DB3B8B5D2"
	e.Token = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
	e.From = "0x8032EAEDE5C55F744387CA53AAF0499ABCD783E5"
	e.HasRaw, e.RawAmount, e.Decimals, e.Amount = true, "000123", 2, dec("999")
	if err := e.Validate(testRules()); err != nil {
		t.Fatal(err)
	}
	want := validTransfer()
	want.HasRaw, want.RawAmount, want.Decimals, want.Amount = true, "123", 2, dec("1.23")
	if d := eventDiff(e, want); d != "" {
		t.Fatal(d)
	}
}

func TestValidateRejects(t *testing.T) {
	tests := map[string]struct {
		base  func() Event
		edit  func(*Event)
		want  Reason
		field string
	}{
		"no kind":               {validFill, func(e *Event) { e.Kind = "" }, ReasonUnknownKind, "kind"},
		"bad kind":              {validFill, func(e *Event) { e.Kind = "order" }, ReasonUnknownKind, "kind"},
		"no src":                {validFill, func(e *Event) { e.Src = "" }, ReasonMissingField, "src"},
		"zero ts":               {validFill, func(e *Event) { e.TS = time.Time{} }, ReasonMissingField, "ts"},
		"ts 1970":               {validFill, func(e *Event) { e.TS = time.Unix(1e9, 0) }, ReasonBadTimestamp, "ts"},
		"ts future":             {validFill, func(e *Event) { e.TS = testNow().Add(6 * time.Minute) }, ReasonFutureTime, "ts"},
		"control char in id":    {validFill, func(e *Event) { e.ID = "a\x1fb" }, ReasonBadEncoding, "id"},
		"bad UTF-8 in dir":      {validFill, func(e *Event) { e.Dir = "Open \xffLong" }, ReasonBadEncoding, "dir"},
		"C1 in venue":           {validSwap, func(e *Event) { e.Venue = "a\u0085" }, ReasonBadEncoding, "venue"},
		"swap huge amount_in":   {validSwap, func(e *Event) { e.AmountIn = decimal.New(1, 200) }, ReasonBadNumber, "amount_in"},
		"swap without pool":     {validSwap, func(e *Event) { e.Pool = "" }, ReasonMissingField, "pool"},
		"huge transfer amount":  {validTransfer, func(e *Event) { e.Amount = decimal.New(1, -101) }, ReasonBadNumber, "amount"},
		"position huge size":    {validPosition, func(e *Event) { e.Size = decimal.New(-1, 101) }, ReasonBadNumber, "size"},
		"position zero mark_px": {validPosition, func(e *Event) { e.MarkPx = decimal.NullDecimal{Valid: true} }, ReasonNonPositive, "mark_px"},
		"huge exponent":         {validFill, func(e *Event) { e.Px = decimal.New(1, 1000) }, ReasonBadNumber, "px"},
		"tiny exponent":         {validFill, func(e *Event) { e.Fee = decimal.NullDecimal{Decimal: decimal.New(1, -200), Valid: true} }, ReasonBadNumber, "fee"},
		"zero px (unset)":       {validFill, func(e *Event) { e.Px = decimal.Decimal{} }, ReasonNonPositive, "px"},
		"bad side":              {validFill, func(e *Event) { e.Side = "B" }, ReasonBadSide, "side"},
		"bad wallet":            {validFill, func(e *Event) { e.Wallet = "0x12" }, ReasonBadAddress, "wallet"},
		"no wallet":             {validFill, func(e *Event) { e.Wallet = "" }, ReasonMissingField, "wallet"},
		"bad coin":              {validFill, func(e *Event) { e.Coin = "S U I" }, ReasonBadSymbol, "coin"},
		"native needs -1":       {validTransfer, func(e *Event) { e.Token = "" }, ReasonMissingField, "token"},
		"native with token":     {validTransfer, func(e *Event) { e.LogIndex = NativeLogIndex }, ReasonBadValue, "token"},
		"block zero":            {validTransfer, func(e *Event) { e.Block = 0 }, ReasonBadValue, "block"},
		"no tx":                 {validTransfer, func(e *Event) { e.Tx = "" }, ReasonMissingField, "tx"},
		"raw without HasRaw":    {validTransfer, func(e *Event) { e.RawAmount = "5" }, ReasonBadValue, "raw_amount"},
		"HasRaw without raw":    {validTransfer, func(e *Event) { e.HasRaw = true }, ReasonMissingField, "raw_amount"},
		"HasRaw bad decimals":   {validTransfer, func(e *Event) { e.HasRaw, e.RawAmount, e.Decimals = true, "5", 80 }, ReasonBadValue, "decimals"},
		"HasRaw non-integer":    {validTransfer, func(e *Event) { e.HasRaw, e.RawAmount = true, "5e3" }, ReasonBadValue, "raw_amount"},
		"negative amount":       {validTransfer, func(e *Event) { e.Amount = dec("-1") }, ReasonNonPositive, "amount"},
		"log_index -5":          {validTransfer, func(e *Event) { e.LogIndex = -5 }, ReasonBadValue, "log_index"},
		"bad block hash":        {validTransfer, func(e *Event) { e.BlockHash = "0x1" }, ReasonBadHash, "block_hash"},
		"negative usd":          {validTransfer, func(e *Event) { e.USD = ndec("-1") }, ReasonNonPositive, "usd"},
		"bad UTF-8 in coin":     {validFill, func(e *Event) { e.Coin = "\xff" }, ReasonBadEncoding, "coin"},
		"other kind's field":    {validFill, func(e *Event) { e.Venue = "a\x00" }, "", ""},
		"NUL in symbol":         {validTransfer, func(e *Event) { e.Symbol = "W\x00" }, ReasonBadEncoding, "symbol"},
		"symbol beyond 64":      {validTransfer, func(e *Event) { e.Symbol = strings.Repeat("W", 65) }, ReasonBadSymbol, "symbol"},
		"src with upper and sp": {validTransfer, func(e *Event) { e.Src = "Eth Mainnet" }, ReasonBadValue, "src"},
		"bad checksum wallet":   {validFill, func(e *Event) { e.Wallet = "0xB7b6F3CEA3f66BF525f5D8f965F6DbF6d9B017B2" }, ReasonBadChecksum, "wallet"},
		"good checksum wallet":  {validFill, func(e *Event) { e.Wallet = "0xb7b6f3CeA3f66bF525f5d8f965F6DBf6d9B017B2" }, "", ""},
		"upper-case wallet":     {validFill, func(e *Event) { e.Wallet = "0xB7B6F3CEA3F66BF525F5D8F965F6DBF6D9B017B2" }, "", ""},
		"bad checksum to":       {validTransfer, func(e *Event) { e.To = "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dd" }, ReasonBadChecksum, "to"},
		"bad checksum token_in": {validSwap, func(e *Event) { e.TokenIn = "0xa0B86991c6218b36c1d19D4a2e9Eb0cE3606eB48" }, ReasonBadChecksum, "token_in"},
		"short mixed address":   {validSwap, func(e *Event) { e.Pool = "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f564" }, ReasonBadAddress, "pool"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := tc.base()
			tc.edit(&e)
			err := e.Validate(testRules())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if got := reasonOf(err); got != tc.want {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.want)
			}
			if rej := err.(*Reject); rej.Field != tc.field {
				t.Fatalf("field %q, want %q", rej.Field, tc.field)
			}
		})
	}
}

// Validate returns a nil error interface, not a typed nil *Reject.
func TestValidateNilError(t *testing.T) {
	e := validFill()
	if err := e.Validate(testRules()); err != nil {
		t.Fatalf("got %v", err)
	}
}
