package main

// Alpha scoring on the command line: rescore, backfill, the leaderboard by alpha score,
// the wallet view with its score, simulate and eval (docs/ALPHA.md).

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/coattailcapital/coattail/analytics/alpha/rescore"
	"github.com/coattailcapital/coattail/analytics/sim"
	"github.com/coattailcapital/coattail/eip55"
	"github.com/coattailcapital/coattail/ingest/replay"
	"github.com/coattailcapital/coattail/store"
	"golang.org/x/sync/errgroup"
)

// freshWithin is how far the board may lag the newest stored event (in event time)
// before `leaderboard` and `wallet` rescore on demand. `coattail run` rescores every
// minute, so a live board is used as it is; a replay of new history is scored at once.
const freshWithin = 5 * time.Minute

// parseTime parses an RFC 3339 time flag; "" is the zero time.
func parseTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: --%s %q: want RFC 3339, e.g. 2026-02-04T10:00:00Z", errUsage, name, v)
	}
	return t.UTC(), nil
}

func checkWindow(w string) error {
	if !store.ValidScoreWindow(w) {
		return fmt.Errorf("%w: --window %q: want 7d, 30d or all", errUsage, w)
	}
	return nil
}

func cmdRescore(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("rescore", "[--as-of TIME] [--window 7d|30d|all] [--json]")
	asOfS := fs.String("as-of", "", "score as of this RFC 3339 time (default: the newest stored event's time)")
	window := fs.String("window", "", "score only this window (default: 7d, 30d and all)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	asOf, err := parseTime("as-of", *asOfS)
	if err != nil {
		return err
	}
	// A board as of now also leaves out the wallets the whale profiler flags as bots
	// (their profiles are as of now, so an earlier board does not use them).
	cfg := rescore.Config{ProfiledBots: *asOfS == ""}
	if *window != "" {
		if err := checkWindow(*window); err != nil {
			return err
		}
		cfg.Windows = []string{*window}
	}
	log := c.logger(a.stderr)
	d, err := a.connect(ctx, c, log, true)
	if err != nil {
		return err
	}
	defer d.close()
	s, err := rescore.Rescore(ctx, d.st, cfg, asOf)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(a.stdout).Encode(s)
	}
	if s.AsOf.IsZero() {
		fmt.Fprintln(a.stdout, "nothing to score: no fills, positions or prices stored yet (replay a file or run the demo)")
		return nil
	}
	printSummary(a.stdout, s)
	return nil
}

func printSummary(w io.Writer, s rescore.Summary) {
	parts := make([]string, len(s.Runs))
	for i, r := range s.Runs {
		parts[i] = fmt.Sprintf("%s: %d ranked of %d", r.Window, r.Ranked, r.Wallets)
	}
	fmt.Fprintf(w, "scored as of %s from %d events (%d actions) in %.2fs: %s\n",
		s.AsOf.Format(time.RFC3339), s.Events, s.Actions, s.Seconds, strings.Join(parts, "; "))
}

func cmdBackfill(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("backfill", "[--every 1d] [--from TIME] [--to TIME] [--window W] [--quiet]")
	everyS := fs.String("every", "1d", "time between two as-of times (e.g. 1d, 6h)")
	fromS := fs.String("from", "", "first as-of time, RFC 3339 (default: the first event's time plus --every)")
	toS := fs.String("to", "", "last as-of time, RFC 3339 (default: the newest event's time)")
	window := fs.String("window", "", "score only this window (default: 7d, 30d and all)")
	quiet := fs.Bool("quiet", false, "no progress lines")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	every, err := rescore.ParseDuration(*everyS)
	if err != nil {
		return fmt.Errorf("%w: --every: %v", errUsage, err)
	}
	from, err := parseTime("from", *fromS)
	if err != nil {
		return err
	}
	to, err := parseTime("to", *toS)
	if err != nil {
		return err
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return fmt.Errorf("%w: --to is before --from", errUsage)
	}
	cfg := rescore.Config{}
	if *window != "" {
		if err := checkWindow(*window); err != nil {
			return err
		}
		cfg.Windows = []string{*window}
	}
	log := c.logger(a.stderr)
	d, err := a.connect(ctx, c, log, true)
	if err != nil {
		return err
	}
	defer d.close()
	t0 := time.Now()
	var progress func(i, n int, s rescore.Summary)
	if !*quiet {
		progress = func(i, n int, s rescore.Summary) {
			fmt.Fprintf(a.stderr, "backfill: %d/%d as of %s: %d actions (%.2fs)\n", i+1, n,
				s.AsOf.Format(time.RFC3339), s.Actions, s.Seconds)
		}
	}
	sums, err := rescore.Backfill(ctx, d.st, cfg, from, to, every, progress)
	if err != nil {
		return err
	}
	if len(sums) == 0 {
		fmt.Fprintln(a.stdout, "nothing to score: no fills, positions or prices stored yet")
		return nil
	}
	fmt.Fprintf(a.stdout, "backfilled %d as-of times from %s to %s every %s in %.1fs\n", len(sums),
		sums[0].AsOf.Format(time.RFC3339), sums[len(sums)-1].AsOf.Format(time.RFC3339), every, time.Since(t0).Seconds())
	return nil
}

func cmdLeaderboard(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("leaderboard", "[--limit N] [--window 7d|30d|all] [--as-of TIME] [--page P] [--json]")
	limit := fs.Int("limit", 10, "rows per page (1..1000)")
	page := fs.Int("page", 1, "page number, from 1")
	offset := fs.Int("offset", 0, "rows to skip before the page")
	window := fs.String("window", "all", "ranking window: 7d, 30d or all")
	asOfS := fs.String("as-of", "", "the board as it was at this RFC 3339 time (the latest run at or before it)")
	noRescore := fs.Bool("no-rescore", false, "show the stored board as it is, even when it is older than the stored events")
	asJSON := fs.Bool("json", false, "print a JSON array")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	if *limit < 1 || *limit > 1000 {
		return fmt.Errorf("%w: --limit must be 1..1000", errUsage)
	}
	if *page < 1 || *offset < 0 {
		return fmt.Errorf("%w: --page must be 1 or more and --offset not negative", errUsage)
	}
	if err := checkWindow(*window); err != nil {
		return err
	}
	asOf, err := parseTime("as-of", *asOfS)
	if err != nil {
		return err
	}
	log := c.logger(a.stderr)
	d, err := a.connect(ctx, c, log, true)
	if err != nil {
		return err
	}
	defer d.close()
	if !*noRescore {
		if err := ensureFresh(ctx, d.st, log, *window, asOf); err != nil {
			return err
		}
	}
	run, rows, err := d.st.Board(ctx, store.BoardQuery{Window: *window, AsOf: asOf, Limit: *limit,
		Offset: *offset + (*page-1)**limit})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if *asJSON {
		if rows == nil {
			rows = []store.BoardRow{}
		}
		return json.NewEncoder(a.stdout).Encode(rows)
	}
	if len(rows) == 0 {
		if errors.Is(err, store.ErrNotFound) || run.ID == 0 {
			fmt.Fprintln(a.stdout, "no ranked wallets yet: replay a file or run the demo (make run)")
		} else {
			fmt.Fprintf(a.stdout, "no ranked wallets on this page (window %s as of %s): a wallet needs %d scored entries\n",
				run.Window, run.AsOf.Format(time.RFC3339), 20)
		}
		return nil
	}
	fmt.Fprintf(a.stdout, "alpha leaderboard, window %s, as of %s (score: lower confidence bound of skill per trade)\n",
		run.Window, run.AsOf.Format(time.RFC3339))
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rank\twallet\tscore\tn\trealized\tunrealized\tfees\tROI\twin rate\ttrades\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%+.3f\t%d\t%s\t%s\t%s\t%.1f%%\t%.0f%%\t%d\t\n", r.Rank, r.Wallet, r.Score, r.N,
			r.RealizedPnl.StringFixed(2), r.UnrealizedPnl.StringFixed(2), r.Fees.StringFixed(2), 100*r.ROI, 100*r.WinRate, r.Trades)
	}
	return tw.Flush()
}

// ensureFresh rescores on demand when the stored board for (window, asOf) lags the
// stored events: the first `leaderboard` after a replay ranks by skill without a
// separate `rescore`.
func ensureFresh(ctx context.Context, st *store.Store, log *slog.Logger, window string, asOf time.Time) error {
	did, s, err := rescore.Fresh(ctx, st, rescore.Config{ProfiledBots: true}, window, asOf, freshWithin)
	if err != nil {
		return fmt.Errorf("score the stored events: %w", err)
	}
	if did {
		log.Info("scored on demand", "as_of", s.AsOf, "events", s.Events, "actions", s.Actions, "seconds", s.Seconds)
	}
	return nil
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
	addr, err := eip55.Parse(pos[0])
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	log := c.logger(a.stderr)
	d, err := a.connect(ctx, c, log, true)
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
	if err := ensureFresh(ctx, d.st, log, store.WindowAll, time.Time{}); err != nil {
		return err
	}
	run, ws, err := d.st.WalletScore(ctx, addr, store.WindowAll, time.Time{})
	scored := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	prof, err := walletProfile(ctx, d.st, addr)
	if err != nil {
		return err
	}
	if *asJSON {
		// The book's view, with the rank taken from the alpha board (window all) and
		// the score beside it; pnl_rank is the rank by PnL net of fees.
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		m["pnl_rank"] = v.Rank
		m["rank"] = nil // null while the wallet is not on the alpha board
		m["profile"] = prof
		m["score"], m["lcb"], m["skill"], m["score_n"], m["score_as_of"] = nil, nil, nil, nil, nil
		if scored {
			if ws.Rank > 0 {
				m["rank"] = ws.Rank
			}
			m["score"], m["lcb"], m["skill"], m["score_n"], m["score_as_of"] = ws.LCB, ws.LCB, ws.Score, ws.N, run.AsOf
			if ws.Reason != "" {
				m["unranked_reason"] = ws.Reason
			}
		}
		return json.NewEncoder(a.stdout).Encode(m)
	}
	rank := "unranked"
	if scored && ws.Rank > 0 {
		rank = fmt.Sprintf("rank %d", ws.Rank)
	} else if scored && ws.Reason != "" {
		rank = "unranked (" + ws.Reason + ")"
	}
	fmt.Fprintf(a.stdout, "wallet %s  %s  observations %d\n", v.Wallet, rank, v.N)
	if scored {
		fmt.Fprintf(a.stdout, "alpha score %+.3f (skill %+.3f, %d scored trades, as of %s)\n", ws.LCB, ws.Score, ws.N,
			run.AsOf.Format(time.RFC3339))
	}
	fmt.Fprintf(a.stdout, "realized %s  unrealized %s  fees %s  (USD)\n", v.RealizedPnl.StringFixed(2), v.UnrealizedPnl.StringFixed(2), v.Fees.StringFixed(2))
	fmt.Fprintf(a.stdout, "exchange deposits %d (%s USD)  withdrawals %d (%s USD)\n", v.ExchangeFlows.Deposits.Count,
		v.ExchangeFlows.Deposits.USD.StringFixed(2), v.ExchangeFlows.Withdrawals.Count, v.ExchangeFlows.Withdrawals.USD.StringFixed(2))
	printProfile(a.stdout, prof)
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

func cmdSimulate(_ context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("coattail simulate", flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	seed := fs.Int64("seed", 1, "seed (the same seed writes the same market)")
	wallets := fs.Int("wallets", 60, "wallets, all roles")
	skilled := fs.Int("skilled", 0, "skilled wallets (default wallets/12, at least 3)")
	whales := fs.Int("whales", 0, "whales: 50-500x size, no edge (default wallets/6)")
	days := fs.Float64("days", 60, "days of market")
	out := fs.String("out", "", "write the interchange NDJSON here (required)")
	truth := fs.String("truth", "", "write the ground truth (which wallets are skilled) here as JSON")
	fs.Usage = func() {
		fmt.Fprintln(a.stderr, "Usage: coattail simulate --out FILE [--truth FILE] [--seed S] [--wallets N] [--days D]\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *out == "" {
		return fmt.Errorf("%w: --out FILE is required", errUsage)
	}
	m, err := sim.Generate(sim.Config{Seed: *seed, Wallets: *wallets, Skilled: *skilled, Whales: *whales, Days: *days})
	if errors.Is(err, sim.ErrInvalidConfig) {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err != nil {
		return err
	}
	if err := writeFile(*out, func(w io.Writer) error { _, err := m.WriteNDJSON(w); return err }); err != nil {
		return err
	}
	if *truth != "" {
		if err := writeFile(*truth, m.WriteTruth); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.stdout, "wrote %d events (%d wallets: %d skilled, %d whales, %d noise; %s to %s) to %s\n",
		len(m.Events), len(m.Truth.Roles), len(m.Truth.Skilled), len(m.Truth.Whales), len(m.Truth.Noise),
		m.Truth.Start.Format(time.RFC3339), m.Truth.End.Format(time.RFC3339), *out)
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func cmdEval(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("eval", "[--splits N] [--k K] [--horizon 7d] [--truth FILE] [--json] [FILE...]")
	splits := fs.Int("splits", 4, "split times, evenly spaced over the history")
	k := fs.Int("k", 10, "top wallets each ranking picks")
	horizonS := fs.String("horizon", "7d", "how long after a split the picks are followed")
	truthF := fs.String("truth", "", "ground truth JSON of `coattail simulate`: also report precision@k")
	format := fs.String("format", "", "force the input format of the files")
	wallet := fs.String("wallet", "", "wallet of Hyperliquid userFills files that do not name one")
	asJSON := fs.Bool("json", false, "print JSON")
	files, err := parseInterspersed(fs, c, args)
	if err != nil {
		return err
	}
	horizon, err := rescore.ParseDuration(*horizonS)
	if err != nil {
		return fmt.Errorf("%w: --horizon: %v", errUsage, err)
	}
	if *splits < 1 || *splits > 100 || *k < 1 {
		return fmt.Errorf("%w: --splits must be 1..100 and --k at least 1", errUsage)
	}
	cfg := rescore.EvalConfig{Splits: *splits, K: *k, Horizon: horizon}
	if *truthF != "" {
		b, err := os.ReadFile(*truthF)
		if err != nil {
			return fmt.Errorf("read truth: %w", err)
		}
		var t sim.Truth
		if err := json.Unmarshal(b, &t); err != nil {
			return fmt.Errorf("truth %s: %w", *truthF, err)
		}
		cfg.Truth = t.Skilled
	}
	var h *rescore.History
	if len(files) > 0 {
		if h, err = historyOfFiles(files, replay.Options{Format: *format, Wallet: *wallet}); err != nil {
			return err
		}
	} else {
		log := c.logger(a.stderr)
		d, err := a.connect(ctx, c, log, true)
		if err != nil {
			return err
		}
		defer d.close()
		h, err = rescore.Load(ctx, d.st, time.Time{}, rescore.Config{})
		if err != nil && !errors.Is(err, rescore.ErrUndecodable) {
			return err
		}
	}
	res, err := rescore.Evaluate(h, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(a.stdout).Encode(res)
	}
	printEval(a.stdout, h, res)
	return nil
}

// historyOfFiles reads replay files (any format replay reads) straight into a history,
// without the database: what eval needs from a file.
func historyOfFiles(files []string, opt replay.Options) (*rescore.History, error) {
	b := rescore.NewBuilder()
	for _, f := range files {
		r, err := replay.Open(f, opt)
		if err != nil {
			return nil, err
		}
		for {
			rec, ok := r.Next()
			if !ok {
				break
			}
			if rec.Err == nil {
				b.Add(&rec.Event)
			}
		}
		err = r.Err()
		_ = r.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
	}
	return b.History(rescore.Config{}.Actions)
}

func printEval(w io.Writer, h *rescore.History, res rescore.EvalResult) {
	wallets := map[string]bool{}
	for i := range h.Actions {
		wallets[h.Actions[i].Wallet] = true
	}
	fmt.Fprintf(w, "walk-forward: %d events, %d actions, %d wallets, %s to %s; top %d, horizon %s\n",
		h.Events, len(h.Actions), len(wallets), h.First.Format(time.RFC3339), h.Last.Format(time.RFC3339), res.K, res.HorizonText)
	fmt.Fprintln(w, "mean return per entry after the split (copy-trade, net of 10 bps), share of wallets profitable, [precision@k]")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "split\tranked\tscore top-k\tprofitable\tPnL top-k\tprofitable\tall wallets\tprofitable\t")
	g := func(x rescore.Group) string {
		s := fmt.Sprintf("%+.3f%% (%d)", 100*x.MeanReturn, x.Active)
		if x.Precision >= 0 {
			s += fmt.Sprintf(" [%.2f]", x.Precision)
		}
		return s
	}
	for _, s := range res.Splits {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f%%\t%s\t%.0f%%\t%s\t%.0f%%\t\n", s.At.Format("2006-01-02 15:04"), s.Ranked,
			g(s.Score), 100*s.Score.Profitable, g(s.PnL), 100*s.PnL.Profitable, g(s.All), 100*s.All.Profitable)
	}
	m := res.Mean
	fmt.Fprintf(tw, "mean\t\t%s\t%.0f%%\t%s\t%.0f%%\t%s\t%.0f%%\t\n", g(m.Score), 100*m.Score.Profitable,
		g(m.PnL), 100*m.PnL.Profitable, g(m.All), 100*m.All.Profitable)
	_ = tw.Flush()
}

// rescoreEvery is the flag of `coattail run`'s periodic rescorer.
func rescoreEvery(fs *flag.FlagSet, getenv func(string) string) *string {
	return fs.String("rescore-every", env(getenv, "RESCORE_EVERY", "1m"),
		"rescore the alpha leaderboard this often (wall time; env COATTAIL_RESCORE_EVERY; 0 turns it off)")
}

// startRescorer runs the periodic rescorer in g unless every is "0".
func startRescorer(ctx context.Context, g *errgroup.Group, st *store.Store, log *slog.Logger, every string) error {
	if every == "0" || every == "off" {
		return nil
	}
	d, err := rescore.ParseDuration(every)
	if err != nil {
		return fmt.Errorf("%w: --rescore-every: %v", errUsage, err)
	}
	// The first board comes early (a fresh demo has caught up by then), then on schedule.
	r := &rescore.Runner{Store: st, Config: rescore.Config{ProfiledBots: true}, Interval: d, First: min(d, 15*time.Second), Logger: log}
	g.Go(func() error { return r.Run(ctx) })
	return nil
}
