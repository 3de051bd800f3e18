package evm

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/params"

	"github.com/coattailcapital/coattail/event"
)

// simChainID is the chain id of go-ethereum's simulated backend.
const simChainID = 1337

// waitFor bounds every wait of a test for the source: not a timed assertion, a
// deadline after which the test fails instead of hanging.
const waitFor = 30 * time.Second

// Gas prices of the test transactions: the simulated chain wants a tip of at least
// 1e6 wei; the base fee starts at 1 gwei.
var (
	testTip    = big.NewInt(params.GWei)
	testFeeCap = big.NewInt(100 * params.GWei)
)

// chain is a simulated chain with funded accounts and the test contracts deployed in
// block 1: tokenA (6 decimals, "USDC"), tokenB (18 decimals, "WETH") and a pool of
// the two.
type chain struct {
	t      *testing.T
	sim    *simulated.Backend
	client simulated.Client
	keys   []*ecdsa.PrivateKey
	nonces map[common.Address]uint64

	tokenA, tokenB, pool common.Address
	genesis, block1      common.Hash
}

func testKey(i int) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte{byte(i)}, []byte("coattail evm test key")))
	if err != nil {
		panic(err)
	}
	return k
}

func addr(k *ecdsa.PrivateKey) common.Address { return crypto.PubkeyToAddress(k.PublicKey) }

func newChain(t *testing.T, options ...func(*node.Config, *ethconfig.Config)) *chain {
	t.Helper()
	c := &chain{t: t, nonces: map[common.Address]uint64{}}
	alloc := types.GenesisAlloc{}
	for i := range 3 {
		k := testKey(i)
		c.keys = append(c.keys, k)
		alloc[addr(k)] = types.Account{Balance: new(big.Int).Mul(big.NewInt(1e9), big.NewInt(params.Ether))}
	}
	c.sim = simulated.NewBackend(alloc, options...)
	t.Cleanup(func() {
		if err := c.sim.Close(); err != nil {
			t.Errorf("close the simulated backend: %v", err)
		}
	})
	c.client = c.sim.Client()
	h, err := c.client.HeaderByNumber(context.Background(), big.NewInt(0))
	if err != nil {
		t.Fatalf("genesis: %v", err)
	}
	c.genesis = h.Hash()

	deployer := c.keys[0]
	c.tokenA = crypto.CreateAddress(addr(deployer), 0)
	c.tokenB = crypto.CreateAddress(addr(deployer), 1)
	c.pool = crypto.CreateAddress(addr(deployer), 2)
	c.send(deployer, nil, nil, deployCode(tokenCode(6, "USDC")))
	c.send(deployer, nil, nil, deployCode(tokenCode(18, "WETH")))
	c.send(deployer, nil, nil, deployCode(poolCode(c.tokenA, c.tokenB)))
	c.block1 = c.commit()
	for _, a := range []common.Address{c.tokenA, c.tokenB, c.pool} {
		code, err := c.client.CodeAt(context.Background(), a, nil)
		if err != nil || len(code) == 0 {
			t.Fatalf("contract %s not deployed (%d bytes, %v)", a.Hex(), len(code), err)
		}
	}
	return c
}

// send signs and sends a transaction from key (to nil: a contract creation) with
// the next nonce of the key.
func (c *chain) send(key *ecdsa.PrivateKey, to *common.Address, value *big.Int, data []byte) *types.Transaction {
	c.t.Helper()
	return c.sendTip(key, testTip, to, value, data)
}

// sendTip is send with a given tip.
func (c *chain) sendTip(key *ecdsa.PrivateKey, tip *big.Int, to *common.Address, value *big.Int, data []byte) *types.Transaction {
	c.t.Helper()
	from := addr(key)
	nonce := c.nonces[from]
	c.nonces[from]++
	if value == nil {
		value = new(big.Int)
	}
	tx, err := types.SignNewTx(key, types.LatestSignerForChainID(big.NewInt(simChainID)), &types.DynamicFeeTx{
		ChainID:   big.NewInt(simChainID),
		Nonce:     nonce,
		GasTipCap: tip,
		GasFeeCap: testFeeCap,
		Gas:       500_000,
		To:        to,
		Value:     value,
		Data:      data,
	})
	if err != nil {
		c.t.Fatalf("sign: %v", err)
	}
	if err := c.client.SendTransaction(context.Background(), tx); err != nil {
		c.t.Fatalf("send: %v", err)
	}
	return tx
}

// commit seals a block with every transaction sent so far. The simulated node's pool
// promotes transactions in the background, and a block sealed before that would
// miss some, so commit first waits until the pool holds every nonce sent.
func (c *chain) commit() common.Hash {
	c.t.Helper()
	deadline := time.Now().Add(waitFor)
	for a, want := range c.nonces {
		for {
			got, err := c.client.PendingNonceAt(context.Background(), a)
			if err == nil && got >= want {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("the pool holds nonces up to %d of %s, want %d (%v)", got, a.Hex(), want, err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return c.sim.Commit()
}

// transfer calls transfer(to, value) on a token.
func (c *chain) transfer(key *ecdsa.PrivateKey, token, to common.Address, value int64) *types.Transaction {
	c.t.Helper()
	return c.send(key, &token, nil, transferCall(to, big.NewInt(value)))
}

func transferCall(to common.Address, value *big.Int) []byte {
	data := []byte(selTransfer)
	data = append(data, common.LeftPadBytes(to.Bytes(), 32)...)
	return append(data, common.LeftPadBytes(value.Bytes(), 32)...)
}

// selTransfer is transfer(address,uint256).
const selTransfer = "\xa9\x05\x9c\xbb"

// emitLog makes the pool emit LOG3(topic0, sender, recipient) with data.
func (c *chain) emitLog(key *ecdsa.PrivateKey, topic0 common.Hash, recipient common.Address, data []byte) *types.Transaction {
	c.t.Helper()
	return c.emitLogAt(key, c.pool, topic0, recipient, data)
}

// emitLogAt makes the pool at an address emit LOG3(topic0, sender, recipient).
func (c *chain) emitLogAt(key *ecdsa.PrivateKey, pool common.Address, topic0 common.Hash, recipient common.Address, data []byte) *types.Transaction {
	c.t.Helper()
	call := []byte("\x00\x00\x00\x00")
	call = append(call, topic0.Bytes()...)
	call = append(call, common.LeftPadBytes(recipient.Bytes(), 32)...)
	call = append(call, data...)
	return c.send(key, &pool, nil, call)
}

// words ABI-encodes integers as 32-byte two's-complement words.
func words(vs ...*big.Int) []byte {
	var out []byte
	mod := new(big.Int).Lsh(big.NewInt(1), 256)
	for _, v := range vs {
		w := new(big.Int).Set(v)
		if w.Sign() < 0 {
			w.Add(w, mod)
		}
		out = append(out, common.LeftPadBytes(w.Bytes(), 32)...)
	}
	return out
}

func bi(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic("bad integer " + s)
	}
	return v
}

// collector receives what a running source emits and rejects.
type collector struct {
	events  chan event.Event
	rejects chan rejection
	onEmit  func(*event.Event) // optional, called in the source's goroutine
}

type rejection struct {
	reason, detail string
	raw            []byte
}

func newCollector() *collector {
	return &collector{events: make(chan event.Event, 1024), rejects: make(chan rejection, 1024)}
}

func (c *collector) emit(ctx context.Context, ev *event.Event) error {
	if c.onEmit != nil {
		c.onEmit(ev)
	}
	select {
	case c.events <- *ev:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *collector) reject(ctx context.Context, reason, detail string, raw []byte) error {
	select {
	case c.rejects <- rejection{reason, detail, append([]byte(nil), raw...)}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// next returns the next n events, failing the test if they do not come.
func (c *collector) next(t *testing.T, n int) []event.Event {
	t.Helper()
	out := make([]event.Event, 0, n)
	deadline := time.NewTimer(waitFor)
	defer deadline.Stop()
	for len(out) < n {
		select {
		case ev := <-c.events:
			out = append(out, ev)
		case <-deadline.C:
			t.Fatalf("got %d of %d events: %v", len(out), n, out)
		}
	}
	return out
}

func (c *collector) nextReject(t *testing.T) rejection {
	t.Helper()
	select {
	case r := <-c.rejects:
		return r
	case <-time.After(waitFor):
		t.Fatal("no rejection")
	}
	return rejection{}
}

// none fails if anything more was emitted or rejected.
func (c *collector) none(t *testing.T) {
	t.Helper()
	select {
	case ev := <-c.events:
		t.Fatalf("unexpected event: %+v", ev)
	case r := <-c.rejects:
		t.Fatalf("unexpected rejection: %+v", r)
	default:
	}
}

// start runs src in the background; the returned stop cancels it and checks that
// Run returned nil (a clean shutdown).
func start(t *testing.T, src *Source, col *collector) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, col.emit, col.reject) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v after cancellation, want nil", err)
				}
			case <-time.After(waitFor):
				t.Error("Run did not return after cancellation")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newSource(t *testing.T, cfg Config) *Source {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// pollOnly hides the optional methods of a client (SubscribeNewHead,
// TransactionSender): the source polls and recovers senders from signatures.
type pollOnly struct{ Client }

// flakyClient wraps the simulated client to drop subscriptions on demand, hold new
// subscriptions back, and record the eth_getLogs ranges asked.
type flakyClient struct {
	simulated.Client

	mu      sync.Mutex
	subs    []*flakySub
	hold    chan struct{} // when set, SubscribeNewHead waits until it is closed
	calls   chan int      // receives the number of each SubscribeNewHead call
	ncalls  int
	ranges  [][2]uint64
	filters int
	// failCalls is how many eth_calls fail next, as a lost connection would.
	failCalls int
}

func (f *flakyClient) CallContract(ctx context.Context, msg ethereum.CallMsg, n *big.Int) ([]byte, error) {
	f.mu.Lock()
	fail := f.failCalls > 0
	if fail {
		f.failCalls--
	}
	f.mu.Unlock()
	if fail {
		return nil, errors.New("test: connection reset")
	}
	return f.Client.CallContract(ctx, msg, n)
}

func newFlakyClient(c simulated.Client) *flakyClient {
	return &flakyClient{Client: c, calls: make(chan int, 16)}
}

type flakySub struct {
	inner ethereum.Subscription
	err   chan error
	once  sync.Once
}

func (s *flakySub) Err() <-chan error { return s.err }
func (s *flakySub) Unsubscribe()      { s.once.Do(s.inner.Unsubscribe) }

func (f *flakyClient) SubscribeNewHead(ctx context.Context, ch chan<- *types.Header) (ethereum.Subscription, error) {
	f.mu.Lock()
	hold := f.hold
	f.ncalls++
	n := f.ncalls
	f.mu.Unlock()
	select {
	case f.calls <- n:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	inner, err := f.Client.SubscribeNewHead(ctx, ch)
	if err != nil {
		return nil, err
	}
	s := &flakySub{inner: inner, err: make(chan error, 1)}
	f.mu.Lock()
	f.subs = append(f.subs, s)
	f.mu.Unlock()
	return s, nil
}

// drop ends the current subscription as a lost connection would: no more heads, and
// an error on Err. Later subscriptions wait until the returned release is called.
func (f *flakyClient) drop() (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hold := make(chan struct{})
	f.hold = hold
	s := f.subs[len(f.subs)-1]
	s.once.Do(s.inner.Unsubscribe)
	s.err <- errors.New("test: connection lost")
	return func() {
		f.mu.Lock()
		f.hold = nil
		f.mu.Unlock()
		close(hold)
	}
}

func (f *flakyClient) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	f.mu.Lock()
	f.filters++
	if q.FromBlock != nil && q.ToBlock != nil {
		f.ranges = append(f.ranges, [2]uint64{q.FromBlock.Uint64(), q.ToBlock.Uint64()})
	}
	f.mu.Unlock()
	return f.Client.FilterLogs(ctx, q)
}

// subscribing waits until the source calls SubscribeNewHead.
func (f *flakyClient) subscribing(t *testing.T) {
	t.Helper()
	select {
	case <-f.calls:
	case <-time.After(waitFor):
		t.Fatal("the source did not subscribe")
	}
}

func (f *flakyClient) takeRanges() [][2]uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.ranges
	f.ranges = nil
	return r
}

// lower is an address as the events write it.
func lower(a common.Address) string { return hexAddress(a) }
