package evm

import (
	"encoding/binary"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
)

// The test contracts are EVM bytecode assembled by hand (there is no Solidity
// compiler here). asm is a minimal assembler: opcodes are appended one by one, and
// jump targets are labels whose 2-byte addresses are patched in at the end.

// EVM opcodes used (Ethereum Yellow Paper, appendix H).
const (
	opSTOP         = 0x00
	opSUB          = 0x03
	opEQ           = 0x14
	opISZERO       = 0x15
	opSHL          = 0x1b
	opSHR          = 0x1c
	opCALLER       = 0x33
	opCALLDATALOAD = 0x35
	opCALLDATASIZE = 0x36
	opCALLDATACOPY = 0x37
	opCODECOPY     = 0x39
	opMSTORE       = 0x52
	opJUMPI        = 0x57
	opJUMPDEST     = 0x5b
	opPUSH1        = 0x60 // PUSHn is 0x5f + n, followed by n bytes
	opPUSH2        = 0x61
	opDUP1         = 0x80
	opLOG3         = 0xa3
	opRETURN       = 0xf3
	opREVERT       = 0xfd
)

type asm struct {
	code   []byte
	labels map[string]int // label -> address of its JUMPDEST
	fixups map[int]string // offset of a PUSH2 operand -> label
}

func newAsm() *asm { return &asm{labels: map[string]int{}, fixups: map[int]string{}} }

// op appends opcodes.
func (a *asm) op(ops ...byte) { a.code = append(a.code, ops...) }

// push appends PUSHn with the n bytes of v (1 <= n <= 32).
func (a *asm) push(v ...byte) {
	if len(v) < 1 || len(v) > 32 {
		panic(fmt.Sprintf("push of %d bytes", len(v)))
	}
	a.code = append(a.code, byte(0x5f+len(v)))
	a.code = append(a.code, v...)
}

// pushLabel appends PUSH2 <address of label>.
func (a *asm) pushLabel(l string) {
	a.code = append(a.code, opPUSH2, 0, 0)
	a.fixups[len(a.code)-2] = l
}

// label marks a jump target: a JUMPDEST here.
func (a *asm) label(l string) {
	a.labels[l] = len(a.code)
	a.code = append(a.code, opJUMPDEST)
}

// returnWord appends: return the word on top of the stack.
func (a *asm) returnWord() {
	a.push(0x00)
	a.op(opMSTORE) // MSTORE(offset 0, value): memory[0:32] = value
	a.push(0x20)   // size 32
	a.push(0x00)   // offset 0
	a.op(opRETURN) // RETURN(offset, size)
}

// loadSelector appends: the selector, calldata[0:4], as a number.
func (a *asm) loadSelector() {
	a.push(0x00)
	a.op(opCALLDATALOAD) // calldata[0:32]
	a.push(0xe0)
	a.op(opSHR) // >> 224: the first 4 bytes
}

// dispatch appends: if the selector on the stack is sel, jump to label. The selector
// stays on the stack.
func (a *asm) dispatch(sel string, l string) {
	a.op(opDUP1)           // selector, selector
	a.push([]byte(sel)...) // PUSH4 the function's selector
	a.op(opEQ)             // selector, (selector == sel)
	a.pushLabel(l)         // selector, cond, dest
	a.op(opJUMPI)          // JUMPI(dest, cond): jump when equal
}

func (a *asm) bytes() []byte {
	for off, l := range a.fixups {
		addr, ok := a.labels[l]
		if !ok {
			panic("undefined label " + l)
		}
		binary.BigEndian.PutUint16(a.code[off:], uint16(addr))
	}
	return a.code
}

// tokenCode is the runtime code of a minimal ERC-20-shaped token:
//
//   - no calldata (a plain ETH send): REVERT, so such a transaction is included but
//     fails (for the native-transfer status check);
//   - decimals() returns the constant decimals, symbol() the constant symbol as an
//     ABI string;
//   - any other call is taken as transfer(address to, uint256 value): it emits
//     Transfer(msg.sender, to, value) as LOG3 and returns true. There are no
//     balances: the tests only need correct logs and answers.
func tokenCode(decimals byte, symbol string) []byte {
	if len(symbol) == 0 || len(symbol) > 31 {
		panic("symbol of 1..31 bytes")
	}
	a := newAsm()
	a.op(opCALLDATASIZE)
	a.op(opISZERO) // calldatasize == 0
	a.pushLabel("revert")
	a.op(opJUMPI) // a plain send reverts
	a.loadSelector()
	a.dispatch(selDecimals, "decimals")
	a.dispatch(selSymbol, "symbol")

	// transfer(to, value): calldata[4:36] = to, calldata[36:68] = value.
	a.push(0x24)
	a.op(opCALLDATALOAD) // value
	a.push(0x00)
	a.op(opMSTORE) // memory[0:32] = value: the log's data
	a.push(0x04)
	a.op(opCALLDATALOAD)             // topic 2: to
	a.op(opCALLER)                   // topic 1: from = msg.sender
	a.push(TransferTopic.Bytes()...) // topic 0: PUSH32 keccak("Transfer(address,address,uint256)")
	a.push(0x20)                     // data size 32
	a.push(0x00)                     // data offset 0
	a.op(opLOG3)                     // LOG3(offset, size, topic0, topic1, topic2)
	a.push(0x01)
	a.returnWord() // return true

	a.label("decimals")
	a.push(decimals)
	a.returnWord()

	// symbol(): an ABI string is 3 words here: the offset of the string (0x20), its
	// length, its bytes padded on the right.
	a.label("symbol")
	a.push(0x20)
	a.push(0x00)
	a.op(opMSTORE) // memory[0:32] = 0x20
	a.push(byte(len(symbol)))
	a.push(0x20)
	a.op(opMSTORE)            // memory[32:64] = length
	a.push([]byte(symbol)...) // the bytes, right-aligned in a word...
	a.push(byte(8 * (32 - len(symbol))))
	a.op(opSHL) // ...shifted to the word's start
	a.push(0x40)
	a.op(opMSTORE) // memory[64:96] = the bytes
	a.push(0x60)
	a.push(0x00)
	a.op(opRETURN) // RETURN(offset 0, size 96)

	a.label("revert")
	a.push(0x00)
	a.op(opDUP1)
	a.op(opREVERT) // REVERT(offset 0, size 0)
	return a.bytes()
}

// poolCode is the runtime code of a minimal pool: token0() and token1() return the
// constant addresses, and any other call emits a log chosen by the caller, so that
// a test can emit Uniswap V2 and V3 Swap logs (and malformed ones). The calldata of
// such a call is: 4 bytes (any selector), topic 0 (32 bytes), the recipient as a
// word (32 bytes), then the log's data. The log is LOG3(topic0, msg.sender,
// recipient): the shape of both Swap events (sender and recipient indexed). Other
// calls with less than 68 bytes of calldata (decimals(), say) fail: the size
// underflows and the copy cannot be paid for.
func poolCode(token0, token1 common.Address) []byte {
	a := newAsm()
	a.loadSelector()
	a.dispatch(selToken0, "token0")
	a.dispatch(selToken1, "token1")

	a.push(0x24)
	a.op(opCALLDATALOAD) // topic 2: recipient = calldata[36:68]
	a.op(opCALLER)       // topic 1: sender = msg.sender
	a.push(0x04)
	a.op(opCALLDATALOAD) // topic 0 = calldata[4:36]
	a.push(0x44)
	a.op(opCALLDATASIZE)
	a.op(opSUB)          // data size = calldatasize - 68
	a.op(opDUP1)         // (the size again, for LOG3)
	a.push(0x44)         // calldata offset 68
	a.push(0x00)         // memory offset 0
	a.op(opCALLDATACOPY) // CALLDATACOPY(dest 0, offset 68, size): memory[0:size] = the data
	a.push(0x00)         // data offset 0 (the size is below it)
	a.op(opLOG3)         // LOG3(offset, size, topic0, topic1, topic2)
	a.op(opSTOP)

	a.label("token0")
	a.push(token0.Bytes()...) // PUSH20 token0
	a.returnWord()
	a.label("token1")
	a.push(token1.Bytes()...) // PUSH20 token1
	a.returnWord()
	return a.bytes()
}

// deployCode wraps runtime code in constructor code that returns it:
//
//	PUSH2 len      size of the runtime code
//	DUP1           (kept for RETURN)
//	PUSH2 13       where the runtime code starts: right after these 13 bytes
//	PUSH1 0        memory offset
//	CODECOPY       CODECOPY(destOffset 0, offset 13, size len): memory[0:len] = the code
//	PUSH1 0
//	RETURN         RETURN(offset 0, size len): the code to deploy
func deployCode(runtime []byte) []byte {
	const ctorLen = 13
	n := len(runtime)
	code := []byte{
		opPUSH2, byte(n >> 8), byte(n),
		opDUP1,
		opPUSH2, 0, ctorLen,
		opPUSH1, 0,
		opCODECOPY,
		opPUSH1, 0,
		opRETURN,
	}
	if len(code) != ctorLen {
		panic("constructor length")
	}
	return append(code, runtime...)
}
