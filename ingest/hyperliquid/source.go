package hyperliquid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest"
	"github.com/coattailcapital/coattail/ingest/parse"
)

// ErrSubscription is returned (wrapped) by Run when the server refuses one of the
// websocket subscriptions (an unknown coin, say): retrying would not help.
var ErrSubscription = errors.New("hyperliquid: subscription refused")

// ErrRunning is returned by Run when the Source is already running.
var ErrRunning = errors.New("hyperliquid: source already running")

// Source is the live Hyperliquid source: public trades and mids from the websocket,
// positions and fill backfills of tracked wallets from the info API. It implements
// ingest.Source.
type Source struct {
	cfg   Config
	rules event.Rules
	info  *infoClient
	subs  [][]byte // subscription messages, sent on every connection
	book  *positionBook
	ws    *wsDecoder
	// cursors is where the websocket trades stand, for Checkpoint.
	cursors *cursors

	running atomic.Bool

	mu      sync.Mutex
	tracked map[string]struct{}
	wallets []string // tracked, in the order they were added
	pending []string // tracked, not backfilled yet
	wake    chan struct{}
}

var _ ingest.Source = (*Source)(nil)

// New returns a Source for cfg; the zero-valued fields get their defaults.
func New(cfg Config) (*Source, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rules := event.Rules{Now: cfg.Now}
	s := &Source{
		cfg:     cfg,
		rules:   rules,
		info:    newInfoClient(cfg),
		book:    newPositionBook(rules),
		ws:      newWSDecoder(rules, cfg.DedupeSize, cfg.MidCoins),
		tracked: map[string]struct{}{},
		wake:    make(chan struct{}, 1),
		cursors: newCursors(cfg.Resume),
	}
	s.ws.resume = cfg.Resume
	for _, coin := range cfg.Coins {
		s.subs = append(s.subs, subscribeMsg(subscription{Type: "trades", Coin: coin}))
	}
	if s.wantMids() {
		s.subs = append(s.subs, subscribeMsg(subscription{Type: "allMids"}))
	}
	for _, w := range cfg.Wallets {
		if _, err := s.track(w, false); err != nil {
			return nil, fmt.Errorf("%w: Wallets: %w", ErrConfig, err)
		}
	}
	return s, nil
}

// wantMids reports whether any mid becomes a price.
func (s *Source) wantMids() bool { return len(s.cfg.MidCoins) > 0 }

type subscription struct {
	Type string `json:"type"`
	Coin string `json:"coin,omitempty"`
}

func subscribeMsg(sub subscription) []byte {
	b, err := json.Marshal(struct {
		Method       string       `json:"method"`
		Subscription subscription `json:"subscription"`
	}{"subscribe", sub})
	if err != nil {
		panic(fmt.Sprintf("hyperliquid: encode subscription: %v", err)) // two strings cannot fail
	}
	return b
}

// Name is the source's name, "hyperliquid".
func (s *Source) Name() string { return src }

// Track adds a wallet (0x + 40 hex, any case) to the tracked set: its positions are
// polled from the next poll on, and its fills are backfilled (userFills, then
// userFillsByTime paging back; see Config.BackfillWindow) by the running Source, or
// by the next Run when none is running. Tracking a tracked wallet does nothing.
// It is safe for concurrent use.
func (s *Source) Track(wallet string) error {
	_, err := s.track(wallet, true)
	return err
}

func (s *Source) track(wallet string, backfill bool) (added bool, err error) {
	w, err := normalizeAddress(wallet)
	if err != nil {
		return false, fmt.Errorf("hyperliquid: track: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tracked[w]; ok {
		return false, nil
	}
	s.tracked[w] = struct{}{}
	s.wallets = append(s.wallets, w)
	if backfill {
		s.pending = append(s.pending, w)
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return true, nil
}

// Tracked returns the tracked wallets, lower case, in the order they were added.
func (s *Source) Tracked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.wallets...)
}

// Run streams until ctx is done and returns nil then. It returns an error when the
// pipeline refuses an event or a rejection (emit or reject failed), or when the
// server refuses a subscription (ErrSubscription). Connection losses, bad frames
// and failed info requests are handled inside: reconnect and retry with backoff,
// dead-letter what cannot be read.
func (s *Source) Run(ctx context.Context, emit ingest.Emit, reject ingest.Reject) error {
	if !s.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer s.running.Store(false)
	out := &sink{emit: emit, reject: reject, cursors: s.cursors}
	g, gctx := errgroup.WithContext(ctx)
	if len(s.subs) > 0 {
		g.Go(func() error { return s.runWS(gctx, out) })
	}
	if s.wantMids() {
		g.Go(func() error { return s.midsSnapshot(gctx, out) })
	}
	g.Go(func() error { return s.runPolls(gctx, out) })
	g.Go(func() error { return s.runBackfills(gctx, out) })
	err := g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// midsSnapshot emits the prices of the info API's allMids once, so that prices are
// known before the websocket's first allMids arrives.
func (s *Source) midsSnapshot(ctx context.Context, out *sink) error {
	body, err := s.info.allMids(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Error("hyperliquid allMids snapshot failed", "err", err)
		}
		return nil
	}
	recv := s.cfg.Now()
	var mids map[string]json.RawMessage
	if err := json.Unmarshal(body, &mids); err != nil || mids == nil {
		rej := parse.Rejectf(event.ReasonBadType, "", "allMids: want an object of coin: mid")
		if err != nil {
			rej = parse.JSONReject(err)
		}
		return out.put(ctx, []item{rejected(rej, body)})
	}
	return out.put(ctx, midPrices(mids, s.ws.midCoins, nil, recv, s.rules))
}

// sink serialises what the goroutines of a Run hand to the pipeline.
type sink struct {
	mu      sync.Mutex
	emit    ingest.Emit
	reject  ingest.Reject
	cursors *cursors // advanced once a trade's last event is emitted
}

// put emits the events and rejects the rejections of items, in order. items must
// not be reused afterwards: the pipeline may keep the events.
func (k *sink) put(ctx context.Context, items []item) error {
	if len(items) == 0 {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := range items {
		it := &items[i]
		if it.rej != nil {
			detail := it.rej.Detail
			if it.rej.Field != "" {
				detail = it.rej.Field + ": " + detail
			}
			if err := k.reject(ctx, string(it.rej.Reason), detail, it.raw); err != nil {
				return &pipelineError{fmt.Errorf("hyperliquid: reject: %w", err)}
			}
			continue
		}
		if err := k.emit(ctx, &it.ev); err != nil {
			return &pipelineError{fmt.Errorf("hyperliquid: emit %s: %w", it.ev.Kind, err)}
		}
		if it.tradeEnd && k.cursors != nil {
			k.cursors.advance(it.ev.Coin, it.ev.TS.UnixMilli(), it.tid)
		}
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

// walletAttr is the wallet attribute of log lines.
func walletAttr(w string) slog.Attr { return slog.String("wallet", w) }
