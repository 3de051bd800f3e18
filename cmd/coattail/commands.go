package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/coattailcapital/coattail/analytics/demo"
	"github.com/coattailcapital/coattail/api"
	"github.com/coattailcapital/coattail/bot/console"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/store"
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
	tps := fs.Float64("demo-speed", 4, "demo market ticks per second (each tick is 1/speed seconds of event time)")
	wallets := fs.Int("demo-wallets", 60, "wallets trading in the demo market")
	noDemo := fs.Bool("no-demo", false, "do not play the demo market (serve and process what other sources produce)")
	sources := fs.String("sources", env(a.getenv, "SOURCES", "demo"), "comma-separated sources: demo, binance, coinbase, hyperliquid (env COATTAIL_SOURCES; each reads its COATTAIL_<SOURCE>_* settings)")
	noChat := fs.Bool("no-chat", false, "do not open the console chat even on a terminal")
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
	srv := api.New(api.Config{Addr: c.HTTPAddr, Store: d.st, Redis: d.rdb, Gatherer: reg, Logger: log})
	g.Go(func() error { return srv.Run(gctx) })
	grp, err := stream.NewGroup(d.rdb, d.scf, stream.GroupConfig{Group: pipeline.BookGroup, Logger: log,
		Block: 200 * time.Millisecond}, pipeline.NewBookSink(d.st))
	if err != nil {
		return err
	}
	grp.SetObserver(m.ObserveBatch(pipeline.BookGroup))
	g.Go(func() error { return grp.Run(gctx) })
	step := time.Duration(float64(time.Second) / *tps)
	start := time.Now().UTC().Truncate(step)
	mk, err := demo.New(demo.Config{Seed: *seed, Wallets: *wallets, Step: step, Start: start,
		FirstID: uint64(start.UnixMicro())})
	if err != nil {
		return fmt.Errorf("%w: demo market: %v", errUsage, err)
	}
	err = startSources(gctx, g, names, d, m, a.getenv, func(in *pipeline.Ingress) *pipeline.Demo {
		return &pipeline.Demo{Market: mk, Ingress: in, TicksPerSec: *tps}
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
	noWorkers := fs.Bool("no-workers", false, "do not run the book stage in-process (running workers commit; replay still waits)")
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
	log := c.logger(a.stderr)
	d, err := a.connect(ctx, c, log, true)
	if err != nil {
		return err
	}
	defer d.close()
	cfg := pipeline.ReplayConfig{Files: files, Until: untilT, Speed: *speed, Format: *format, Wallet: *wallet,
		NoWorkers: *noWorkers, Strict: *strict, Logger: log}
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

func cmdLeaderboard(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("leaderboard", "[--limit N] [--window W] [--json]")
	limit := fs.Int("limit", 10, "rows to print (1..1000)")
	offset := fs.Int("offset", 0, "rows to skip")
	window := fs.String("window", "all", "ranking window (only \"all\" until alpha scoring lands)")
	asJSON := fs.Bool("json", false, "print a JSON array")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	if *limit < 1 || *limit > 1000 {
		return fmt.Errorf("%w: --limit must be 1..1000", errUsage)
	}
	if *window != "all" && *window != "" {
		return fmt.Errorf("%w: --window %q: only \"all\" is available for now", errUsage, *window)
	}
	d, err := a.connect(ctx, c, c.logger(a.stderr), true)
	if err != nil {
		return err
	}
	defer d.close()
	rows, err := d.st.Leaderboard(ctx, store.LeaderboardQuery{Limit: *limit, Offset: *offset, Window: *window})
	if err != nil {
		return err
	}
	if *asJSON {
		if rows == nil {
			rows = []store.LeaderRow{}
		}
		return json.NewEncoder(a.stdout).Encode(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(a.stdout, "no ranked wallets yet: replay a file or run the demo (make run)")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rank\twallet\tscore USD\trealized\tunrealized\tfees\tn\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t\n", r.Rank, r.Wallet, r.Score.StringFixed(2),
			r.RealizedPnl.StringFixed(2), r.UnrealizedPnl.StringFixed(2), r.Fees.StringFixed(2), r.N)
	}
	return tw.Flush()
}

func cmdWallet(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("wallet", "ADDRESS [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterspersed(fs, c, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want exactly one wallet address, e.g. coattail wallet 0x51f63885534cb494f4592a0311551f369bff2b39", errUsage)
	}
	addr := strings.ToLower(pos[0])
	if len(addr) != 42 || !strings.HasPrefix(addr, "0x") || strings.Trim(addr[2:], "0123456789abcdef") != "" {
		return fmt.Errorf("%w: %q is not an address: want 0x followed by 40 hex digits", errUsage, pos[0])
	}
	d, err := a.connect(ctx, c, c.logger(a.stderr), true)
	if err != nil {
		return err
	}
	defer d.close()
	v, err := d.st.Wallet(ctx, addr)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("wallet %s: no fills or positions seen", addr)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(a.stdout).Encode(v)
	}
	fmt.Fprintf(a.stdout, "wallet %s  rank %d  observations %d\n", v.Wallet, v.Rank, v.N)
	fmt.Fprintf(a.stdout, "realized %s  unrealized %s  fees %s  (USD)\n", v.RealizedPnl.StringFixed(2), v.UnrealizedPnl.StringFixed(2), v.Fees.StringFixed(2))
	fmt.Fprintf(a.stdout, "exchange deposits %d (%s USD)  withdrawals %d (%s USD)\n", v.ExchangeFlows.Deposits.Count,
		v.ExchangeFlows.Deposits.USD.StringFixed(2), v.ExchangeFlows.Withdrawals.Count, v.ExchangeFlows.Withdrawals.USD.StringFixed(2))
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "coin\tsize\tentry\tmark\tunrealized\trealized\tn\t")
	for _, p := range v.Positions {
		mark, entry := "-", p.EntryPx.String()
		if p.MarkPx.Valid {
			mark = p.MarkPx.Decimal.String()
		}
		if p.UnknownBasis {
			entry = "unknown"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", p.Coin, p.Size.String(), entry, mark,
			p.UnrealizedPnl.StringFixed(2), p.RealizedPnl.StringFixed(2), p.N)
	}
	return tw.Flush()
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
	fs, c := a.flags("worker", "[--stage book] [--metrics-addr HOST:PORT]")
	stages := fs.String("stage", pipeline.BookGroup, "comma-separated stages to run (available: book)")
	metricsAddr := fs.String("metrics-addr", "", "serve /metrics, /healthz and /readyz on this address (off when empty; give each worker on a host its own port)")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	list := splitCSV(*stages)
	for _, s := range list {
		if s != pipeline.BookGroup {
			return fmt.Errorf("%w: unknown stage %q (available: book)", errUsage, s)
		}
	}
	log := c.logger(a.stderr)
	d, err := a.connect(ctx, c, log, true)
	if err != nil {
		return err
	}
	defer d.close()
	reg := newRegistry()
	m := pipeline.NewMetrics(reg)
	grp, err := stream.NewGroup(d.rdb, d.scf, stream.GroupConfig{Group: pipeline.BookGroup, Logger: log}, pipeline.NewBookSink(d.st))
	if err != nil {
		return err
	}
	grp.SetObserver(m.ObserveBatch(pipeline.BookGroup))
	log.Info("worker started", "stages", list, "owner", grp.Owner(), "shards", c.Shards)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return grp.Run(gctx) })
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
	tps := fs.Float64("speed", 4, "demo ticks per second")
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

// describeSources says what run plays, for its start-up line.
func describeSources(names []string, seed int64, tps float64) string {
	if len(names) == 0 {
		return "none (processing what other processes produce)"
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n
		if n == "demo" {
			out[i] = fmt.Sprintf("demo market (seed %d, %.3g ticks/s)", seed, tps)
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
	srv := api.New(api.Config{Addr: c.HTTPAddr, Store: d.st, Redis: d.rdb, Gatherer: newRegistry(), Logger: log})
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
