package evm

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/params"
	"github.com/shopspring/decimal"

	"github.com/coattailcapital/coattail/event"
)

func ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.Ether)) }

// line is an event's canonical form: events are compared through it.
func line(ev *event.Event) string { return string(event.AppendJSON(nil, ev)) }

func sameEvents(t *testing.T, got []event.Event, want []event.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	for i := range want {
		w := want[i]
		if err := w.Validate(event.Rules{}); err != nil {
			t.Fatalf("expected event %d is invalid: %v", i, err)
		}
		if g, w := line(&got[i]), line(&w); g != w {
			t.Errorf("event %d:\n got %s\nwant %s", i, g, w)
		}
	}
}

// blockInfo returns a block's hash and time as the events write them.
func (c *chain) blockInfo(h common.Hash) (uint64, string, time.Time) {
	c.t.Helper()
	hdr, err := c.client.HeaderByHash(context.Background(), h)
	if err != nil {
		c.t.Fatalf("header %s: %v", h.Hex(), err)
	}
	return hdr.Number.Uint64(), h.Hex(), time.Unix(int64(hdr.Time), 0).UTC()
}

func transferEvent(num uint64, hash string, ts time.Time, tx *types.Transaction, logIndex int64, token, from, to common.Address, raw string, decimals int32, symbol string) event.Event {
	return event.Event{
		Kind: event.KindTransfer, Src: "ethereum", TS: ts, Block: num, BlockHash: hash,
		Tx: tx.Hash().Hex(), LogIndex: logIndex, Token: lower(token), Symbol: symbol,
		From: lower(from), To: lower(to), RawAmount: raw, Decimals: decimals, HasRaw: true,
	}
}

func TestSourceEmitsTransfersSwapsAndNative(t *testing.T) {
	c := newChain(t)
	k := c.keys[0]
	alice, bob := addr(c.keys[1]), addr(c.keys[2])
	trader := common.HexToAddress("0x00000000000000000000000000000000000000aa")

	src := newSource(t, Config{Client: c.client, Confirmations: AtHead, FromBlock: 1})
	col := newCollector()
	stop := start(t, src, col)

	// Block 2, all from one account so that the order is the nonce order.
	txNative := c.send(k, &alice, ether(20), nil) // at least NativeMinWei: emitted
	c.send(k, &alice, ether(1), nil)              // below NativeMinWei
	c.send(k, &c.tokenA, ether(30), nil)          // reverts (the token refuses plain sends)
	txT := c.transfer(k, c.tokenA, alice, 1_500_000)
	// V2: 2 USDC in, 0.001 WETH out, to trader.
	txV2 := c.emitLog(k, SwapV2Topic, trader, words(bi("2000000"), bi("0"), bi("0"), bi("1000000000000000")))
	// V3: the pool pays 0.5 USDC and receives 0.0003 WETH; recipient bob.
	txV3 := c.emitLog(k, SwapV3Topic, bob, words(bi("-500000"), bi("300000000000000"), bi("79228162514264337593543950336"), bi("1000000"), bi("-5")))
	txShort := c.emitLog(k, SwapV2Topic, trader, words(bi("1"), bi("2"), bi("3"))) // 96 bytes of data
	txZero := c.emitLog(k, SwapV2Topic, trader, words(bi("0"), bi("0"), bi("0"), bi("0")))
	// A Transfer log from a contract that answers neither decimals() nor symbol().
	txNoMeta := c.emitLog(k, TransferTopic, alice, words(bi("42")))
	num, hash, ts := c.blockInfo(c.commit())

	got := col.next(t, 5)
	want := []event.Event{
		{
			Kind: event.KindTransfer, Src: "ethereum", TS: ts, Block: num, BlockHash: hash,
			Tx: txNative.Hash().Hex(), LogIndex: event.NativeLogIndex, Symbol: "ETH",
			From: lower(addr(k)), To: lower(alice), RawAmount: ether(20).String(), Decimals: 18, HasRaw: true,
		},
		transferEvent(num, hash, ts, txT, 0, c.tokenA, addr(k), alice, "1500000", 6, "USDC"),
		{
			Kind: event.KindSwap, Src: "ethereum", TS: ts, Block: num, BlockHash: hash,
			Tx: txV2.Hash().Hex(), LogIndex: 1, Wallet: lower(trader), Venue: VenueUniswapV2, Pool: lower(c.pool),
			TokenIn: lower(c.tokenA), AmountIn: decimal.RequireFromString("2"),
			TokenOut: lower(c.tokenB), AmountOut: decimal.RequireFromString("0.001"),
			SymbolIn: "USDC", SymbolOut: "WETH",
		},
		{
			Kind: event.KindSwap, Src: "ethereum", TS: ts, Block: num, BlockHash: hash,
			Tx: txV3.Hash().Hex(), LogIndex: 2, Wallet: lower(bob), Venue: VenueUniswapV3, Pool: lower(c.pool),
			TokenIn: lower(c.tokenB), AmountIn: decimal.RequireFromString("0.0003"),
			TokenOut: lower(c.tokenA), AmountOut: decimal.RequireFromString("0.5"),
			SymbolIn: "WETH", SymbolOut: "USDC",
		},
		transferEvent(num, hash, ts, txNoMeta, 5, c.pool, addr(k), alice, "42", 0, ""), // from: the pool's caller
	}
	sameEvents(t, got, want)

	for _, w := range []struct {
		tx     *types.Transaction
		reason event.Reason
	}{{txShort, event.ReasonBadValue}, {txZero, event.ReasonNonPositive}} {
		r := col.nextReject(t)
		if r.reason != string(w.reason) {
			t.Errorf("rejection %q (%s), want %q", r.reason, r.detail, w.reason)
		}
		var l types.Log
		if err := l.UnmarshalJSON(r.raw); err != nil {
			t.Fatalf("rejection raw is not a log: %v: %s", err, r.raw)
		}
		if l.TxHash != w.tx.Hash() || l.BlockNumber != num {
			t.Errorf("rejected log of tx %s block %d, want %s block %d", l.TxHash.Hex(), l.BlockNumber, w.tx.Hash().Hex(), num)
		}
	}

	// A later block: only its event comes, so nothing else came from block 2.
	txLast := c.transfer(k, c.tokenB, bob, 7)
	num3, hash3, ts3 := c.blockInfo(c.commit())
	sameEvents(t, col.next(t, 1), []event.Event{transferEvent(num3, hash3, ts3, txLast, 0, c.tokenB, addr(k), bob, "7", 18, "WETH")})
	stop()
	col.none(t)
	if got := src.LastBlock(); got != num3 {
		t.Errorf("LastBlock %d, want %d", got, num3)
	}
	st := src.Stats()
	if st.Transfers != 3 || st.Swaps != 2 || st.Natives != 1 || st.Rejected != 2 || st.Retracted != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSourcePollsBackfillsInRangesAndResumes(t *testing.T) {
	c := newChain(t)
	k := c.keys[0]
	alice := addr(c.keys[1])

	// Blocks 2..8 exist before the source starts; block 5 also has a native transfer.
	var txs []*types.Transaction
	for i := range 7 {
		txs = append(txs, c.transfer(k, c.tokenA, alice, int64(100+i)))
		if i == 3 {
			c.send(c.keys[2], &alice, ether(50), nil)
		}
		c.commit()
	}

	fc := newFlakyClient(c.client)
	var early atomic.Int64 // events emitted with fewer than 2 blocks on top
	col := newCollector()
	col.onEmit = func(ev *event.Event) {
		head, err := c.client.BlockNumber(context.Background())
		if err != nil || head < ev.Block+2 {
			early.Add(1)
		}
	}
	cfg := Config{Client: pollOnly{fc}, Confirmations: 2, FromBlock: 2, MaxRange: 3, PollInterval: 5 * time.Millisecond}
	src := newSource(t, cfg)
	stop := start(t, src, col)

	// Head 8, 2 confirmations: blocks 2..6 come (5 transfers, 1 native).
	got := col.next(t, 6)
	for i := 0; i < 2; i++ { // blocks 9, 10: blocks 7 and 8 are confirmed
		c.commit()
	}
	got = append(got, col.next(t, 2)...)
	stop()
	col.none(t)

	var wantTx []common.Hash
	for i, tx := range txs {
		wantTx = append(wantTx, tx.Hash())
		if i == 3 {
			wantTx = append(wantTx, common.Hash{}) // the native transfer, checked below
		}
	}
	for i, ev := range got {
		if wantTx[i] == (common.Hash{}) {
			if ev.LogIndex != event.NativeLogIndex || ev.From != lower(addr(c.keys[2])) || ev.RawAmount != ether(50).String() || ev.Block != 5 {
				t.Errorf("event %d: want the native transfer of block 5 from %s (sender recovered from the signature), got %s", i, lower(addr(c.keys[2])), line(&ev))
			}
			continue
		}
		if ev.Tx != wantTx[i].Hex() || ev.Kind != event.KindTransfer || ev.Decimals != 6 {
			t.Errorf("event %d: got %s, want the transfer of tx %s", i, line(&ev), wantTx[i].Hex())
		}
	}
	if n := early.Load(); n > 0 {
		t.Errorf("%d events emitted before 2 confirmations", n)
	}
	// eth_getLogs covered 2..8 in contiguous ranges of at most 3 blocks.
	ranges := fc.takeRanges()
	next := uint64(2)
	for _, r := range ranges {
		if r[0] != next || r[1] < r[0] || r[1]-r[0] >= 3 {
			t.Fatalf("eth_getLogs ranges %v: want contiguous ranges of at most 3 from block 2", ranges)
		}
		next = r[1] + 1
	}
	if next != 9 {
		t.Fatalf("eth_getLogs ranges %v: want blocks 2..8 covered", ranges)
	}
	if got := src.LastBlock(); got != 8 {
		t.Fatalf("LastBlock %d, want 8", got)
	}
	if st := src.Stats(); st.Subscriptions != 0 || st.Natives != 1 || st.Transfers != 7 {
		t.Errorf("stats %+v, want polling, 1 native and 7 transfers", st)
	}

	// Resume from the checkpoint with a new source: only what is new comes.
	txNew := c.transfer(k, c.tokenB, alice, 5)
	c.commit() // block 11
	c.commit()
	c.commit() // head 13
	cfg.FromBlock = src.LastBlock() + 1
	src2 := newSource(t, cfg)
	col2 := newCollector()
	stop2 := start(t, src2, col2)
	got2 := col2.next(t, 1)
	stop2()
	col2.none(t)
	if got2[0].Tx != txNew.Hash().Hex() || got2[0].Block != 11 {
		t.Errorf("after resuming: got %s, want the transfer of block 11", line(&got2[0]))
	}
	if got := src2.LastBlock(); got != 11 {
		t.Errorf("resumed LastBlock %d, want 11", got)
	}
}

// TestSourceReorg orphans a block with a transfer and a swap by forking the
// simulated chain at its parent. A source at the head retracts the orphaned events
// (removed: true, same keys) before the new branch's; a source with 2 confirmations
// never sees the orphaned block at all.
func TestSourceReorg(t *testing.T) {
	c := newChain(t)
	k, k2 := c.keys[0], c.keys[1]
	alice, bob := addr(c.keys[1]), addr(c.keys[2])
	trader := common.HexToAddress("0x00000000000000000000000000000000000000bb")

	atHead := newSource(t, Config{Client: c.client, Confirmations: AtHead, FromBlock: 2})
	colHead := newCollector()
	start(t, atHead, colHead)
	confirmed := newSource(t, Config{Client: c.client, Confirmations: 2, FromBlock: 2})
	colConf := newCollector()
	start(t, confirmed, colConf)

	// Block 2: a transfer and a swap, emitted at once by the source at the head.
	txA := c.transfer(k, c.tokenA, alice, 100)
	txS := c.emitLog(k, SwapV2Topic, trader, words(bi("0"), bi("5000000000000000000"), bi("9000000"), bi("0")))
	num, oldHash, ts := c.blockInfo(c.commit())
	orphaned := colHead.next(t, 2)
	sameEvents(t, orphaned, []event.Event{
		transferEvent(num, oldHash, ts, txA, 0, c.tokenA, addr(k), alice, "100", 6, "USDC"),
		{
			Kind: event.KindSwap, Src: "ethereum", TS: ts, Block: num, BlockHash: oldHash,
			Tx: txS.Hash().Hex(), LogIndex: 1, Wallet: lower(trader), Venue: VenueUniswapV2, Pool: lower(c.pool),
			TokenIn: lower(c.tokenB), AmountIn: decimal.RequireFromString("5"),
			TokenOut: lower(c.tokenA), AmountOut: decimal.RequireFromString("9"),
			SymbolIn: "WETH", SymbolOut: "USDC",
		},
	})

	// Fork at block 1. The new block 2 holds another transfer (from another account,
	// with a higher tip so it comes first) and the orphaned transactions, which the
	// node puts back into its pool.
	if err := c.sim.Fork(c.block1); err != nil {
		t.Fatalf("fork: %v", err)
	}
	txB := c.sendTip(k2, new(big.Int).Mul(testTip, big.NewInt(2)), &c.tokenA, nil, transferCall(bob, big.NewInt(777)))
	newHash := c.commit()
	if newHash == common.HexToHash(oldHash) {
		t.Fatal("the fork did not make a new block")
	}
	num2, newHashHex, ts2 := c.blockInfo(newHash)
	if num2 != num {
		t.Fatalf("new block number %d, want %d", num2, num)
	}
	c.commit() // blocks 3 and 4: the new block 2 gets its 2 confirmations
	c.commit()

	// The new branch as the node has it: B, then the re-included A and S.
	receipts := make(map[common.Hash]*types.Receipt)
	for _, tx := range []*types.Transaction{txB, txA, txS} {
		r, err := c.client.TransactionReceipt(context.Background(), tx.Hash())
		if err != nil {
			t.Fatalf("receipt of %s: %v", tx.Hash().Hex(), err)
		}
		if r.BlockHash != newHash {
			t.Fatalf("tx %s is in block %s, want it in the new block 2 %s", tx.Hash().Hex(), r.BlockHash.Hex(), newHashHex)
		}
		receipts[tx.Hash()] = r
	}
	logIndex := func(tx *types.Transaction) int64 { return int64(receipts[tx.Hash()].Logs[0].Index) }
	newBranch := []event.Event{
		transferEvent(num2, newHashHex, ts2, txB, logIndex(txB), c.tokenA, alice, bob, "777", 6, "USDC"),
		transferEvent(num2, newHashHex, ts2, txA, logIndex(txA), c.tokenA, addr(k), alice, "100", 6, "USDC"),
		orphaned[1],
	}
	newBranch[2].BlockHash, newBranch[2].TS, newBranch[2].LogIndex = newHashHex, ts2, logIndex(txS)
	slices.SortFunc(newBranch, func(a, b event.Event) int { return int(a.LogIndex - b.LogIndex) })

	// At the head: the retractions, newest first, then the new branch.
	retractions := []event.Event{orphaned[1], orphaned[0]}
	for i := range retractions {
		retractions[i].Removed = true
	}
	sameEvents(t, colHead.next(t, 5), append(retractions, newBranch...))
	for i, ev := range retractions {
		orig := orphaned[len(orphaned)-1-i]
		unremoved := ev
		unremoved.Removed = false
		if unremoved.Key() != orig.Key() || ev.Key() != orig.Key()+"\x1fremoved" {
			t.Errorf("retraction key %q does not match the orphaned event's %q", ev.Key(), orig.Key())
		}
	}
	// With 2 confirmations: only the new branch, never the orphaned block.
	sameEvents(t, colConf.next(t, 3), newBranch)
	colHead.none(t)
	colConf.none(t)
	if st := atHead.Stats(); st.Reorgs != 1 || st.Retracted != 2 {
		t.Errorf("source at the head: stats %+v, want 1 reorg and 2 retractions", st)
	}
	if st := confirmed.Stats(); st.Reorgs != 0 || st.Retracted != 0 {
		t.Errorf("source with confirmations: stats %+v, want no reorg", st)
	}
}

// TestSourceResubscribesAndBackfills drops the new-head subscription, makes blocks
// while the source cannot subscribe again, and checks the missed blocks are
// backfilled by range, each event once.
func TestSourceResubscribesAndBackfills(t *testing.T) {
	c := newChain(t)
	k := c.keys[0]
	alice := addr(c.keys[1])
	fc := newFlakyClient(c.client)
	src := newSource(t, Config{Client: fc, Confirmations: AtHead, FromBlock: 2, MaxRange: 2, NativeMinWei: new(big.Int)})
	col := newCollector()
	stop := start(t, src, col)
	fc.subscribing(t)

	tx := c.transfer(k, c.tokenA, alice, 1)
	c.commit() // block 2
	if got := col.next(t, 1); got[0].Tx != tx.Hash().Hex() {
		t.Fatalf("got %s, want the transfer of block 2", line(&got[0]))
	}
	fc.takeRanges()

	release := fc.drop()
	fc.subscribing(t) // the source is trying to subscribe again, and is held back
	var missed []*types.Transaction
	for i := range 5 { // blocks 3..7
		missed = append(missed, c.transfer(k, c.tokenA, alice, int64(10+i)))
		c.commit()
	}
	release()
	got := col.next(t, 5)
	for i, ev := range got {
		if ev.Tx != missed[i].Hash().Hex() || ev.Block != uint64(3+i) {
			t.Errorf("backfilled event %d: got %s, want the transfer of block %d", i, line(&ev), 3+i)
		}
	}
	// A block after the backfill arrives through the new subscription.
	txLast := c.transfer(k, c.tokenA, alice, 99)
	c.commit() // block 8
	if got := col.next(t, 1); got[0].Tx != txLast.Hash().Hex() || got[0].Block != 8 {
		t.Fatalf("got %s, want the transfer of block 8", line(&got[0]))
	}
	stop()
	col.none(t)

	ranges := fc.takeRanges()
	next := uint64(3)
	for _, r := range ranges {
		if r[0] != next || r[1] < r[0] || r[1]-r[0] >= 2 {
			t.Fatalf("eth_getLogs ranges after the drop %v: want contiguous ranges of at most 2 from block 3", ranges)
		}
		next = r[1] + 1
	}
	if next != 9 {
		t.Fatalf("eth_getLogs ranges after the drop %v: want blocks 3..8 covered", ranges)
	}
	if st := src.Stats(); st.Subscriptions != 2 || st.Transfers != 7 {
		t.Errorf("stats %+v, want 2 subscriptions and 7 transfers", st)
	}
}

func TestSourceTokensFilter(t *testing.T) {
	c := newChain(t)
	k := c.keys[0]
	alice := addr(c.keys[1])
	// A second pool trading tokenA against an account that is no token.
	other := common.HexToAddress("0x00000000000000000000000000000000000000cc")
	deploy := c.send(k, nil, nil, deployCode(poolCode(c.tokenA, other)))
	pool2 := crypto.CreateAddress(addr(k), deploy.Nonce())
	c.commit()

	src := newSource(t, Config{Client: c.client, Confirmations: AtHead, FromBlock: 3, Tokens: []common.Address{c.tokenB}})
	col := newCollector()
	stop := start(t, src, col)

	c.transfer(k, c.tokenA, alice, 1) // not followed
	txB := c.transfer(k, c.tokenB, alice, 2)
	txSwap := c.emitLog(k, SwapV2Topic, alice, words(bi("1"), bi("0"), bi("0"), bi("1"))) // pool A/B: trades B
	c.emitLogAt(k, pool2, SwapV2Topic, alice, words(bi("1"), bi("0"), bi("0"), bi("1")))  // pool A/other: filtered
	c.commit()
	got := col.next(t, 2)
	if got[0].Tx != txB.Hash().Hex() || got[0].Token != lower(c.tokenB) {
		t.Errorf("got %s, want the tokenB transfer", line(&got[0]))
	}
	if got[1].Tx != txSwap.Hash().Hex() || got[1].Kind != event.KindSwap {
		t.Errorf("got %s, want the swap of the A/B pool", line(&got[1]))
	}
	txLast := c.transfer(k, c.tokenB, alice, 3)
	c.commit()
	if got := col.next(t, 1); got[0].Tx != txLast.Hash().Hex() {
		t.Errorf("got %s, want the last tokenB transfer", line(&got[0]))
	}
	stop()
	col.none(t)
	if st := src.Stats(); st.Filtered != 1 {
		t.Errorf("stats %+v, want 1 filtered swap", st)
	}
}

func TestSourceStopsWhenThePipelineFails(t *testing.T) {
	c := newChain(t)
	c.transfer(c.keys[0], c.tokenA, addr(c.keys[1]), 1)
	c.commit()
	src := newSource(t, Config{Client: c.client, Confirmations: AtHead, FromBlock: 2})
	full := errors.New("pipeline full")
	err := src.Run(context.Background(), func(context.Context, *event.Event) error { return full },
		func(context.Context, string, string, []byte) error { return nil })
	if !errors.Is(err, full) {
		t.Fatalf("Run returned %v, want it to wrap %v", err, full)
	}
	if got := src.LastBlock(); got != 1 {
		t.Errorf("LastBlock %d after a failed emit in block 2, want 1", got)
	}
}

func TestSourceRunsOnceAtATime(t *testing.T) {
	c := newChain(t)
	c.transfer(c.keys[0], c.tokenA, addr(c.keys[1]), 1)
	c.commit()
	src := newSource(t, Config{Client: c.client, Confirmations: AtHead, FromBlock: 2})
	col := newCollector()
	stop := start(t, src, col)
	col.next(t, 1) // running
	if err := src.Run(context.Background(), col.emit, col.reject); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run returned %v, want ErrRunning", err)
	}
	stop()
	// Run again after it returned: it goes on from where it stopped.
	tx := c.transfer(c.keys[0], c.tokenA, addr(c.keys[1]), 2)
	c.commit()
	start(t, src, col)
	if got := col.next(t, 1); got[0].Tx != tx.Hash().Hex() {
		t.Errorf("second run: got %s, want the new transfer only", line(&got[0]))
	}
}

// TestSourceOverRPCURL runs the source the way production does, dialling
// Config.RPCURL: the simulated node serves JSON-RPC over HTTP (polled) and
// websocket (subscribed) on a local port.
func TestSourceOverRPCURL(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	c := newChain(t, func(nc *node.Config, _ *ethconfig.Config) {
		nc.HTTPHost, nc.HTTPPort, nc.HTTPModules = "127.0.0.1", port, []string{"eth"}
		nc.WSHost, nc.WSPort, nc.WSModules = "127.0.0.1", port, []string{"eth"}
	})
	k := c.keys[0]
	alice := addr(c.keys[1])
	txNative := c.send(k, &alice, ether(10), nil) // exactly the default minimum
	txT := c.transfer(k, c.tokenB, alice, 3)
	c.commit()

	type run struct {
		src *Source
		col *collector
	}
	var runs []run
	for _, scheme := range []string{"http", "ws"} {
		src := newSource(t, Config{RPCURL: fmt.Sprintf("%s://127.0.0.1:%d", scheme, port), Confirmations: AtHead, FromBlock: 2, PollInterval: 5 * time.Millisecond})
		col := newCollector()
		start(t, src, col)
		runs = append(runs, run{src, col})
	}
	txLater := c.transfer(k, c.tokenA, alice, 4)
	c.commit()
	for i, r := range runs {
		got := r.col.next(t, 3)
		if got[0].Tx != txNative.Hash().Hex() || got[0].From != lower(addr(k)) || got[0].Amount.String() != "10" {
			t.Errorf("run %d: got %s, want the native transfer of 10 ETH", i, line(&got[0]))
		}
		if got[1].Tx != txT.Hash().Hex() || got[1].Symbol != "WETH" || got[2].Tx != txLater.Hash().Hex() || got[2].Symbol != "USDC" {
			t.Errorf("run %d: got %s and %s, want the two token transfers", i, line(&got[1]), line(&got[2]))
		}
	}
	if n := runs[0].src.Stats().Subscriptions; n != 0 {
		t.Errorf("over HTTP: %d subscriptions, want polling", n)
	}
	if n := runs[1].src.Stats().Subscriptions; n != 1 {
		t.Errorf("over websocket: %d subscriptions, want 1", n)
	}
}

// TestSourceRetriesTransientMetadataFailures makes the first metadata calls fail
// like a lost connection: the block is retried after a backoff, and its transfer
// comes once, with the token's real decimals rather than the fallback.
func TestSourceRetriesTransientMetadataFailures(t *testing.T) {
	c := newChain(t)
	fc := newFlakyClient(c.client)
	fc.failCalls = 2
	src := newSource(t, Config{Client: fc, Confirmations: AtHead, FromBlock: 2, BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond})
	col := newCollector()
	stop := start(t, src, col)
	tx := c.transfer(c.keys[0], c.tokenA, addr(c.keys[1]), 5)
	c.commit()
	got := col.next(t, 1)
	if got[0].Tx != tx.Hash().Hex() || got[0].Decimals != 6 || got[0].Symbol != "USDC" {
		t.Errorf("got %s, want the transfer with decimals 6 and symbol USDC", line(&got[0]))
	}
	tx2 := c.transfer(c.keys[0], c.tokenA, addr(c.keys[1]), 6)
	c.commit()
	if got := col.next(t, 1); got[0].Tx != tx2.Hash().Hex() {
		t.Errorf("got %s, want the next transfer", line(&got[0]))
	}
	stop()
	col.none(t)
	if st := src.Stats(); st.Failures < 1 || st.Transfers != 2 {
		t.Errorf("stats %+v, want a failure retried and 2 transfers", st)
	}
}
