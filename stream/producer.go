package stream

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Producer adds messages to the shard streams with pipelined XADDs, waiting (not
// trimming) while a shard is over its bound.
type Producer struct {
	rdb     redis.UniversalClient
	cfg     Config
	last    []string // last id added per shard
	added   []int64
	waited  time.Duration
	pollGap time.Duration
}

// NewProducer returns a producer over cfg's streams.
func NewProducer(rdb redis.UniversalClient, cfg Config) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Producer{
		rdb:     rdb,
		cfg:     cfg,
		last:    make([]string, cfg.Shards),
		added:   make([]int64, cfg.Shards),
		pollGap: 20 * time.Millisecond,
	}, nil
}

// Config returns the producer's stream configuration.
func (p *Producer) Config() Config { return p.cfg }

// Add appends msgs, in order, in one pipeline. It blocks while any shard it writes to
// holds MaxLen or more entries (backpressure), until ctx is done.
func (p *Producer) Add(ctx context.Context, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := p.waitForRoom(ctx, msgs); err != nil {
		return err
	}
	pipe := p.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(msgs))
	for i, m := range msgs {
		if m.Shard < 0 || m.Shard >= p.cfg.Shards {
			return fmt.Errorf("produce: shard %d out of range 0..%d", m.Shard, p.cfg.Shards-1)
		}
		cmds[i] = pipe.XAdd(ctx, &redis.XAddArgs{
			Stream: p.cfg.Stream(m.Shard),
			Values: []any{fieldKey, m.Key, fieldBody, m.Body},
		})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("produce %d messages: %w", len(msgs), err)
	}
	for i, m := range msgs {
		p.last[m.Shard] = cmds[i].Val()
		p.added[m.Shard]++
	}
	return nil
}

// waitForRoom blocks while a target shard is at its bound.
func (p *Producer) waitForRoom(ctx context.Context, msgs []Message) error {
	var touched []int
	seen := make([]bool, p.cfg.Shards)
	for _, m := range msgs {
		if m.Shard >= 0 && m.Shard < p.cfg.Shards && !seen[m.Shard] {
			seen[m.Shard] = true
			touched = append(touched, m.Shard)
		}
	}
	start := time.Now()
	blocked := false
	defer func() {
		if blocked {
			p.waited += time.Since(start)
		}
	}()
	for {
		pipe := p.rdb.Pipeline()
		lens := make([]*redis.IntCmd, len(touched))
		for i, s := range touched {
			lens[i] = pipe.XLen(ctx, p.cfg.Stream(s))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("produce: check stream lengths: %w", err)
		}
		full := false
		for _, c := range lens {
			if c.Val()+int64(len(msgs)) > p.cfg.MaxLen {
				full = true
				break
			}
		}
		if !full {
			return nil
		}
		blocked = true
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(p.pollGap):
		}
	}
}

// LastIDs returns, per shard, the id of the last message added ("" when none).
func (p *Producer) LastIDs() []string { return append([]string(nil), p.last...) }

// Added returns how many messages were added per shard.
func (p *Producer) Added() []int64 { return append([]int64(nil), p.added...) }

// Waited is the total time spent blocked by backpressure.
func (p *Producer) Waited() time.Duration { return p.waited }
