package stream

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// EnsureGroup creates group on every shard stream (and the streams) where it does not
// exist yet, reading from the beginning. A producer that knows which groups will
// consume calls it before adding entries, so no entry is trimmed (TrimAcked) before a
// group that has not started yet has seen it.
func EnsureGroup(ctx context.Context, rdb redis.UniversalClient, cfg Config, group string) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	for s := 0; s < cfg.Shards; s++ {
		if err := ensureGroup(ctx, rdb, cfg.Stream(s), group); err != nil {
			return err
		}
	}
	return nil
}
