package evm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/coattailcapital/coattail/event"
)

// fuzzLog makes a log of fuzz input: topics are consecutive 32-byte chunks of
// topics (a short last chunk is padded on the left), at most 5.
func fuzzLog(topics, data []byte) *types.Log {
	l := &types.Log{Address: common.HexToAddress("0x00000000000000000000000000000000000000f0"), Data: data,
		BlockNumber: 17173049, TxHash: common.HexToHash("0x01"), BlockHash: common.HexToHash("0x02")}
	for i := 0; i < len(topics) && len(l.Topics) < 5; i += 32 {
		l.Topics = append(l.Topics, common.BytesToHash(topics[i:min(i+32, len(topics))]))
	}
	return l
}

func fuzzSeeds(f *testing.F) {
	a, b := addrTopic("0x1111111111111111111111111111111111111111"), addrTopic("0x2222222222222222222222222222222222222222")
	join := func(hs ...common.Hash) []byte {
		var out []byte
		for _, h := range hs {
			out = append(out, h.Bytes()...)
		}
		return out
	}
	f.Add(join(TransferTopic, a, b), words(big.NewInt(1000)))
	f.Add(join(TransferTopic, a, b, a), []byte{})
	f.Add(join(TransferTopic), words(big.NewInt(1), big.NewInt(2), big.NewInt(3)))
	f.Add(join(SwapV2Topic, a, b), words(big.NewInt(5), big.NewInt(0), big.NewInt(0), big.NewInt(7)))
	f.Add(join(SwapV3Topic, a, b), words(big.NewInt(-5), big.NewInt(7), big.NewInt(1), big.NewInt(1), big.NewInt(-1)))
	f.Add(join(SwapV3Topic, a), []byte{0xff})
	f.Add([]byte{}, []byte{})

	// The recorded mainnet logs, when present.
	raw, err := os.ReadFile(filepath.Join(ethDir, "blocks_17173049_17173050/logs.json"))
	if err != nil {
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var el etlLog
		if json.Unmarshal(sc.Bytes(), &el) != nil {
			continue
		}
		l, err := el.log()
		if err != nil {
			continue
		}
		f.Add(join(l.Topics...), l.Data)
	}
}

// FuzzDecodeLog checks that the log decoder never panics, rejects only logs with
// one of its signatures, and that what it accepts says what the log says and makes
// a valid event.
func FuzzDecodeLog(f *testing.F) {
	fuzzSeeds(f)
	src, err := New(Config{Client: &callClient{}, Logger: quietLogger(), Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, topics, data []byte) {
		l := fuzzLog(topics, data)
		d, rej := decodeLog(l)
		ours := len(l.Topics) > 0 && (l.Topics[0] == TransferTopic || l.Topics[0] == SwapV2Topic || l.Topics[0] == SwapV3Topic)
		if rej != nil {
			if !ours {
				t.Fatalf("rejected a log without a known signature: %v", rej)
			}
			if rej.Reason == "" || rej.Detail == "" {
				t.Fatalf("rejection without reason or detail: %+v", rej)
			}
			return
		}
		switch d.kind {
		case logOther:
			if ours && !(l.Topics[0] == TransferTopic && len(l.Topics) == 4) {
				t.Fatalf("skipped a log with a known signature and %d topics", len(l.Topics))
			}
			return
		case logTransfer:
			if len(l.Topics) != 3 || len(data) != 32 || d.value.Cmp(new(big.Int).SetBytes(data)) != 0 ||
				!bytes.Equal(d.from.Bytes(), l.Topics[1][12:]) || !bytes.Equal(d.to.Bytes(), l.Topics[2][12:]) {
				t.Fatalf("transfer %+v does not match the log %+v", d, l)
			}
		case logSwapV2, logSwapV3:
			if d.amountIn.Sign() <= 0 || d.amountOut.Sign() <= 0 || (d.tokenIn != 0 && d.tokenIn != 1) {
				t.Fatalf("swap %+v: want positive amounts and token in 0 or 1", d)
			}
		}
		// The event made of it, with fallback metadata for the pool tokens, is valid.
		src.meta.pools.put(l.Address, poolMeta{token0: common.HexToAddress("0xa0"), token1: common.HexToAddress("0xb0"), ok: true})
		base := event.Event{Src: "ethereum", TS: time.Unix(1683029999, 0).UTC(), Block: l.BlockNumber, BlockHash: l.BlockHash.Hex()}
		ev, rej := src.buildEvent(&base, &item{log: l, logIndex: 3, d: d})
		if rej != nil || ev == nil {
			t.Fatalf("build: %v", rej)
		}
		if err := ev.Validate(src.rules); err != nil {
			t.Fatalf("event %s is invalid: %v", line(ev), err)
		}
	})
}
