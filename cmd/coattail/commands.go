package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/analytics/demo"
	"github.com/coattailcapital/coattail/api"
	"github.com/coattailcapital/coattail/bot/console"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/stream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"
)

// parseInterspersed parses flags that may come after positional arguments
// (`coattail wallet 0xabc --json`) and returns the positionals.
func parseInterspersed(fs *flag.FlagSet, c *config, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, c, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		i := 0
		for i < len(rest) && !strings.HasPrefix(rest[i], "-") {
			pos = append(pos, rest[i])
			i++
		}
		if i == len(rest) {
			return pos, nil
		}
		args = rest[i:]
	}
}

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

func cmdMigrate(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("migrate", "")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	log := c.logger(a.stderr)
	d, err := a.connect(ctx, c, log, false)
	if err != nil {
		return err
	}
	defer d.close()
	done, err := d.st.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "applied %d migration(s); schema is current\n", len(done))
	return nil
}

func cmdRun(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("run", "[flags]")
	seed := fs.Int64("demo-seed", 1, "seed of the demo market (the same seed plays the same market)")
	// One tick a second keeps the demo's wallets at a human pace (a noise trader's
	// busiest minute: 11-19 trades), so the whale profiler's absolute bot thresholds
	// (30 trades a minute) flag its bots and not everyone.
	tps := fs.Float64("demo-speed", 1, "demo market ticks per second (each tick is 1/speed seconds of event time)")
	wallets := fs.Int("demo-wallets", 60, "wallets trading in the demo market")
	noDemo := fs.Bool("no-demo", false, "do not play the demo market (serve and process what other sources produce)")
	sources := fs.String("sources", env(a.getenv, "SOURCES", "demo"), "comma-separated sources: demo, binance, coinbase, hyperliquid (env COATTAIL_SOURCES; each reads its COATTAIL_<SOURCE>_* settings)")
	noChat := fs.Bool("no-chat", false, "do not open the console chat even on a terminal")
	demoHistory := fs.Duration("demo-history", 2*time.Hour, "start the demo market this far in the past and catch up at once (0: start now)")
	rescoreEveryF := rescoreEvery(fs, a.getenv)
	if err := parse(fs, c, args); err != nil {
		return err
	}
	if *tps <= 0 || *tps > 1000 {
		return fmt.Errorf("%w: --demo-speed must be in (0, 1000]", errUsage)
	}
	bc, err := readBotConfig(a.getenv)
	if err != nil {
		return err
	}
	if *demoHistory < 0 || *demoHistory > 7*24*time.Hour {
		return fmt.Errorf("%w: --demo-history must be between 0 and 168h", errUsage)
	}
	names, err := parseSources(*sources)
	if err != nil {
		return err
	}
	if *noDemo {
		names = slices.DeleteFunc(names, func(n string) bool { return n == "demo" })
	}
	chat := a.interactive && !*noChat
	if chat && a.getenv("COATTAIL_LOG_LEVEL") == "" && !flagSet(fs, "log-level") {
		c.LogLevel = "warn" // keep the chat readable; set COATTAIL_LOG_LEVEL=info for more
	}
	log := c.logger(a.stderr)
	d, err := a.connect(ctx, c, log, true)
	if err != nil {
		return err
	}
	defer d.close()
	d.requireEveryStage()
	reg := newRegistry()
	m := pipeline.NewMetrics(reg)
	r, err := newRouter(d.st, log)
	if err != nil {
		return err
	}
	tg, err := telegramBot(bc, r, log)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	if err := startRescorer(gctx, g, d.st, log, *rescoreEveryF); err != nil {
		return err
	}
	srv := api.New(api.Config{Addr: c.HTTPAddr, Store: d.st, Redis: d.rdb, Gatherer: reg, Logger: log, Streams: d.scf})
	g.Go(func() error { return srv.Run(gctx) })
	stages := buildStages(d, stageCatalog())
	registerStageMetrics(reg, d, stages)
	if _, err := runStages(gctx, g, d, stages, stream.GroupConfig{Logger: log, Block: 200 * time.Millisecond}, m); err != nil {
		return err
	}
	startSignalSide(gctx, g, d)
	step := time.Duration(float64(time.Second) / *tps)
	// The demo market starts --demo-history in the past and catches up at once, so the
	// leaderboard, bars and profiles have something to show from the first minute; on
	// a database with events of an earlier run, only after them.
	var newest time.Time
	if slices.Contains(names, "demo") {
		if newest, err = d.st.NewestEventTime(ctx); err != nil {
			return err
		}
	}
	start, backlog := demoStart(time.Now(), *demoHistory, step, newest)
	if backlog < int(*demoHistory/step) {
		fmt.Fprintf(a.stderr, "coattail: this database has events up to %s: the demo market starts after them, with %s of history instead of %s\n",
			newest.Format(time.RFC3339), (time.Duration(backlog) * step).Round(time.Second), *demoHistory)
	}
	mk, err := demo.New(demo.Config{Seed: *seed, Wallets: *wallets, Step: step, Start: start,
		FirstID: uint64(start.UnixMicro())})
	if err != nil {
		return fmt.Errorf("%w: demo market: %v", errUsage, err)
	}
	err = startSources(gctx, g, names, d, m, a.getenv, func(in *pipeline.Ingress) *pipeline.Demo {
		return &pipeline.Demo{Market: mk, Ingress: in, TicksPerSec: *tps, Backlog: backlog}
	})
	if err != nil {
		cancel()
		_ = g.Wait()
		return err
	}
	fmt.Fprintf(a.stderr, "coattail: serving http://%s (dashboard, /metrics, /healthz); sources: %s\n",
		c.HTTPAddr, describeSources(names, *seed, *tps))
	if tg != nil {
		g.Go(func() error { return tg(gctx) })
		fmt.Fprintln(a.stderr, "coattail: Telegram bot on (COATTAIL_TELEGRAM_TOKEN)")
	}
	var alertsOut io.Writer // the console shows alerts while its chat is open
	if chat {
		alertsOut = a.stdout
	}
	disp, err := alertDispatcher(bc, d.st, log, reg, alertsOut)
	if err != nil {
		cancel()
		_ = g.Wait()
		return err
	}
	if disp != nil {
		g.Go(func() error { return disp.Run(gctx) })
	}
	if chat {
		g.Go(func() error {
			defer cancel() // leaving the chat stops the system
			return console.Run(gctx, a.stdin, a.stdout, r, console.Options{})
		})
	} else {
		fmt.Fprintln(a.stderr, "coattail: no terminal on stdin: running without the console chat; Ctrl-C or SIGTERM stops")
	}
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

func cmdReplay(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("replay", "[--until RFC3339] [--speed X|--max] [--json] FILE...")
	until := fs.String("until", "", "skip events later than this RFC 3339 time")
	speed := fs.Float64("speed", 0, "pace events by event time, X times real time (default: as fast as possible)")
	max := fs.Bool("max", false, "as fast as possible (the default)")
	asJSON := fs.Bool("json", false, "print a JSON summary as the last line")
	format := fs.String("format", "", "force the input format instead of detecting it")
	wallet := fs.String("wallet", "", "wallet of Hyperliquid userFills files that do not name one")
	noWorkers := fs.Bool("no-workers", false, "do not run the stages in-process (running workers commit; replay still waits)")
	stageSpec := fs.String("stage", "all", "comma-separated stages to run and wait for, or all (available: "+stageNames()+")")
	quiet := fs.Bool("quiet", false, "no progress lines")
	strict := fs.Bool("strict", false, "also apply the live data-quality gate (duplicates, price deviation, zero-value and self transfers, decimals) to the replayed input")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the replay to this file")
	files, err := parseInterspersed(fs, c, args)
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if len(files) == 0 {
		return fmt.Errorf("%w: no input files (coattail replay FILE...)", errUsage)
	}
	if *max && *speed != 0 {
		return fmt.Errorf("%w: --max and --speed exclude each other", errUsage)
	}
	if *speed < 0 {
		return fmt.Errorf("%w: --speed must be positive", errUsage)
	}
	var untilT time.Time
	if *until != "" {
		if untilT, err = time.Parse(time.RFC3339Nano, *until); err != nil {
			return fmt.Errorf("%w: --until %q: want RFC 3339, e.g. 2026-02-04T10:00:00Z", errUsage, *until)
		}
	}
	defs, err := selectStages(*stageSpec)
	if err != nil {
		return err
	}
	log := c.logger(a.stderr)
	d, err := a.connect(ctx, c, log, true)
	if err != nil {
		return err
	}
	defer d.close()
	cfg := pipeline.ReplayConfig{Files: files, Until: untilT, Speed: *speed, Format: *format, Wallet: *wallet,
		NoWorkers: *noWorkers, Strict: *strict, Logger: log, Stages: buildStages(d, defs)}
	if !*quiet {
		cfg.Progress = func(s pipeline.Summary) {
			fmt.Fprintf(a.stderr, "replay: read %d, accepted %d, dead-lettered %d (%.0f events/s)\n",
				s.Read, s.Accepted, s.DeadLettered, s.EventsPerSec)
		}
	}
	sum, err := pipeline.Replay(ctx, d.rdb, d.st, d.scf, cfg)
	if err != nil {
		return err
	}
	if hasSignalStage(defs) {
		if err := drainSignalSide(ctx, d); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.stdout, "read %d records from %d file(s) in %.2fs: accepted %d, dead-lettered %d, skipped after --until %d (%.0f events/s)\n",
		sum.Read, sum.Files, sum.Seconds, sum.Accepted, sum.DeadLettered, sum.SkippedUntil, sum.EventsPerSec)
	for _, r := range sortedKeys(sum.ByReason) {
		fmt.Fprintf(a.stdout, "  dead-lettered %-18s %d\n", r, sum.ByReason[r])
	}
	if *asJSON {
		b, _ := json.Marshal(sum)
		fmt.Fprintln(a.stdout, string(b))
	}
	return nil
}

func cmdChat(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("chat", "")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	log := c.logger(a.stderr)
	d, err := a.connect(ctx, c, log, true)
	if err != nil {
		return err
	}
	defer d.close()
	r, err := newRouter(d.st, log)
	if err != nil {
		return err
	}
	return console.Run(ctx, a.stdin, a.stdout, r, console.Options{})
}

func cmdWorker(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("worker", "[--stage all|book|windows[,...]] [--metrics-addr HOST:PORT]")
	stages := fs.String("stage", "all", "comma-separated stages to run, or all (available: "+stageNames()+")")
	metricsAddr := fs.String("metrics-addr", "", "serve /metrics, /healthz and /readyz on this address (off when empty; give each worker on a host its own port)")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	defs, err := selectStages(*stages)
	if err != nil {
		return err
	}
	log := c.logger(a.stderr)
	d, err := a.connect(ctx, c, log, true)
	if err != nil {
		return err
	}
	defer d.close()
	d.requireEveryStage()
	reg := newRegistry()
	m := pipeline.NewMetrics(reg)
	list := buildStages(d, defs)
	registerStageMetrics(reg, d, list)
	g, gctx := errgroup.WithContext(ctx)
	owners, err := runStages(gctx, g, d, list, stream.GroupConfig{Logger: log}, m)
	if err != nil {
		return err
	}
	if hasSignalStage(defs) {
		startSignalSide(gctx, g, d) // anomaly signals and the paper runner go with the signal stage
	}
	log.Info("worker started", "stages", *stages, "owners", owners, "shards", c.Shards)
	if *metricsAddr != "" {
		srv := api.New(api.Config{Addr: *metricsAddr, Store: d.st, Redis: d.rdb, Gatherer: reg, Logger: log})
		g.Go(func() error { return srv.Run(gctx) })
	}
	return g.Wait()
}

func cmdIngest(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("ingest", "--source demo|binance|coinbase|hyperliquid|ethereum[,...] [--seed N] [--speed TICKS/S] [--from-block N]")
	source := fs.String("source", env(a.getenv, "SOURCES", "demo"), "comma-separated sources to run (demo, binance, coinbase, hyperliquid, ethereum; env COATTAIL_SOURCES)")
	seed := fs.Int64("seed", 1, "demo market seed")
	tps := fs.Float64("speed", 1, "demo ticks per second")
	fromBlock := fs.Uint64("from-block", 0, "ethereum: backfill from this block, over COATTAIL_ETH_FROM_BLOCK and the stored checkpoint")
	metricsAddr := fs.String("metrics-addr", "", "serve /metrics, /healthz and /readyz on this address (off when empty)")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	names, err := parseSources(*source)
	if err != nil {
		return err
	}
	getenv := a.getenv
	if flagSet(fs, "from-block") {
		if *fromBlock == 0 {
			return fmt.Errorf("%w: --from-block must be a block number >= 1", errUsage)
		}
		if !slices.Contains(names, "ethereum") {
			return fmt.Errorf("%w: --from-block applies to the ethereum source, which --source %s does not run", errUsage, strings.Join(names, ","))
		}
		getenv = withFromBlock(a.getenv, *fromBlock)
	}
	if *tps <= 0 || *tps > 1000 {
		return fmt.Errorf("%w: --speed must be in (0, 1000]", errUsage)
	}
	log := c.logger(a.stderr)
	d, err := a.connect(ctx, c, log, true)
	if err != nil {
		return err
	}
	defer d.close()
	step := time.Duration(float64(time.Second) / *tps)
	start := time.Now().UTC().Truncate(step)
	mk, err := demo.New(demo.Config{Seed: *seed, Step: step, Start: start, FirstID: uint64(start.UnixMicro())})
	if err != nil {
		return err
	}
	reg := newRegistry()
	g, gctx := errgroup.WithContext(ctx)
	err = startSources(gctx, g, names, d, pipeline.NewMetrics(reg), getenv, func(in *pipeline.Ingress) *pipeline.Demo {
		return &pipeline.Demo{Market: mk, Ingress: in, TicksPerSec: *tps}
	})
	if err != nil {
		return err
	}
	if *metricsAddr != "" {
		srv := api.New(api.Config{Addr: *metricsAddr, Store: d.st, Redis: d.rdb, Gatherer: reg, Logger: log})
		g.Go(func() error { return srv.Run(gctx) })
	}
	log.Info("ingest started", "sources", names)
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// demoStart is where the demo market of a run starts and how many ticks it catches up:
// history before now, but never before newest (the newest stored event, zero when
// none). The demo market of a seed trades with the same wallets in every run but on a
// price path of its own, so a run whose history overlapped an earlier run's would give
// the same minutes two sets of prices, and the skill scores, measured against those
// prices, would be noise.
func demoStart(now time.Time, history, step time.Duration, newest time.Time) (time.Time, int) {
	now = now.UTC().Truncate(step)
	backlog := int(history / step)
	if !newest.IsZero() {
		after := newest.UTC().Truncate(step).Add(step)
		if n := int(now.Sub(after) / step); n < backlog {
			backlog = max(n, 0)
		}
	}
	return now.Add(-time.Duration(backlog) * step), backlog
}

// describeSources says what run plays, for its start-up line.
func describeSources(names []string, seed int64, tps float64) string {
	if len(names) == 0 {
		return "none (processing what other processes produce)"
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n
		if n == "demo" {
			unit := "ticks/s"
			if tps == 1 {
				unit = "tick/s"
			}
			out[i] = fmt.Sprintf("demo market (seed %d, %.3g %s)", seed, tps, unit)
		}
	}
	return strings.Join(out, ", ")
}

func cmdAPI(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("api", "")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	log := c.logger(a.stderr)
	d, err := a.connect(ctx, c, log, true)
	if err != nil {
		return err
	}
	defer d.close()
	srv := api.New(api.Config{Addr: c.HTTPAddr, Store: d.st, Redis: d.rdb, Gatherer: newRegistry(), Logger: log, Streams: d.scf})
	log.Info("serving", "addr", c.HTTPAddr)
	return srv.Run(ctx)
}

func sortedKeys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
