package pipeline

import (
	"context"
	"log/slog"
	"time"
)

// Tracker is a source that can be told to watch a wallet (hyperliquid.Source: poll its
// positions and backfill its fills).
type Tracker interface {
	Track(wallet string) error
}

// TrackWallets keeps a tracker watching every wallet list returns (followed wallets,
// the leaderboard's top), asking again every interval until ctx is done. A wallet is
// handed over once; a failing list is logged and retried at the next interval.
func TrackWallets(ctx context.Context, t Tracker, list func(context.Context) ([]string, error), every time.Duration, log *slog.Logger) error {
	if every <= 0 {
		every = 30 * time.Second
	}
	seen := map[string]bool{}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		ws, err := list(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("list wallets to track", "err", err)
		}
		for _, w := range ws {
			if seen[w] {
				continue
			}
			if err := t.Track(w); err != nil {
				log.Warn("track wallet", "wallet", w, "err", err)
				continue
			}
			seen[w] = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
