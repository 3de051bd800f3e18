package hyperliquid

import (
	"context"
	"time"

	"github.com/coattailcapital/coattail/ingest/backoff"
)

// runPolls polls the clearinghouseState of every tracked wallet, at once and then
// every PollInterval (a round that overran starts the next one at once), and emits
// the position changes. A wallet whose request fails for good is skipped for the
// round; transient failures are retried inside the request.
func (s *Source) runPolls(ctx context.Context, out *sink) error {
	for {
		start := time.Now()
		for _, w := range s.Tracked() {
			body, err := s.info.clearinghouseState(ctx, w)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				s.cfg.Logger.Error("hyperliquid clearinghouseState failed; wallet skipped this round", walletAttr(w), "err", err)
				continue
			}
			if err := out.put(ctx, s.book.apply(w, body, s.cfg.Now())); err != nil {
				return err
			}
		}
		if err := backoff.Sleep(ctx, s.cfg.PollInterval-time.Since(start)); err != nil {
			return nil
		}
	}
}

// runBackfills backfills the fills of newly tracked wallets, one at a time (they
// share the rate limit anyway).
func (s *Source) runBackfills(ctx context.Context, out *sink) error {
	for {
		w, ok := s.nextPending()
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-s.wake:
				continue
			}
		}
		err := s.backfill(ctx, out, w)
		switch {
		case ctx.Err() != nil:
			s.requeue(w) // the next Run backfills it
			return nil
		case err == nil:
		case isPipeline(err):
			return err
		default:
			s.cfg.Logger.Error("hyperliquid fill backfill failed; wallet not backfilled", walletAttr(w), "err", err)
		}
	}
}

func (s *Source) nextPending() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) == 0 {
		return "", false
	}
	w := s.pending[0]
	s.pending = s.pending[1:]
	return w, true
}

func (s *Source) requeue(w string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append([]string{w}, s.pending...)
}
