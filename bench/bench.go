// Package bench measures, in one run on one machine, how fast the spine moves events
// end to end (a replay: read → decode → XADD → XREADGROUP → Postgres commit)
// beside the physical references it is built on: the raw Redis Streams round trip and
// the raw Postgres write rates for rows like ours. It works in a scratch Postgres schema
// and under a scratch Redis key prefix, both removed afterwards.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Figure names, stable in the JSON output.
const (
	FigRedisXAdd      = "redis_xadd"
	FigRedisRead      = "redis_xreadgroup"
	FigRedisRoundTrip = "redis_round_trip"
	FigPGCopy         = "postgres_copy"
	FigPGUpsert       = "postgres_upsert"
	FigEndToEnd       = "end_to_end"
	FigAllStages      = "end_to_end_all_stages"
	// FigStagePrefix + a stage's group name: that stage alone.
	FigStagePrefix = "stage_"
)

// TargetAllStagesPerSec is the throughput goal with every stage on (book, windowed
// workers, signals).
const TargetAllStagesPerSec = 50000

// Target is the throughput goal of the spine.
const (
	// TargetEventsPerSec is the end-to-end rate the spine must reach.
	TargetEventsPerSec = 100000
	// TargetMaxFactor: the end-to-end rate must be within this factor of the raw Redis
	// round trip.
	TargetMaxFactor = 3
)

// Config configures Run. The zero value is usable.
type Config struct {
	// DatabaseURL is the Postgres server; the run uses a scratch schema in it.
	// Defaults to store.DefaultURL.
	DatabaseURL string
	// RedisURL is the Redis server; the run uses a scratch key prefix in it.
	// Defaults to redis://127.0.0.1:6379/0.
	RedisURL string
	// Events is about how many demo events are generated (whole market ticks, so a few
	// more) and how many messages and rows the raw measurements move. Defaults to 200000.
	Events int
	// Shards is the number of event streams of the end-to-end run. Defaults to 8.
	Shards int
	// Seed of the demo market. Defaults to 1.
	Seed int64
	// Pipeline is how many XADDs the raw measurement sends per round trip; the same as
	// the pipeline's ingress batch. Defaults to 1000.
	Pipeline int
	// ReadCount is the XREADGROUP COUNT of the raw measurement. Defaults to 1000.
	ReadCount int
	// UpsertBatch is the rows per idempotent upsert statement; the same as the book
	// stage's batch. Defaults to 2000.
	UpsertBatch int
	// TempDir is where the demo file is written (in a fresh directory, removed
	// afterwards). Defaults to os.TempDir().
	TempDir string
	// Command is the command line that produced the run, for the report.
	Command string
	// Progress, if set, receives one line of progress at a time.
	Progress func(line string)
	// Logger receives the pipeline's operational messages. Defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock that dates the report. Defaults to time.Now.
	Now func() time.Time
	// AllStages, if set, returns every stage of the pipeline (book, windows,
	// signals, ...) built on a store: the run then also replays the workload with all
	// of them on, into a second scratch schema.
	AllStages func(st *store.Store, rdb *redis.Client, scfg stream.Config) []pipeline.Stage
	// SkipPerStage leaves out the figures of each stage on its own.
	SkipPerStage bool
}

// MaxEvents bounds Config.Events: the raw measurements hold every row in memory.
const MaxEvents = 5000000

func (c Config) withDefaults() Config {
	if c.DatabaseURL == "" {
		c.DatabaseURL = store.DefaultURL
	}
	if c.RedisURL == "" {
		c.RedisURL = "redis://127.0.0.1:6379/0"
	}
	if c.Events == 0 {
		c.Events = 200000
	}
	if c.Shards == 0 {
		c.Shards = 8
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Pipeline == 0 {
		c.Pipeline = 1000
	}
	if c.ReadCount == 0 {
		c.ReadCount = 1000
	}
	if c.UpsertBatch == 0 {
		c.UpsertBatch = 2000
	}
	if c.TempDir == "" {
		c.TempDir = os.TempDir()
	}
	if c.Progress == nil {
		c.Progress = func(string) {}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// ErrInvalidConfig is wrapped by Run's errors about a Config it cannot use.
var ErrInvalidConfig = errors.New("invalid bench config")

func (c Config) validate() error {
	switch {
	case c.Events < 1 || c.Events > MaxEvents:
		return fmt.Errorf("%w: events %d: must be 1..%d", ErrInvalidConfig, c.Events, MaxEvents)
	case c.Shards < 1 || c.Shards > 1024:
		return fmt.Errorf("%w: shards %d: must be 1..1024", ErrInvalidConfig, c.Shards)
	case c.Pipeline < 1 || c.ReadCount < 1 || c.UpsertBatch < 1:
		return fmt.Errorf("%w: pipeline, read count and upsert batch must be positive", ErrInvalidConfig)
	}
	return nil
}

// Figure is one measured rate.
type Figure struct {
	Name    string  `json:"name"`  // one of the Fig* constants
	Label   string  `json:"label"` // what was measured, for people
	Count   int64   `json:"count"` // messages, rows or events moved
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"per_sec"`
	Unit    string  `json:"unit"` // "msg/s", "rows/s", "events/s"
	// Reference names the figure this one is compared with ("" for a raw reference),
	// and OfReference is PerSec / the reference's PerSec.
	Reference   string  `json:"reference,omitempty"`
	OfReference float64 `json:"of_reference,omitempty"`
}

// Machine describes where the run happened.
type Machine struct {
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	Redis      string `json:"redis_version"`
	Postgres   string `json:"postgres_version"`
}

// Settings are the workload parameters of a run.
type Settings struct {
	Events      int     `json:"events"` // generated demo events (the N of every figure)
	Seed        int64   `json:"seed"`
	Shards      int     `json:"shards"`
	Pipeline    int     `json:"pipeline"`
	ReadCount   int     `json:"read_count"`
	UpsertBatch int     `json:"upsert_batch"`
	AvgBody     float64 `json:"avg_body_bytes"` // mean canonical event size
}

// Verdict is the target check.
type Verdict struct {
	// Ratio is end to end / raw Redis round trip.
	Ratio float64 `json:"ratio"`
	// FastEnough: end to end >= TargetEventsPerSec.
	FastEnough bool `json:"fast_enough"`
	// WithinFactor: end to end >= raw round trip / TargetMaxFactor.
	WithinFactor bool `json:"within_factor"`
	// Met: both.
	Met bool `json:"met"`
}

// Result is everything one run measured.
type Result struct {
	Date     time.Time        `json:"date"`
	Command  string           `json:"command,omitempty"`
	Machine  Machine          `json:"machine"`
	Settings Settings         `json:"settings"`
	Figures  []Figure         `json:"figures"`
	Replay   pipeline.Summary `json:"replay"`
	Stored   int64            `json:"stored_events"` // rows in the events table after the replay
	Verdict  Verdict          `json:"verdict"`
	// Schema and Prefix are the scratch Postgres schema and Redis key prefix used (and
	// removed).
	Schema string `json:"schema"`
	Prefix string `json:"prefix"`
}

// Figure returns the figure named name.
func (r *Result) Figure(name string) (Figure, bool) {
	for _, f := range r.Figures {
		if f.Name == name {
			return f, true
		}
	}
	return Figure{}, false
}

// judge computes the verdict from an end-to-end rate and the raw round trip rate.
func judge(endToEnd, roundTrip float64) Verdict {
	v := Verdict{FastEnough: endToEnd >= TargetEventsPerSec}
	if roundTrip > 0 {
		v.Ratio = endToEnd / roundTrip
		v.WithinFactor = endToEnd*TargetMaxFactor >= roundTrip
	}
	v.Met = v.FastEnough && v.WithinFactor
	return v
}

// Run measures everything once and returns the figures. It always removes its scratch
// schema, keys and files, also when it fails or ctx ends. On an error after the
// configuration is checked, the result holds what was measured so far and the scratch
// names.
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	id := randomID()
	res = &Result{
		Date:    cfg.Now().UTC(),
		Command: cfg.Command,
		Machine: Machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, NumCPU: runtime.NumCPU(),
			GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version()},
		Settings: Settings{Seed: cfg.Seed, Shards: cfg.Shards, Pipeline: cfg.Pipeline,
			ReadCount: cfg.ReadCount, UpsertBatch: cfg.UpsertBatch},
		Schema: "bench_" + id,
		Prefix: "bench:" + id,
	}
	cleanupCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	}

	// Engines.
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(cctx, cfg.DatabaseURL)
	if err != nil {
		return res, fmt.Errorf("bench: connect to postgres: %w (is Postgres running? `make services` starts it)", err)
	}
	defer func() {
		c, cancel := cleanupCtx()
		defer cancel()
		_ = admin.Close(c)
	}()
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return res, fmt.Errorf("bench: redis url: %w", err)
	}
	opt.MaxRetries = -1 // the stream runtime refuses a client that re-sends commands (see stream.NewGroup)
	rdb := redis.NewClient(opt)
	defer func() { _ = rdb.Close() }()
	if err := rdb.Ping(cctx).Err(); err != nil {
		return res, fmt.Errorf("bench: connect to redis at %s: %w (is Redis running? `make services` starts it)", opt.Addr, err)
	}
	if res.Machine.Redis, err = redisVersion(cctx, rdb); err != nil {
		return res, err
	}
	if err := admin.QueryRow(cctx, "SHOW server_version").Scan(&res.Machine.Postgres); err != nil {
		return res, fmt.Errorf("bench: postgres version: %w", err)
	}

	// Scratch space, removed whatever happens.
	if _, err := admin.Exec(cctx, "CREATE SCHEMA "+res.Schema); err != nil {
		return res, fmt.Errorf("bench: create schema %s: %w", res.Schema, err)
	}
	defer func() {
		c, cancel := cleanupCtx()
		defer cancel()
		if _, derr := admin.Exec(c, "DROP SCHEMA "+res.Schema+" CASCADE"); derr != nil {
			err = errors.Join(err, fmt.Errorf("bench: drop schema %s: %w", res.Schema, derr))
		}
	}()
	defer func() {
		c, cancel := cleanupCtx()
		defer cancel()
		if derr := deletePrefix(c, rdb, res.Prefix); derr != nil {
			err = errors.Join(err, derr)
		}
	}()
	dir, err := os.MkdirTemp(cfg.TempDir, "coattail-bench-")
	if err != nil {
		return res, fmt.Errorf("bench: temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	dbURL, err := withSearchPath(cfg.DatabaseURL, res.Schema)
	if err != nil {
		return res, err
	}

	// Workload: demo events, in a file for the replay and in memory for the raw figures.
	cfg.Progress(fmt.Sprintf("generating about %d demo events (seed %d) in %s", cfg.Events, cfg.Seed, dir))
	w, err := generate(dir, cfg.Seed, cfg.Events)
	if err != nil {
		return res, err
	}
	res.Settings.Events = len(w.rows)
	res.Settings.AvgBody = w.avgBody()
	cfg.Progress(fmt.Sprintf("generated %d events, %.0f bytes each on average", len(w.rows), res.Settings.AvgBody))

	// 1. Raw Redis.
	rf, err := measureRedis(ctx, rdb, res.Prefix+":raw", w, cfg)
	if err != nil {
		return res, err
	}
	res.Figures = append(res.Figures, rf...)

	// 2. Raw Postgres.
	pf, err := measurePostgres(ctx, dbURL, w, cfg)
	if err != nil {
		return res, err
	}
	res.Figures = append(res.Figures, pf...)
	// The replays below read the file; dropping the in-memory copy (~150 MB for 500k
	// events) keeps the harness's own heap out of the measured pipeline's garbage
	// collection, as in a `coattail replay` process.
	w.rows = nil
	runtime.GC()

	// 3. End to end.
	e2e, err := measureReplay(ctx, rdb, dbURL, res, w, cfg)
	if err != nil {
		return res, err
	}
	res.Figures = append(res.Figures, e2e)

	// 4. Every stage on, then each stage beyond the book on its own.
	if cfg.AllStages != nil {
		all, names, err := measureStages(ctx, admin, rdb, res, w, cfg, "all", nil)
		if err != nil {
			return res, err
		}
		res.Figures = append(res.Figures, all)
		if !cfg.SkipPerStage {
			for _, name := range names {
				if name == pipeline.BookGroup {
					continue // the end-to-end figure is the book alone
				}
				f, _, err := measureStages(ctx, admin, rdb, res, w, cfg, name, []string{name})
				if err != nil {
					return res, err
				}
				res.Figures = append(res.Figures, f)
			}
		}
	}

	// 5. References and verdict.
	link(res, FigPGUpsert, FigPGCopy)
	link(res, FigEndToEnd, FigRedisRoundTrip)
	for _, f := range res.Figures {
		if f.Name == FigAllStages || strings.HasPrefix(f.Name, FigStagePrefix) {
			link(res, f.Name, FigRedisRoundTrip)
		}
	}
	rt, _ := res.Figure(FigRedisRoundTrip)
	res.Verdict = judge(e2e.PerSec, rt.PerSec)
	return res, nil
}

// link records that figure name is compared with figure ref.
func link(res *Result, name, ref string) {
	r, ok := res.Figure(ref)
	if !ok {
		return
	}
	for i := range res.Figures {
		if res.Figures[i].Name == name {
			res.Figures[i].Reference = ref
			if r.PerSec > 0 {
				res.Figures[i].OfReference = res.Figures[i].PerSec / r.PerSec
			}
		}
	}
}

// measureReplay runs the whole pipeline in-process on the demo file into a fresh
// migrated schema and fresh streams.
func measureReplay(ctx context.Context, rdb *redis.Client, dbURL string, res *Result, w *workload, cfg Config) (Figure, error) {
	st, err := store.Open(ctx, store.Config{URL: dbURL, Logger: cfg.Logger})
	if err != nil {
		return Figure{}, fmt.Errorf("bench: open store in %s: %w", res.Schema, err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return Figure{}, fmt.Errorf("bench: migrate %s: %w", res.Schema, err)
	}
	cfg.Progress(fmt.Sprintf("end to end: replaying %d events through %d shards (schema %s, prefix %s)",
		res.Settings.Events, cfg.Shards, res.Schema, res.Prefix))
	sum, err := pipeline.Replay(ctx, rdb, st, stream.Config{Prefix: res.Prefix, Shards: cfg.Shards}, pipeline.ReplayConfig{
		Files:  []string{w.path},
		Logger: cfg.Logger,
		Progress: func(s pipeline.Summary) {
			cfg.Progress(fmt.Sprintf("end to end: accepted %d, dead-lettered %d (%.0f events/s so far)", s.Accepted, s.DeadLettered, s.EventsPerSec))
		},
	})
	if err != nil {
		return Figure{}, fmt.Errorf("bench: replay: %w", err)
	}
	if !sum.Committed {
		return Figure{}, fmt.Errorf("bench: replay returned before committing every event")
	}
	res.Replay = sum
	if res.Stored, err = st.EventCount(ctx); err != nil {
		return Figure{}, err
	}
	f := figure(FigEndToEnd, "End to end: replay, file to committed rows",
		sum.Accepted, time.Duration(sum.Seconds*float64(time.Second)), "events/s")
	f.Seconds, f.PerSec = sum.Seconds, sum.EventsPerSec
	cfg.Progress(fmt.Sprintf("end to end: %d events in %.2fs: %.0f events/s (%d dead-lettered, %d stored)",
		sum.Accepted, sum.Seconds, sum.EventsPerSec, sum.DeadLettered, res.Stored))
	return f, nil
}

// measureStages replays the workload again into a scratch schema and key prefix of its
// own (both removed afterwards) with the stages named in only, or every stage when only
// is nil, and returns the figure and the names of the stages it ran.
func measureStages(ctx context.Context, admin *pgx.Conn, rdb *redis.Client, res *Result, w *workload, cfg Config, tag string, only []string) (f Figure, names []string, err error) {
	schema, prefix := res.Schema+"_"+tag, res.Prefix+":"+tag
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return f, nil, fmt.Errorf("bench: create schema %s: %w", schema, err)
	}
	defer func() {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, derr := admin.Exec(c, "DROP SCHEMA "+schema+" CASCADE"); derr != nil {
			err = errors.Join(err, fmt.Errorf("bench: drop schema %s: %w", schema, derr))
		}
		if derr := deletePrefix(c, rdb, prefix); derr != nil {
			err = errors.Join(err, derr)
		}
	}()
	dbURL, err := withSearchPath(cfg.DatabaseURL, schema)
	if err != nil {
		return f, nil, err
	}
	st, err := store.Open(ctx, store.Config{URL: dbURL, Logger: cfg.Logger})
	if err != nil {
		return f, nil, fmt.Errorf("bench: open store in %s: %w", schema, err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return f, nil, fmt.Errorf("bench: migrate %s: %w", schema, err)
	}
	scfg := stream.Config{Prefix: prefix, Shards: cfg.Shards}
	var stages []pipeline.Stage
	for _, s := range cfg.AllStages(st, rdb, scfg) {
		if only == nil || slices.Contains(only, s.Group) {
			stages = append(stages, s)
			names = append(names, s.Group)
		}
	}
	name, label := FigAllStages, "End to end, every stage on ("+strings.Join(names, ", ")+")"
	if only != nil {
		name, label = FigStagePrefix+tag, "Stage "+tag+" alone (replay, file to committed state)"
	}
	cfg.Progress(fmt.Sprintf("%s: replaying %d events with %s", tag, res.Settings.Events, strings.Join(names, ", ")))
	sum, err := pipeline.Replay(ctx, rdb, st, scfg, pipeline.ReplayConfig{
		Files: []string{w.path}, Logger: cfg.Logger, Stages: stages,
		Progress: func(s pipeline.Summary) {
			cfg.Progress(fmt.Sprintf("%s: accepted %d (%.0f events/s so far)", tag, s.Accepted, s.EventsPerSec))
		},
	})
	if err != nil {
		return f, nil, fmt.Errorf("bench: replay with %s: %w", strings.Join(names, ", "), err)
	}
	f = figure(name, label, sum.Accepted, time.Duration(sum.Seconds*float64(time.Second)), "events/s")
	f.Seconds, f.PerSec = sum.Seconds, sum.EventsPerSec
	cfg.Progress(fmt.Sprintf("%s: %d events in %.2fs: %.0f events/s", tag, sum.Accepted, sum.Seconds, sum.EventsPerSec))
	return f, names, nil
}

func figure(name, label string, n int64, d time.Duration, unit string) Figure {
	f := Figure{Name: name, Label: label, Count: n, Seconds: d.Seconds(), Unit: unit}
	if f.Seconds > 0 {
		f.PerSec = float64(n) / f.Seconds
	}
	return f
}

func randomID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
