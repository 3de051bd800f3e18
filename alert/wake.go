package alert

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Waker wakes the dispatchers (NOTIFY coattail_alerts) after alerts were committed.
// Enqueue does not notify inside the caller's transaction: PostgreSQL serialises the
// commits of all transactions that NOTIFY, their WAL flush included, and the signal
// stage's shards commit many small transactions at once. A Waker sends the
// notification in a transaction of its own after the commit, and coalesces: while one
// is being sent, further wake-ups become one more. Dispatchers also poll, so a lost
// wake-up only delays delivery to the next poll.
type Waker struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	mu             sync.Mutex
	sending, again bool
}

// NewWaker returns a Waker on pool. log defaults to slog.Default().
func NewWaker(pool *pgxpool.Pool, log *slog.Logger) *Waker {
	if log == nil {
		log = slog.Default()
	}
	return &Waker{pool: pool, log: log}
}

// Wake asks for a notification; it never blocks.
func (w *Waker) Wake() {
	w.mu.Lock()
	if w.sending {
		w.again = true
		w.mu.Unlock()
		return
	}
	w.sending = true
	w.mu.Unlock()
	go func() {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if _, err := w.pool.Exec(ctx, `SELECT pg_notify($1, '')`, notifyChannel); err != nil {
				w.log.Debug("alert wake-up failed; dispatchers will poll", "err", err)
			}
			cancel()
			w.mu.Lock()
			if !w.again {
				w.sending = false
				w.mu.Unlock()
				return
			}
			w.again = false
			w.mu.Unlock()
		}
	}()
}
