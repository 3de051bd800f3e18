package main

// coattail dlq: inspect, replay and purge dead letters.
//
// Postgres's dead_letters table is the record of what was rejected; the dead-letter
// stream (<prefix>:dlq) is a tail log of the same rejections as they happen, capped at
// pipeline.DLQMaxLen entries, for watching live. The two are kept consistent where a
// reader of the stream would notice:
//   - replay leaves the stream alone: its entries record that, and when, an input was
//     rejected, which stays true after the input has been replayed;
//   - purge removes what it deletes from the stream too: XTRIM MINID when it selects
//     by age alone (stream ids are millisecond times), XDEL of the matching entries
//     when it selects by reason, so tailing the stream never shows what was purged.
//     An entry written in the same millisecond as the cut-off may survive the trim.

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
)

func cmdDLQ(ctx context.Context, a *app, args []string) error {
	return runSub(ctx, a, "dlq", []subcommand{
		{"list", "[--reason R] [--limit N] [--json]", dlqList},
		{"show", "KEY [--json]", dlqShow},
		{"stats", "[--json]", dlqStats},
		{"replay", "[--reason R] [--dry-run] [--no-workers] [--json]", dlqReplay},
		{"purge", "[--reason R] [--older-than DURATION] --yes", dlqPurge},
	}, args)
}

// deadLetterJSON is a dead letter in the JSON outputs.
type deadLetterJSON struct {
	Key       string    `json:"key"`
	Reason    string    `json:"reason"`
	Source    string    `json:"source"`
	Detail    string    `json:"detail"`
	Raw       string    `json:"raw"`
	CreatedAt time.Time `json:"created_at"`
}

func toJSON(d store.StoredDeadLetter) deadLetterJSON {
	return deadLetterJSON{Key: hex.EncodeToString(d.Key), Reason: d.Reason, Source: d.Source, Detail: d.Detail,
		Raw: d.Raw, CreatedAt: d.CreatedAt}
}

// oneLine makes s printable on one table line of at most n runes: control characters
// are escaped, the rest is cut with "…".
func oneLine(s string, n int) string {
	var b strings.Builder
	runes := 0
	for _, r := range s {
		var part string
		switch {
		case r == '\t':
			part = `\t`
		case r == '\n':
			part = `\n`
		case r == '\r':
			part = `\r`
		case r < 0x20 || r == 0x7f:
			part = fmt.Sprintf(`\x%02x`, r)
		default:
			part = string(r)
		}
		if runes+utf8.RuneCountInString(part) > n {
			b.WriteString("…")
			break
		}
		b.WriteString(part)
		runes += utf8.RuneCountInString(part)
	}
	return b.String()
}

func dlqList(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("dlq list", "[--reason R] [--limit N] [--json]")
	reason := fs.String("reason", "", "only dead letters with this reason (e.g. bad_json)")
	limit := fs.Int("limit", 20, "dead letters to print, newest first (1..10000)")
	asJSON := fs.Bool("json", false, "print a JSON array (with the raw input in full)")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *limit < 1 || *limit > 10000 {
		return fmt.Errorf("%w: --limit must be 1..10000", errUsage)
	}
	d, err := a.connect(ctx, c, c.logger(a.stderr), true)
	if err != nil {
		return err
	}
	defer d.close()
	ds, err := d.st.RecentDeadLetters(ctx, store.DeadLetterFilter{Reason: *reason}, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]deadLetterJSON, 0, len(ds))
		for _, x := range ds {
			out = append(out, toJSON(x))
		}
		return json.NewEncoder(a.stdout).Encode(out)
	}
	if len(ds) == 0 {
		fmt.Fprintln(a.stdout, "no dead letters")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "key\tstored\treason\tsource\tdetail\traw")
	for _, x := range ds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", hex.EncodeToString(x.Key)[:16], x.CreatedAt.UTC().Format(time.RFC3339),
			x.Reason, oneLine(x.Source, 40), oneLine(x.Detail, 50), oneLine(x.Raw, 60))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "(coattail dlq show KEY prints one in full; a key prefix is enough)")
	return nil
}

func dlqShow(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("dlq show", "KEY [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterspersed(fs, c, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want exactly one key or key prefix (coattail dlq list shows them)", errUsage)
	}
	key := strings.ToLower(pos[0])
	if len(key) == 0 || len(key) > 32 || strings.Trim(key, "0123456789abcdef") != "" {
		return fmt.Errorf("%w: key %q: want 1 to 32 hex digits", errUsage, pos[0])
	}
	d, err := a.connect(ctx, c, c.logger(a.stderr), true)
	if err != nil {
		return err
	}
	defer d.close()
	x, err := d.st.DeadLetterByKey(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no dead letter with key %s", key)
	case errors.Is(err, store.ErrAmbiguous):
		return fmt.Errorf("key prefix %s matches several dead letters: give more digits", key)
	case err != nil:
		return err
	}
	if *asJSON {
		return json.NewEncoder(a.stdout).Encode(toJSON(x))
	}
	verdict := "passes the current rules (coattail dlq replay would replay it)"
	if _, err := event.Decode([]byte(x.Raw), event.Rules{}); err != nil {
		verdict = "still fails: " + err.Error()
	}
	fmt.Fprintf(a.stdout, "key:     %s\nstored:  %s\nreason:  %s\nsource:  %s\ndetail:  %s\nnow:     %s\nraw (%d bytes):\n%s\n",
		hex.EncodeToString(x.Key), x.CreatedAt.UTC().Format(time.RFC3339Nano), x.Reason, x.Source, x.Detail, verdict, len(x.Raw), x.Raw)
	return nil
}

// dlqStatsJSON is dlq stats --json.
type dlqStatsJSON struct {
	Total     int64            `json:"total"`
	ByReason  map[string]int64 `json:"by_reason"`
	Stream    string           `json:"stream"`
	StreamLen int64            `json:"stream_len"`
}

func dlqStats(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("dlq stats", "[--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	d, err := a.connect(ctx, c, c.logger(a.stderr), true)
	if err != nil {
		return err
	}
	defer d.close()
	counts, err := d.st.DeadLetterCounts(ctx)
	if err != nil {
		return err
	}
	s := dlqStatsJSON{ByReason: counts, Stream: d.scf.DLQ()}
	for _, n := range counts {
		s.Total += n
	}
	if s.StreamLen, err = d.rdb.XLen(ctx, s.Stream).Result(); err != nil {
		return fmt.Errorf("length of %s: %w", s.Stream, err)
	}
	if *asJSON {
		return json.NewEncoder(a.stdout).Encode(s)
	}
	fmt.Fprintf(a.stdout, "%d dead letters in Postgres; the stream %s holds the last %d (capped at %d)\n",
		s.Total, s.Stream, s.StreamLen, pipeline.DLQMaxLen)
	if s.Total == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "reason\tcount")
	for _, r := range byCount(counts) {
		fmt.Fprintf(tw, "%s\t%d\n", r, counts[r])
	}
	return tw.Flush()
}

// dlqReplaySummary is what dlq replay did; --json prints it as the last line.
type dlqReplaySummary struct {
	DryRun        bool             `json:"dry_run"`
	Scanned       int64            `json:"scanned"`
	Replayed      int64            `json:"replayed"`       // produced again and deleted (dry run: would be)
	StillFailing  int64            `json:"still_failing"`  // fail the current rules; left in place
	AlreadyStored int64            `json:"already_stored"` // decode, but their event is stored already; left in place
	Failing       map[string]int64 `json:"failing"`        // still failing, by the reason they fail for now
	ByReason      map[string]int64 `json:"by_reason"`      // replayed, by their stored reason
	Committed     bool             `json:"committed"`      // every replayed event is committed
	Seconds       float64          `json:"seconds"`
}

// replayPage is how many dead letters replay reads, produces and deletes at a time.
const replayPage = 1000

func dlqReplay(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("dlq replay", "[--reason R] [--dry-run] [--no-workers] [--json]")
	reason := fs.String("reason", "", "only dead letters with this reason")
	dryRun := fs.Bool("dry-run", false, "only report what would be replayed; produce and delete nothing")
	noWorkers := fs.Bool("no-workers", false, "do not run the book stage in-process (running workers commit; replay still waits)")
	asJSON := fs.Bool("json", false, "print a JSON summary as the last line")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	log := c.logger(a.stderr)
	d, err := a.connect(ctx, c, log, true)
	if err != nil {
		return err
	}
	defer d.close()
	prod, err := stream.NewProducer(d.rdb, d.scf)
	if err != nil {
		return err
	}
	in := pipeline.NewIngress(prod, d.rdb, d.st, nil, "dlq-replay")
	sum := dlqReplaySummary{DryRun: *dryRun, Failing: map[string]int64{}, ByReason: map[string]int64{}}
	t0 := time.Now()

	runCtx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	g, gctx := errgroup.WithContext(runCtx)
	if !*dryRun && !*noWorkers {
		grp, err := stream.NewGroup(d.rdb, d.scf, stream.GroupConfig{Group: pipeline.BookGroup, Logger: log,
			Block: 200 * time.Millisecond}, pipeline.NewBookSink(d.st))
		if err != nil {
			return err
		}
		g.Go(func() error { return grp.Run(gctx) })
	}
	var replayErr error
	g.Go(func() error {
		defer stopWorkers()
		replayErr = replayDeadLetters(gctx, d, in, store.DeadLetterFilter{Reason: *reason}, *dryRun, &sum)
		if replayErr == nil && !*dryRun {
			replayErr = waitBookCommitted(gctx, d.st, prod.Config(), prod.LastIDs())
			sum.Committed = replayErr == nil
		}
		return replayErr
	})
	err = g.Wait()
	switch {
	case replayErr != nil && !errors.Is(replayErr, context.Canceled):
		return replayErr
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil && (replayErr != nil || !errors.Is(err, context.Canceled)):
		return err // a worker failed (and cancelled the replay)
	}
	// Otherwise the workers stopped by cancellation once everything was committed.
	sum.Seconds = time.Since(t0).Seconds()
	verb := "replayed"
	if *dryRun {
		verb = "would replay"
	}
	fmt.Fprintf(a.stdout, "scanned %d dead letters in %.2fs: %s %d, still failing %d, already stored %d\n",
		sum.Scanned, sum.Seconds, verb, sum.Replayed, sum.StillFailing, sum.AlreadyStored)
	for _, r := range byCount(sum.ByReason) {
		fmt.Fprintf(a.stdout, "  %s %-18s %d\n", verb, r, sum.ByReason[r])
	}
	for _, r := range byCount(sum.Failing) {
		fmt.Fprintf(a.stdout, "  still failing %-18s %d\n", r, sum.Failing[r])
	}
	if sum.AlreadyStored > 0 {
		fmt.Fprintln(a.stdout, "  (already stored: re-producing them would change nothing; coattail dlq purge removes them)")
	}
	if *asJSON {
		b, err := json.Marshal(sum)
		if err != nil {
			return fmt.Errorf("dlq replay: encode summary: %w", err)
		}
		fmt.Fprintln(a.stdout, string(b))
	}
	return nil
}

// replayDeadLetters walks the matching dead letters in key order, a page at a time:
// those whose raw input now decodes under the current rules go back into the streams
// and, once the page is flushed, are deleted; the others stay. A dead letter whose
// event is already in the events table stays too: producing it again would be skipped
// by the book stage as a duplicate, so it would not be resolved (the book refused it,
// or the same event arrived valid by another way).
func replayDeadLetters(ctx context.Context, d *deps, in *pipeline.Ingress, f store.DeadLetterFilter, dryRun bool, sum *dlqReplaySummary) error {
	rules := event.Rules{}
	produced := map[[16]byte]bool{} // events produced by this run (two dead letters may hold one event)
	var after []byte
	for {
		page, err := d.st.ScanDeadLetters(ctx, f, after, replayPage)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		after = page[len(page)-1].Key
		sum.Scanned += int64(len(page))
		type pass struct {
			dl *store.StoredDeadLetter
			ev event.Event
			kh [16]byte
		}
		var passed []pass
		var keys [][]byte
		for i := range page {
			x := &page[i]
			ev, err := event.Decode([]byte(x.Raw), rules)
			if err != nil {
				r := event.ReasonOf(err, "bad_input")
				sum.StillFailing++
				sum.Failing[r]++
				continue
			}
			kh := ev.KeyHash()
			passed = append(passed, pass{dl: x, ev: ev, kh: kh})
			keys = append(keys, kh[:])
		}
		stored, err := d.st.StoredEventKeys(ctx, keys)
		if err != nil {
			return err
		}
		var done [][]byte
		for i := range passed {
			p := &passed[i]
			if stored[p.kh] && !produced[p.kh] {
				sum.AlreadyStored++
				continue
			}
			sum.Replayed++
			sum.ByReason[p.dl.Reason]++
			done = append(done, p.dl.Key)
			if dryRun || produced[p.kh] {
				continue
			}
			produced[p.kh] = true
			if err := in.Add(ctx, &p.ev); err != nil {
				return err
			}
		}
		if dryRun || len(done) == 0 {
			continue
		}
		// Delete only what the streams now hold: a crash in between leaves the dead
		// letter, and replaying it again is harmless (the event key makes it a no-op).
		if err := in.Flush(ctx); err != nil {
			return err
		}
		if _, err := d.st.DeleteDeadLetters(ctx, done); err != nil {
			return err
		}
	}
}

// waitBookCommitted polls the book stage's checkpoints until every shard has committed
// at least the last id produced to it.
func waitBookCommitted(ctx context.Context, st *store.Store, scfg stream.Config, last []string) error {
	for {
		cps, err := st.Checkpoints(ctx, pipeline.BookGroup)
		if err != nil {
			return err
		}
		done := true
		for s, id := range last {
			if id != "" && stream.CompareIDs(cps[scfg.Stream(s)], id) < 0 {
				done = false
				break
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// parseAge reads a duration, also in whole days ("7d").
func parseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q: want a duration such as 36h, 90m or 7d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: want a duration such as 36h, 90m or 7d", s)
	}
	return d, nil
}

func dlqPurge(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("dlq purge", "[--reason R] [--older-than DURATION] --yes")
	reason := fs.String("reason", "", "only dead letters with this reason")
	olderThan := fs.String("older-than", "", "only dead letters stored longer ago than this (e.g. 36h, 7d)")
	yes := fs.Bool("yes", false, "really delete (without it purge only says how many it would delete)")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	now := time.Now()
	f := store.DeadLetterFilter{Reason: *reason}
	if *olderThan != "" {
		age, err := parseAge(*olderThan)
		if err != nil {
			return fmt.Errorf("%w: --older-than %v", errUsage, err)
		}
		f.Before = now.Add(-age)
	}
	d, err := a.connect(ctx, c, c.logger(a.stderr), true)
	if err != nil {
		return err
	}
	defer d.close()
	what := describeFilter(f)
	if !*yes {
		n, err := d.st.CountDeadLetters(ctx, f)
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: would delete %d dead letter(s)%s; nothing deleted: add --yes to delete them", errUsage, n, what)
	}
	n, err := d.st.PurgeDeadLetters(ctx, f)
	if err != nil {
		return err
	}
	cut := now
	if !f.Before.IsZero() {
		cut = f.Before
	}
	trimmed, err := trimDLQStream(ctx, d.rdb, d.scf.DLQ(), f.Reason, cut)
	if err != nil {
		return fmt.Errorf("deleted %d dead letter(s)%s, but the dead-letter stream: %w", n, what, err)
	}
	fmt.Fprintf(a.stdout, "deleted %d dead letter(s)%s; removed %d entries from the stream %s\n", n, what, trimmed, d.scf.DLQ())
	return nil
}

func describeFilter(f store.DeadLetterFilter) string {
	var parts []string
	if f.Reason != "" {
		parts = append(parts, "with reason "+f.Reason)
	}
	if !f.Before.IsZero() {
		parts = append(parts, "stored before "+f.Before.UTC().Format(time.RFC3339))
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " and ")
}

// trimDLQStream removes the dead-letter stream's entries older than cut: all of them
// (XTRIM MINID) or, given a reason, those with that reason (XRANGE pages, XDEL).
func trimDLQStream(ctx context.Context, rdb redis.UniversalClient, key, reason string, cut time.Time) (int64, error) {
	minID := strconv.FormatInt(cut.UnixMilli(), 10) + "-0"
	if reason == "" {
		n, err := rdb.XTrimMinID(ctx, key, minID).Result()
		if err != nil {
			return 0, fmt.Errorf("trim %s to %s: %w", key, minID, err)
		}
		return n, nil
	}
	var removed int64
	start := "-"
	for {
		msgs, err := rdb.XRangeN(ctx, key, start, "("+minID, 1000).Result()
		if err != nil {
			return removed, fmt.Errorf("read %s: %w", key, err)
		}
		if len(msgs) == 0 {
			return removed, nil
		}
		var ids []string
		for _, m := range msgs {
			if r, _ := m.Values["reason"].(string); r == reason {
				ids = append(ids, m.ID)
			}
		}
		if len(ids) > 0 {
			n, err := rdb.XDel(ctx, key, ids...).Result()
			if err != nil {
				return removed, fmt.Errorf("delete from %s: %w", key, err)
			}
			removed += n
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}
