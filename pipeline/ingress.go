package pipeline

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/quality"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/redis/go-redis/v9"
)

// Ingress is where validated events enter the streams and rejected input is
// dead-lettered (in Postgres, durably, and on the dead-letter stream for tailing).
// With a quality gate (SetGate), every event added is checked by it first. It batches
// both; call Flush before relying on what was added. Not safe for concurrent use: give
// each source its own.
type Ingress struct {
	prod    *stream.Producer
	rdb     redis.UniversalClient
	st      *store.Store
	metrics *Metrics
	origin  string
	batch   int
	gate    *quality.Gate
	rules   map[string]string // reject reason -> name of the quality rule it belongs to

	msgs   []stream.Message
	dead   []store.DeadLetter
	waited time.Duration // producer backpressure already counted in metrics

	Accepted int64
	Dead     int64
	ByReason map[string]int64
}

// DLQMaxLen bounds the dead-letter stream; Postgres's dead_letters table keeps them all.
const DLQMaxLen = 100000

// NewIngress returns an ingress that labels its metrics with origin.
func NewIngress(prod *stream.Producer, rdb redis.UniversalClient, st *store.Store, m *Metrics, origin string) *Ingress {
	rules := map[string]string{}
	for _, r := range quality.Rules() {
		rules[string(r.Reason)] = r.Name
	}
	return &Ingress{prod: prod, rdb: rdb, st: st, metrics: m, origin: origin, batch: 4000, rules: rules,
		ByReason: map[string]int64{}}
}

// SetGate makes Add, AddFrom and Offer check every event with g before queueing it; an
// event g rejects is dead-lettered with its rule's reason. nil (the default) checks
// nothing beyond the codec. g keeps state: it must serve this ingress only.
func (in *Ingress) SetGate(g *quality.Gate) { in.gate = g }

// Gate returns the gate set by SetGate, or nil.
func (in *Ingress) Gate() *quality.Gate { return in.gate }

// Add queues a validated event for its shard stream, or dead-letters it (source: the
// ingress's origin) when the gate rejects it.
func (in *Ingress) Add(ctx context.Context, ev *event.Event) error {
	return in.AddFrom(ctx, ev, in.origin, 0)
}

// AddFrom is Add for an event read at line of source (a file); line 0 is none. Where
// it came from is only written down when the gate rejects it.
func (in *Ingress) AddFrom(ctx context.Context, ev *event.Event, source string, line int64) error {
	kh := ev.KeyHash()
	in.metrics.checked()
	if in.gate != nil {
		if rej := in.gate.CheckKey(ev, kh); rej != nil {
			if line > 0 {
				source += ":" + strconv.FormatInt(line, 10)
			}
			return in.deadLetter(ctx, string(rej.Reason), rej.Error(), source, event.AppendJSON(nil, ev))
		}
	}
	shard := event.Shard(ev.ShardKey(), in.prod.Config().Shards)
	in.msgs = append(in.msgs, stream.Message{Shard: shard, Key: kh[:], Body: event.AppendJSON(nil, ev)})
	in.Accepted++
	in.metrics.read(in.origin, 1)
	if len(in.msgs) >= in.batch {
		return in.flushMsgs(ctx)
	}
	return nil
}

// Reject dead-letters one input with its reason. A reason of a quality rule (the
// codec's, from decoding or validating the input) is counted as that rule's reject.
func (in *Ingress) Reject(ctx context.Context, reason, detail, source string, raw []byte) error {
	if _, ok := in.rules[reason]; ok {
		in.metrics.checked()
	}
	return in.deadLetter(ctx, reason, detail, source, raw)
}

func (in *Ingress) deadLetter(ctx context.Context, reason, detail, source string, raw []byte) error {
	in.dead = append(in.dead, store.DeadLetter{Reason: reason, Detail: detail, Source: source, Raw: clip(raw)})
	in.Dead++
	in.ByReason[reason]++
	in.metrics.read(in.origin, 1)
	in.metrics.dead(reason)
	if rule, ok := in.rules[reason]; ok {
		in.metrics.qualityReject(rule)
	}
	if len(in.dead) >= in.batch {
		return in.flushDead(ctx)
	}
	return nil
}

// Flush writes everything queued.
func (in *Ingress) Flush(ctx context.Context) error {
	if err := in.flushDead(ctx); err != nil {
		return err
	}
	return in.flushMsgs(ctx)
}

func (in *Ingress) flushMsgs(ctx context.Context) error {
	if len(in.msgs) == 0 {
		return nil
	}
	err := in.prod.Add(ctx, in.msgs)
	if w := in.prod.Waited(); w > in.waited {
		in.metrics.backpressure(w - in.waited)
		in.waited = w
	}
	if err != nil {
		return err
	}
	in.metrics.accepted(len(in.msgs))
	in.msgs = in.msgs[:0]
	return nil
}

func (in *Ingress) flushDead(ctx context.Context) error {
	if len(in.dead) == 0 {
		return nil
	}
	if err := retry(ctx, nil, "store dead letters", func() error { return in.st.AddDeadLetters(ctx, in.dead) }); err != nil {
		return err
	}
	dlq := in.prod.Config().DLQ()
	err := retry(ctx, nil, "dead-letter stream", func() error {
		pipe := in.rdb.Pipeline()
		for _, d := range in.dead {
			values := []any{"reason", d.Reason, "detail", d.Detail, "source", d.Source, "raw", d.Raw}
			if rule, ok := in.rules[d.Reason]; ok {
				values = append(values, "rule", rule)
			}
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: dlq, MaxLen: DLQMaxLen, Approx: true, Values: values})
		}
		_, err := pipe.Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("dead-letter stream: %w", err)
	}
	in.dead = in.dead[:0]
	return nil
}

// Offer validates an event built by a source, then checks it with the gate (if any),
// and either queues it or dead-letters it.
func (in *Ingress) Offer(ctx context.Context, ev *event.Event, rules event.Rules, source string) error {
	if err := ev.Validate(rules); err != nil {
		return in.Reject(ctx, event.ReasonOf(err, "bad_input"), err.Error(), source, event.AppendJSON(nil, ev))
	}
	return in.AddFrom(ctx, ev, source, 0)
}
