package event

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/fnv"
	"strings"
	"testing"
)

func TestKeyFormat(t *testing.T) {
	const s = "\x1f"
	tests := map[string]struct {
		line, want string
	}{
		"trade":            {exTrade, "binance" + s + "trade" + s + "15683430"},
		"trade integer id": {set(exTrade, "id", "15683430"), "binance" + s + "trade" + s + "15683430"},
		"fill":             {exFill, "hyperliquid" + s + "fill" + s + exWal + s + "189324432"},
		"price":            {exPrice, "hyperliquid" + s + "price" + s + "ETH" + s + "2026-02-04T09:34:27.568479Z"},
		"price id ignored": {set(exPrice, "id", `"9"`), "hyperliquid" + s + "price" + s + "ETH" + s + "2026-02-04T09:34:27.568479Z"},
		"position":         {exPos, "hyperliquid" + s + "position" + s + "0x51f63885534cb494f4592a0311551f369bff2b39" + s + "PENDLE" + s + "2026-02-04T10:54:22.307521Z"},
		"transfer":         {exXfer, "ethereum" + s + "transfer" + s + exTx + s + "1"},
		"transfer hash":    {set(exXfer, "block_hash", `"`+exBlkH+`"`), "ethereum" + s + "transfer" + s + exTx + s + "1" + s + exBlkH},
		"transfer removed": {set(set(exXfer, "block_hash", `"`+exBlkH+`"`), "removed", "true"), "ethereum" + s + "transfer" + s + exTx + s + "1" + s + exBlkH + s + "removed"},
		"transfer native":  {set(del(del(del(del(exXfer, "token"), "log_index"), "raw_amount"), "decimals"), "amount", `"1"`), "ethereum" + s + "transfer" + s + exTx + s + "-1"},
		"swap":             {exSwap, "ethereum" + s + "swap" + s + "0x4a9fb3959883f5cbdb737d66a8330293db55ec5b5c5d504329f976a0dec7754c" + s + "7"},
		"swap removed":     {set(exSwap, "removed", "true"), "ethereum" + s + "swap" + s + "0x4a9fb3959883f5cbdb737d66a8330293db55ec5b5c5d504329f976a0dec7754c" + s + "7" + s + "removed"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := mustDecode(t, tc.line)
			if got := e.Key(); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if got, want := e.KeyHash(), sha256.Sum256([]byte(tc.want)); got != [16]byte(want[:16]) {
				t.Fatalf("KeyHash %x, want %x", got, want[:16])
			}
		})
	}
}

func TestKeyHashForm(t *testing.T) {
	a := mustDecode(t, del(exTrade, "id"))
	k := a.Key()
	if !strings.HasPrefix(k, "h:") || len(k) != 2+64 {
		t.Fatalf("key %q", k)
	}
	enc := AppendJSON(nil, &a)
	sum := sha256.Sum256(enc)
	if want := "h:" + hex.EncodeToString(sum[:]); k != want {
		t.Fatalf("key %q, want %q", k, want)
	}
}

func TestKeySameAndDifferent(t *testing.T) {
	same := map[string][2]string{
		"same line twice":               {exFill, exFill},
		"string and integer id":         {exTrade, set(exTrade, "id", "15683430")},
		"address case":                  {exFill, set(exFill, "wallet", `"0xB7B6F3CEA3F66BF525F5D8F965F6DBF6D9B017B2"`)},
		"field order and unknown field": {exPrice, `{"price":"2251.4","symbol":"ETH","x":1,"ts":"2026-02-04T09:34:27.568479Z","src":"hyperliquid","kind":"price"}`},
		"hash key: number spelling":     {del(exTrade, "id"), set(set(del(exTrade, "id"), "price", `"0.35280"`), "qty", `"5.8e1"`)},
		"hash key: ts zone":             {del(exFill, "id"), set(del(exFill, "id"), "ts", `"2023-05-05T02:18:04.863+02:00"`)},
		"price: other price same ts":    {exPrice, set(exPrice, "price", `"1"`)},
		"trade with id: other price":    {exTrade, set(exTrade, "price", `"1"`)},
	}
	for name, p := range same {
		t.Run("same/"+name, func(t *testing.T) {
			a, b := mustDecode(t, p[0]), mustDecode(t, p[1])
			if a.Key() != b.Key() || a.KeyHash() != b.KeyHash() {
				t.Fatalf("keys differ: %q vs %q", a.Key(), b.Key())
			}
		})
	}
	different := map[string][2]string{
		"fill of two wallets, same id":     {exFill, set(exFill, "wallet", `"0x51f63885534cb494f4592a0311551f369bff2b39"`)},
		"reorg replacement, other hash":    {set(exXfer, "block_hash", `"`+exBlkH+`"`), set(exXfer, "block_hash", `"0x`+strings.Repeat("b", 64)+`"`)},
		"with and without block_hash":      {exXfer, set(exXfer, "block_hash", `"`+exBlkH+`"`)},
		"retraction and original":          {exXfer, set(exXfer, "removed", "true")},
		"swap retraction and original":     {exSwap, set(exSwap, "removed", "true")},
		"other log_index":                  {exXfer, set(exXfer, "log_index", "2")},
		"transfer and swap, same position": {set(exSwap, "tx", `"`+exTx+`"`), set(exXfer, "log_index", "7")},
		"trade ids of two venues":          {exTrade, set(exTrade, "src", `"coinbase"`)},
		"trade and fill, same id":          {set(exFill, "id", `"15683430"`), exTrade},
		"hash key: other qty":              {del(exTrade, "id"), set(del(exTrade, "id"), "qty", `"59"`)},
		"hash key: other ts":               {del(exFill, "id"), set(del(exFill, "id"), "ts", `"2023-05-05T00:18:04.864Z"`)},
		"price: other ts":                  {exPrice, set(exPrice, "ts", `"2026-02-04T09:34:27.568478Z"`)},
		"price: other symbol":              {exPrice, set(exPrice, "symbol", `"BTC"`)},
		"position: other coin":             {exPos, set(exPos, "coin", `"ETH"`)},
		"position: other wallet":           {exPos, set(exPos, "wallet", `"`+exWal+`"`)},
		"native and log 0":                 {set(del(del(del(del(exXfer, "token"), "log_index"), "raw_amount"), "decimals"), "amount", `"1"`), set(exXfer, "log_index", "0")},
	}
	for name, p := range different {
		t.Run("different/"+name, func(t *testing.T) {
			a, b := mustDecode(t, p[0]), mustDecode(t, p[1])
			if a.Key() == b.Key() || a.KeyHash() == b.KeyHash() {
				t.Fatalf("same key %q", a.Key())
			}
		})
	}
}

func TestShardKey(t *testing.T) {
	tests := map[string]struct {
		line, want string
	}{
		"trade":    {exTrade, "NKN-USDT"},
		"price":    {exPrice, "ETH"},
		"fill":     {exFill, exWal},
		"position": {exPos, "0x51f63885534cb494f4592a0311551f369bff2b39"},
		"swap":     {exSwap, "0x24f7ef98522dd61d529464f67bb3ffe96ea8afc2"},
		"transfer": {exXfer, exFrom},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := mustDecode(t, tc.line)
			if got := e.ShardKey(); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestShard(t *testing.T) {
	keys := []string{"", "ETH", "NKN-USDT", exWal, exFrom, strings.Repeat("z", 1000)}
	for _, n := range []int{2, 3, 16, 1000} {
		for _, k := range keys {
			h := fnv.New64a()
			h.Write([]byte(k))
			want := int(h.Sum64() % uint64(n))
			if got := Shard(k, n); got != want {
				t.Fatalf("Shard(%.20q, %d) = %d, want %d (FNV-1a 64)", k, n, got, want)
			}
		}
	}
	for _, n := range []int{-1, 0, 1} {
		if got := Shard("ETH", n); got != 0 {
			t.Fatalf("Shard(ETH, %d) = %d, want 0", n, got)
		}
	}
	// Spread: 64 shards over 10k wallets, no shard empty or with more than twice its share.
	counts := make([]int, 64)
	for i := 0; i < 10000; i++ {
		w := []byte(exWal)
		for j := 0; j < 4; j++ {
			w[2+j] = "0123456789abcdef"[(i>>(4*j))&0xf]
		}
		counts[Shard(string(w), 64)]++
	}
	for s, c := range counts {
		if c == 0 || c > 2*10000/64 {
			t.Fatalf("shard %d has %d of 10000 keys", s, c)
		}
	}
}
