package evm

import (
	"encoding/hex"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/coattailcapital/coattail/event"
)

// Topic 0 of the logs the source reads: the Keccak-256 of the event signatures
// (checked against the signatures by TestTopics). They are read-only.
var (
	// TransferTopic is Transfer(address,address,uint256) (ERC-20; ERC-721 shares it).
	TransferTopic = common.HexToHash("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")
	// SwapV2Topic is Uniswap V2's Swap(address,uint256,uint256,uint256,uint256,address).
	SwapV2Topic = common.HexToHash("0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822")
	// SwapV3Topic is Uniswap V3's Swap(address,address,int256,int256,uint160,uint128,int24).
	SwapV3Topic = common.HexToHash("0xc42079f94a6350d7e6235f29174924f928cc2ac818eb64fed8004e115fbcca67")
)

// Venues of swap events, named by the shape of the Swap log (forks that emit the same
// log, SushiSwap say, are included).
const (
	VenueUniswapV2 = "uniswap-v2"
	VenueUniswapV3 = "uniswap-v3"
)

// logKind is what a log is to this source.
type logKind uint8

const (
	logOther    logKind = iota // not read by this source (including ERC-721 Transfer)
	logTransfer                // ERC-20 Transfer
	logSwapV2                  // Uniswap V2 Swap
	logSwapV3                  // Uniswap V3 Swap
)

// decodedLog is what a log says, before any token metadata is known.
type decodedLog struct {
	kind logKind
	// transfer: the sender and the receiver of the tokens. swap: the swap's sender
	// (from) and the recipient of its output (to), the wallet it is attributed to.
	from, to common.Address
	// transfer: the raw amount (uint256).
	value *big.Int
	// swap: which pool token the swapper paid in (0: token0, 1: token1; the other
	// one came out), and the raw amounts in and out: the pool's net change in each
	// token, so a V2 log with both an "in" and an "out" of one token counts the
	// difference.
	tokenIn             int
	amountIn, amountOut *big.Int
}

// decodeLog reads a log: an ERC-20 Transfer (3 topics: signature, from, to; data: the
// uint256 value) or a Uniswap V2/V3 Swap. Other logs, and ERC-721 Transfers (the
// same signature with the token id as a 4th topic), are logOther. A log with a known
// signature but the wrong shape (topic count, data length, an address topic with
// bits above 160) is returned as a rejection. It never panics on any input.
func decodeLog(l *types.Log) (decodedLog, *event.Reject) {
	if len(l.Topics) == 0 {
		return decodedLog{}, nil
	}
	switch l.Topics[0] {
	case TransferTopic:
		return decodeTransfer(l)
	case SwapV2Topic:
		return decodeSwapV2(l)
	case SwapV3Topic:
		return decodeSwapV3(l)
	}
	return decodedLog{}, nil
}

func decodeTransfer(l *types.Log) (decodedLog, *event.Reject) {
	switch {
	case len(l.Topics) == 4:
		return decodedLog{}, nil // ERC-721: Transfer(from, to, tokenId) all indexed
	case len(l.Topics) != 3:
		return decodedLog{}, rejectf(event.ReasonBadValue, "topics", "Transfer log with %d topics: want 3 (ERC-20) or 4 (ERC-721)", len(l.Topics))
	case len(l.Data) != 32:
		return decodedLog{}, rejectf(event.ReasonBadValue, "data", "Transfer log with %d bytes of data: want 32", len(l.Data))
	}
	d := decodedLog{kind: logTransfer, value: new(big.Int).SetBytes(l.Data)}
	var ok bool
	if d.from, ok = topicAddress(l.Topics[1]); !ok {
		return decodedLog{}, rejectf(event.ReasonBadAddress, "from", "topic 1 is not an address: %s", l.Topics[1].Hex())
	}
	if d.to, ok = topicAddress(l.Topics[2]); !ok {
		return decodedLog{}, rejectf(event.ReasonBadAddress, "to", "topic 2 is not an address: %s", l.Topics[2].Hex())
	}
	return d, nil
}

// decodeSwapV2 reads Swap(address indexed sender, uint amount0In, uint amount1In,
// uint amount0Out, uint amount1Out, address indexed to).
func decodeSwapV2(l *types.Log) (decodedLog, *event.Reject) {
	if len(l.Topics) != 3 {
		return decodedLog{}, rejectf(event.ReasonBadValue, "topics", "V2 Swap log with %d topics: want 3", len(l.Topics))
	}
	if len(l.Data) != 4*32 {
		return decodedLog{}, rejectf(event.ReasonBadValue, "data", "V2 Swap log with %d bytes of data: want 128", len(l.Data))
	}
	d := decodedLog{kind: logSwapV2}
	var ok bool
	if d.from, ok = topicAddress(l.Topics[1]); !ok {
		return decodedLog{}, rejectf(event.ReasonBadAddress, "sender", "topic 1 is not an address: %s", l.Topics[1].Hex())
	}
	if d.to, ok = topicAddress(l.Topics[2]); !ok {
		return decodedLog{}, rejectf(event.ReasonBadAddress, "to", "topic 2 is not an address: %s", l.Topics[2].Hex())
	}
	in0 := new(big.Int).SetBytes(l.Data[0:32])
	in1 := new(big.Int).SetBytes(l.Data[32:64])
	out0 := new(big.Int).SetBytes(l.Data[64:96])
	out1 := new(big.Int).SetBytes(l.Data[96:128])
	return d.direction(in0.Sub(in0, out0), in1.Sub(in1, out1))
}

// decodeSwapV3 reads Swap(address indexed sender, address indexed recipient, int256
// amount0, int256 amount1, uint160 sqrtPriceX96, uint128 liquidity, int24 tick); only
// the amounts are used.
func decodeSwapV3(l *types.Log) (decodedLog, *event.Reject) {
	if len(l.Topics) != 3 {
		return decodedLog{}, rejectf(event.ReasonBadValue, "topics", "V3 Swap log with %d topics: want 3", len(l.Topics))
	}
	if len(l.Data) != 5*32 {
		return decodedLog{}, rejectf(event.ReasonBadValue, "data", "V3 Swap log with %d bytes of data: want 160", len(l.Data))
	}
	d := decodedLog{kind: logSwapV3}
	var ok bool
	if d.from, ok = topicAddress(l.Topics[1]); !ok {
		return decodedLog{}, rejectf(event.ReasonBadAddress, "sender", "topic 1 is not an address: %s", l.Topics[1].Hex())
	}
	if d.to, ok = topicAddress(l.Topics[2]); !ok {
		return decodedLog{}, rejectf(event.ReasonBadAddress, "recipient", "topic 2 is not an address: %s", l.Topics[2].Hex())
	}
	return d.direction(int256(l.Data[0:32]), int256(l.Data[32:64]))
}

// direction sets the swap's direction from the pool's net change in token0 and
// token1 (positive: received from the swapper). A swap has exactly one token in and
// the other out; anything else (zero amounts, both in) is rejected.
func (d decodedLog) direction(delta0, delta1 *big.Int) (decodedLog, *event.Reject) {
	s0, s1 := delta0.Sign(), delta1.Sign()
	switch {
	case s0 > 0 && s1 < 0:
		d.tokenIn, d.amountIn, d.amountOut = 0, delta0, delta1.Neg(delta1)
	case s1 > 0 && s0 < 0:
		d.tokenIn, d.amountIn, d.amountOut = 1, delta1, delta0.Neg(delta0)
	default:
		return decodedLog{}, rejectf(event.ReasonNonPositive, "amount_in",
			"swap without one token in and the other out: pool change %s token0, %s token1", delta0, delta1)
	}
	return d, nil
}

// topicAddress reads an indexed address: 12 zero bytes, then the 20 of the address.
func topicAddress(t common.Hash) (common.Address, bool) {
	for _, b := range t[:12] {
		if b != 0 {
			return common.Address{}, false
		}
	}
	return common.BytesToAddress(t[12:]), true
}

// int256 reads a two's-complement 256-bit word.
func int256(w []byte) *big.Int {
	v := new(big.Int).SetBytes(w)
	if w[0]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), 256))
	}
	return v
}

// hexAddress is an address as lower-case 0x hex (common.Address.Hex is EIP-55
// mixed case and hashes on every call).
func hexAddress(a common.Address) string {
	var buf [2 + 2*common.AddressLength]byte
	buf[0], buf[1] = '0', 'x'
	hex.Encode(buf[2:], a[:])
	return string(buf[:])
}

func rejectf(reason event.Reason, field, format string, args ...any) *event.Reject {
	return &event.Reject{Reason: reason, Field: field, Detail: fmt.Sprintf(format, args...)}
}
