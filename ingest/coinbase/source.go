package coinbase

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest"
	"github.com/coattailcapital/coattail/ingest/backoff"
	"github.com/coattailcapital/coattail/ingest/parse"
	"github.com/gorilla/websocket"
)

// writeWait bounds every write (subscriptions, pongs, close).
const writeWait = 5 * time.Second

// maxFrameBytes bounds one websocket message. A market_trades snapshot of 100 trades
// is about 14 KB, but a level2 snapshot (a channel this source does not subscribe to,
// met in the capture) is 5 MB; a larger frame would end the connection.
const maxFrameBytes = 16 << 20

// Source follows Coinbase Advanced Trade market trades of a set of products. Create it
// with New; Run may be called once at a time.
type Source struct {
	cfg      Config
	products map[string]*product
	order    []*product
	counter  counters
}

type product struct {
	id   string
	seen *window      // touched by Run's goroutine only
	max  atomic.Int64 // seen.max, for LastIDs; -1 before the first numeric id
}

type counters struct {
	connects, frames, events, rejected, ignored, duplicates, stale atomic.Int64
	seqGaps, resubscribes, heartbeats                              atomic.Int64
}

// Stats counts what a Source has done since it was created.
type Stats struct {
	Connects     int64 // websocket connections opened
	Frames       int64 // frames read and handled
	Events       int64 // events emitted
	Rejected     int64 // frames and trades dead-lettered
	Ignored      int64 // frames of channels the source does not use
	Duplicates   int64 // trades skipped because their id was seen (snapshots replay recent trades)
	Stale        int64 // trades skipped because their id is older than the dedup window (part of Duplicates)
	SeqGaps      int64 // jumps in sequence_num within a connection
	Resubscribes int64 // market_trades resubscriptions after a sequence gap
	Heartbeats   int64 // heartbeat frames
}

// New checks the configuration and returns a source.
func New(cfg Config) (*Source, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Source{cfg: cfg, products: make(map[string]*product, len(cfg.ProductIDs))}
	for _, id := range cfg.ProductIDs {
		p := &product{id: id, seen: newWindow(cfg.DedupWindow)}
		p.max.Store(-1)
		if last, ok := cfg.Resume[id]; ok {
			p.seen.resume(last)
			p.max.Store(last)
		}
		s.products[id] = p
		s.order = append(s.order, p)
	}
	return s, nil
}

// Name is the source's name, "coinbase".
func (s *Source) Name() string { return "coinbase" }

// LastIDs returns, per product, the highest numeric trade id emitted or dead-lettered.
// Coinbase has no public backfill by id, so passing it back as Config.Resume only keeps
// the trades replayed on subscribing from being emitted twice. Safe to call while Run
// runs.
func (s *Source) LastIDs() map[string]int64 {
	out := make(map[string]int64, len(s.order))
	for _, p := range s.order {
		if id := p.max.Load(); id >= 0 {
			out[p.id] = id
		}
	}
	return out
}

// Stats returns the counters; safe to call while Run runs.
func (s *Source) Stats() Stats {
	c := &s.counter
	return Stats{
		Connects: c.connects.Load(), Frames: c.frames.Load(), Events: c.events.Load(),
		Rejected: c.rejected.Load(), Ignored: c.ignored.Load(), Duplicates: c.duplicates.Load(),
		Stale: c.stale.Load(), SeqGaps: c.seqGaps.Load(), Resubscribes: c.resubscribes.Load(),
		Heartbeats: c.heartbeats.Load(),
	}
}

// SubscribeError is returned by Run when Coinbase answers the subscription with an
// error before confirming it: the configuration is wrong (an unknown product id),
// and reconnecting would not help.
type SubscribeError struct{ Message string }

func (e *SubscribeError) Error() string { return "coinbase: subscription refused: " + e.Message }

// Run streams trades until ctx is done, reconnecting with backoff and jitter after
// failures and resubscribing on every connection. It returns nil on cancellation, the
// error of emit or reject when the pipeline fails, a *SubscribeError when the
// subscription is refused, and an error when the handshake is refused with HTTP 400.
func (s *Source) Run(ctx context.Context, emit ingest.Emit, reject ingest.Reject) error {
	r := &runner{Source: s, emit: emit, reject: reject, rules: event.Rules{Now: s.cfg.Now}}
	bo := backoff.Backoff{Min: s.cfg.BackoffMin, Max: s.cfg.BackoffMax}
	log := s.cfg.Logger.With("source", "coinbase")
	var frames int64
	return bo.Retry(ctx, func(ctx context.Context) (backoff.Attempt, error) {
		n, err := r.session(ctx)
		frames = n
		return backoff.Attempt{Progress: n > 0}, err
	}, func(_ backoff.Attempt, err error, wait time.Duration) {
		log.Warn("connection lost; reconnecting", "err", err, "frames", frames, "retry_in", wait)
	})
}

// runner is one Run's state.
type runner struct {
	*Source
	emit   ingest.Emit
	reject ingest.Reject
	rules  event.Rules
	buf    bytes.Buffer
	batch  []pending
}

// conn is one connection's state.
type conn struct {
	ws        *websocket.Conn
	lastSeq   int64
	confirmed bool // a subscriptions frame arrived
	resubPend bool // a resubscription waits for its snapshot
	frames    int64
}

// session runs one connection until it fails or ctx is done; it returns the number of
// frames read.
func (r *runner) session(ctx context.Context) (int64, error) {
	ws, resp, err := r.cfg.Dialer.DialContext(ctx, r.cfg.URL, nil)
	if err != nil {
		if resp != nil {
			err = fmt.Errorf("coinbase: connect: HTTP %d: %w", resp.StatusCode, err)
			if resp.StatusCode == http.StatusBadRequest {
				return 0, &backoff.Permanent{Err: err}
			}
			return 0, err
		}
		return 0, fmt.Errorf("coinbase: connect: %w", err)
	}
	r.counter.connects.Add(1)
	defer ws.Close()
	ws.SetReadLimit(maxFrameBytes)
	extend := func() { _ = ws.SetReadDeadline(time.Now().Add(r.cfg.ReadTimeout)) }
	ws.SetPingHandler(func(data string) error {
		extend()
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait))
		var ne net.Error
		if err == nil || errors.Is(err, websocket.ErrCloseSent) || (errors.As(err, &ne) && ne.Timeout()) {
			return nil
		}
		return err
	})
	ws.SetPongHandler(func(string) error { extend(); return nil })

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = ws.Close()
	}()
	defer func() {
		close(done)
		wg.Wait()
	}()

	c := &conn{ws: ws, lastSeq: noSeq}
	for _, ch := range []string{channelMarketTrades, channelHeartbeats} {
		if err := c.send(r.subscription("subscribe", ch)); err != nil {
			return 0, err
		}
	}
	extend()
	for {
		_, rd, err := ws.NextReader()
		if err == nil {
			r.buf.Reset()
			_, err = r.buf.ReadFrom(rd)
		}
		if err != nil {
			return c.frames, fmt.Errorf("coinbase: read: %w", err)
		}
		c.frames++
		err = r.handleFrame(ctx, c, r.buf.Bytes())
		r.counter.frames.Add(1)
		if err != nil {
			return c.frames, err
		}
		extend()
	}
}

// subscription is a (un)subscribe message for one channel and every product.
func (r *runner) subscription(typ, channel string) []byte {
	b, _ := json.Marshal(struct {
		Type       string   `json:"type"`
		ProductIDs []string `json:"product_ids"`
		Channel    string   `json:"channel"`
	}{typ, r.cfg.ProductIDs, channel}) // strings only: cannot fail
	return b
}

func (c *conn) send(msg []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
	if err := c.ws.WriteMessage(websocket.TextMessage, msg); err != nil {
		return fmt.Errorf("coinbase: send %s: %w", msg, err)
	}
	return nil
}

// handleFrame processes one frame. It returns stop errors, and connection errors
// that end the session.
func (r *runner) handleFrame(ctx context.Context, c *conn, raw []byte) error {
	f, rej := decodeFrame(raw)
	if rej != nil {
		return r.deadLetter(ctx, rej, raw)
	}
	if f.Type == "error" {
		if !c.confirmed {
			return &backoff.Permanent{Err: &SubscribeError{Message: f.Message}}
		}
		return fmt.Errorf("coinbase: error message: %s", f.Message)
	}
	if f.Seq != noSeq {
		if c.lastSeq != noSeq && f.Seq > c.lastSeq+1 {
			r.counter.seqGaps.Add(1)
			r.cfg.Logger.Warn("sequence gap; resubscribing to market trades", "source", "coinbase",
				"after", c.lastSeq, "got", f.Seq)
			if err := r.resubscribe(c); err != nil {
				return err
			}
		}
		c.lastSeq = max(c.lastSeq, f.Seq)
	}
	switch f.Channel {
	case channelMarketTrades:
		return r.handleTrades(ctx, c, &f)
	case channelHeartbeats:
		r.counter.heartbeats.Add(1)
	case channelSubscriptions:
		c.confirmed = true
		r.checkSubscriptions(&f)
	default:
		r.counter.ignored.Add(1)
	}
	return nil
}

// resubscribe asks for market trades again: the snapshot that answers it carries the
// recent trades, which fill the gap as far as they reach (the window drops the ones
// already emitted). One resubscription at a time.
func (r *runner) resubscribe(c *conn) error {
	if c.resubPend {
		return nil
	}
	if err := c.send(r.subscription("unsubscribe", channelMarketTrades)); err != nil {
		return err
	}
	if err := c.send(r.subscription("subscribe", channelMarketTrades)); err != nil {
		return err
	}
	c.resubPend = true
	r.counter.resubscribes.Add(1)
	return nil
}

// checkSubscriptions logs products missing from a subscriptions confirmation once
// both channels are listed.
func (r *runner) checkSubscriptions(f *frame) {
	for _, ev := range f.Events {
		trades, ok := ev.Subscriptions[channelMarketTrades]
		if !ok || ev.Subscriptions[channelHeartbeats] == nil {
			continue
		}
		for _, p := range r.cfg.ProductIDs {
			if !slices.Contains(trades, p) {
				r.cfg.Logger.Warn("product missing from the confirmed subscription", "source", "coinbase", "product", p)
			}
		}
	}
}

// pending is a decoded trade of a frame, waiting to be ordered.
type pending struct {
	raw json.RawMessage
	p   *product
	n   int64 // numeric trade id, -1 when not numeric
	w   wireTrade
	ev  *event.Event
	rej *event.Reject
}

// handleTrades emits the trades of a market_trades frame. Coinbase lists them newest
// first; they are emitted oldest first (by numeric trade id within a product).
func (r *runner) handleTrades(ctx context.Context, c *conn, f *frame) error {
	for _, ev := range f.Events {
		if ev.Type == "snapshot" {
			c.resubPend = false
		}
		r.batch = r.batch[:0]
		for _, raw := range ev.Trades {
			w, e, rej := decodeTrade(raw)
			p := r.products[w.ProductID]
			if p == nil && w.ProductID != "" && rej == nil {
				rej = parse.Rejectf(event.ReasonBadSymbol, "product_id", "product %q is not followed", parse.Clip(w.ProductID))
			}
			n, err := strconv.ParseInt(w.TradeID, 10, 64)
			if err != nil || n < 0 {
				n = -1
			}
			r.batch = append(r.batch, pending{raw: raw, p: p, n: n, w: w, ev: e, rej: rej})
		}
		// Oldest first: by product, then numeric id; ids that are not numbers keep
		// the reverse of Coinbase's order.
		slices.Reverse(r.batch)
		slices.SortStableFunc(r.batch, func(a, b pending) int {
			if c := strings.Compare(a.w.ProductID, b.w.ProductID); c != 0 {
				return c
			}
			return cmp.Compare(a.n, b.n)
		})
		for i := range r.batch {
			if err := r.handleTrade(ctx, &r.batch[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// handleTrade emits, dead-letters or skips one trade.
func (r *runner) handleTrade(ctx context.Context, t *pending) error {
	if t.p == nil || t.w.TradeID == "" {
		return r.deadLetter(ctx, t.rej, t.raw)
	}
	// The trade's identity is known, bad or not: skip it when already seen.
	switch t.p.seen.see(t.w.TradeID) {
	case dup:
		r.counter.duplicates.Add(1)
		return nil
	case stale:
		r.counter.duplicates.Add(1)
		r.counter.stale.Add(1)
		return nil
	}
	rej := t.rej
	if rej == nil {
		if err := t.ev.Validate(r.rules); err != nil {
			var ok bool
			if rej, ok = err.(*event.Reject); !ok {
				rej = parse.Rejectf(event.ReasonBadValue, "", "%v", err)
			}
		}
	}
	if rej != nil {
		if err := r.deadLetter(ctx, rej, t.raw); err != nil {
			return err
		}
	} else {
		if err := r.emit(ctx, t.ev); err != nil {
			return &backoff.Permanent{Err: fmt.Errorf("coinbase: emit: %w", err)}
		}
		r.counter.events.Add(1)
	}
	// The position moves only once the trade was handed over (ingest.Checkpointer).
	t.p.max.Store(t.p.seen.max)
	return nil
}

func (r *runner) deadLetter(ctx context.Context, rej *event.Reject, raw []byte) error {
	r.counter.rejected.Add(1)
	if err := r.reject(ctx, string(rej.Reason), rej.Error(), bytes.Clone(raw)); err != nil {
		return &backoff.Permanent{Err: fmt.Errorf("coinbase: reject: %w", err)}
	}
	return nil
}
