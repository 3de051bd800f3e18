package evm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest"
)

// ErrRunning is returned by Run when the Source is already running.
var ErrRunning = errors.New("evm: source already running")

// errNoSubscriptions: the client cannot subscribe; the source polls instead.
var errNoSubscriptions = errors.New("evm: subscriptions not supported")

// Source follows an EVM chain's ERC-20 transfers, Uniswap V2/V3 swaps and large
// native-coin transfers (see the package documentation). Create it with New; Run may
// be called once at a time, and again after it returned: it goes on from where it
// stopped.
type Source struct {
	cfg      Config
	rules    event.Rules
	native   bool
	tokenSet map[common.Address]struct{}
	meta     *metadata

	running atomic.Bool
	client  Client // Config.Client, or the dialled client for the duration of Run

	// The chain position, used only by the goroutine of Run.
	started bool          // next is known
	next    uint64        // the next block to emit
	recs    []blockRecord // the last emitted blocks within ReorgDepth, ascending and contiguous

	last    atomic.Uint64 // LastBlock
	counter counters
}

var _ ingest.Source = (*Source)(nil)

type counters struct {
	blocks, transfers, swaps, natives, rejected, filtered  atomic.Int64
	reorgs, retracted, deepReorgs, subscriptions, failures atomic.Int64
	logCalls, metaCalls                                    atomic.Int64
}

// Stats counts what a Source has done since it was created.
type Stats struct {
	Blocks        int64 // blocks emitted (fully)
	Transfers     int64 // token transfer events emitted (retractions excluded)
	Swaps         int64 // swap events emitted (retractions excluded)
	Natives       int64 // native transfer events emitted (retractions excluded)
	Rejected      int64 // logs and events handed to reject
	Filtered      int64 // swaps of pools trading none of Config.Tokens
	Reorgs        int64 // reorgs that replaced emitted blocks
	Retracted     int64 // removed:true events emitted
	DeepReorgs    int64 // reorgs deeper than the remembered blocks (not fully retracted)
	Subscriptions int64 // new-head subscriptions made (1 + resubscriptions)
	Failures      int64 // failed attempts (RPC errors, dropped subscriptions), retried
	LogCalls      int64 // eth_getLogs calls
	MetaCalls     int64 // metadata eth_calls
}

// New checks the configuration and returns a source.
func New(cfg Config) (*Source, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Source{cfg: cfg, rules: event.Rules{Now: cfg.Now}, native: cfg.NativeMinWei.Sign() > 0, client: cfg.Client}
	if len(cfg.Tokens) > 0 {
		s.tokenSet = make(map[common.Address]struct{}, len(cfg.Tokens))
		for _, t := range cfg.Tokens {
			s.tokenSet[t] = struct{}{}
		}
	}
	s.meta = newMetadata(s)
	if cfg.FromBlock > 0 {
		s.last.Store(cfg.FromBlock - 1)
	}
	return s, nil
}

// Name is the source's name: Config.Chain, "ethereum" by default.
func (s *Source) Name() string { return s.cfg.Chain }

// LastBlock returns the last block whose events were all emitted: the position to
// checkpoint, and to resume from with Config.FromBlock = LastBlock()+1. Before
// anything is emitted it is the block before the start (FromBlock-1, or head minus
// Confirmations minus 1 once the head was read), and 0 before that is known. It goes
// back when a reorg retracts blocks. Safe to call while Run runs.
func (s *Source) LastBlock() uint64 { return s.last.Load() }

// Stats returns the counters; safe to call while Run runs.
func (s *Source) Stats() Stats {
	c := &s.counter
	return Stats{
		Blocks: c.blocks.Load(), Transfers: c.transfers.Load(), Swaps: c.swaps.Load(),
		Natives: c.natives.Load(), Rejected: c.rejected.Load(), Filtered: c.filtered.Load(),
		Reorgs: c.reorgs.Load(), Retracted: c.retracted.Load(), DeepReorgs: c.deepReorgs.Load(),
		Subscriptions: c.subscriptions.Load(), Failures: c.failures.Load(),
		LogCalls: c.logCalls.Load(), MetaCalls: c.metaCalls.Load(),
	}
}

// Run follows the chain until ctx is done and returns nil then. It returns an error
// only when the pipeline refuses an event or a rejection (emit or reject failed).
// RPC failures, a failed dial and dropped subscriptions are retried with backoff;
// logs it cannot read are handed to reject.
func (s *Source) Run(ctx context.Context, emit ingest.Emit, reject ingest.Reject) error {
	if !s.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer s.running.Store(false)
	client, closeClient := s.connect(ctx)
	if client == nil {
		return nil // ctx done while dialling
	}
	defer closeClient()
	s.client = client
	err := s.follow(ctx, &sink{emit: emit, reject: reject})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// connect returns Config.Client, or dials Config.RPCURL until it succeeds or ctx is
// done (nil client then).
func (s *Source) connect(ctx context.Context) (Client, func()) {
	if s.cfg.Client != nil {
		return s.cfg.Client, func() {}
	}
	for attempt := 0; ; attempt++ {
		dctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
		c, err := ethclient.DialContext(dctx, s.cfg.RPCURL)
		cancel()
		if err == nil {
			return c, c.Close
		}
		s.counter.failures.Add(1)
		wait := backoff(attempt, s.cfg.BackoffMin, s.cfg.BackoffMax)
		s.cfg.Logger.Warn("evm: dial failed; retrying", "chain", s.cfg.Chain, "err", err, "retry_in", wait)
		if !sleep(ctx, wait) {
			return nil, nil
		}
	}
}

// follow follows new heads by subscription when the client can, else by polling.
func (s *Source) follow(ctx context.Context, out *sink) error {
	hs, ok := s.client.(HeadSubscriber)
	if ok && (s.cfg.RPCURL == "" || subscribes(s.cfg.RPCURL)) {
		err := s.followSubscribed(ctx, out, hs)
		if !errors.Is(err, errNoSubscriptions) {
			return err
		}
		s.cfg.Logger.Info("evm: the node does not support subscriptions; polling", "chain", s.cfg.Chain, "every", s.cfg.PollInterval)
	}
	return s.poll(ctx, out)
}

// poll reads the head every PollInterval and emits up to it.
func (s *Source) poll(ctx context.Context, out *sink) error {
	for fails := 0; ; {
		wait := s.cfg.PollInterval
		if err := s.advance(ctx, out, 0); err != nil {
			if isPipeline(err) || ctx.Err() != nil {
				return err
			}
			wait = s.failed(err, fails)
			fails++
		} else {
			fails = 0
		}
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

// followSubscribed subscribes to new heads, and subscribes again when the
// subscription drops. Every (re)subscription first catches up from the last emitted
// block to the head, so blocks missed while unsubscribed are backfilled.
func (s *Source) followSubscribed(ctx context.Context, out *sink, hs HeadSubscriber) error {
	for fails := 0; ; {
		heads := make(chan *types.Header, 64)
		sub, err := hs.SubscribeNewHead(ctx, heads)
		if err != nil {
			if errors.Is(err, rpc.ErrNotificationsUnsupported) {
				return errNoSubscriptions
			}
			if ctx.Err() != nil {
				return nil
			}
			if !sleep(ctx, s.failed(fmt.Errorf("subscribe to new heads: %w", err), fails)) {
				return nil
			}
			fails++
			continue
		}
		s.counter.subscriptions.Add(1)
		delivered, err := s.followHeads(ctx, out, sub, heads)
		sub.Unsubscribe()
		if err != nil || ctx.Err() != nil {
			return err
		}
		if delivered {
			fails = 0
		}
		// The subscription dropped: resubscribe at once after one that worked,
		// with growing waits after ones that did not.
		if fails > 0 && !sleep(ctx, backoff(fails-1, s.cfg.BackoffMin, s.cfg.BackoffMax)) {
			return nil
		}
		fails++
	}
}

// followHeads emits up to every new head of sub until the subscription drops
// (returning nil, to resubscribe) or ctx is done. delivered tells whether any head
// arrived.
func (s *Source) followHeads(ctx context.Context, out *sink, sub interface{ Err() <-chan error }, heads <-chan *types.Header) (delivered bool, err error) {
	retry := time.NewTimer(0) // the first round reads the head: catch up first
	defer retry.Stop()
	var retryC <-chan time.Time = retry.C
	fails := 0
	for {
		var head uint64 // 0: read the head
		select {
		case <-ctx.Done():
			return delivered, nil
		case err := <-sub.Err():
			s.counter.failures.Add(1)
			s.cfg.Logger.Warn("evm: new-head subscription dropped; resubscribing and backfilling", "chain", s.cfg.Chain, "err", err, "last_block", s.LastBlock())
			return delivered, nil
		case h := <-heads:
			delivered = true
			head = h.Number.Uint64()
			for drained := false; !drained; { // take the newest of what is queued
				select {
				case h := <-heads:
					head = max(head, h.Number.Uint64())
				default:
					drained = true
				}
			}
		case <-retryC:
			retryC = nil
		}
		if err := s.advance(ctx, out, head); err != nil {
			if isPipeline(err) || ctx.Err() != nil {
				return delivered, err
			}
			retry.Reset(s.failed(err, fails))
			retryC = retry.C
			fails++
			continue
		}
		fails = 0
	}
}

// failed counts and logs a failed attempt and returns the wait before the next.
func (s *Source) failed(err error, attempt int) time.Duration {
	s.counter.failures.Add(1)
	wait := backoff(attempt, s.cfg.BackoffMin, s.cfg.BackoffMax)
	s.cfg.Logger.Warn("evm: reading the chain failed; retrying", "chain", s.cfg.Chain, "err", err, "retry_in", wait, "last_block", s.LastBlock())
	return wait
}

// backoff is the wait before retry number attempt (0-based): exponential from lo,
// capped at hi, with equal jitter (half fixed, half random).
func backoff(attempt int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(d-half)+1))
}

// sleep waits d or until ctx is done; it reports whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// sink hands events and rejections to the pipeline.
type sink struct {
	emit   ingest.Emit
	reject ingest.Reject
}

func (k *sink) put(ctx context.Context, ev *event.Event) error {
	if err := k.emit(ctx, ev); err != nil {
		return &pipelineError{fmt.Errorf("evm: emit %s block %d tx %s log %d: %w", ev.Kind, ev.Block, ev.Tx, ev.LogIndex, err)}
	}
	return nil
}

func (k *sink) rejected(ctx context.Context, rej *event.Reject, detail string, raw []byte) error {
	if err := k.reject(ctx, string(rej.Reason), detail, raw); err != nil {
		return &pipelineError{fmt.Errorf("evm: reject: %w", err)}
	}
	return nil
}

// pipelineError is a failure of emit or reject: the pipeline takes no more, so Run
// stops and returns it.
type pipelineError struct{ err error }

func (e *pipelineError) Error() string { return e.err.Error() }
func (e *pipelineError) Unwrap() error { return e.err }

func isPipeline(err error) bool {
	var pe *pipelineError
	return errors.As(err, &pe)
}
