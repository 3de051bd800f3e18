package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/replay"
	"github.com/coattailcapital/coattail/quality"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
)

// ReplayConfig configures Replay. Zero values are defaults.
type ReplayConfig struct {
	Files []string
	// Until: events later than this are skipped (counted, not dead-lettered). Zero: no limit.
	Until time.Time
	// Speed paces events by event time: 2 replays twice as fast as they happened.
	// Zero means as fast as possible (--max).
	Speed float64
	// Rules are the codec's quality rules for input. Defaults to event.Rules{} (now + 5 min).
	Rules event.Rules
	// Strict puts replayed input through the live data-quality gate (docs/EVENTS.md,
	// Quality rules: duplicates, price deviation, zero-value and self transfers,
	// decimals consistency) as well as the codec's rules. Off by default: recorded
	// history is taken as it was recorded (a big move is real, a repeated line is
	// absorbed by idempotency), and only malformed input is dead-lettered.
	Strict bool
	// Quality configures the gate when Strict, with the live defaults, except that
	// AllowedLateness 0 means quality.Off here: files need not be in time order. The
	// gate is the run's own, so a duplicate is one within this run, and a rerun judges
	// every line as the first run did.
	Quality quality.Config
	// Format forces the input format ("" detects it per file).
	Format string
	// Wallet names the wallet of Hyperliquid userFills files that do not name one.
	Wallet string
	// Progress, if set, is called every ProgressEvery with a snapshot.
	Progress      func(Summary)
	ProgressEvery time.Duration // Defaults to 2s.
	// Group tunes the in-process stages (its Group name is replaced by each stage's).
	Group stream.GroupConfig
	// Stages are the consumer groups the replay runs and waits for. Empty: the book
	// stage alone.
	Stages []Stage
	// NoWorkers skips running the stages in-process (other processes run them);
	// Replay still waits for every stage's commits.
	NoWorkers bool
	Logger    *slog.Logger
	Metrics   *Metrics
}

// Summary is what a replay did.
type Summary struct {
	Files        int              `json:"files"`
	Read         int64            `json:"read"`
	Accepted     int64            `json:"accepted"`
	DeadLettered int64            `json:"dead_lettered"`
	ByReason     map[string]int64 `json:"by_reason"`
	SkippedUntil int64            `json:"skipped_after_until"`
	Committed    bool             `json:"committed"` // every accepted event is committed to Postgres
	Seconds      float64          `json:"seconds"`
	EventsPerSec float64          `json:"events_per_sec"`
}

// Stage is one stream stage: a consumer group and its durable side. Every stage sees
// every event (each group reads all shard streams) and must commit each batch with its
// checkpoint (store.AdvanceCheckpoint) in one transaction, which is what Replay waits
// on. To add a stage to replay, run and worker, give it a group name of its own and
// list it in cmd/coattail/stages.go (stageCatalog); tests pass their own list here.
// OffPathLinger is the Linger of the stages off the alert path (book, windows).
const OffPathLinger = 100 * time.Millisecond

type Stage struct {
	Group string
	Sink  stream.Sink
	// Linger is how long the stage's combined commits wait for more shards' batches
	// under a steady load (stream.GroupConfig.Linger): for stages off the alert path,
	// fewer and larger transactions leave the CPU to the signal stage.
	Linger time.Duration
}

// Replay reads the files, produces their events into the streams, runs the stages
// (the book stage by default) in-process unless NoWorkers, and returns when every
// stage has committed every produced event. Bad records are dead-lettered and counted; a file that cannot be
// opened or a database that fails is an error.
func Replay(ctx context.Context, rdb redis.UniversalClient, st *store.Store, scfg stream.Config, cfg ReplayConfig) (Summary, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ProgressEvery == 0 {
		cfg.ProgressEvery = 2 * time.Second
	}
	if cfg.Speed < 0 {
		return Summary{}, fmt.Errorf("replay speed %v: must be positive", cfg.Speed)
	}
	// Open every file first: a missing file is an error before anything is produced.
	readers := make([]*replay.Reader, 0, len(cfg.Files))
	defer func() {
		for _, r := range readers {
			_ = r.Close()
		}
	}()
	for _, f := range cfg.Files {
		r, err := replay.Open(f, replay.Options{Rules: cfg.Rules, Format: cfg.Format, Wallet: cfg.Wallet})
		if err != nil {
			return Summary{}, err
		}
		readers = append(readers, r)
	}
	var gate *quality.Gate
	if cfg.Strict {
		qc := cfg.Quality
		if qc.AllowedLateness == 0 {
			qc.AllowedLateness = quality.Off
		}
		g, err := quality.NewGate(qc)
		if err != nil {
			return Summary{}, fmt.Errorf("replay: %w", err)
		}
		gate = g
	}
	prod, err := stream.NewProducer(rdb, scfg)
	if err != nil {
		return Summary{}, err
	}
	in := NewIngress(prod, rdb, st, cfg.Metrics, "replay")
	if gate != nil {
		in.SetGate(gate)
	}
	sum := Summary{Files: len(cfg.Files), ByReason: map[string]int64{}}
	start := time.Now()

	stages := cfg.Stages
	if len(stages) == 0 {
		stages = []Stage{{Group: BookGroup, Sink: NewBookSink(st)}}
	}
	groups := make([]string, len(stages))
	for i, s := range stages {
		groups[i] = s.Group
		// Before producing: entries are trimmed once every existing group committed them.
		if err := stream.EnsureGroup(ctx, rdb, scfg, s.Group); err != nil {
			return Summary{}, err
		}
	}
	runCtx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	g, gctx := errgroup.WithContext(runCtx)
	if !cfg.NoWorkers {
		for _, s := range stages {
			gc := cfg.Group
			gc.Group = s.Group
			if gc.Linger == 0 {
				gc.Linger = s.Linger
			}
			if gc.Logger == nil {
				gc.Logger = cfg.Logger
			}
			if gc.Observe == nil {
				gc.Observe = cfg.Metrics.ObserveBatch(s.Group)
			}
			grp, err := stream.NewGroup(rdb, scfg, gc, s.Sink)
			if err != nil {
				return Summary{}, err
			}
			g.Go(func() error { return grp.Run(gctx) })
		}
	}
	snapshot := func() Summary {
		s := sum
		s.Accepted, s.DeadLettered = in.Accepted, in.Dead
		s.ByReason = map[string]int64{}
		for k, v := range in.ByReason {
			s.ByReason[k] = v
		}
		s.Seconds = time.Since(start).Seconds()
		if s.Seconds > 0 {
			s.EventsPerSec = float64(s.Accepted) / s.Seconds
		}
		return s
	}
	lastProgress := time.Now()
	produce := func() error {
		var t0 time.Time
		for _, r := range readers {
			for {
				rec, ok := r.Next()
				if !ok {
					break
				}
				sum.Read++
				if rec.Err != nil {
					src := rec.Source + ":" + strconv.FormatInt(rec.Line, 10)
					if err := in.Reject(gctx, event.ReasonOf(rec.Err, "bad_input"), rec.Err.Error(), src, rec.Raw); err != nil {
						return err
					}
					continue
				}
				ev := rec.Event
				if !cfg.Until.IsZero() && ev.TS.After(cfg.Until) {
					sum.SkippedUntil++
					continue
				}
				if cfg.Speed > 0 {
					if t0.IsZero() {
						t0 = ev.TS
					}
					due := start.Add(time.Duration(float64(ev.TS.Sub(t0)) / cfg.Speed))
					if wait := time.Until(due); wait > time.Millisecond {
						if err := in.Flush(gctx); err != nil {
							return err
						}
						select {
						case <-gctx.Done():
							return gctx.Err()
						case <-time.After(wait):
						}
					}
				}
				if err := in.AddFrom(gctx, &ev, rec.Source, rec.Line); err != nil {
					return err
				}
				if cfg.Progress != nil && time.Since(lastProgress) >= cfg.ProgressEvery {
					lastProgress = time.Now()
					cfg.Progress(snapshot())
				}
			}
			if err := r.Err(); err != nil {
				return err
			}
		}
		if err := in.Flush(gctx); err != nil {
			return err
		}
		return waitCommitted(gctx, st, groups, prod.Config(), prod.LastIDs(), func() {
			if cfg.Progress != nil && time.Since(lastProgress) >= cfg.ProgressEvery {
				lastProgress = time.Now()
				cfg.Progress(snapshot())
			}
		})
	}
	g.Go(func() error {
		defer stopWorkers()
		if err := produce(); err != nil {
			return err
		}
		sum.Committed = true
		return nil
	})
	err = g.Wait()
	if err != nil && errors.Is(err, context.Canceled) && ctx.Err() == nil {
		err = nil // the workers stop by cancellation once everything is committed
	}
	out := snapshot()
	out.Committed = sum.Committed
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return out, err
}

// waitCommitted polls the stages' checkpoints until each group has committed, on each
// shard, at least the last id produced to it.
func waitCommitted(ctx context.Context, st *store.Store, groups []string, scfg stream.Config, last []string, tick func()) error {
	var shards []int
	for s, id := range last {
		if id != "" {
			shards = append(shards, s)
		}
	}
	sort.Ints(shards)
	for {
		done := true
		for _, grp := range groups {
			var cps map[string]string
			err := retry(ctx, nil, "read checkpoints", func() (err error) {
				cps, err = st.Checkpoints(ctx, grp)
				return err
			})
			if err != nil {
				return err
			}
			for _, s := range shards {
				if stream.CompareIDs(cps[scfg.Stream(s)], last[s]) < 0 {
					done = false
					break
				}
			}
			if !done {
				break
			}
		}
		if done {
			return nil
		}
		tick()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
