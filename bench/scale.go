package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// How cost grows: the figures here run the coattail binary itself as separate
// processes, as operators do, so the memory of one process and the throughput of
// several can be read off the operating system.

// TargetRSSBytes is the memory bound of a process holding 1M wallets in its book.
const TargetRSSBytes = 1 << 30

// ScaleConfig configures RunScale.
type ScaleConfig struct {
	DatabaseURL string
	RedisURL    string
	// Binary is the coattail executable the figures run. Required.
	Binary string
	// Wallets is how many distinct wallets the memory figure puts in the book (one
	// fill each). 0 skips it.
	Wallets int
	// Events is the size of the demo workload of the worker-count figure. 0 skips it.
	Events int
	// Workers lists the worker-process counts compared. Defaults to 1 and 3.
	Workers []int
	// Shards of the runs. Defaults to 8.
	Shards int
	// Seed of the demo market. Defaults to 1.
	Seed int64
	// TempDir for the generated files. Defaults to os.TempDir().
	TempDir string
	// Progress receives one line at a time. Defaults to discarding them.
	Progress func(string)
}

// WalletsFigure is the memory of one replay process with many wallets in its book.
type WalletsFigure struct {
	Wallets     int     `json:"wallets"`
	Seconds     float64 `json:"seconds"`
	PerSec      float64 `json:"events_per_sec"`
	MaxRSSBytes int64   `json:"max_rss_bytes"`
	Positions   int64   `json:"positions"` // rows in the book afterwards
	Met         bool    `json:"met"`       // MaxRSSBytes < TargetRSSBytes
}

// WorkersFigure is the throughput of a replay committed by n worker processes.
type WorkersFigure struct {
	Workers int     `json:"workers"`
	Events  int64   `json:"events"`
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"events_per_sec"`
	// OfOne is PerSec / the one-worker PerSec.
	OfOne float64 `json:"of_one,omitempty"`
}

// ScaleResult is what RunScale measured.
type ScaleResult struct {
	Wallets *WalletsFigure  `json:"wallets,omitempty"`
	Workers []WorkersFigure `json:"workers,omitempty"`
	// WorkersMet: no worker count is slower than one worker.
	WorkersMet bool `json:"workers_met"`
}

func (c ScaleConfig) withDefaults() ScaleConfig {
	if c.DatabaseURL == "" {
		c.DatabaseURL = Config{}.withDefaults().DatabaseURL
	}
	if c.RedisURL == "" {
		c.RedisURL = Config{}.withDefaults().RedisURL
	}
	if len(c.Workers) == 0 {
		c.Workers = []int{1, 3}
	}
	if c.Shards == 0 {
		c.Shards = 8
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Progress == nil {
		c.Progress = func(string) {}
	}
	return c
}

// RunScale measures the memory of a replay with cfg.Wallets wallets and the throughput
// of 1..n worker processes, each in a scratch schema and key prefix removed afterwards.
func RunScale(ctx context.Context, cfg ScaleConfig) (*ScaleResult, error) {
	cfg = cfg.withDefaults()
	if cfg.Binary == "" {
		return nil, errors.New("bench: scale figures need the coattail binary")
	}
	for _, n := range cfg.Workers {
		if n < 1 || n > 64 {
			return nil, fmt.Errorf("bench: worker count %d: must be 1..64", n)
		}
	}
	dir, err := os.MkdirTemp(cfg.TempDir, "coattail-scale-")
	if err != nil {
		return nil, fmt.Errorf("bench: temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	res := &ScaleResult{}
	if cfg.Wallets > 0 {
		f, err := measureWallets(ctx, cfg, dir)
		if err != nil {
			return res, err
		}
		res.Wallets = f
	}
	if cfg.Events > 0 {
		w, err := generate(dir, cfg.Seed, cfg.Events)
		if err != nil {
			return res, err
		}
		w.rows = nil // only the file is needed
		res.WorkersMet = true
		var one float64
		for _, n := range cfg.Workers {
			f, err := measureWorkers(ctx, cfg, w.path, n)
			if err != nil {
				return res, err
			}
			if n == 1 {
				one = f.PerSec
			}
			if one > 0 {
				f.OfOne = f.PerSec / one
				if n > 1 && f.OfOne < 1 {
					res.WorkersMet = false
				}
			}
			res.Workers = append(res.Workers, f)
		}
	}
	return res, nil
}

// scratch is a schema and key prefix of one figure, and the environment that points
// the binary at them.
type scratch struct {
	schema, prefix string
	env            []string
	cfg            ScaleConfig
}

func newScratch(ctx context.Context, cfg ScaleConfig) (*scratch, error) {
	id := randomID()
	s := &scratch{schema: "bench_" + id, prefix: "bench:" + id, cfg: cfg}
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("bench: connect to postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+s.schema); err != nil {
		return nil, fmt.Errorf("bench: create schema: %w", err)
	}
	url, err := withSearchPath(cfg.DatabaseURL, s.schema)
	if err != nil {
		return nil, err
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COATTAIL_") {
			s.env = append(s.env, kv)
		}
	}
	s.env = append(s.env, "COATTAIL_DATABASE_URL="+url, "COATTAIL_REDIS_URL="+cfg.RedisURL,
		"COATTAIL_STREAM_PREFIX="+s.prefix, fmt.Sprintf("COATTAIL_SHARDS=%d", cfg.Shards), "COATTAIL_LOG_LEVEL=warn")
	return s, nil
}

// close removes the scratch schema and keys.
func (s *scratch) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	if conn, err := pgx.Connect(ctx, s.cfg.DatabaseURL); err == nil {
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+s.schema+" CASCADE"); err != nil {
			errs = append(errs, fmt.Errorf("bench: drop schema %s: %w", s.schema, err))
		}
		_ = conn.Close(ctx)
	} else {
		errs = append(errs, err)
	}
	if opt, err := redis.ParseURL(s.cfg.RedisURL); err == nil {
		rdb := redis.NewClient(opt)
		errs = append(errs, deletePrefix(ctx, rdb, s.prefix))
		_ = rdb.Close()
	}
	return errors.Join(errs...)
}

func (s *scratch) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.cfg.Binary, args...)
	cmd.Env = s.env
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// run runs the binary to completion; the error carries its stderr.
func (s *scratch) run(ctx context.Context, args ...string) (*os.ProcessState, error) {
	cmd := s.command(ctx, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return cmd.ProcessState, fmt.Errorf("bench: coattail %s: %w\n%s", strings.Join(args, " "), err, tail(stderr.String()))
	}
	return cmd.ProcessState, nil
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

func (s *scratch) count(ctx context.Context, table string) (int64, error) {
	url, _ := withSearchPath(s.cfg.DatabaseURL, s.schema)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var n int64
	err = conn.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
	return n, err
}

// writeWalletFills writes one opening fill for each of n distinct wallets.
func writeWalletFills(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: create wallets file: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	coins := []string{"BTC", "ETH", "SOL", "HYPE"}
	for i := 0; i < n; i++ {
		ts := t0.Add(time.Duration(i) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
		fmt.Fprintf(w, `{"kind":"fill","src":"hyperliquid","ts":"%s","wallet":"0x%040x","coin":"%s","side":"buy","px":"%d.5","sz":"1.25","start_position":"0","fee":"0.01","id":"%d"}`+"\n",
			ts, i+1, coins[i%len(coins)], 100+i%900, i+1)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("bench: write wallets file: %w", err)
	}
	return f.Close()
}

func measureWallets(ctx context.Context, cfg ScaleConfig, dir string) (*WalletsFigure, error) {
	path := filepath.Join(dir, "wallets.ndjson")
	cfg.Progress(fmt.Sprintf("memory: writing one fill for each of %d wallets", cfg.Wallets))
	if err := writeWalletFills(path, cfg.Wallets); err != nil {
		return nil, err
	}
	s, err := newScratch(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer s.close()
	cfg.Progress(fmt.Sprintf("memory: coattail replay of %d wallets' fills (schema %s)", cfg.Wallets, s.schema))
	t0 := time.Now()
	ps, err := s.run(ctx, "replay", "--quiet", path)
	if err != nil {
		return nil, err
	}
	took := time.Since(t0)
	f := &WalletsFigure{Wallets: cfg.Wallets, Seconds: took.Seconds(), PerSec: float64(cfg.Wallets) / took.Seconds()}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		f.MaxRSSBytes = ru.Maxrss * 1024 // kilobytes on Linux
	}
	if f.Positions, err = s.count(ctx, "positions"); err != nil {
		return nil, err
	}
	f.Met = f.MaxRSSBytes > 0 && f.MaxRSSBytes < TargetRSSBytes
	cfg.Progress(fmt.Sprintf("memory: %d wallets in %.1fs, peak RSS %.0f MiB, %d positions", cfg.Wallets, f.Seconds, float64(f.MaxRSSBytes)/(1<<20), f.Positions))
	return f, nil
}

func measureWorkers(ctx context.Context, cfg ScaleConfig, path string, n int) (WorkersFigure, error) {
	s, err := newScratch(ctx, cfg)
	if err != nil {
		return WorkersFigure{}, err
	}
	defer s.close()
	if _, err := s.run(ctx, "migrate"); err != nil {
		return WorkersFigure{}, err
	}
	cfg.Progress(fmt.Sprintf("workers: replay committed by %d worker process(es)", n))
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	var workers []*exec.Cmd
	defer func() {
		for _, w := range workers {
			_ = w.Process.Signal(os.Interrupt)
		}
		for _, w := range workers {
			_ = w.Wait()
		}
	}()
	for i := 0; i < n; i++ {
		w := s.command(wctx, "worker")
		w.Stderr = io.Discard
		if err := w.Start(); err != nil {
			return WorkersFigure{}, fmt.Errorf("bench: start worker: %w", err)
		}
		workers = append(workers, w)
	}
	time.Sleep(1500 * time.Millisecond) // let them join the group and split the shards
	t0 := time.Now()
	if _, err := s.run(ctx, "replay", "--no-workers", "--quiet", path); err != nil {
		return WorkersFigure{}, err
	}
	took := time.Since(t0)
	events, err := s.count(ctx, "events")
	if err != nil {
		return WorkersFigure{}, err
	}
	f := WorkersFigure{Workers: n, Events: events, Seconds: took.Seconds(), PerSec: float64(events) / took.Seconds()}
	cfg.Progress(fmt.Sprintf("workers: %d process(es): %d events in %.2fs, %.0f events/s", n, events, f.Seconds, f.PerSec))
	return f, nil
}

// WriteMarkdown writes the scale section of the benchmark report.
func (r *ScaleResult) WriteMarkdown(w io.Writer, command string) error {
	var b strings.Builder
	b.WriteString("## Memory and worker processes\n\n")
	fmt.Fprintf(&b, "Measured by the same command (`%s`), running the coattail binary as separate processes.\n\n", command)
	if f := r.Wallets; f != nil {
		verdict := "met"
		if !f.Met {
			verdict = "MISSED"
		}
		fmt.Fprintf(&b, "- **Memory with %s wallets**: `coattail replay` of one opening fill per wallet (%s positions in the book afterwards) "+
			"peaked at **%.0f MiB** RSS (target under 1 GiB: %s), %.1f s, %s events/s.\n",
			thousands(float64(f.Wallets)), thousands(float64(f.Positions)), float64(f.MaxRSSBytes)/(1<<20), verdict, f.Seconds, thousands(f.PerSec))
	}
	if len(r.Workers) > 0 {
		b.WriteString("\n| worker processes | events | seconds | events/s | vs one worker |\n|---:|---:|---:|---:|---:|\n")
		for _, f := range r.Workers {
			fmt.Fprintf(&b, "| %d | %d | %.2f | %s | %.2fx |\n", f.Workers, f.Events, f.Seconds, thousands(f.PerSec), f.OfOne)
		}
		verdict := "met: no worker count is slower than one"
		if !r.WorkersMet {
			verdict = "MISSED: more workers were slower than one"
		}
		fmt.Fprintf(&b, "\n`coattail replay --no-workers` produced, `coattail worker` processes committed (timed until every event is committed). Target: throughput with 3 workers not below 1 — %s.\n\n", verdict)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
