package bench

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// measureRedis is the raw Redis Streams reference: pipelined XADD of every row's key
// and body into a fresh stream, then XREADGROUP NOACK (COUNT cfg.ReadCount) until every
// message is consumed, one consumer, serially — what a shard worker does without the
// Postgres side (the stages read with NOACK). The stream is deleted afterwards.
func measureRedis(ctx context.Context, rdb *redis.Client, key string, w *workload, cfg Config) ([]Figure, error) {
	const group, consumer = "bench", "bench-1"
	if err := rdb.XGroupCreateMkStream(ctx, key, group, "0").Err(); err != nil {
		return nil, fmt.Errorf("bench: create group on %s: %w", key, err)
	}
	defer rdb.Del(context.WithoutCancel(ctx), key)
	n := len(w.rows)
	cfg.Progress(fmt.Sprintf("redis: XADD %d messages, %d per pipeline, into %s", n, cfg.Pipeline, key))

	start := time.Now()
	for lo := 0; lo < n; lo += cfg.Pipeline {
		hi := min(lo+cfg.Pipeline, n)
		pipe := rdb.Pipeline()
		for i := lo; i < hi; i++ {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"k", w.rows[i].key, "e", w.rows[i].body}})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("bench: XADD messages %d..%d: %w", lo, hi-1, err)
		}
	}
	add := time.Since(start)
	cfg.Progress(fmt.Sprintf("redis: XADD %.0f msg/s; XREADGROUP COUNT %d NOACK until all are consumed", float64(n)/add.Seconds(), cfg.ReadCount))

	start = time.Now()
	consumed := 0
	for consumed < n {
		res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: consumer,
			Streams: []string{key, ">"}, Count: int64(cfg.ReadCount), Block: -1, NoAck: true}).Result()
		if err == redis.Nil || (err == nil && (len(res) == 0 || len(res[0].Messages) == 0)) {
			return nil, fmt.Errorf("bench: %s ran dry after %d of %d messages", key, consumed, n)
		}
		if err != nil {
			return nil, fmt.Errorf("bench: XREADGROUP %s after %d messages: %w", key, consumed, err)
		}
		for _, m := range res[0].Messages {
			if _, ok := m.Values["e"]; !ok {
				return nil, fmt.Errorf("bench: message %s of %s has no body", m.ID, key)
			}
		}
		consumed += len(res[0].Messages)
	}
	read := time.Since(start)
	return []Figure{
		figure(FigRedisXAdd, fmt.Sprintf("Redis XADD, pipelined %d", cfg.Pipeline), int64(n), add, "msg/s"),
		figure(FigRedisRead, fmt.Sprintf("Redis XREADGROUP COUNT %d NOACK", cfg.ReadCount), int64(n), read, "msg/s"),
		figure(FigRedisRoundTrip, "Redis round trip: XADD, then read", int64(n), add+read, "msg/s"),
	}, nil
}

// redisVersion reads redis_version from INFO server.
func redisVersion(ctx context.Context, rdb *redis.Client) (string, error) {
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return "", fmt.Errorf("bench: redis INFO server: %w", err)
	}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "redis_version:"); ok {
			return v, nil
		}
	}
	return "unknown", nil
}

// deletePrefix deletes every key under prefix+":".
func deletePrefix(ctx context.Context, rdb *redis.Client, prefix string) error {
	iter := rdb.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("bench: scan keys under %s: %w", prefix, err)
	}
	for lo := 0; lo < len(keys); lo += 500 {
		if err := rdb.Del(ctx, keys[lo:min(lo+500, len(keys))]...).Err(); err != nil {
			return fmt.Errorf("bench: delete keys under %s: %w", prefix, err)
		}
	}
	return nil
}
