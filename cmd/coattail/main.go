// Command coattail is Coat Tail Capital in one binary: `coattail run` runs every part in
// one process; the other subcommands run one part or query the state.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/coattailcapital/coattail/alert"
	"github.com/coattailcapital/coattail/paper"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	sigengine "github.com/coattailcapital/coattail/signal"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/redis/go-redis/v9"
)

// app carries the process's environment so commands can be tested in-process.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// interactive reports whether stdin is a terminal (run opens the chat then).
	interactive bool
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, a *app, args []string) error
}

func commands() []command {
	return []command{
		{"run", "run everything in one process on the demo market (default), with HTTP and the console chat", cmdRun},
		{"migrate", "apply the embedded database migrations", cmdMigrate},
		{"replay", "replay interchange NDJSON / native files through the whole pipeline and exit", cmdReplay},
		{"leaderboard", "print the wallet ranking by alpha score (--window, --as-of)", cmdLeaderboard},
		{"wallet", "show one wallet's positions, PnL and alpha score", cmdWallet},
		{"rescore", "recompute the alpha scores from the stored events (--as-of, --window)", cmdRescore},
		{"backfill", "write the history of alpha scores at regular as-of times (--every, --from, --to)", cmdBackfill},
		{"simulate", "write a synthetic market with planted skilled wallets and its ground truth", cmdSimulate},
		{"eval", "walk-forward evaluation of the alpha ranking against trailing PnL", cmdEval},
		{"chat", "the console chat (the same commands as the Telegram and Discord bots)", cmdChat},
		{"worker", "run the stream workers (several processes share the shards)", cmdWorker},
		{"bot", "run the chat bots (Telegram today) without the rest", cmdBot},
		{"ingest", "run sources into the streams: demo, binance, coinbase, hyperliquid, ethereum", cmdIngest},
		{"bench", "measure replay throughput beside the raw Redis and Postgres rates; write docs/BENCHMARKS.md", cmdBench},
		{"api", "serve HTTP: /healthz, /readyz, /metrics, the JSON API and the dashboard", cmdAPI},
		{"labels", "address labels: import a label CSV, show an address's labels, count them", cmdLabels},
		{"dlq", "dead letters: list, show, stats, replay (under the current rules), purge", cmdDLQ},
		{"signals", "list the latest signals (followed moves, high-alpha moves, consensus)", cmdSignals},
		{"paper", "paper trading: status, positions, history; on|off per scope", cmdPaper},
		{"risk", "the risk gate: show, set NAME VALUE, halt, resume, decisions", cmdRisk},
		{"token", "API tokens for /api/follows: create (shown once), revoke, list", cmdToken},
	}
}

// defaultMemLimit is the Go runtime's soft memory limit unless GOMEMLIMIT is set.
const defaultMemLimit = 768 << 20

// errUsage marks a command-line mistake (exit status 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if os.Getenv("GOGC") == "" {
		// The pipeline allocates many short-lived objects per event; collecting less
		// often buys ~10% throughput for a modest heap (measured in docs/BENCHMARKS.md).
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// ...but not at the price of memory: near this soft limit the collector runs as
		// often as it must, so a process with a large working set (a million wallets'
		// state) stays within it instead of growing to five times its live heap.
		debug.SetMemoryLimit(defaultMemLimit)
	}
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, interactive: stdinIsTerminal()}
	os.Exit(a.main(ctx, os.Args[1:]))
}

// main dispatches to a subcommand and returns the exit status.
func (a *app) main(ctx context.Context, args []string) int {
	name := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if name == "help" || name == "-h" || name == "--help" {
		a.usage()
		return 0
	}
	for _, c := range commands() {
		if c.name == name {
			err := c.run(ctx, a, args)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				fmt.Fprintf(a.stderr, "coattail %s: %v\n", name, err)
				return 2
			case errors.Is(err, context.Canceled) && ctx.Err() != nil:
				return 130
			default:
				fmt.Fprintf(a.stderr, "coattail %s: %v\n", name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(a.stderr, "coattail: unknown command %q\n\n", name)
	a.usage()
	return 2
}

func (a *app) usage() {
	fmt.Fprintln(a.stderr, "Coat Tail Capital — follow the wallets that really beat the market.")
	fmt.Fprintln(a.stderr, "\nUsage: coattail <command> [flags]   (coattail <command> -h for its flags)")
	fmt.Fprintln(a.stderr, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(a.stderr, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(a.stderr, "\nEvery command reads COATTAIL_DATABASE_URL, COATTAIL_REDIS_URL, COATTAIL_HTTP_ADDR,")
	fmt.Fprintln(a.stderr, "COATTAIL_SHARDS, COATTAIL_STREAM_PREFIX, COATTAIL_LOG_LEVEL and COATTAIL_LOG_FORMAT")
	fmt.Fprintln(a.stderr, "(flags override them).")
}

// flags starts a subcommand's flag set with the shared flags.
func (a *app) flags(name, usage string) (*flag.FlagSet, *config) {
	fs := flag.NewFlagSet("coattail "+name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	c := &config{}
	c.register(fs, a.getenv)
	fs.Usage = func() {
		fmt.Fprintf(a.stderr, "Usage: coattail %s %s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs, c
}

// parse parses flags and validates the shared configuration.
func parse(fs *flag.FlagSet, c *config, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := c.validate(); err != nil {
		return fmt.Errorf("%w: invalid configuration:\n%v", errUsage, err)
	}
	return nil
}

// deps are the engines a command connects to.
type deps struct {
	st  *store.Store
	rdb *redis.Client
	log *slog.Logger
	scf stream.Config
	sig signalMetrics // the signal stage's latency histogram (signal_latency.go)
	// flow configures the exchange_flow context signals (COATTAIL_FLOW_MIN_USD, context.go).
	flow sigengine.FlowConfig
	// waker wakes the alert dispatchers after signals committed (alertsCommitted).
	waker *alert.Waker
	// the paper trader and the runner applying its inbox (context.go)
	trader *paper.Trader
	runner *paper.Runner
}

// alertsCommitted returns a Committed callback that wakes the alert dispatchers
// after a batch of signals (and so their outbox rows) committed.
func (d *deps) alertsCommitted() func([]sigengine.Stored) {
	if d.waker == nil {
		d.waker = alert.NewWaker(d.st.Pool(), d.log)
	}
	w := d.waker
	return func(sigs []sigengine.Stored) {
		if len(sigs) > 0 {
			w.Wake()
		}
	}
}

func (d *deps) close() {
	if d.st != nil {
		d.st.Close()
	}
	if d.rdb != nil {
		_ = d.rdb.Close()
	}
}

// connect opens Postgres and Redis, failing fast with a clear error, and migrates.
func (a *app) connect(ctx context.Context, c *config, log *slog.Logger, migrate bool) (*deps, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := store.Open(cctx, store.Config{URL: c.DatabaseURL, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("%w (is Postgres running? `make services` starts it)", err)
	}
	opt, err := redis.ParseURL(c.RedisURL)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("redis url: %w", err)
	}
	// No automatic retries inside go-redis: it would re-send a pipeline or a
	// MULTI/EXEC whose reply was lost, and for XREADGROUP ">" that takes a second batch
	// while the first sits unseen in the pending list, so entries get applied out of
	// order (found by the Redis-restart chaos test). Every caller here retries at its
	// own level, where it knows what is safe to repeat.
	opt.MaxRetries = -1
	redis.SetLogger(redisLogger{log})
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(cctx).Err(); err != nil {
		st.Close()
		_ = rdb.Close()
		return nil, fmt.Errorf("connect to redis at %s: %w (is Redis running? `make services` starts it)", opt.Addr, err)
	}
	d := &deps{st: st, rdb: rdb, log: log, scf: stream.Config{Shards: c.Shards, Prefix: c.StreamPrefix}}
	if d.flow, err = flowConfig(a.getenv); err != nil {
		d.close()
		return nil, err
	}
	if migrate {
		if _, err := st.Migrate(ctx); err != nil {
			d.close()
			return nil, err
		}
		if c.StreamPrefix == "" {
			id, err := st.InstanceID(ctx)
			if err != nil {
				d.close()
				return nil, err
			}
			d.scf.Prefix = "coattail:" + id
		}
	}
	return d, nil
}
