package sourcetest

import (
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/wstest"
)

// Now is a fixed clock for a harness's source and Setup.Rules: 2026-09-01 00:00 UTC,
// after every trade a script carries, so that none is in the future.
func Now() time.Time { return time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC) }

// Play is a venue handler (for NewServer) playing one part of a script: it runs greet
// on the connection (the venue's side of the subscription handshake; nil for none),
// then sends frames. A greet that fails, or a send that does, means the client left:
// the handler then just returns.
func Play(frames [][]byte, greet func(c *wstest.Conn) error) wstest.Handler {
	return func(c *wstest.Conn) {
		if greet != nil && greet(c) != nil {
			return
		}
		_ = c.SendAll(frames)
	}
}

// Events returns the events a script's trades must become, in order, each made by
// toEvent (written in the test independently of the source's decoder).
func Events[T any](toEvent func(T) event.Event, trades ...T) []event.Event {
	out := make([]event.Event, len(trades))
	for i, tr := range trades {
		out[i] = toEvent(tr)
	}
	return out
}
