package sourcetest

import (
	"net/http"
	"sync"
	"time"

	"github.com/coattailcapital/coattail/ingest/wstest"
)

// Server is a Venue on a wstest.Server, for harnesses whose venue speaks websocket:
// the first connection is handed to first (the first part of the script), every
// later one to rest (the second part). When a part's handler returns, the
// connection is held open until the client leaves, it is dropped, or the server
// closes; a handler that has nothing to send after its frames can simply return.
type Server struct {
	*wstest.Server

	mu       sync.Mutex
	accepted []time.Time
	conns    []*wstest.Conn
}

var _ Venue = (*Server)(nil)

// NewServer starts a Server; api (nil: 404) answers the requests that are not
// websocket upgrades (a venue's REST API).
func NewServer(first, rest wstest.Handler, api http.Handler) *Server {
	s := &Server{}
	s.Server = wstest.NewServer(func(c *wstest.Conn) {
		s.mu.Lock()
		s.accepted = append(s.accepted, time.Now())
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		if c.Index == 0 {
			first(c)
		} else {
			rest(c)
		}
		c.Hold()
	}, api)
	return s
}

// Accepted returns when each websocket connection was accepted, in order.
func (s *Server) Accepted() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.accepted...)
}

// Drop cuts the latest connection without a close frame and returns when it did
// (the zero time when no connection was accepted yet).
func (s *Server) Drop() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) == 0 {
		return time.Time{}
	}
	at := time.Now()
	s.conns[len(s.conns)-1].Drop()
	return at
}
