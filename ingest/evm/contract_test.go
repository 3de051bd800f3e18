package evm

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus/beacon"
	"github.com/ethereum/go-ethereum/consensus/ethash"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/shopspring/decimal"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/sourcetest"
)

// TestContract runs the contract suite every source must pass against a local
// Ethereum node reached over a websocket through a TCP proxy, the way production
// dials Config.RPCURL: the proxy is the venue (it records each connection and cuts
// one abruptly on Drop).
//
// The chain is not go-ethereum's simulated backend, whose blocks carry a random
// prevRandao: the suite needs the events of the second part (known before they are
// mined) and a second venue replaying the same script (Resume) to be identical. So
// the script's blocks are generated once, deterministically (core.GenerateChain), and
// each venue is a fresh node that imports the first part's blocks when it starts and
// the second part's when the connection is dropped.
func TestContract(t *testing.T) {
	warmUp(t)
	sourcetest.Run(t, harness{})
}

// harness plays contractScript on a fresh node for every Start.
type harness struct{}

// contractGenesisTime is the genesis timestamp of the script's chain; its blocks
// follow 10 s apart, all before sourcetest.Now.
var contractGenesisTime = time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)

// contractBackoff is the sources' minimum backoff.
const contractBackoff = 20 * time.Millisecond

// script is the generated chain: blocks[0] is block 1 (the contracts' deployment),
// the first part is blocks 1..firstEnd, the second part the blocks after it.
type script struct {
	genesis     func() *core.Genesis
	blocks      []*types.Block
	firstEnd    uint64 // last block of the first part
	fromBlock   uint64 // first block of the first part the source reads
	first, rest []event.Event
	bad         int // rejected logs of the first part
}

// newScript generates the script's chain:
//
//	block 1: tokenA (6 decimals, "USDC"), tokenB (18, "WETH") and the pool deployed
//	block 2: a USDC transfer
//	block 3: a Uniswap V2 swap of the pool (2 USDC in, 0.001 WETH out)
//	block 4: a Transfer-topic log of the pool with 64 bytes of data (rejected), then
//	         a WETH transfer
//	block 5: a USDC transfer
//	block 6: a Uniswap V3 swap                  (first part ends)
//	block 7: a WETH transfer                    (second part: mined after the drop)
//	block 8: a USDC transfer and a V2 swap
func newScript(t *testing.T) *script {
	t.Helper()
	keys := []*ecdsa.PrivateKey{testKey(0), testKey(1), testKey(2)}
	k := keys[0]
	alice, bob := addr(keys[1]), addr(keys[2])
	trader := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	genesis := func() *core.Genesis {
		alloc := core.SystemContractAllocs()
		for _, key := range keys {
			alloc[addr(key)] = types.Account{Balance: new(big.Int).Mul(big.NewInt(1e9), big.NewInt(params.Ether))}
		}
		return &core.Genesis{
			Config:    params.AllDevChainProtocolChanges,
			GasLimit:  ethconfig.Defaults.Miner.GasCeil,
			Alloc:     alloc,
			Timestamp: uint64(contractGenesisTime.Unix()),
		}
	}
	tokenA := crypto.CreateAddress(addr(k), 0)
	tokenB := crypto.CreateAddress(addr(k), 1)
	pool := crypto.CreateAddress(addr(k), 2)
	signer := types.LatestSignerForChainID(big.NewInt(simChainID))
	var nonce uint64
	tx := func(b *core.BlockGen, to *common.Address, data []byte) *types.Transaction {
		signed, err := types.SignNewTx(k, signer, &types.DynamicFeeTx{
			ChainID: big.NewInt(simChainID), Nonce: nonce, GasTipCap: testTip, GasFeeCap: testFeeCap,
			Gas: 500_000, To: to, Data: data,
		})
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		nonce++
		b.AddTx(signed)
		return signed
	}
	logCall := func(topic0 common.Hash, recipient common.Address, data []byte) []byte {
		call := []byte("\x00\x00\x00\x00")
		call = append(call, topic0.Bytes()...)
		call = append(call, common.LeftPadBytes(recipient.Bytes(), 32)...)
		return append(call, data...)
	}
	txs := make(map[int][]*types.Transaction) // by block number
	_, blocks, receipts := core.GenerateChainWithGenesis(genesis(), beacon.New(ethash.NewFaker()), 8, func(i int, b *core.BlockGen) {
		n := i + 1
		var out []*types.Transaction
		switch n {
		case 1:
			tx(b, nil, deployCode(tokenCode(6, "USDC")))
			tx(b, nil, deployCode(tokenCode(18, "WETH")))
			tx(b, nil, deployCode(poolCode(tokenA, tokenB)))
		case 2:
			out = append(out, tx(b, &tokenA, transferCall(alice, big.NewInt(1_500_000))))
		case 3:
			out = append(out, tx(b, &pool, logCall(SwapV2Topic, trader, words(bi("2000000"), bi("0"), bi("0"), bi("1000000000000000")))))
		case 4:
			out = append(out, tx(b, &pool, logCall(TransferTopic, alice, words(bi("1"), bi("2")))))
			out = append(out, tx(b, &tokenB, transferCall(bob, big.NewInt(7))))
		case 5:
			out = append(out, tx(b, &tokenA, transferCall(bob, big.NewInt(2_000_000))))
		case 6:
			out = append(out, tx(b, &pool, logCall(SwapV3Topic, bob, words(bi("-500000"), bi("300000000000000"), bi("79228162514264337593543950336"), bi("1000000"), bi("-5")))))
		case 7:
			out = append(out, tx(b, &tokenB, transferCall(alice, big.NewInt(42))))
		case 8:
			out = append(out, tx(b, &tokenA, transferCall(alice, big.NewInt(3))))
			out = append(out, tx(b, &pool, logCall(SwapV2Topic, alice, words(bi("0"), bi("5000000000000000000"), bi("9000000"), bi("0")))))
		}
		txs[n] = out
	})
	for i, rs := range receipts {
		for _, r := range rs {
			if r.Status != types.ReceiptStatusSuccessful {
				t.Fatalf("script: tx %s of block %d failed", r.TxHash.Hex(), i+1)
			}
		}
	}
	info := func(n int) (uint64, string, time.Time) {
		b := blocks[n-1]
		return b.NumberU64(), b.Hash().Hex(), time.Unix(int64(b.Time()), 0).UTC()
	}
	swap := func(n int, tx *types.Transaction, logIndex int64, venue string, wallet, in, out common.Address, amountIn, amountOut, symIn, symOut string) event.Event {
		num, hash, ts := info(n)
		return event.Event{
			Kind: event.KindSwap, Src: "ethereum", TS: ts, Block: num, BlockHash: hash,
			Tx: tx.Hash().Hex(), LogIndex: logIndex, Wallet: lower(wallet), Venue: venue, Pool: lower(pool),
			TokenIn: lower(in), AmountIn: decimal.RequireFromString(amountIn),
			TokenOut: lower(out), AmountOut: decimal.RequireFromString(amountOut),
			SymbolIn: symIn, SymbolOut: symOut,
		}
	}
	transfer := func(n int, tx *types.Transaction, logIndex int64, token, to common.Address, raw string, decimals int32, symbol string) event.Event {
		num, hash, ts := info(n)
		return transferEvent(num, hash, ts, tx, logIndex, token, addr(k), to, raw, decimals, symbol)
	}
	return &script{
		genesis:   genesis,
		blocks:    blocks,
		firstEnd:  6,
		fromBlock: 2,
		first: []event.Event{
			transfer(2, txs[2][0], 0, tokenA, alice, "1500000", 6, "USDC"),
			swap(3, txs[3][0], 0, VenueUniswapV2, trader, tokenA, tokenB, "2", "0.001", "USDC", "WETH"),
			transfer(4, txs[4][1], 1, tokenB, bob, "7", 18, "WETH"),
			transfer(5, txs[5][0], 0, tokenA, bob, "2000000", 6, "USDC"),
			swap(6, txs[6][0], 0, VenueUniswapV3, bob, tokenB, tokenA, "0.0003", "0.5", "WETH", "USDC"),
		},
		rest: []event.Event{
			transfer(7, txs[7][0], 0, tokenB, alice, "42", 18, "WETH"),
			transfer(8, txs[8][0], 0, tokenA, alice, "3", 6, "USDC"),
			swap(8, txs[8][1], 1, VenueUniswapV2, alice, tokenB, tokenA, "5", "9", "WETH", "USDC"),
		},
		bad: 1,
	}
}

// chainNode is a local Ethereum node serving JSON-RPC over a websocket.
type chainNode struct {
	stack *node.Node
	eth   *eth.Ethereum
}

// startNode starts a node on the script's genesis and imports blocks 1..upTo.
func startNode(t *testing.T, sc *script, upTo uint64) *chainNode {
	t.Helper()
	nodeConf := node.DefaultConfig
	nodeConf.DataDir = ""
	nodeConf.P2P = p2p.Config{NoDiscovery: true}
	nodeConf.WSHost, nodeConf.WSPort, nodeConf.WSModules = "127.0.0.1", 0, []string{"eth"}
	stack, err := node.New(&nodeConf)
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	ethConf := ethconfig.Defaults
	ethConf.Genesis = sc.genesis()
	ethConf.SyncMode = ethconfig.FullSync
	ethConf.LogNoHistory = true
	backend, err := eth.New(stack, &ethConf)
	if err != nil {
		stack.Close()
		t.Fatalf("eth service: %v", err)
	}
	fs := filters.NewFilterSystem(backend.APIBackend, filters.Config{})
	stack.RegisterAPIs([]rpc.API{{Namespace: "eth", Service: filters.NewFilterAPI(fs)}})
	if err := stack.Start(); err != nil {
		stack.Close()
		t.Fatalf("start the node: %v", err)
	}
	n := &chainNode{stack: stack, eth: backend}
	if err := n.importBlocks(sc, 1, upTo); err != nil {
		stack.Close()
		t.Fatal(err)
	}
	return n
}

// importBlocks imports the script's blocks from..to.
func (n *chainNode) importBlocks(sc *script, from, to uint64) error {
	if i, err := n.eth.BlockChain().InsertChain(sc.blocks[from-1 : to]); err != nil {
		return fmt.Errorf("import block %d: %w", from+uint64(i), err)
	}
	return nil
}

// wsAddr is the host:port of the node's websocket endpoint.
func (n *chainNode) wsAddr() string { return strings.TrimPrefix(n.stack.WSEndpoint(), "ws://") }

// proxy is the venue: a TCP proxy from the source to the node's websocket endpoint.
// Connections after the first wait until the second part was mined, so that the
// source finds the blocks it missed by backfilling, not through its subscription.
type proxy struct {
	t       *testing.T
	ln      net.Listener
	backend string
	node    *chainNode
	sc      *script
	wg      sync.WaitGroup

	rest     chan struct{} // closed once the second part is mined
	restOnce sync.Once
	done     chan struct{} // closed by Close
	once     sync.Once

	mu       sync.Mutex
	closed   bool
	accepted []time.Time
	conns    []net.Conn // every open connection, both sides
	last     [2]net.Conn
}

var _ sourcetest.Venue = (*proxy)(nil)

func newProxy(t *testing.T, n *chainNode, sc *script) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &proxy{t: t, ln: ln, backend: n.wsAddr(), node: n, sc: sc, rest: make(chan struct{}), done: make(chan struct{})}
	p.wg.Add(1)
	go p.serve()
	return p
}

func (p *proxy) url() string { return "ws://" + p.ln.Addr().String() }

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			abort(c)
			return
		}
		n := len(p.accepted)
		p.accepted = append(p.accepted, time.Now())
		p.conns = append(p.conns, c)
		p.wg.Add(1)
		p.mu.Unlock()
		go p.pipe(c, n)
	}
}

// pipe forwards connection n to the node, both ways, until either side ends.
func (p *proxy) pipe(c net.Conn, n int) {
	defer p.wg.Done()
	defer abort(c)
	if n > 0 {
		select {
		case <-p.rest:
		case <-p.done:
			return
		}
	}
	be, err := net.Dial("tcp", p.backend)
	if err != nil {
		return
	}
	defer abort(be)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.conns = append(p.conns, be)
	p.last = [2]net.Conn{c, be}
	p.mu.Unlock()
	up := make(chan struct{})
	go func() {
		defer close(up)
		_, _ = io.Copy(be, c)
		abort(be)
		abort(c)
	}()
	_, _ = io.Copy(c, be)
	abort(be)
	abort(c)
	<-up
}

// abort closes a connection with a reset, as a network failure would: the peer's
// next read or write fails at once.
func abort(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// Accepted returns when each connection was accepted.
func (p *proxy) Accepted() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.accepted...)
}

// Drop resets the connection in use, then mines the second part (once) and lets
// the next connections through.
func (p *proxy) Drop() time.Time {
	p.mu.Lock()
	at := time.Now()
	for _, c := range p.last {
		if c != nil {
			abort(c)
		}
	}
	p.mu.Unlock()
	p.restOnce.Do(func() {
		if err := p.node.importBlocks(p.sc, p.sc.firstEnd+1, uint64(len(p.sc.blocks))); err != nil {
			p.t.Errorf("mine the second part: %v", err)
		}
		close(p.rest)
	})
	return at
}

// Close ends every connection, the proxy and the node.
func (p *proxy) Close() {
	p.once.Do(func() {
		p.mu.Lock()
		p.closed = true
		close(p.done)
		_ = p.ln.Close()
		for _, c := range p.conns {
			abort(c)
		}
		p.mu.Unlock()
		p.wg.Wait()
		if err := p.node.stack.Close(); err != nil {
			p.t.Errorf("close the node: %v", err)
		}
	})
}

func (harness) Start(t *testing.T, opts sourcetest.Options) sourcetest.Setup {
	t.Helper()
	sc := newScript(t)
	n := startNode(t, sc, sc.firstEnd)
	p := newProxy(t, n, sc)
	t.Cleanup(p.Close)
	cfg := Config{
		RPCURL:        p.url(),
		Confirmations: AtHead,
		NativeMinWei:  new(big.Int),
		// A request lost with a connection fails within this.
		RequestTimeout: 5 * time.Second,
		BackoffMin:     contractBackoff,
		BackoffMax:     4 * contractBackoff,
		Logger:         quietLogger(),
		Now:            sourcetest.Now,
	}
	if opts.Resume == nil {
		cfg.FromBlock = sc.fromBlock
	}
	cfg, err := cfg.WithCheckpoint(opts.Resume)
	if err != nil {
		t.Fatal(err)
	}
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sourcetest.Setup{
		Source:    src,
		Venue:     p,
		First:     sc.first,
		Rest:      sc.rest,
		BadFrames: sc.bad,
		Group:     1, // one event per block: the position moves by block
		// A dropped subscription that had delivered is resubscribed at once
		// (followSubscribed): the backoff only grows over consecutive failures.
		MinReconnectWait: 0,
		Rules:            event.Rules{Now: sourcetest.Now},
	}
}

// warmUp starts a node and talks to it once over a websocket, so that the
// process-wide goroutines go-ethereum starts on first use exist before the suite
// counts goroutines.
func warmUp(t *testing.T) {
	t.Helper()
	sc := newScript(t)
	n := startNode(t, sc, sc.firstEnd)
	defer n.stack.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := ethclient.DialContext(ctx, n.stack.WSEndpoint())
	if err != nil {
		t.Fatalf("warm up: %v", err)
	}
	defer c.Close()
	heads := make(chan *types.Header, 1)
	sub, err := c.SubscribeNewHead(ctx, heads)
	if err != nil {
		t.Fatalf("warm up: %v", err)
	}
	sub.Unsubscribe()
	if _, err := c.HeaderByNumber(ctx, nil); err != nil {
		t.Fatalf("warm up: %v", err)
	}
}
