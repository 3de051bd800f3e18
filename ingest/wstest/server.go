// Package wstest runs an httptest websocket server that plays frames (typically
// frames captured from a real exchange, see ReadCapture) to the client under test, so
// adapter tests fake the wire, not our interfaces. Each accepted connection is handed
// to a Handler that decides what to send, when to read the client's messages (a
// subscription), when to ping and when to drop the connection mid-stream. Requests
// that are not websocket upgrades go to an optional plain HTTP handler, so one server
// can also fake an exchange's REST API. Start runs the source under test against a
// Collector, the recording pipeline shared by the adapters' tests.
package wstest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ErrGone is returned by Conn methods once the client has gone (closed or dropped the
// connection) or the server is closing.
var ErrGone = errors.New("wstest: connection gone")

// writeWait bounds every write so that a client that stops reading cannot hang a test.
const writeWait = 5 * time.Second

// Handler runs one accepted websocket connection. It runs on the connection's request
// goroutine; when it returns, the connection is closed (abruptly, without a close
// frame, unless the handler sent one). A handler that has nothing more to send should
// call Conn.Hold so the client keeps its connection until it leaves on its own.
type Handler func(c *Conn)

// Server is a websocket test server. Create it with NewServer and Close it at the end
// of the test; Close ends every live connection and waits for the handlers.
type Server struct {
	hs       *httptest.Server
	handler  Handler
	rest     http.Handler
	upgrader websocket.Upgrader
	stop     chan struct{}
	stopOnce sync.Once

	mu       sync.Mutex
	accepted int
	refuse   []int
	live     map[*Conn]struct{}
}

// NewServer starts a server that hands each websocket connection to h and every other
// request to rest (nil: 404).
func NewServer(h Handler, rest http.Handler) *Server {
	s := &Server{
		handler:  h,
		rest:     rest,
		upgrader: websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
		stop:     make(chan struct{}),
		live:     map[*Conn]struct{}{},
	}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL is the server's base websocket URL, "ws://127.0.0.1:port" (no path).
func (s *Server) URL() string { return "ws" + strings.TrimPrefix(s.hs.URL, "http") }

// HTTPURL is the server's base HTTP URL, "http://127.0.0.1:port".
func (s *Server) HTTPURL() string { return s.hs.URL }

// Accepted is the number of websocket connections accepted so far.
func (s *Server) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Refuse makes the next len(statuses) upgrade attempts fail with these HTTP statuses,
// in order, before any connection is accepted again.
func (s *Server) Refuse(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = append(s.refuse, statuses...)
}

// Close drops every live connection, waits for the handlers to return and shuts the
// server down. It is safe to call more than once.
func (s *Server) Close() {
	s.stopOnce.Do(func() {
		close(s.stop)
		s.mu.Lock()
		for c := range s.live {
			_ = c.ws.NetConn().Close()
		}
		s.mu.Unlock()
		s.hs.Close()
	})
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		if s.rest == nil {
			http.NotFound(w, r)
			return
		}
		s.rest.ServeHTTP(w, r)
		return
	}
	s.mu.Lock()
	if len(s.refuse) > 0 {
		status := s.refuse[0]
		s.refuse = s.refuse[1:]
		s.mu.Unlock()
		http.Error(w, http.StatusText(status), status)
		return
	}
	s.mu.Unlock()
	select {
	case <-s.stop:
		http.Error(w, "closing", http.StatusServiceUnavailable)
		return
	default:
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered the client already
	}
	s.mu.Lock()
	c := &Conn{
		Index:   s.accepted,
		Request: r,
		ws:      ws,
		in:      make(chan []byte, 256),
		pongs:   make(chan string, 16),
		gone:    make(chan struct{}),
		stop:    s.stop,
	}
	s.accepted++
	s.live[c] = struct{}{}
	s.mu.Unlock()

	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		c.readLoop()
	}()
	s.handler(c)
	_ = ws.NetConn().Close()
	<-readerDone
	s.mu.Lock()
	delete(s.live, c)
	s.mu.Unlock()
}

// Conn is one accepted websocket connection as seen by a Handler. Its methods may be
// called from the handler goroutine only, except Drop.
type Conn struct {
	// Index counts the server's accepted connections from 0.
	Index int
	// Request is the upgrade request (its URL carries the path and query).
	Request *http.Request

	ws    *websocket.Conn
	in    chan []byte
	pongs chan string
	gone  chan struct{}
	stop  <-chan struct{}
}

func (c *Conn) readLoop() {
	defer close(c.gone)
	c.ws.SetPongHandler(func(data string) error {
		select {
		case c.pongs <- data:
		default:
		}
		return nil
	})
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		select {
		case c.in <- msg:
		case <-c.stop:
			return
		}
	}
}

// Send writes one text frame.
func (c *Conn) Send(frame []byte) error {
	if err := c.alive(); err != nil {
		return err
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
	if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		return fmt.Errorf("wstest: send frame: %w", err)
	}
	return nil
}

// SendAll writes the frames in order and stops at the first failure.
func (c *Conn) SendAll(frames [][]byte) error {
	for i, f := range frames {
		if err := c.Send(f); err != nil {
			return fmt.Errorf("frame %d of %d: %w", i, len(frames), err)
		}
	}
	return nil
}

// Next returns the next text or binary message the client sent, waiting for it until
// ctx is done or the client is gone.
func (c *Conn) Next(ctx context.Context) ([]byte, error) {
	select {
	case m := <-c.in:
		return m, nil
	default:
	}
	select {
	case m := <-c.in:
		return m, nil
	case <-c.gone:
		// A message read just before the client left still counts.
		select {
		case m := <-c.in:
			return m, nil
		default:
		}
		return nil, ErrGone
	case <-ctx.Done():
		return nil, fmt.Errorf("wstest: wait for a client message: %w", ctx.Err())
	}
}

// Ping sends a ping with payload and waits until the client answers it with a pong
// carrying the same payload (pongs for other payloads are skipped).
func (c *Conn) Ping(ctx context.Context, payload string) error {
	if err := c.ws.WriteControl(websocket.PingMessage, []byte(payload), time.Now().Add(writeWait)); err != nil {
		return fmt.Errorf("wstest: ping: %w", err)
	}
	for {
		select {
		case p := <-c.pongs:
			if p == payload {
				return nil
			}
		case <-c.gone:
			return ErrGone
		case <-ctx.Done():
			return fmt.Errorf("wstest: wait for pong %q: %w", payload, ctx.Err())
		}
	}
}

// CloseNormal sends a close frame with the normal-closure code and text.
func (c *Conn) CloseNormal(text string) error {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, text)
	if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(writeWait)); err != nil {
		return fmt.Errorf("wstest: close: %w", err)
	}
	return nil
}

// Drop closes the TCP connection without a close frame, as a network failure or an
// exchange's load balancer would. It may be called from any goroutine.
func (c *Conn) Drop() { _ = c.ws.NetConn().Close() }

// Hold blocks until the client has gone or the server is closing.
func (c *Conn) Hold() {
	select {
	case <-c.gone:
	case <-c.stop:
	}
}

// Gone is closed once the client has gone or the server is closing.
func (c *Conn) Gone() <-chan struct{} { return c.gone }

func (c *Conn) alive() error {
	select {
	case <-c.gone:
		return ErrGone
	default:
		return nil
	}
}
