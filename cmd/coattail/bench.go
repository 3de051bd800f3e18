package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/coattailcapital/coattail/bench"
)

// cmdBench measures replay throughput beside the raw Redis and Postgres rates, in one
// run, and prints a table, JSON, and/or rewrites a Markdown report.
// analysisMarker starts the hand-written part of the benchmark report, which
// `coattail bench --out` keeps when it rewrites the measured part.
const analysisMarker = "<!-- analysis: kept by coattail bench -->"

func cmdBench(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("bench", "[--events N] [--json] [--out FILE]")
	events := fs.Int("events", 200000, "demo events to generate and replay (also the N of the raw Redis and Postgres figures)")
	asJSON := fs.Bool("json", false, "print a JSON object instead of the table")
	out := fs.String("out", "", "rewrite FILE (e.g. docs/BENCHMARKS.md) as a Markdown report")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	if *events < 1 || *events > bench.MaxEvents {
		return fmt.Errorf("%w: --events must be 1..%d", errUsage, bench.MaxEvents)
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
		Logger:      c.logger(a.stderr),
		Progress:    func(line string) { fmt.Fprintln(a.stderr, "bench: "+line) },
	})
	if err != nil {
		return err
	}
	if *out != "" {
		var b bytes.Buffer
		if err := res.WriteMarkdown(&b); err != nil {
			return err
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
		return json.NewEncoder(a.stdout).Encode(res)
	}
	return res.WriteTable(a.stdout)
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
