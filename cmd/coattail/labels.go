package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/coattailcapital/coattail/eip55"
	"github.com/coattailcapital/coattail/store"
)

// subcommand is one verb of a command group (`coattail labels import`).
type subcommand struct {
	name, usage string
	run         func(ctx context.Context, a *app, args []string) error
}

// runSub dispatches a command group's verb; -h lists the verbs.
func runSub(ctx context.Context, a *app, group string, subs []subcommand, args []string) error {
	if len(args) == 0 {
		a.subUsage(group, subs)
		return fmt.Errorf("%w: want a subcommand (coattail %s -h lists them)", errUsage, group)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		a.subUsage(group, subs)
		return flag.ErrHelp
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, a, args[1:])
		}
	}
	a.subUsage(group, subs)
	return fmt.Errorf("%w: unknown subcommand %q", errUsage, args[0])
}

func (a *app) subUsage(group string, subs []subcommand) {
	fmt.Fprintf(a.stderr, "Usage:\n")
	for _, s := range subs {
		fmt.Fprintf(a.stderr, "  coattail %s %s %s\n", group, s.name, s.usage)
	}
	fmt.Fprintf(a.stderr, "(coattail %s <subcommand> -h for its flags)\n", group)
}

func cmdLabels(ctx context.Context, a *app, args []string) error {
	return runSub(ctx, a, "labels", []subcommand{
		{"import", "FILE.csv [--source NAME] [--json]", labelsImport},
		{"show", "ADDRESS [--json]", labelsShow},
		{"stats", "[--source NAME] [--top N] [--json]", labelsStats},
	}, args)
}

// importSummary is what labels import --json prints as its last line.
type importSummary struct {
	File      string              `json:"file"`
	Source    string              `json:"source"`
	Rows      int                 `json:"rows"`      // good rows read
	Addresses int                 `json:"addresses"` // distinct addresses among them
	Inserted  int                 `json:"inserted"`
	Updated   int                 `json:"updated"`
	Unchanged int                 `json:"unchanged"`
	Bad       int                 `json:"bad"`
	BadRows   []store.BadLabelRow `json:"bad_rows"`
	Seconds   float64             `json:"seconds"`
}

// maxBadShown bounds the bad rows listed on stderr (--json lists them all).
const maxBadShown = 20

func labelsImport(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("labels import", "FILE.csv [--source NAME] [--json]")
	source := fs.String("source", "", "name of the label source; re-importing a source replaces its labels, other sources' labels stay (default: the file's base name without extension)")
	asJSON := fs.Bool("json", false, "print a JSON summary as the last line")
	quiet := fs.Bool("quiet", false, "no progress lines")
	files, err := parseInterspersed(fs, c, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return fmt.Errorf("%w: want exactly one label file (coattail labels import FILE.csv)", errUsage)
	}
	path := files[0]
	if *source == "" {
		base := filepath.Base(path)
		*source = strings.TrimSuffix(base, filepath.Ext(base))
	}
	if strings.TrimSpace(*source) == "" {
		return fmt.Errorf("%w: --source must not be empty", errUsage)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("labels: %w", err)
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	log := c.logger(a.stderr)
	d, err := a.connect(ctx, c, log, true)
	if err != nil {
		return err
	}
	defer d.close()

	t0 := time.Now()
	var in io.Reader = f
	if !*quiet {
		in = &progressReader{r: f, size: size, w: a.stderr, every: time.Second, last: t0}
	}
	labels, bad, err := store.ReadLabelsCSV(in, *source)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for i, b := range bad {
		if i == maxBadShown {
			fmt.Fprintf(a.stderr, "labels: … and %d more bad rows\n", len(bad)-maxBadShown)
			break
		}
		fmt.Fprintf(a.stderr, "labels: %s:%d: skipped: %s\n", path, b.Line, b.Reason)
	}
	addrs := make(map[string]struct{}, len(labels))
	for _, l := range labels {
		addrs[l.Address] = struct{}{}
	}
	if !*quiet {
		fmt.Fprintf(a.stderr, "labels: read %d rows (%d bad) in %.2fs; writing %d addresses as source %q\n",
			len(labels), len(bad), time.Since(t0).Seconds(), len(addrs), *source)
	}
	ins, upd, err := d.st.ImportLabels(ctx, labels)
	if err != nil {
		return err
	}
	sum := importSummary{File: path, Source: *source, Rows: len(labels), Addresses: len(addrs), Inserted: ins,
		Updated: upd, Unchanged: len(addrs) - ins - upd, Bad: len(bad), BadRows: bad, Seconds: time.Since(t0).Seconds()}
	if sum.BadRows == nil {
		sum.BadRows = []store.BadLabelRow{}
	}
	fmt.Fprintf(a.stdout, "imported %s as source %q in %.2fs: %d rows, %d addresses: %d inserted, %d updated, %d unchanged; %d bad rows skipped\n",
		path, sum.Source, sum.Seconds, sum.Rows, sum.Addresses, sum.Inserted, sum.Updated, sum.Unchanged, sum.Bad)
	if *asJSON {
		b, err := json.Marshal(sum)
		if err != nil {
			return fmt.Errorf("labels: encode summary: %w", err)
		}
		fmt.Fprintln(a.stdout, string(b))
	}
	return nil
}

// progressReader reports how far through the file reading is, at most every `every`.
type progressReader struct {
	r     io.Reader
	size  int64
	n     int64
	w     io.Writer
	every time.Duration
	last  time.Time
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if now := time.Now(); now.Sub(p.last) >= p.every {
		p.last = now
		if p.size > 0 {
			fmt.Fprintf(p.w, "labels: read %.1f of %.1f MB (%.0f%%)\n", float64(p.n)/1e6, float64(p.size)/1e6, 100*float64(p.n)/float64(p.size))
		} else {
			fmt.Fprintf(p.w, "labels: read %.1f MB\n", float64(p.n)/1e6)
		}
	}
	return n, err
}

// labelView is labels show --json.
type labelView struct {
	Address    string        `json:"address"`
	Name       string        `json:"name"`
	Classes    []string      `json:"classes"`
	Categories []string      `json:"categories"`
	Sources    []sourceLabel `json:"sources"`
}

type sourceLabel struct {
	Source     string    `json:"source"`
	Name       string    `json:"name"`
	Classes    []string  `json:"classes"`
	Categories []string  `json:"categories"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func labelsShow(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("labels show", "ADDRESS [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterspersed(fs, c, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want exactly one address, e.g. coattail labels show 0x28c6c06298d514db089934071355e5743bf21d60", errUsage)
	}
	addr, err := eip55.Parse(pos[0])
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	d, err := a.connect(ctx, c, c.logger(a.stderr), true)
	if err != nil {
		return err
	}
	defer d.close()
	rows, err := d.st.LabelsOf(ctx, addr)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no label for %s (coattail labels import FILE.csv loads some)", addr)
	}
	if err != nil {
		return err
	}
	merged, err := d.st.Labels(ctx, []string{addr})
	if err != nil {
		return err
	}
	m := merged[addr]
	v := labelView{Address: addr, Name: m.Name, Classes: m.Classes, Categories: m.Categories}
	for _, r := range rows {
		v.Sources = append(v.Sources, sourceLabel{Source: r.Source, Name: r.Name, Classes: r.Classes,
			Categories: r.Categories, UpdatedAt: r.UpdatedAt})
	}
	if *asJSON {
		return json.NewEncoder(a.stdout).Encode(v)
	}
	fmt.Fprintf(a.stdout, "%s  %s\n", v.Address, orDash(v.Name))
	fmt.Fprintf(a.stdout, "classes: %s\n", orDash(strings.Join(v.Classes, ", ")))
	for _, s := range v.Sources {
		fmt.Fprintf(a.stdout, "source %s: %s  tags: %s  (updated %s)\n", s.Source, orDash(s.Name),
			orDash(strings.Join(s.Categories, ", ")), s.UpdatedAt.UTC().Format(time.RFC3339))
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func labelsStats(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("labels stats", "[--source NAME] [--top N] [--json]")
	source := fs.String("source", "", "count only this source's labels")
	top := fs.Int("top", 25, "source tags to list, most common first (0: all)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *top < 0 {
		return fmt.Errorf("%w: --top must not be negative", errUsage)
	}
	d, err := a.connect(ctx, c, c.logger(a.stderr), true)
	if err != nil {
		return err
	}
	defer d.close()
	st, err := d.st.LabelStats(ctx, *source)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(a.stdout).Encode(st)
	}
	if st.Rows == 0 {
		fmt.Fprintln(a.stdout, "no labels yet: coattail labels import FILE.csv loads some")
		return nil
	}
	fmt.Fprintf(a.stdout, "%d labelled addresses (%d rows) from %d source(s)\n\n", st.Addresses, st.Rows, len(st.BySource))
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "source\trows")
	for _, k := range byCount(st.BySource) {
		fmt.Fprintf(tw, "%s\t%d\n", k, st.BySource[k])
	}
	fmt.Fprintln(tw, "\nclass\taddresses")
	for _, k := range store.Classes() {
		fmt.Fprintf(tw, "%s\t%d\n", k, st.ByClass[k])
	}
	tags := byCount(st.ByCategory)
	n := len(tags)
	if *top > 0 && *top < n {
		n = *top
	}
	fmt.Fprintf(tw, "\nsource tag (%d of %d)\taddresses\n", n, len(tags))
	for _, k := range tags[:n] {
		fmt.Fprintf(tw, "%s\t%d\n", k, st.ByCategory[k])
	}
	return tw.Flush()
}

// byCount orders a count map's keys by count, largest first, then by name.
func byCount(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if m[out[i]] != m[out[j]] {
			return m[out[i]] > m[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}
