package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest"
	"github.com/coattailcapital/coattail/quality"
	"golang.org/x/sync/errgroup"
)

// Defaults of SourceConfig.
const (
	DefaultCheckpointEvery = 5 * time.Second
	DefaultDrainTimeout    = 10 * time.Second
)

// SaveCheckpoint persists the checkpoint pos of the source named source
// (store.Store.SaveSourceCheckpoint).
type SaveCheckpoint func(ctx context.Context, source string, pos []byte) error

// SourceConfig configures RunSourceWith. The zero value runs the source without
// checkpoints, as RunSource does.
type SourceConfig struct {
	// Rules are the data-quality rules events are validated with. Defaults to the
	// zero Rules.
	Rules event.Rules
	// Quality configures the live quality gate (docs/EVENTS.md, Quality rules) given
	// to the ingress when it has none yet (Ingress.SetGate). Defaults to the live
	// defaults of package quality.
	Quality quality.Config
	// Save, when set and the source is an ingest.Checkpointer, persists the source's
	// checkpoint every CheckpointEvery and once more when the source has stopped,
	// each time only after every event the checkpoint covers has been flushed into
	// the streams. Defaults to nil: no checkpoints.
	Save SaveCheckpoint
	// CheckpointEvery is how often a checkpoint is taken. Defaults to 5 s.
	CheckpointEvery time.Duration
	// DrainTimeout bounds how long, once ctx is done, the events the source emitted
	// before it stopped may take to be flushed and the last checkpoint to be saved.
	// Defaults to 10 s.
	DrainTimeout time.Duration
	// Logger receives failed checkpoints (a failed save is retried at the next
	// one). Defaults to discarding them.
	Logger *slog.Logger
	// Enrich, when set, may fill in fields of each event the source emitted (its USD
	// value: USDPricer.Enrich) before it is validated and offered. It runs on the
	// consumer goroutine, one event at a time, and must not block. Defaults to nil:
	// events are offered as emitted.
	Enrich func(*event.Event)
}

func (c SourceConfig) withDefaults() SourceConfig {
	if c.CheckpointEvery <= 0 {
		c.CheckpointEvery = DefaultCheckpointEvery
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// RunSource runs a live source into the streams through in: every event the source
// emits is validated and produced, every input it rejects is dead-lettered. It is
// RunSourceWith without checkpoints.
func RunSource(ctx context.Context, src ingest.Source, in *Ingress, rules event.Rules) error {
	return RunSourceWith(ctx, src, in, SourceConfig{Rules: rules})
}

// sourceItem is what travels from the source to the consumer: an event, a rejected
// input (reason set) or a checkpoint marker (mark set).
type sourceItem struct {
	ev     event.Event
	reason string
	detail string
	raw    []byte
	mark   bool
	pos    []byte
}

// RunSourceWith runs a live source into the streams through in, until ctx is done or
// the source or the streams fail. Every event the source emits is validated, checked
// by the ingress's quality gate (the live one of cfg.Quality when the ingress has
// none) and produced; every input it rejects is dead-lettered. Events are batched while more
// are waiting and flushed as soon as none is, so a quiet feed has no added latency
// and a busy one is produced in pipelines. Once ctx is done, what the source emitted
// before it stopped is still flushed (within cfg.DrainTimeout).
//
// Checkpoints (cfg.Save and a source that is an ingest.Checkpointer): every
// cfg.CheckpointEvery, and once the source's Run has returned, the source's
// checkpoint is taken and a marker carrying it is queued behind the events already
// emitted, in the same queue. When the consumer reaches the marker, every event
// emitted before the checkpoint was taken has been offered; it flushes, and only
// then saves the checkpoint. Since a checkpoint covers only events whose emit had
// returned (ingest.Checkpointer), a saved checkpoint never covers an event that is
// not in the streams (or dead-lettered).
func RunSourceWith(ctx context.Context, src ingest.Source, in *Ingress, cfg SourceConfig) error {
	cfg = cfg.withDefaults()
	name := src.Name()
	if in.Gate() == nil {
		gate, err := quality.NewGate(cfg.Quality)
		if err != nil {
			return fmt.Errorf("source %s: %w", name, err)
		}
		in.SetGate(gate)
	}
	cp, _ := src.(ingest.Checkpointer)
	if cfg.Save == nil {
		cp = nil
	}
	ch := make(chan sourceItem, 4096)
	consumerDone := make(chan struct{})

	// The consumer works on wctx, which outlives ctx by cfg.DrainTimeout: a shutdown
	// flushes what was emitted and saves the last checkpoint.
	wctx, cancelW := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelW()
	var bg sync.WaitGroup
	defer bg.Wait()
	runDone := make(chan struct{})
	defer close(runDone)
	bg.Add(1)
	go func() {
		defer bg.Done()
		select {
		case <-runDone:
			return
		case <-ctx.Done():
		}
		t := time.NewTimer(cfg.DrainTimeout)
		defer t.Stop()
		select {
		case <-runDone:
		case <-t.C:
			cancelW()
		}
	}()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		// The producers: the source, and the checkpoint ticker. ch is closed once both
		// are done, after the final marker.
		defer close(ch)
		send := func(it sourceItem) bool {
			select {
			case ch <- it:
				return true
			case <-consumerDone:
				return false
			}
		}
		mark := func() bool {
			pos, err := cp.Checkpoint()
			if err != nil {
				cfg.Logger.Warn("checkpoint failed", "source", name, "err", err)
				return true
			}
			return send(sourceItem{mark: true, pos: pos})
		}
		srcDone := make(chan struct{})
		var ticker sync.WaitGroup
		if cp != nil {
			ticker.Add(1)
			go func() {
				defer ticker.Done()
				t := time.NewTicker(cfg.CheckpointEvery)
				defer t.Stop()
				for {
					select {
					case <-srcDone:
						return
					case <-t.C:
						if !mark() {
							return
						}
					}
				}
			}()
		}

		emit := func(ctx context.Context, ev *event.Event) error {
			select {
			case ch <- sourceItem{ev: *ev}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		reject := func(ctx context.Context, reason, detail string, raw []byte) error {
			select {
			case ch <- sourceItem{reason: reason, detail: detail, raw: append([]byte(nil), raw...)}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err := src.Run(gctx, emit, reject)
		close(srcDone)
		ticker.Wait()
		if cp != nil {
			mark() // every emit has returned: the final position
		}
		if errors.Is(err, context.Canceled) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("source %s: %w", name, err)
		}
		return nil
	})
	g.Go(func() error {
		defer close(consumerDone)
		return consume(wctx, ch, in, name, cfg)
	})
	return g.Wait()
}

// consume offers the items of ch to in until ch is closed, flushing whenever ch is
// empty and at every checkpoint marker, whose checkpoint it then saves. An unchanged
// checkpoint (an idle feed) is not saved again.
func consume(ctx context.Context, ch <-chan sourceItem, in *Ingress, name string, cfg SourceConfig) error {
	var saved []byte
	checkpoint := func(pos []byte) error {
		if bytes.Equal(pos, saved) {
			return nil
		}
		// Everything queued before the marker was emitted before the checkpoint was
		// taken: once flushed, the checkpoint covers nothing that is not in the
		// streams.
		if err := in.Flush(ctx); err != nil {
			return err
		}
		if err := cfg.Save(ctx, name, pos); err != nil {
			cfg.Logger.Warn("saving the checkpoint failed; the next one retries", "source", name, "err", err)
			return nil
		}
		saved = pos
		return nil
	}
	for it := range ch {
		for {
			var err error
			switch {
			case it.mark:
				err = checkpoint(it.pos)
			case it.reason != "":
				err = in.Reject(ctx, it.reason, it.detail, name, it.raw)
			default:
				if cfg.Enrich != nil {
					cfg.Enrich(&it.ev)
				}
				err = in.Offer(ctx, &it.ev, cfg.Rules, name)
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
		if err := in.Flush(ctx); err != nil {
			return err
		}
	}
	return in.Flush(ctx)
}
