package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/bench"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/signal"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/redis/go-redis/v9"
)

// cmdBench measures replay throughput beside the raw Redis and Postgres rates, in one
// run, and prints a table, JSON, and/or rewrites a Markdown report.
// analysisMarker starts the hand-written part of the benchmark report, which
// `coattail bench --out` keeps when it rewrites the measured part.
const analysisMarker = "<!-- analysis: kept by coattail bench -->"

func cmdBench(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("bench", "[--events N] [--wallets N] [--workers 1,3] [--latency 1000,5000,20000] [--followers 10000 [--followers-scale 10]] [--json] [--out FILE]")
	events := fs.Int("events", 200000, "demo events to generate and replay (also the N of the raw Redis and Postgres figures)")
	asJSON := fs.Bool("json", false, "print a JSON object instead of the table")
	out := fs.String("out", "", "rewrite FILE (e.g. docs/BENCHMARKS.md) as a Markdown report")
	wallets := fs.Int("wallets", 0, "also measure the peak memory of a replay with this many wallets in the book (e.g. 1000000; 0 skips)")
	workerCounts := fs.String("workers", "", "also compare replay throughput committed by these numbers of worker processes (e.g. 1,3)")
	latency := fs.String("latency", "", "also measure event-to-signal and event-to-alert latency at these steady loads in events/s (e.g. 1000,5000,20000)")
	latencyFor := fs.Duration("latency-duration", 10*time.Second, "how long each latency load runs")
	followers := fs.Int("followers", 0, "also time one signal delivered to this many followers under Telegram's limits, against the floor of followers / 30 msg/s (e.g. 10000; 0 skips)")
	followersScale := fs.Float64("followers-scale", 10, "run the --followers figure at Telegram's rates times this: 1 is the real limits (10,000 followers: 333 s), 10 takes a tenth of that")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	if *events < 1 || *events > bench.MaxEvents {
		return fmt.Errorf("%w: --events must be 1..%d", errUsage, bench.MaxEvents)
	}
	if *followers < 0 || *followers > 1_000_000 {
		return fmt.Errorf("%w: --followers must be 0..1000000", errUsage)
	}
	if !(*followersScale >= 0.01 && *followersScale <= 10_000) {
		return fmt.Errorf("%w: --followers-scale must be 0.01..10000 (1 = Telegram's real limits)", errUsage)
	}
	argv0 := "coattail"
	if len(os.Args) > 0 && filepath.Base(os.Args[0]) == "coattail" {
		argv0 = os.Args[0]
	}
	res, err := bench.Run(ctx, bench.Config{
		DatabaseURL: c.DatabaseURL,
		RedisURL:    c.RedisURL,
		Events:      *events,
		Shards:      c.Shards,
		Command:     commandLine(append([]string{argv0, "bench"}, args...)),
		AllStages:   allStages,
		Logger:      c.logger(a.stderr),
		Progress:    func(line string) { fmt.Fprintln(a.stderr, "bench: "+line) },
	})
	if err != nil {
		return err
	}
	scale, err := runScale(ctx, c, a, *wallets, *workerCounts, *events)
	if err != nil {
		return err
	}
	lat, err := runLatency(ctx, c, a, *latency, *latencyFor)
	if err != nil {
		return err
	}
	fan, err := runAlerts(ctx, c, a, *followers, *followersScale)
	if err != nil {
		return err
	}
	if *out != "" {
		var b bytes.Buffer
		if err := res.WriteMarkdown(&b); err != nil {
			return err
		}
		if scale != nil {
			if err := scale.WriteMarkdown(&b, res.Command); err != nil {
				return err
			}
		}
		if lat != nil {
			if err := lat.WriteMarkdown(&b); err != nil {
				return err
			}
		}
		if fan != nil {
			if err := fan.WriteMarkdown(&b); err != nil {
				return err
			}
		}
		// Hand-written analysis below the marker survives a regeneration.
		if old, err := os.ReadFile(*out); err == nil {
			if i := bytes.Index(old, []byte(analysisMarker)); i >= 0 {
				b.WriteString("\n")
				b.Write(old[i:])
			}
		}
		if err := writeFileAtomic(*out, b.Bytes()); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "bench: wrote %s\n", *out)
	}
	if *asJSON {
		return json.NewEncoder(a.stdout).Encode(struct {
			*bench.Result
			Scale   *bench.ScaleResult   `json:"scale,omitempty"`
			Latency *bench.LatencyResult `json:"latency,omitempty"`
			Alerts  *bench.AlertResult   `json:"alerts,omitempty"`
		}{res, scale, lat, fan})
	}
	if err := res.WriteTable(a.stdout); err != nil {
		return err
	}
	if scale != nil {
		if err := scale.WriteMarkdown(a.stdout, res.Command); err != nil {
			return err
		}
	}
	if lat != nil {
		if err := lat.WriteMarkdown(a.stdout); err != nil {
			return err
		}
	}
	if fan != nil {
		return fan.WriteMarkdown(a.stdout)
	}
	return nil
}

// runAlerts times one signal's delivery to followers users under Telegram's
// limits times scale, when asked for (followers > 0).
func runAlerts(ctx context.Context, c *config, a *app, followers int, scale float64) (*bench.AlertResult, error) {
	if followers == 0 {
		return nil, nil
	}
	res, err := bench.RunAlerts(ctx, bench.AlertsConfig{DatabaseURL: c.DatabaseURL, Followers: followers, Scale: scale,
		Progress: func(line string) { fmt.Fprintln(a.stderr, "bench: "+line) }})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// runLatency measures latency at the steady loads listed in rates, when asked for.
func runLatency(ctx context.Context, c *config, a *app, rates string, each time.Duration) (*bench.LatencyResult, error) {
	if rates == "" {
		return nil, nil
	}
	var rs []int
	for _, f := range strings.Split(rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1_000_000 {
			return nil, fmt.Errorf("%w: --latency %q: want a comma-separated list of events/s, e.g. 1000,5000,20000", errUsage, rates)
		}
		rs = append(rs, n)
	}
	if each < time.Second || each > time.Hour {
		return nil, fmt.Errorf("%w: --latency-duration must be 1s..1h", errUsage)
	}
	return bench.RunLatency(ctx, bench.LatencyConfig{DatabaseURL: c.DatabaseURL, RedisURL: c.RedisURL, Rates: rs,
		Duration: each, Shards: c.Shards, Stages: benchStages, Progress: func(line string) { fmt.Fprintln(a.stderr, "bench: "+line) }})
}

// runScale measures memory with many wallets and throughput with several worker
// processes, when asked for; it runs this very binary.
func runScale(ctx context.Context, c *config, a *app, wallets int, counts string, events int) (*bench.ScaleResult, error) {
	if wallets == 0 && counts == "" {
		return nil, nil
	}
	if wallets < 0 || wallets > 10_000_000 {
		return nil, fmt.Errorf("%w: --wallets must be 0..10000000", errUsage)
	}
	var ns []int
	if counts != "" {
		for _, f := range strings.Split(counts, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > 64 {
				return nil, fmt.Errorf("%w: --workers %q: want a comma-separated list of counts 1..64, e.g. 1,3", errUsage, counts)
			}
			ns = append(ns, n)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: find own executable: %w", err)
	}
	cfg := bench.ScaleConfig{DatabaseURL: c.DatabaseURL, RedisURL: c.RedisURL, Binary: self, Wallets: wallets,
		Workers: ns, Shards: c.Shards, Progress: func(line string) { fmt.Fprintln(a.stderr, "bench: "+line) }}
	if len(ns) > 0 {
		cfg.Events = events
	}
	return bench.RunScale(ctx, cfg)
}

// commandLine renders argv as a shell command, quoting what needs it and hiding URL
// passwords (the command is written into a report).
func commandLine(argv []string) string {
	q := make([]string, len(argv))
	for i, s := range argv {
		if name, val, ok := strings.Cut(s, "="); ok && strings.Contains(val, "://") {
			s = name + "=" + redact(val)
		} else if strings.Contains(s, "://") {
			s = redact(s)
		}
		if s == "" || strings.ContainsAny(s, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
			s = "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
		q[i] = s
	}
	return strings.Join(q, " ")
}

// writeFileAtomic replaces path with data through a temporary file in the same
// directory, so a reader never sees half a report.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}

// benchStages are the stages the latency figures run beside the book and signal
// stages (which the latency run builds itself, to observe the signals), so the
// latency is measured with the other stages busy too.
func benchStages(st *store.Store, rdb *redis.Client, scfg stream.Config) []pipeline.Stage {
	var out []pipeline.Stage
	for _, s := range allStages(st, rdb, scfg) {
		if s.Group != pipeline.BookGroup && s.Group != signal.Group {
			out = append(out, s)
		}
	}
	return out
}

// allStages builds every stage of the catalog on st, the way `coattail run` does.
func allStages(st *store.Store, rdb *redis.Client, scfg stream.Config) []pipeline.Stage {
	return buildStages(&deps{st: st, rdb: rdb, scf: scfg, log: slog.New(slog.NewTextHandler(io.Discard, nil))}, stageCatalog())
}
