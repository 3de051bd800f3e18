package evm

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/coattailcapital/coattail/event"
)

func TestTopicsAndSelectors(t *testing.T) {
	for _, c := range []struct {
		sig  string
		want common.Hash
	}{
		{"Transfer(address,address,uint256)", TransferTopic},
		{"Swap(address,uint256,uint256,uint256,uint256,address)", SwapV2Topic},
		{"Swap(address,address,int256,int256,uint160,uint128,int24)", SwapV3Topic},
	} {
		if got := crypto.Keccak256Hash([]byte(c.sig)); got != c.want {
			t.Errorf("topic of %s: %s, want %s", c.sig, c.want.Hex(), got.Hex())
		}
	}
	for _, c := range []struct{ sig, sel string }{
		{"decimals()", selDecimals}, {"symbol()", selSymbol}, {"token0()", selToken0},
		{"token1()", selToken1}, {"transfer(address,uint256)", selTransfer},
	} {
		if got := string(crypto.Keccak256([]byte(c.sig))[:4]); got != c.sel {
			t.Errorf("selector of %s: %x, want %x", c.sig, c.sel, got)
		}
	}
}

func addrTopic(a string) common.Hash { return common.BytesToHash(common.HexToAddress(a).Bytes()) }

func TestDecodeLog(t *testing.T) {
	from, to := "0x1111111111111111111111111111111111111111", "0x2222222222222222222222222222222222222222"
	dirty := addrTopic(from)
	dirty[0] = 1
	tests := []struct {
		name       string
		topics     []common.Hash
		data       []byte
		kind       logKind
		reason     event.Reason // a rejection
		value      string       // transfer
		in         int          // swap: token in
		amIn, amOu string       // swap
	}{
		{name: "transfer", topics: []common.Hash{TransferTopic, addrTopic(from), addrTopic(to)}, data: words(bi("123456789")), kind: logTransfer, value: "123456789"},
		{name: "transfer of 0", topics: []common.Hash{TransferTopic, addrTopic(from), addrTopic(to)}, data: words(bi("0")), kind: logTransfer, value: "0"},
		{name: "transfer of 2^256-1", topics: []common.Hash{TransferTopic, addrTopic(from), addrTopic(to)}, data: words(bi("-1")), kind: logTransfer,
			value: "115792089237316195423570985008687907853269984665640564039457584007913129639935"},
		{name: "erc721 transfer skipped", topics: []common.Hash{TransferTopic, addrTopic(from), addrTopic(to), common.BigToHash(big.NewInt(7))}, kind: logOther},
		{name: "transfer unindexed", topics: []common.Hash{TransferTopic}, data: words(bi("1"), bi("2"), bi("3")), reason: event.ReasonBadValue},
		{name: "transfer short data", topics: []common.Hash{TransferTopic, addrTopic(from), addrTopic(to)}, data: make([]byte, 31), reason: event.ReasonBadValue},
		{name: "transfer long data", topics: []common.Hash{TransferTopic, addrTopic(from), addrTopic(to)}, data: make([]byte, 64), reason: event.ReasonBadValue},
		{name: "transfer dirty address", topics: []common.Hash{TransferTopic, dirty, addrTopic(to)}, data: words(bi("1")), reason: event.ReasonBadAddress},
		{name: "other event", topics: []common.Hash{common.HexToHash("0x1234"), addrTopic(from)}, data: words(bi("1")), kind: logOther},
		{name: "no topics", data: []byte{1, 2, 3}, kind: logOther},

		{name: "v2 token0 in", topics: []common.Hash{SwapV2Topic, addrTopic(from), addrTopic(to)}, data: words(bi("100"), bi("0"), bi("0"), bi("42")),
			kind: logSwapV2, in: 0, amIn: "100", amOu: "42"},
		{name: "v2 token1 in", topics: []common.Hash{SwapV2Topic, addrTopic(from), addrTopic(to)}, data: words(bi("0"), bi("7"), bi("9"), bi("0")),
			kind: logSwapV2, in: 1, amIn: "7", amOu: "9"},
		{name: "v2 net of in and out", topics: []common.Hash{SwapV2Topic, addrTopic(from), addrTopic(to)}, data: words(bi("100"), bi("5"), bi("10"), bi("20")),
			kind: logSwapV2, in: 0, amIn: "90", amOu: "15"},
		{name: "v2 both in", topics: []common.Hash{SwapV2Topic, addrTopic(from), addrTopic(to)}, data: words(bi("1"), bi("1"), bi("0"), bi("0")), reason: event.ReasonNonPositive},
		{name: "v2 zero", topics: []common.Hash{SwapV2Topic, addrTopic(from), addrTopic(to)}, data: words(bi("0"), bi("0"), bi("0"), bi("0")), reason: event.ReasonNonPositive},
		{name: "v2 short", topics: []common.Hash{SwapV2Topic, addrTopic(from), addrTopic(to)}, data: words(bi("1"), bi("0"), bi("0")), reason: event.ReasonBadValue},
		{name: "v2 two topics", topics: []common.Hash{SwapV2Topic, addrTopic(from)}, data: words(bi("1"), bi("0"), bi("0"), bi("1")), reason: event.ReasonBadValue},
		{name: "v3 token1 in", topics: []common.Hash{SwapV3Topic, addrTopic(from), addrTopic(to)}, data: words(bi("-500"), bi("300"), bi("1"), bi("1"), bi("-3")),
			kind: logSwapV3, in: 1, amIn: "300", amOu: "500"},
		{name: "v3 token0 in, extreme", topics: []common.Hash{SwapV3Topic, addrTopic(from), addrTopic(to)},
			data: words(bi("57896044618658097711785492504343953926634992332820282019728792003956564819967"), bi("-57896044618658097711785492504343953926634992332820282019728792003956564819968"), bi("1"), bi("1"), bi("1")),
			kind: logSwapV3, in: 0, amIn: "57896044618658097711785492504343953926634992332820282019728792003956564819967", amOu: "57896044618658097711785492504343953926634992332820282019728792003956564819968"},
		{name: "v3 both out", topics: []common.Hash{SwapV3Topic, addrTopic(from), addrTopic(to)}, data: words(bi("-1"), bi("-1"), bi("1"), bi("1"), bi("1")), reason: event.ReasonNonPositive},
		{name: "v3 v2-sized data", topics: []common.Hash{SwapV3Topic, addrTopic(from), addrTopic(to)}, data: words(bi("-1"), bi("1"), bi("1"), bi("1")), reason: event.ReasonBadValue},
		{name: "v3 dirty recipient", topics: []common.Hash{SwapV3Topic, addrTopic(from), dirty}, data: words(bi("-1"), bi("1"), bi("1"), bi("1"), bi("1")), reason: event.ReasonBadAddress},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, rej := decodeLog(&types.Log{Topics: tc.topics, Data: tc.data})
			if tc.reason != "" {
				if rej == nil || rej.Reason != tc.reason {
					t.Fatalf("got %+v, %v; want a %s rejection", d, rej, tc.reason)
				}
				return
			}
			if rej != nil {
				t.Fatalf("rejected: %v", rej)
			}
			if d.kind != tc.kind {
				t.Fatalf("kind %d, want %d", d.kind, tc.kind)
			}
			switch tc.kind {
			case logTransfer:
				if d.value.String() != tc.value || d.from != common.HexToAddress(from) || d.to != common.HexToAddress(to) {
					t.Errorf("got value %s from %s to %s", d.value, d.from.Hex(), d.to.Hex())
				}
			case logSwapV2, logSwapV3:
				if d.tokenIn != tc.in || d.amountIn.String() != tc.amIn || d.amountOut.String() != tc.amOu || d.to != common.HexToAddress(to) {
					t.Errorf("got token in %d, in %s out %s, wallet %s", d.tokenIn, d.amountIn, d.amountOut, d.to.Hex())
				}
			}
		})
	}
}

func abiString(s string) []byte {
	out := words(big.NewInt(32), big.NewInt(int64(len(s))))
	return append(out, common.RightPadBytes([]byte(s), (len(s)+31)/32*32)...)
}

func TestParseMetadata(t *testing.T) {
	decimals := []struct {
		ret  []byte
		want int32
		ok   bool
	}{
		{words(bi("18")), 18, true},
		{words(bi("0")), 0, true},
		{words(bi("77")), 77, true},
		{words(bi("78")), 0, false},
		{words(bi("256")), 0, false},
		{nil, 0, false},
		{make([]byte, 31), 0, false},
		{words(bi("6"), bi("6")), 0, false},
	}
	for _, c := range decimals {
		if got, ok := parseDecimals(c.ret); got != c.want || ok != c.ok {
			t.Errorf("parseDecimals(%x) = %d, %v; want %d, %v", c.ret, got, ok, c.want, c.ok)
		}
	}
	bytes32 := func(s string) []byte { return common.RightPadBytes([]byte(s), 32) }
	symbols := []struct {
		name string
		ret  []byte
		want string
		ok   bool
	}{
		{"abi string", abiString("USDC"), "USDC", true},
		{"bytes32 (MKR)", bytes32("MKR"), "MKR", true},
		{"unicode", abiString("ÆTH🚀"), "ÆTH🚀", true},
		{"64 bytes", abiString(strings.Repeat("A", 64)), strings.Repeat("A", 64), true},
		{"65 bytes", abiString(strings.Repeat("A", 65)), "", false},
		{"empty", abiString(""), "", false},
		{"zero bytes32", make([]byte, 32), "", false},
		{"control character", abiString("US\nDC"), "", false},
		{"invalid utf-8", abiString("\xff\xfe"), "", false},
		{"C1 control", abiString("A\u0085B"), "", false},
		{"trailing NULs and spaces trimmed", abiString(" WETH \x00\x00"), "WETH", true},
		{"length beyond the data", append(words(big.NewInt(32), big.NewInt(1000)), bytes32("X")...), "", false},
		{"offset beyond the data", append(words(big.NewInt(4096), big.NewInt(1)), bytes32("X")...), "", false},
		{"huge offset", append(words(bi("-1"), big.NewInt(1)), bytes32("X")...), "", false},
		{"too short", []byte{1, 2, 3}, "", false},
	}
	for _, c := range symbols {
		if got, ok := parseSymbol(c.ret); got != c.want || ok != c.ok {
			t.Errorf("%s: parseSymbol = %q, %v; want %q, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

// rpcError is a JSON-RPC error as the node returns it.
type rpcError struct {
	code int
	msg  string
}

func (e rpcError) Error() string  { return e.msg }
func (e rpcError) ErrorCode() int { return e.code }

func TestContractFailure(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{rpcError{3, "execution reverted"}, true},
		{rpcError{-32000, "execution reverted"}, true},
		{rpcError{-32000, "out of gas"}, true},
		{rpcError{-32000, "invalid opcode: INVALID"}, true},
		{rpcError{-32005, "limit exceeded"}, false},
		{rpcError{-32000, "header not found"}, false},
		{rpcError{-32603, "internal error"}, false},
		{rpcError{429, "Too Many Requests"}, false},
		{errors.New("connection refused"), false},
		{context.DeadlineExceeded, false},
	} {
		if got := contractFailure(c.err); got != c.want {
			t.Errorf("contractFailure(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestCacheIsBounded(t *testing.T) {
	c := newCache[int](4)
	a := func(i int) common.Address { return common.BigToAddress(big.NewInt(int64(i))) }
	for i := range 100 {
		c.put(a(i), i)
		c.get(a(0)) // used all the time: never evicted
		if c.len() > 4 {
			t.Fatalf("%d entries after %d puts, want at most 4", c.len(), i+1)
		}
	}
	if v, ok := c.get(a(0)); !ok || v != 0 {
		t.Errorf("the entry used all the time was evicted")
	}
	if _, ok := c.get(a(50)); ok {
		t.Errorf("an old entry was kept")
	}
	if v, ok := c.get(a(99)); !ok || v != 99 {
		t.Errorf("the newest entry is missing")
	}
}

// callClient answers eth_call from a function; the rest of Client is not used.
type callClient struct {
	Client
	call  func(to common.Address, data string) ([]byte, error)
	calls int
}

func (c *callClient) CallContract(_ context.Context, msg ethereum.CallMsg, _ *big.Int) ([]byte, error) {
	c.calls++
	return c.call(*msg.To, string(msg.Data))
}

func TestMetadataFallbacksAndRetries(t *testing.T) {
	good := common.HexToAddress("0x01")
	reverts := common.HexToAddress("0x02")
	flaky := common.HexToAddress("0x03")
	down := common.HexToAddress("0x04")
	flakyFails := 1
	cl := &callClient{call: func(to common.Address, data string) ([]byte, error) {
		switch to {
		case good:
			if data == selDecimals {
				return words(big.NewInt(8)), nil
			}
			return common.RightPadBytes([]byte("WBTC"), 32), nil
		case reverts:
			return nil, rpcError{3, "execution reverted"}
		case flaky:
			if flakyFails > 0 {
				flakyFails--
				return nil, errors.New("connection reset")
			}
			return words(big.NewInt(2)), nil // decimals 2; symbol: not a string
		}
		return nil, rpcError{-32005, "rate limit"}
	}}
	s := newSource(t, Config{Client: cl, MetadataConcurrency: 1})
	ctx := context.Background()
	all := []common.Address{good, reverts, flaky, down, good}
	for attempt := 1; attempt <= maxTransientFailures; attempt++ {
		err := s.meta.resolveTokens(ctx, all)
		if attempt < maxTransientFailures && err == nil {
			t.Fatalf("attempt %d: no error while a node keeps failing", attempt)
		}
		if attempt == maxTransientFailures && err != nil {
			t.Fatalf("attempt %d: %v, want the fallback after %d failures", attempt, err, maxTransientFailures)
		}
	}
	for _, c := range []struct {
		a    common.Address
		want tokenMeta
	}{
		{good, tokenMeta{8, "WBTC"}},
		{reverts, tokenMeta{}},
		{flaky, tokenMeta{decimals: 2}},
		{down, tokenMeta{}},
	} {
		if got := s.meta.token(c.a); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.a.Hex(), got, c.want)
		}
	}
	// Everything is cached now, the fallbacks included.
	before := cl.calls
	if err := s.meta.resolveTokens(ctx, all); err != nil || cl.calls != before {
		t.Errorf("resolving cached tokens: %v, %d calls", err, cl.calls-before)
	}
}

func TestConfig(t *testing.T) {
	cl := &callClient{}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"client", Config{Client: cl}, ""},
		{"ws url", Config{RPCURL: "ws://localhost:8546"}, ""},
		{"https url", Config{RPCURL: "https://node.example/v3/key"}, ""},
		{"nothing", Config{}, "RPCURL or Client"},
		{"both", Config{Client: cl, RPCURL: "ws://x"}, "exclusive"},
		{"bad scheme", Config{RPCURL: "ftp://x"}, "want ws://"},
		{"no host", Config{RPCURL: "http://"}, "want ws://"},
		{"bad chain", Config{Client: cl, Chain: "Main Net"}, "chain"},
		{"confirmations", Config{Client: cl, Confirmations: -2}, "confirmations"},
		{"reorg depth", Config{Client: cl, Confirmations: 20, ReorgDepth: 20}, "reorg depth"},
		{"max range", Config{Client: cl, MaxRange: -1}, "max range"},
		{"native", Config{Client: cl, NativeMinWei: big.NewInt(-1)}, "native minimum"},
		{"backoff", Config{Client: cl, BackoffMin: 2, BackoffMax: 1}, "maximum backoff"},
		{"timeout", Config{Client: cl, RequestTimeout: -1}, "request timeout"},
		{"cache", Config{Client: cl, MetadataCacheSize: 1}, "cache size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New: %v, want ErrConfig mentioning %q", err, tc.wantErr)
			}
		})
	}
	s, err := New(Config{Client: cl})
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.Confirmations != DefaultConfirmations || s.cfg.NativeMinWei.Cmp(DefaultNativeMinWei()) != 0 || s.Name() != "ethereum" || !s.native {
		t.Errorf("defaults: %+v", s.cfg)
	}
	s, _ = New(Config{Client: cl, Confirmations: AtHead, NativeMinWei: new(big.Int)})
	if s.cfg.Confirmations != 0 || s.native {
		t.Errorf("AtHead and no native: confirmations %d, native %v", s.cfg.Confirmations, s.native)
	}
}
