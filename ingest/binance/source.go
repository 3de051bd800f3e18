package binance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
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

// writeWait bounds control-frame writes (pongs, close).
const writeWait = 5 * time.Second

// maxFrameBytes bounds one websocket message; trade frames are a few hundred bytes.
const maxFrameBytes = 1 << 20

// unknownID marks a symbol with no emitted id yet.
const unknownID = -1

// Source follows Binance spot trades (or aggregate trades) of a set of symbols over
// one combined-stream websocket connection. Create it with New; Run may be called once
// at a time.
type Source struct {
	cfg       Config
	ownClient bool                 // cfg.HTTPClient was made by New: close its idle connections
	syms      map[string]*symState // by Binance symbol
	order     []*symState          // in configuration order
	url       string
	counter   counters
}

type symState struct {
	symbol
	last atomic.Int64 // last emitted (or dead-lettered) id, unknownID before the first
}

type counters struct {
	connects, frames, events, rejected, ignored, duplicates atomic.Int64
	gaps, backfilled, requests, unrecovered                 atomic.Int64
}

// Stats counts what a Source has done since it was created.
type Stats struct {
	Connects         int64 // websocket connections opened
	Frames           int64 // frames read and handled
	Events           int64 // events emitted, from frames and backfill
	Rejected         int64 // frames and backfill items dead-lettered
	Ignored          int64 // well-formed frames of streams other than the followed one
	Duplicates       int64 // trades skipped because their id was already emitted
	Gaps             int64 // jumps in a symbol's ids (after a reconnect or mid-stream)
	Backfilled       int64 // events emitted from REST backfill (part of Events)
	BackfillRequests int64 // REST requests made
	Unrecovered      int64 // gaps the bounded backfill could not close entirely
}

// New checks the configuration and returns a source.
func New(cfg Config) (*Source, error) {
	cfg, syms, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Source{cfg: cfg, syms: make(map[string]*symState, len(syms))}
	if s.cfg.HTTPClient == nil {
		s.cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}
		s.ownClient = true
	}
	streams := make([]string, 0, len(syms))
	for _, sym := range syms {
		st := &symState{symbol: sym}
		st.last.Store(unknownID)
		s.syms[sym.wire] = st
		s.order = append(s.order, st)
		streams = append(streams, strings.ToLower(sym.wire)+"@"+cfg.Stream)
	}
	for k, id := range cfg.Resume {
		sym, _ := parseSymbol(k) // checked by withDefaults
		s.syms[sym.wire].last.Store(id)
	}
	s.url = strings.TrimRight(cfg.BaseURL, "/") + "/stream?streams=" + strings.Join(streams, "/")
	return s, nil
}

// Name is the source's name, "binance".
func (s *Source) Name() string { return "binance" }

// URL is the combined-stream URL the source connects to.
func (s *Source) URL() string { return s.url }

// LastIDs returns, per BASE-QUOTE symbol, the last trade id emitted or dead-lettered
// (the number, without the "a" prefix of aggregate ids) — the position to checkpoint
// and pass back as Config.Resume. Symbols with nothing emitted yet are absent. It is
// safe to call while Run runs.
func (s *Source) LastIDs() map[string]int64 {
	out := make(map[string]int64, len(s.order))
	for _, st := range s.order {
		if id := st.last.Load(); id != unknownID {
			out[st.name] = id
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
		Gaps: c.gaps.Load(), Backfilled: c.backfilled.Load(), BackfillRequests: c.requests.Load(),
		Unrecovered: c.unrecovered.Load(),
	}
}

// Run streams trades until ctx is done, reconnecting with backoff and jitter after
// failures and without delay when a connection reaches MaxConnAge. Per symbol, the
// emitted ids have no duplicate, and no gap as long as the bounded backfill can close
// it. It returns nil on cancellation, the error of emit or reject when the pipeline
// fails, and an error when Binance rejects the stream request (HTTP 400).
func (s *Source) Run(ctx context.Context, emit ingest.Emit, reject ingest.Reject) error {
	r := &runner{Source: s, emit: emit, reject: reject, rules: event.Rules{Now: s.cfg.Now}}
	bo := backoff.Backoff{Min: s.cfg.BackoffMin, Max: s.cfg.BackoffMax}
	log := s.cfg.Logger.With("source", "binance")
	if s.ownClient {
		defer s.cfg.HTTPClient.CloseIdleConnections()
	}
	var last sessionResult
	return bo.Retry(ctx, func(ctx context.Context) (backoff.Attempt, error) {
		res, err := r.session(ctx)
		last = res
		return backoff.Attempt{Progress: res.frames > 0, Now: res.aged}, err
	}, func(_ backoff.Attempt, err error, wait time.Duration) {
		if last.aged {
			log.Info("connection reached its maximum age; reconnecting", "age", s.cfg.MaxConnAge, "frames", last.frames)
			return
		}
		log.Warn("connection lost; reconnecting", "err", err, "frames", last.frames, "retry_in", wait)
	})
}

// runner is one Run's state.
type runner struct {
	*Source
	emit   ingest.Emit
	reject ingest.Reject
	rules  event.Rules
	buf    bytes.Buffer
}

type sessionResult struct {
	frames int64
	aged   bool
}

// session runs one connection until it fails, ages out or ctx is done.
func (r *runner) session(ctx context.Context) (sessionResult, error) {
	var res sessionResult
	conn, resp, err := r.cfg.Dialer.DialContext(ctx, r.url, nil)
	if err != nil {
		if resp != nil {
			err = fmt.Errorf("binance: connect: HTTP %d: %w", resp.StatusCode, err)
			if resp.StatusCode == http.StatusBadRequest {
				return res, &backoff.Permanent{Err: err}
			}
			return res, err
		}
		return res, fmt.Errorf("binance: connect: %w", err)
	}
	r.counter.connects.Add(1)
	defer conn.Close()
	conn.SetReadLimit(maxFrameBytes)
	extend := func() { _ = conn.SetReadDeadline(time.Now().Add(r.cfg.ReadTimeout)) }
	conn.SetPingHandler(func(data string) error {
		extend()
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait))
		var ne net.Error
		if err == nil || errors.Is(err, websocket.ErrCloseSent) || (errors.As(err, &ne) && ne.Timeout()) {
			return nil
		}
		return err
	})
	conn.SetPongHandler(func(string) error { extend(); return nil })

	// The watcher ends the connection when ctx is done or it ages out; the read
	// below then fails and the session returns.
	var aged atomic.Bool
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTimer(r.cfg.MaxConnAge)
		defer t.Stop()
		select {
		case <-done:
			return
		case <-ctx.Done():
		case <-t.C:
			aged.Store(true)
		}
		_ = conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = conn.Close()
	}()
	defer func() {
		close(done)
		wg.Wait()
	}()

	extend()
	for {
		_, rd, err := conn.NextReader()
		if err == nil {
			r.buf.Reset()
			_, err = r.buf.ReadFrom(rd)
		}
		if err != nil {
			res.aged = aged.Load()
			return res, fmt.Errorf("binance: read: %w", err)
		}
		res.frames++
		err = r.handleFrame(ctx, r.buf.Bytes())
		r.counter.frames.Add(1)
		if err != nil {
			return res, err
		}
		// Silence is measured from here: a long backfill is not the server's.
		extend()
	}
}

// handleFrame decodes one frame and emits, dead-letters or skips what it carries.
// It returns stop errors (the pipeline failed) and, when ctx is done during a
// backfill, the backfill's error.
func (r *runner) handleFrame(ctx context.Context, raw []byte) error {
	kind, t, rej := decodeFrame(raw, r.cfg.Stream)
	if kind == frameIgnored {
		r.counter.ignored.Add(1)
		return nil
	}
	st := r.syms[t.wire]
	if st == nil && rej == nil {
		rej = parse.Rejectf(event.ReasonBadSymbol, "s", "symbol %q is not followed", parse.Clip(t.wire))
	}
	if st == nil || t.id == absent {
		return r.deadLetter(ctx, rej, raw)
	}
	// The trade's position is known, bad or not: skip it when already accounted
	// for, close the gap before it, then emit it or dead-letter it.
	last := st.last.Load()
	if last != unknownID && t.id <= last {
		r.counter.duplicates.Add(1)
		return nil
	}
	if last != unknownID && t.id > last+1 {
		r.counter.gaps.Add(1)
		if err := r.backfill(ctx, st, t.id); err != nil {
			if se := (*backoff.Permanent)(nil); errors.As(err, &se) || ctx.Err() != nil {
				return err // the pipeline failed, or Run is stopping
			}
			r.cfg.Logger.Warn("backfill failed", "source", "binance", "symbol", st.name, "err", err)
		}
		if last = st.last.Load(); t.id <= last {
			r.counter.duplicates.Add(1)
			return nil
		}
		if t.id > last+1 {
			r.counter.unrecovered.Add(1)
			r.cfg.Logger.Warn("gap not closed by backfill", "source", "binance", "symbol", st.name,
				"missing_from", last+1, "missing_to", t.id-1)
		}
	}
	if rej != nil {
		if err := r.deadLetter(ctx, rej, raw); err != nil {
			return err
		}
		st.last.Store(t.id)
		return nil
	}
	return r.emitTrade(ctx, st, &t, raw)
}

// emitTrade validates and emits one trade (or dead-letters it) and advances the
// symbol's position.
func (r *runner) emitTrade(ctx context.Context, st *symState, t *trade, raw []byte) error {
	ev := t.toEvent(st.name, r.cfg.Stream)
	if err := ev.Validate(r.rules); err != nil {
		rej, ok := err.(*event.Reject)
		if !ok {
			rej = parse.Rejectf(event.ReasonBadValue, "", "%v", err)
		}
		if err := r.deadLetter(ctx, rej, raw); err != nil {
			return err
		}
		st.last.Store(t.id)
		return nil
	}
	if err := r.emit(ctx, ev); err != nil {
		return &backoff.Permanent{Err: fmt.Errorf("binance: emit: %w", err)}
	}
	r.counter.events.Add(1)
	st.last.Store(t.id)
	return nil
}

func (r *runner) deadLetter(ctx context.Context, rej *event.Reject, raw []byte) error {
	r.counter.rejected.Add(1)
	if err := r.reject(ctx, string(rej.Reason), rej.Error(), bytes.Clone(raw)); err != nil {
		return &backoff.Permanent{Err: fmt.Errorf("binance: reject: %w", err)}
	}
	return nil
}
