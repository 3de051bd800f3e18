package bench

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteTable writes the figures, the ratio and the verdict as an aligned table.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tn\tseconds\trate\tvs reference")
	for _, f := range r.Figures {
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%s %s\t%s\n", f.Label, f.Count, f.Seconds, thousands(f.PerSec), f.Unit, r.versus(f))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write bench table: %w", err)
	}
	_, err := fmt.Fprintf(w, "\n%s\n%s\n", r.ratioLine(), r.verdictLine())
	if err != nil {
		return fmt.Errorf("write bench table: %w", err)
	}
	return nil
}

// WriteMarkdown writes the report docs/BENCHMARKS.md holds.
func (r *Result) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Throughput of the spine beside the raw Redis and Postgres rates it is built on, measured\n")
	b.WriteString("in one run on one machine. This file is generated: re-run the command below (or\n")
	b.WriteString("`make bench`) to refresh it; numbers from another machine or run are not comparable.\n\n")
	fmt.Fprintf(&b, "- Date: %s\n", r.Date.Format("2006-01-02 15:04:05 MST"))
	cmd := r.Command
	if cmd == "" {
		cmd = "coattail bench"
	}
	fmt.Fprintf(&b, "- Command: `%s`\n", cmd)
	m := r.Machine
	fmt.Fprintf(&b, "- Machine: %s/%s, %d CPUs (GOMAXPROCS %d), %s\n", m.GOOS, m.GOARCH, m.NumCPU, m.GOMAXPROCS, m.GoVersion)
	fmt.Fprintf(&b, "- Servers: Redis %s, PostgreSQL %s\n", m.Redis, m.Postgres)
	s := r.Settings
	fmt.Fprintf(&b, "- Workload: %d demo-market events (seed %d; fills, positions, prices, trades), %.0f bytes each on average; "+
		"%d shards end to end; raw Redis %d XADDs per pipeline and XREADGROUP COUNT %d; upserts of %d rows\n\n",
		s.Events, s.Seed, s.AvgBody, s.Shards, s.Pipeline, s.ReadCount, s.UpsertBatch)

	b.WriteString("| measure | n | seconds | rate | vs reference |\n|---|---:|---:|---:|---|\n")
	for _, f := range r.Figures {
		fmt.Fprintf(&b, "| %s | %d | %.3f | %s %s | %s |\n", mdEscape(f.Label), f.Count, f.Seconds, thousands(f.PerSec), f.Unit, r.versus(f))
	}
	fmt.Fprintf(&b, "\n%s\n\n**%s**\n\n", r.ratioLine(), r.verdictLine())
	if all, ok := r.Figure(FigAllStages); ok {
		word := "MISSED"
		if all.PerSec >= TargetAllStagesPerSec {
			word = "met"
		}
		fmt.Fprintf(&b, "**Every stage on (target >= %s events/s): %s — %s events/s, %.2fx of the raw Redis round trip.**\n\n",
			thousands(TargetAllStagesPerSec), word, thousands(all.PerSec), all.OfReference)
	}
	fmt.Fprintf(&b, "The end-to-end run replayed %d events (%d accepted, %d dead-lettered) and left %d rows in the events table.\n\n",
		r.Replay.Read, r.Replay.Accepted, r.Replay.DeadLettered, r.Stored)

	b.WriteString("## What each figure is\n\n")
	b.WriteString("- **Redis XADD**: every event's key and canonical body added to one fresh stream with pipelined XADDs.\n")
	b.WriteString("- **Redis XREADGROUP NOACK**: one consumer reads them back in batches, without acks (as the stages read; their position is their Postgres checkpoint).\n")
	b.WriteString("- **Redis round trip**: the two together (n / total time): the most events per second one stream can carry in and out, with nothing else to do. The end-to-end figure is compared with it.\n")
	b.WriteString("- **Postgres COPY**: the same rows copied in one COPY into a table shaped like `events` (bytea primary key): the fastest way Postgres takes them.\n")
	b.WriteString("- **Postgres unnest upsert**: the book stage's idempotent insert of the same rows, one statement and transaction per batch; compared with COPY.\n")
	b.WriteString("- **End to end**: `pipeline.Replay` of the demo file in-process: read and decode the file, XADD to the shard streams, the book stage's XREADGROUP, one Postgres transaction per batch (events, book, checkpoint); timed until every event is committed.\n")
	b.WriteString("- **Every stage on**: the same replay into a second fresh schema with every stage's consumer group reading the shard streams (the book, the windowed workers, the signal engine), timed until every stage has committed every event.\n")
	b.WriteString("- **Stage X alone**: the same replay with only that stage's consumer group (the book alone is the end-to-end figure).\n\n")
	fmt.Fprintf(&b, "Target: at least %s events/s end to end, and within %dx of the raw Redis round trip.\n", thousands(TargetEventsPerSec), TargetMaxFactor)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write bench markdown: %w", err)
	}
	return nil
}

// versus renders a figure's comparison with its reference.
func (r *Result) versus(f Figure) string {
	if f.Reference == "" {
		return "raw reference"
	}
	ref, ok := r.Figure(f.Reference)
	label := f.Reference
	if ok {
		label = shortName(ref.Name)
	}
	return fmt.Sprintf("%.2fx of %s", f.OfReference, label)
}

func shortName(name string) string {
	switch name {
	case FigRedisXAdd:
		return "Redis XADD"
	case FigRedisRead:
		return "Redis XREADGROUP NOACK"
	case FigRedisRoundTrip:
		return "Redis round trip"
	case FigPGCopy:
		return "Postgres COPY"
	case FigPGUpsert:
		return "Postgres upsert"
	case FigEndToEnd:
		return "end to end"
	case FigAllStages:
		return "every stage on"
	}
	if strings.HasPrefix(name, FigStagePrefix) {
		return "stage " + strings.TrimPrefix(name, FigStagePrefix)
	}
	return name
}

func (r *Result) ratioLine() string {
	e2e, _ := r.Figure(FigEndToEnd)
	rt, _ := r.Figure(FigRedisRoundTrip)
	factor := "n/a"
	if r.Verdict.Ratio > 0 {
		factor = fmt.Sprintf("%.2fx", 1/r.Verdict.Ratio)
	}
	line := fmt.Sprintf("Ratio end to end / raw Redis round trip: %.3f (%s events/s vs %s msg/s; the raw round trip is %s faster).",
		r.Verdict.Ratio, thousands(e2e.PerSec), thousands(rt.PerSec), factor)
	if up, ok := r.Figure(FigPGUpsert); ok && up.PerSec > 0 {
		line += fmt.Sprintf("\nOn the Postgres side, end to end runs at %.2fx of the raw unnest upsert (%s rows/s), "+
			"the statement the book stage writes every event with before its book and checkpoint writes.",
			e2e.PerSec/up.PerSec, thousands(up.PerSec))
	}
	return line
}

func (r *Result) verdictLine() string {
	e2e, _ := r.Figure(FigEndToEnd)
	word := "MISSED"
	if r.Verdict.Met {
		word = "met"
	}
	yes := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "NO"
	}
	return fmt.Sprintf("Target (>= %s events/s end to end, within %dx of the raw Redis round trip): %s — %s events/s (>= %s: %s; within %dx: %s).",
		thousands(TargetEventsPerSec), TargetMaxFactor, word, thousands(e2e.PerSec),
		thousands(TargetEventsPerSec), yes(r.Verdict.FastEnough), TargetMaxFactor, yes(r.Verdict.WithinFactor))
}

// thousands formats v rounded to an integer with comma separators.
func thousands(v float64) string {
	s := strconv.FormatFloat(v, 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
