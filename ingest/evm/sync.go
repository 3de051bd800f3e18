package evm

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/shopspring/decimal"

	"github.com/coattailcapital/coattail/event"
)

// errChainMoved: the chain changed while a range was being read (a header's parent
// or a log's block hash does not match what was read before). The range is read
// again, after the tip was checked for a reorg.
var errChainMoved = errors.New("evm: the chain changed while it was read")

// maxChainMoves is how many times in a row a range may find the chain moving before
// the attempt counts as failed (and is retried with backoff).
const maxChainMoves = 8

// blockRecord is an emitted block, remembered to retract its events after a reorg.
type blockRecord struct {
	num    uint64
	hash   common.Hash
	events []event.Event
}

// blockData is one block of a range being read.
type blockData struct {
	num     uint64
	haveHdr bool // hash, parent and time come from the header (else from the logs)
	hash    common.Hash
	parent  common.Hash
	time    uint64
	txs     types.Transactions // when native transfers are followed
	logs    []*types.Log
}

// advance emits every block up to head minus Confirmations; head 0 means read the
// head first. Blocks already emitted are checked for a reorg first.
func (s *Source) advance(ctx context.Context, out *sink, head uint64) error {
	if head == 0 {
		h, err := s.headerByNumber(ctx, nil)
		if err != nil {
			return fmt.Errorf("read the head: %w", err)
		}
		head = h.Number.Uint64()
	}
	conf := uint64(s.cfg.Confirmations)
	if !s.started {
		switch {
		case s.cfg.FromBlock > 0:
			s.next = s.cfg.FromBlock
		case head >= conf:
			s.next = head - conf
		}
		s.started = true
		s.setNext(s.next)
	}
	if head < conf {
		return nil
	}
	target := head - conf
	for moves := 0; ; {
		if err := s.checkTip(ctx, out); err != nil {
			return err
		}
		if s.next > target {
			return nil
		}
		to := min(target, s.next+uint64(s.cfg.MaxRange)-1)
		complete, err := s.processRange(ctx, out, s.next, to, head)
		switch {
		case errors.Is(err, errChainMoved):
			moves++
			if moves >= maxChainMoves {
				return fmt.Errorf("blocks %d..%d: %w (%d times in a row)", s.next, to, err, moves)
			}
			continue
		case err != nil:
			return err
		case !complete:
			return nil // the node's chain is shorter than head said: wait for the next
		}
		moves = 0
	}
}

// setNext records the next block to emit and publishes LastBlock.
func (s *Source) setNext(n uint64) {
	s.next = n
	if n > 0 {
		s.last.Store(n - 1)
	} else {
		s.last.Store(0)
	}
}

// rec returns the remembered block n, or nil.
func (s *Source) rec(n uint64) *blockRecord {
	if len(s.recs) == 0 || n < s.recs[0].num {
		return nil
	}
	i := n - s.recs[0].num
	if i >= uint64(len(s.recs)) {
		return nil
	}
	return &s.recs[i]
}

// remember appends an emitted block to the reorg window and drops the oldest beyond
// ReorgDepth.
func (s *Source) remember(r blockRecord) {
	if n := len(s.recs); n > 0 && s.recs[n-1].num+1 != r.num {
		clear(s.recs) // not contiguous: the earlier blocks are deeper than the window
		s.recs = s.recs[:0]
	}
	s.recs = append(s.recs, r)
	if len(s.recs) > s.cfg.ReorgDepth {
		s.recs[0] = blockRecord{}
		s.recs = s.recs[1:]
	}
}

// checkTip makes sure the last emitted block is still canonical, and retracts what a
// reorg replaced when it is not.
func (s *Source) checkTip(ctx context.Context, out *sink) error {
	if len(s.recs) == 0 {
		return nil
	}
	top := s.recs[len(s.recs)-1]
	hdr, err := s.headerByNumber(ctx, new(big.Int).SetUint64(top.num))
	if errors.Is(err, ethereum.NotFound) {
		return nil // the chain is shorter than it was: look again at its next block
	}
	if err != nil {
		return fmt.Errorf("check block %d: %w", top.num, err)
	}
	if hdr.Hash() == top.hash {
		return nil
	}
	return s.rewind(ctx, out, hdr)
}

// rewind handles a reorg: hdr is a canonical header at or below the last emitted
// block that differs from the emitted one. It walks the new chain back by parent
// hash to the common ancestor, retracts the events of every emitted block above it,
// newest first, and moves the position back to the block after the ancestor.
func (s *Source) rewind(ctx context.Context, out *sink, hdr *types.Header) error {
	cur := hdr
	var ancestor uint64
	for {
		n := cur.Number.Uint64()
		if n == 0 {
			return fmt.Errorf("reorg: the new chain has another genesis (%s)", cur.Hash().Hex())
		}
		r := s.rec(n - 1)
		if r == nil {
			// Deeper than the remembered blocks: retract those, and say what
			// cannot be retracted.
			ancestor = n - 1
			s.counter.deepReorgs.Add(1)
			s.cfg.Logger.Error("evm: reorg deeper than the remembered blocks; older orphaned events are not retracted",
				"chain", s.cfg.Chain, "reorg_depth", s.cfg.ReorgDepth, "ancestor_at_most", ancestor)
			break
		}
		if r.hash == cur.ParentHash {
			ancestor = n - 1
			break
		}
		parent, err := s.headerByHash(ctx, cur.ParentHash)
		if err != nil {
			return fmt.Errorf("reorg: walk back to block %d (%s): %w", n-1, cur.ParentHash.Hex(), err)
		}
		cur = parent
	}
	top := s.recs[len(s.recs)-1].num
	s.counter.reorgs.Add(1)
	s.cfg.Logger.Warn("evm: reorg; retracting orphaned blocks", "chain", s.cfg.Chain,
		"ancestor", ancestor, "orphaned_from", ancestor+1, "orphaned_to", top, "new_hash", hdr.Hash().Hex())
	for len(s.recs) > 0 {
		r := &s.recs[len(s.recs)-1]
		if r.num <= ancestor {
			break
		}
		for i := len(r.events) - 1; i >= 0; i-- {
			ev := new(event.Event)
			*ev = r.events[i]
			ev.Removed = true
			if err := out.put(ctx, ev); err != nil {
				return err
			}
			s.counter.retracted.Add(1)
		}
		num := r.num
		*r = blockRecord{}
		s.recs = s.recs[:len(s.recs)-1]
		s.setNext(num)
	}
	if s.next > ancestor+1 {
		s.setNext(ancestor + 1)
	}
	return nil
}

// processRange reads blocks from..to and emits their events. Blocks within
// ReorgDepth of head are read with their headers (hash chain checked, remembered for
// reorgs); deeper ones, taken as final, only through their logs unless native
// transfers need the whole block. It reports complete=false when the node has not
// got all of the range (its chain is shorter than head said).
func (s *Source) processRange(ctx context.Context, out *sink, from, to, head uint64) (complete bool, err error) {
	window := from // the first block within ReorgDepth of head
	if d := uint64(s.cfg.ReorgDepth); head >= d {
		window = max(from, head-d+1)
	}
	complete = true
	blocks := make([]blockData, 0, to-from+1)
	for n := from; n <= to; n++ {
		b := blockData{num: n}
		if s.native || n >= window {
			if err := s.readBlock(ctx, &b); err != nil {
				if errors.Is(err, ethereum.NotFound) {
					complete = false
					break
				}
				return false, err
			}
			var prev *common.Hash
			if len(blocks) > 0 {
				if p := &blocks[len(blocks)-1]; p.haveHdr {
					prev = &p.hash
				}
			} else if r := s.rec(n - 1); r != nil {
				prev = &r.hash
			}
			if prev != nil && b.parent != *prev {
				return false, errChainMoved
			}
		}
		blocks = append(blocks, b)
	}
	if len(blocks) == 0 {
		return false, nil
	}
	to = from + uint64(len(blocks)) - 1

	logs, err := s.filterLogs(ctx, from, to)
	if err != nil {
		return false, err
	}
	if last := &blocks[len(blocks)-1]; last.haveHdr {
		// The logs were read after the headers: the chain must not have moved.
		hdr, err := s.headerByNumber(ctx, new(big.Int).SetUint64(to))
		switch {
		case errors.Is(err, ethereum.NotFound):
			return false, errChainMoved
		case err != nil:
			return false, fmt.Errorf("read block %d: %w", to, err)
		case hdr.Hash() != last.hash:
			return false, errChainMoved
		}
	}
	for i := range logs {
		l := &logs[i]
		if l.Removed {
			continue
		}
		if l.BlockNumber < from || l.BlockNumber > to {
			return false, fmt.Errorf("eth_getLogs %d..%d returned a log of block %d", from, to, l.BlockNumber)
		}
		b := &blocks[l.BlockNumber-from]
		switch {
		case b.haveHdr:
			if l.BlockHash != b.hash {
				return false, errChainMoved
			}
		case b.hash == (common.Hash{}):
			b.hash, b.time = l.BlockHash, l.BlockTimestamp
		case b.hash != l.BlockHash:
			return false, errChainMoved
		}
		b.logs = append(b.logs, l)
	}
	for i := range blocks {
		if err := s.emitBlock(ctx, out, &blocks[i], blocks[i].num >= window); err != nil {
			return false, err
		}
	}
	return complete, nil
}

// readBlock reads block b.num's header, or the whole block when native transfers are
// followed.
func (s *Source) readBlock(ctx context.Context, b *blockData) error {
	num := new(big.Int).SetUint64(b.num)
	var hdr *types.Header
	if s.native {
		blk, err := s.blockByNumber(ctx, num)
		if err != nil {
			return fmt.Errorf("read block %d: %w", b.num, err)
		}
		hdr, b.txs = blk.Header(), blk.Transactions()
	} else {
		h, err := s.headerByNumber(ctx, num)
		if err != nil {
			return fmt.Errorf("read block %d: %w", b.num, err)
		}
		hdr = h
	}
	b.haveHdr, b.hash, b.parent, b.time = true, hdr.Hash(), hdr.ParentHash, hdr.Time
	return nil
}

// filterLogs reads the Transfer and Swap logs of from..to, ordered by block and log
// index: one eth_getLogs call, or two when Config.Tokens restricts the transfers.
func (s *Source) filterLogs(ctx context.Context, from, to uint64) ([]types.Log, error) {
	q := ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(from),
		ToBlock:   new(big.Int).SetUint64(to),
		Topics:    [][]common.Hash{{TransferTopic, SwapV2Topic, SwapV3Topic}},
	}
	if s.tokenSet == nil {
		return s.getLogs(ctx, q)
	}
	q.Topics = [][]common.Hash{{TransferTopic}}
	q.Addresses = s.cfg.Tokens
	transfers, err := s.getLogs(ctx, q)
	if err != nil {
		return nil, err
	}
	q.Topics = [][]common.Hash{{SwapV2Topic, SwapV3Topic}}
	q.Addresses = nil
	swaps, err := s.getLogs(ctx, q)
	if err != nil {
		return nil, err
	}
	logs := append(transfers, swaps...)
	slices.SortStableFunc(logs, func(a, b types.Log) int {
		return cmp.Or(cmp.Compare(a.BlockNumber, b.BlockNumber), cmp.Compare(a.Index, b.Index))
	})
	return logs, nil
}

func (s *Source) getLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	s.counter.logCalls.Add(1)
	logs, err := s.client.FilterLogs(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("eth_getLogs %s..%s: %w", q.FromBlock, q.ToBlock, err)
	}
	return logs, nil
}

// item is one thing of a block to emit or reject, in chain order.
type item struct {
	txIndex  uint
	logIndex int64 // event.NativeLogIndex for a native transfer
	log      *types.Log
	d        decodedLog
	rej      *event.Reject
	// native transfer
	tx   *types.Transaction
	from common.Address
}

// emitBlock emits the events of one block in chain order (a transaction's native
// transfer before its logs), remembers them when the block is within the reorg
// window, and moves the position past the block. Metadata is resolved before the
// first event, so a transient failure emits nothing of the block.
func (s *Source) emitBlock(ctx context.Context, out *sink, b *blockData, remember bool) error {
	items := make([]item, 0, len(b.logs))
	var pools []common.Address
	for _, l := range b.logs {
		d, rej := decodeLog(l)
		switch {
		case rej != nil:
			items = append(items, item{txIndex: l.TxIndex, logIndex: int64(l.Index), log: l, rej: rej})
		case d.kind == logOther:
		default:
			items = append(items, item{txIndex: l.TxIndex, logIndex: int64(l.Index), log: l, d: d})
			if d.kind != logTransfer {
				pools = append(pools, l.Address)
			}
		}
	}
	natives, err := s.nativeTransfers(ctx, b)
	if err != nil {
		return err
	}
	if len(natives) > 0 {
		items = append(items, natives...)
		slices.SortStableFunc(items, func(x, y item) int {
			return cmp.Or(cmp.Compare(x.txIndex, y.txIndex), cmp.Compare(x.logIndex, y.logIndex))
		})
	}
	if len(items) > 0 && !b.haveHdr && b.time == 0 {
		// The node did not put the block time in the logs: read the header.
		hdr, err := s.headerByHash(ctx, b.hash)
		if err != nil {
			return fmt.Errorf("read block %d (%s): %w", b.num, b.hash.Hex(), err)
		}
		b.time = hdr.Time
	}

	// Metadata: the pools' tokens, then every token involved.
	if err := s.meta.resolvePools(ctx, pools); err != nil {
		return err
	}
	var tokens []common.Address
	for i := range items {
		it := &items[i]
		switch {
		case it.rej != nil || it.tx != nil:
		case it.d.kind == logTransfer:
			tokens = append(tokens, it.log.Address)
		default:
			if p := s.meta.pool(it.log.Address); p.ok {
				tokens = append(tokens, p.token0, p.token1)
			}
		}
	}
	if err := s.meta.resolveTokens(ctx, tokens); err != nil {
		return err
	}

	var rec blockRecord
	if remember {
		rec = blockRecord{num: b.num, hash: b.hash}
	}
	base := event.Event{
		Src:       s.cfg.Chain,
		TS:        time.Unix(int64(b.time), 0).UTC(),
		Block:     b.num,
		BlockHash: b.hash.Hex(),
	}
	for i := range items {
		it := &items[i]
		ev, rej := s.buildEvent(&base, it)
		if ev == nil && rej == nil {
			continue // filtered out
		}
		if rej == nil {
			if err := ev.Validate(s.rules); err != nil {
				if !errors.As(err, &rej) {
					rej = &event.Reject{Reason: event.ReasonBadValue, Detail: err.Error()}
				}
			}
		}
		if rej != nil {
			if err := s.rejectItem(ctx, out, b, it, rej); err != nil {
				return err
			}
			continue
		}
		if remember {
			rec.events = append(rec.events, *ev)
		}
		if err := out.put(ctx, ev); err != nil {
			return err
		}
		switch {
		case ev.Kind == event.KindSwap:
			s.counter.swaps.Add(1)
		case ev.LogIndex == event.NativeLogIndex:
			s.counter.natives.Add(1)
		default:
			s.counter.transfers.Add(1)
		}
	}
	if remember {
		s.remember(rec)
	}
	s.setNext(b.num + 1)
	s.counter.blocks.Add(1)
	return nil
}

// buildEvent makes the event of an item; (nil, nil) when the item is filtered out.
func (s *Source) buildEvent(base *event.Event, it *item) (*event.Event, *event.Reject) {
	if it.rej != nil {
		return nil, it.rej
	}
	ev := new(event.Event)
	*ev = *base
	ev.LogIndex = it.logIndex
	if it.tx != nil { // native transfer
		v := it.tx.Value()
		ev.Kind = event.KindTransfer
		ev.Tx = it.tx.Hash().Hex()
		ev.Symbol = s.cfg.NativeSymbol
		ev.From = hexAddress(it.from)
		ev.To = hexAddress(*it.tx.To())
		ev.RawAmount, ev.Decimals, ev.HasRaw = v.String(), 18, true
		ev.Amount = decimal.NewFromBigInt(v, -18)
		return ev, nil
	}
	l := it.log
	ev.Tx = l.TxHash.Hex()
	if it.d.kind == logTransfer {
		m := s.meta.token(l.Address)
		ev.Kind = event.KindTransfer
		ev.Token = hexAddress(l.Address)
		ev.Symbol = m.symbol
		ev.From = hexAddress(it.d.from)
		ev.To = hexAddress(it.d.to)
		ev.RawAmount, ev.Decimals, ev.HasRaw = it.d.value.String(), m.decimals, true
		ev.Amount = decimal.NewFromBigInt(it.d.value, -m.decimals)
		return ev, nil
	}
	p := s.meta.pool(l.Address)
	if !p.ok {
		return nil, rejectf(event.ReasonMissingField, "token_in", "pool %s does not answer token0() and token1()", hexAddress(l.Address))
	}
	in, out := p.token0, p.token1
	if it.d.tokenIn == 1 {
		in, out = out, in
	}
	if s.tokenSet != nil {
		_, okIn := s.tokenSet[in]
		_, okOut := s.tokenSet[out]
		if !okIn && !okOut {
			s.counter.filtered.Add(1)
			return nil, nil
		}
	}
	mi, mo := s.meta.token(in), s.meta.token(out)
	ev.Kind = event.KindSwap
	ev.Wallet = hexAddress(it.d.to)
	ev.Venue = VenueUniswapV2
	if it.d.kind == logSwapV3 {
		ev.Venue = VenueUniswapV3
	}
	ev.Pool = hexAddress(l.Address)
	ev.TokenIn, ev.TokenOut = hexAddress(in), hexAddress(out)
	ev.AmountIn = decimal.NewFromBigInt(it.d.amountIn, -mi.decimals)
	ev.AmountOut = decimal.NewFromBigInt(it.d.amountOut, -mo.decimals)
	ev.SymbolIn, ev.SymbolOut = mi.symbol, mo.symbol
	return ev, nil
}

// rejectItem hands a log (or native transaction) that cannot become an event to
// reject, with its position in the detail and its JSON as the raw bytes.
func (s *Source) rejectItem(ctx context.Context, out *sink, b *blockData, it *item, rej *event.Reject) error {
	s.counter.rejected.Add(1)
	var (
		raw []byte
		err error
		tx  string
	)
	if it.log != nil {
		raw, err = json.Marshal(it.log)
		tx = it.log.TxHash.Hex()
	} else {
		raw, err = it.tx.MarshalJSON()
		tx = it.tx.Hash().Hex()
	}
	if err != nil {
		raw = nil // cannot happen for values the node decoded
	}
	detail := fmt.Sprintf("block %d tx %s log %d: ", b.num, tx, it.logIndex)
	if rej.Field != "" {
		detail += rej.Field + ": "
	}
	return out.rejected(ctx, rej, detail+rej.Detail, raw)
}

// nativeTransfers returns the block's successful transactions that send at least
// NativeMinWei to an account (contract creations excluded).
func (s *Source) nativeTransfers(ctx context.Context, b *blockData) ([]item, error) {
	var items []item
	for i, tx := range b.txs {
		if tx.To() == nil || tx.Value().Cmp(s.cfg.NativeMinWei) < 0 {
			continue
		}
		r, err := s.receipt(ctx, tx.Hash())
		if errors.Is(err, ethereum.NotFound) {
			return nil, errChainMoved
		}
		if err != nil {
			return nil, fmt.Errorf("receipt of %s: %w", tx.Hash().Hex(), err)
		}
		if r.BlockHash != b.hash {
			return nil, errChainMoved
		}
		// Receipts before Byzantium carry a state root instead of a status and
		// cannot tell a failure: they are taken as successful.
		if len(r.PostState) == 0 && r.Status != types.ReceiptStatusSuccessful {
			continue
		}
		from, err := s.sender(ctx, tx, b.hash, uint(i))
		if err != nil {
			return nil, fmt.Errorf("sender of %s: %w", tx.Hash().Hex(), err)
		}
		items = append(items, item{txIndex: uint(i), logIndex: event.NativeLogIndex, tx: tx, from: from})
	}
	return items, nil
}

// sender returns a transaction's sender: as the node reported it when the client
// can tell (ethclient keeps it from the block), else recovered from the signature.
func (s *Source) sender(ctx context.Context, tx *types.Transaction, block common.Hash, index uint) (common.Address, error) {
	if sr, ok := s.client.(senderReader); ok {
		ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
		from, err := sr.TransactionSender(ctx, tx, block, index)
		cancel()
		if err == nil {
			return from, nil
		}
	}
	var signer types.Signer = types.HomesteadSigner{}
	if tx.Protected() {
		signer = types.LatestSignerForChainID(tx.ChainId())
	}
	return types.Sender(signer, tx)
}

func (s *Source) headerByNumber(ctx context.Context, n *big.Int) (*types.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	return s.client.HeaderByNumber(ctx, n)
}

func (s *Source) headerByHash(ctx context.Context, h common.Hash) (*types.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	return s.client.HeaderByHash(ctx, h)
}

func (s *Source) blockByNumber(ctx context.Context, n *big.Int) (*types.Block, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	return s.client.BlockByNumber(ctx, n)
}

func (s *Source) receipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	return s.client.TransactionReceipt(ctx, h)
}
