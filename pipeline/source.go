package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest"
	"golang.org/x/sync/errgroup"
)

// RunSource runs a live source into the streams through in: every event the source
// emits is validated and produced, every input it rejects is dead-lettered. Events
// are batched while more are waiting and flushed as soon as none is, so a quiet feed
// has no added latency and a busy one is produced in pipelines.
func RunSource(ctx context.Context, src ingest.Source, in *Ingress, rules event.Rules) error {
	type item struct {
		ev     event.Event
		reason string
		detail string
		raw    []byte
	}
	ch := make(chan item, 4096)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(ch)
		emit := func(ctx context.Context, ev *event.Event) error {
			select {
			case ch <- item{ev: *ev}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		reject := func(ctx context.Context, reason, detail string, raw []byte) error {
			select {
			case ch <- item{reason: reason, detail: detail, raw: append([]byte(nil), raw...)}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err := src.Run(gctx, emit, reject)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("source %s: %w", src.Name(), err)
		}
		return nil
	})
	g.Go(func() error {
		for it := range ch {
			for {
				var err error
				if it.reason != "" {
					err = in.Reject(gctx, it.reason, it.detail, src.Name(), it.raw)
				} else {
					err = in.Offer(gctx, &it.ev, rules, src.Name())
				}
				if err != nil {
					return err
				}
				select {
				case next, ok := <-ch:
					if ok {
						it = next
						continue
					}
				default:
				}
				break
			}
			if err := in.Flush(gctx); err != nil {
				return err
			}
		}
		return in.Flush(context.WithoutCancel(gctx))
	})
	return g.Wait()
}
