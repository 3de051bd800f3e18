package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
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

	// RetryFor bounds how long Add keeps retrying while Redis is unreachable or
	// restarting (connection refused, LOADING) before it gives up. Defaults to 2m.
	RetryFor time.Duration
	// Logger receives a warning while Add retries. Defaults to slog.Default().
	Logger *slog.Logger
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
// holds MaxLen or more entries (backpressure), until ctx is done. While Redis is
// unreachable or restarting it retries the whole batch with backoff for up to RetryFor:
// a batch cut off half-way is then partly added twice, which the stages absorb because
// every event carries its idempotency key.
func (p *Producer) Add(ctx context.Context, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	retryFor := p.RetryFor
	if retryFor == 0 {
		retryFor = 2 * time.Minute
	}
	deadline := time.Now().Add(retryFor)
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := p.add(ctx, msgs)
		if err == nil || ctx.Err() != nil || !Transient(err) || time.Now().After(deadline) {
			return err
		}
		log := p.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("redis unavailable, retrying", "op", "produce", "attempt", attempt, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

func (p *Producer) add(ctx context.Context, msgs []Message) error {
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

// Transient reports whether err is one a retry can cure: the network (connection
// refused or reset, timeouts, EOF) or a Redis that is starting, loading its data set,
// failing over or briefly read-only. Context cancellation is not transient.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, redis.ErrClosed) {
		return true
	}
	msg := err.Error()
	for _, p := range []string{"LOADING", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "BUSY ", "connection pool", "connection refused", "broken pipe", "connection reset"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// LastIDs returns, per shard, the id of the last message added ("" when none).
func (p *Producer) LastIDs() []string { return append([]string(nil), p.last...) }

// Added returns how many messages were added per shard.
func (p *Producer) Added() []int64 { return append([]int64(nil), p.added...) }

// Waited is the total time spent blocked by backpressure.
func (p *Producer) Waited() time.Duration { return p.waited }
