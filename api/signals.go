package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/store"
)

// signalQuery reads the filters shared by GET /api/signals and its stream: wallet,
// coin, rule, since (an id: only later signals), limit.
func signalQuery(r *http.Request, defaultLimit int) (store.SignalFeedQuery, error) {
	v := r.URL.Query()
	q := store.SignalFeedQuery{Coin: v.Get("coin"), Rule: v.Get("rule"), Limit: defaultLimit}
	if w := v.Get("wallet"); w != "" {
		addr, err := bot.ParseAddress(w)
		if err != nil {
			return q, fmt.Errorf("wallet: %w", err)
		}
		q.Wallet = addr
	}
	if s := v.Get("since"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id < 0 {
			return q, fmt.Errorf("since must be a signal id (a non-negative integer)")
		}
		q.AfterID = id
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return q, fmt.Errorf("limit must be an integer 1..1000")
		}
		q.Limit = n
	}
	return q, nil
}

// signals is GET /api/signals: the newest signals first, filtered.
func (s *Server) signals(w http.ResponseWriter, r *http.Request) {
	q, err := signalQuery(r, 50)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	rows, err := s.signalViews(r.Context(), q)
	if err != nil {
		s.fail(w, "signals", err)
		return
	}
	writeJSON(w, http.StatusOK, rows)
}

// SignalView is a signal with the risk gate's decisions on it, one per paper scope
// that was enabled when it fired (empty when none was).
type SignalView struct {
	store.FeedSignal
	Decisions []store.SignalDecision `json:"decisions"`
}

// signalViews reads the signals matching q and joins their decisions.
func (s *Server) signalViews(ctx context.Context, q store.SignalFeedQuery) ([]SignalView, error) {
	rows, err := s.cfg.Store.SignalFeed(ctx, q)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	ds, err := s.cfg.Store.SignalDecisions(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]SignalView, len(rows))
	for i, r := range rows {
		out[i] = SignalView{FeedSignal: r, Decisions: nonNil(ds[r.ID])}
	}
	return out, nil
}

// signalStream is GET /api/signals/stream: server-sent events, one "signal" event per
// new row of the signals table, oldest first, each with its id as the event id. A
// browser that reconnects sends the last id it saw as Last-Event-ID and gets
// everything after it, so a dropped connection loses nothing. Without Last-Event-ID or
// ?since=, the stream starts after the newest signal that exists when it opens.
//
// The table is polled (Config.SignalPoll): signals arrive a few per minute at most, an
// indexed id > $1 query per second per open stream is cheap, and it needs no listener
// connection held open per client. A comment line every Config.Heartbeat keeps proxies
// from closing an idle stream.
func (s *Server) signalStream(w http.ResponseWriter, r *http.Request) {
	q, err := signalQuery(r, 500)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
		if err != nil || n < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Last-Event-ID must be a signal id"})
			return
		}
		q.AfterID = n
	} else if r.URL.Query().Get("since") == "" {
		latest, err := s.cfg.Store.SignalFeed(r.Context(), store.SignalFeedQuery{Limit: 1})
		if err != nil {
			s.fail(w, "signal stream", err)
			return
		}
		if len(latest) > 0 {
			q.AfterID = latest[0].ID
		}
	}
	q.Ascending = true
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	// retry: how long a browser waits before reconnecting after the stream drops.
	if _, err := fmt.Fprintf(w, "retry: 3000\n: signals after id %d\n\n", q.AfterID); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}

	ctx := r.Context()
	poll := time.NewTicker(s.cfg.SignalPoll)
	defer poll.Stop()
	beat := time.NewTicker(s.cfg.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.streamsDone.Done():
			return // the server is shutting down
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		case <-poll.C:
			if err := s.sendSignals(ctx, w, &q); err != nil {
				if ctx.Err() == nil {
					s.cfg.Logger.Warn("signal stream", "err", err)
				}
				return // the browser reconnects with Last-Event-ID and resumes
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}

// sendSignals writes every signal after q.AfterID as an event and advances it.
func (s *Server) sendSignals(ctx context.Context, w http.ResponseWriter, q *store.SignalFeedQuery) error {
	for {
		rows, err := s.signalViews(ctx, *q)
		if err != nil {
			return err
		}
		for _, sig := range rows {
			b, err := json.Marshal(sig)
			if err != nil {
				return fmt.Errorf("encode signal %d: %w", sig.ID, err)
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: signal\ndata: %s\n\n", sig.ID, b); err != nil {
				return err
			}
			q.AfterID = sig.ID
		}
		if len(rows) < q.Limit {
			return nil
		}
	}
}
