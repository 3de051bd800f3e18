package hyperliquid

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/backoff"
	"github.com/coattailcapital/coattail/ingest/parse"
)

// pingMsg is the application-level heartbeat; the server answers {"channel":"pong"}.
const pingMsg = `{"method":"ping"}`

// runWS keeps a websocket connection up until ctx is done: connect, subscribe to
// everything, read; on any loss, wait a jittered exponential backoff (reset once a
// connection has delivered) and start again. It returns nil on cancellation and an
// error only for a refused subscription or a pipeline failure.
func (s *Source) runWS(ctx context.Context, out *sink) error {
	bo := backoff.Backoff{Min: s.cfg.MinBackoff, Max: s.cfg.MaxBackoff, Jitter: backoff.Equal}
	return bo.Retry(ctx, func(ctx context.Context) (backoff.Attempt, error) {
		delivered, err := s.session(ctx, out)
		if errors.Is(err, ErrSubscription) || isPipeline(err) {
			err = &backoff.Permanent{Err: err}
		}
		return backoff.Attempt{Progress: delivered}, err
	}, func(_ backoff.Attempt, err error, wait time.Duration) {
		s.cfg.Logger.Warn("hyperliquid websocket lost; reconnecting", "err", err, "in", wait)
	})
}

// session runs one connection until it fails or ctx is done. delivered tells
// whether the server answered anything beyond the handshake.
func (s *Source) session(ctx context.Context, out *sink) (delivered bool, err error) {
	dialer := websocket.Dialer{HandshakeTimeout: s.cfg.DialTimeout, Proxy: http.ProxyFromEnvironment}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
	conn, resp, err := dialer.DialContext(dctx, s.cfg.WSURL, nil)
	cancel()
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return false, fmt.Errorf("dial %s: %w", s.cfg.WSURL, err)
	}
	conn.SetReadLimit(s.cfg.MaxFrameBytes)

	var wmu sync.Mutex
	write := func(msg []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		if err := conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout)); err != nil {
			return err
		}
		return conn.WriteMessage(websocket.TextMessage, msg)
	}

	// The heartbeat goroutine pings, and on cancellation says goodbye and closes the
	// connection, which ends the blocked read below.
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(s.cfg.PingInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				wmu.Lock()
				_ = conn.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
				wmu.Unlock()
				_ = conn.Close()
				return
			case <-t.C:
				if err := write([]byte(pingMsg)); err != nil {
					_ = conn.Close()
					return
				}
			}
		}
	}()
	defer func() {
		close(done)
		_ = conn.Close()
		wg.Wait()
	}()

	s.ws.connected()
	for _, sub := range s.subs {
		if err := write(sub); err != nil {
			return false, fmt.Errorf("subscribe: %w", err)
		}
	}
	pending := len(s.subs) // subscriptions not acknowledged yet
	for {
		if err := conn.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout)); err != nil {
			return delivered, fmt.Errorf("set read deadline: %w", err)
		}
		_, msg, err := conn.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return delivered, ctx.Err()
			}
			if errors.Is(err, websocket.ErrReadLimit) {
				rej := parse.Rejectf(event.ReasonLineTooLong, "", "websocket message over %d bytes", s.cfg.MaxFrameBytes)
				if perr := out.put(ctx, []item{{rej: rej}}); perr != nil {
					return delivered, perr
				}
			}
			return delivered, fmt.Errorf("read: %w", err)
		}
		f := s.ws.decode(msg, s.cfg.Now())
		switch f.kind {
		case frameSubscribed:
			pending--
			delivered = true
		case frameError:
			// An error while subscriptions are outstanding is taken for a refusal,
			// except a repeat subscription, which is harmless.
			if pending > 0 && !strings.HasPrefix(f.text, "Already subscribed") {
				return delivered, fmt.Errorf("%w: %s", ErrSubscription, f.text)
			}
			s.cfg.Logger.Warn("hyperliquid websocket error message", "text", f.text)
		case frameData:
			delivered = true
		}
		if err := out.put(ctx, f.items); err != nil {
			return delivered, err
		}
	}
}
