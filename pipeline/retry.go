package pipeline

import (
	"context"
	"log/slog"
	"time"

	"github.com/coattailcapital/coattail/ingest/backoff"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
)

// RetryFor bounds how long the pipeline's own Postgres and Redis calls (outside the
// stream runtime, which retries by itself) keep retrying while a server restarts.
const RetryFor = 2 * time.Minute

// transient is an error of Postgres or Redis that a retry can cure.
func transient(err error) bool { return store.Transient(err) || stream.Transient(err) }

// retry runs f until it succeeds, fails with an error that is not transient, ctx ends
// or RetryFor has passed, backing off between attempts and warning on each.
func retry(ctx context.Context, log *slog.Logger, op string, f func() error) error {
	if log == nil {
		log = slog.Default()
	}
	b := backoff.Backoff{Min: 50 * time.Millisecond, Max: 2 * time.Second, Jitter: backoff.Equal}
	deadline := time.Now().Add(RetryFor)
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || ctx.Err() != nil || !transient(err) || time.Now().After(deadline) {
			return err
		}
		wait := b.Next()
		log.Warn("database unavailable, retrying", "op", op, "attempt", attempt, "in", wait, "err", err)
		if err := backoff.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}
