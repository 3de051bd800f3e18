package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/coattailcapital/coattail/paper"
	"github.com/coattailcapital/coattail/risk"
	sigengine "github.com/coattailcapital/coattail/signal"
)

// cmdSignals lists the latest signals.
func cmdSignals(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("signals", "[--limit N] [--rule R] [--json]")
	limit := fs.Int("limit", 20, "how many, newest first (1..1000)")
	rule := fs.String("rule", "", "only this rule: followed_move, alpha_move, consensus, exchange_flow, anomaly")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	if *limit < 1 || *limit > 1000 {
		return fmt.Errorf("%w: --limit must be 1..1000", errUsage)
	}
	rules := []string{sigengine.RuleFollowed, sigengine.RuleAlpha, sigengine.RuleConsensus, sigengine.RuleFlow, sigengine.RuleAnomaly}
	if *rule != "" && !slices.Contains(rules, *rule) {
		// An unknown rule would match nothing and look like "no signals yet".
		return fmt.Errorf("%w: --rule %q: want one of %s", errUsage, *rule, strings.Join(rules, ", "))
	}
	d, err := a.connect(ctx, c, c.logger(a.stderr), true)
	if err != nil {
		return err
	}
	defer d.close()
	sigs, err := sigengine.Recent(ctx, d.st, sigengine.Query{Rule: *rule, Limit: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		if sigs == nil {
			sigs = []sigengine.Stored{}
		}
		return json.NewEncoder(a.stdout).Encode(sigs)
	}
	w := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(w, "id\ttime\trule\twallet\tcoin\tside\taction\tusd\tconfidence")
	for _, s := range sigs {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%.2f\n", s.ID, s.TS.Format("2006-01-02 15:04:05"), s.Rule,
			s.Wallet, s.Coin, s.Side, s.Action, s.USD, s.Confidence)
	}
	return w.Flush()
}

// cmdPaper: paper status|positions|history|on|off [--scope S] [--json].
func cmdPaper(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("paper", "status|positions|history|on|off [--scope S] [--json]")
	scope := fs.String("scope", paper.GlobalScope, "global, telegram:<chat> or discord:<guild>")
	asJSON := fs.Bool("json", false, "print JSON")
	limit := fs.Int("limit", 50, "history: how many closed positions")
	pos, err := parseInterspersed(fs, c, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one of status, positions, history, on, off", errUsage)
	}
	if err := paper.ValidScope(*scope); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	d, err := a.connect(ctx, c, c.logger(a.stderr), true)
	if err != nil {
		return err
	}
	defer d.close()
	ps := paper.NewService(d.st, paper.Config{})
	var out any
	switch pos[0] {
	case "on", "off":
		if err := ps.SetEnabled(ctx, *scope, pos[0] == "on"); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "paper trading %s for %s\n", pos[0], *scope)
		return nil
	case "status":
		st, err := ps.Status(ctx, *scope)
		if err != nil {
			return err
		}
		if !*asJSON {
			fmt.Fprintf(a.stdout, "%s: %s, equity $%.2f (PnL %+.2f: realized %+.2f, unrealized %+.2f, fees %.2f)\n",
				st.Scope, onOff(st.Enabled), st.Equity, st.PnL, st.Realized, st.Unrealized, st.Fees)
			fmt.Fprintf(a.stdout, "open %d, pending %d, closed %d (win rate %.0f%%), max drawdown %.2f%%, exposure %.2fx\n",
				st.Open, st.Pending, st.Closed, 100*st.WinRate, 100*st.MaxDrawdown, st.Exposure)
			return nil
		}
		out = st
	case "positions", "history":
		var list []paper.Position
		if pos[0] == "positions" {
			list, err = ps.Positions(ctx, *scope)
		} else {
			list, err = ps.History(ctx, *scope, *limit)
		}
		if err != nil {
			return err
		}
		if !*asJSON {
			w := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
			fmt.Fprintln(w, "id\tcoin\tdir\tstatus\tsize_usd\tentry\tmark/exit\tpnl\treason\twallet")
			for _, p := range list {
				px := p.MarkPx
				if p.Status == "closed" {
					px = p.ExitPx
				}
				fmt.Fprintf(w, "%d\t%s\t%+d\t%s\t%.2f\t%.4f\t%.4f\t%+.2f\t%s\t%s\n", p.ID, p.Coin, p.Dir, p.Status, p.SizeUSD,
					p.EntryPx, px, p.PnL, p.ExitReason, p.Wallet)
			}
			return w.Flush()
		}
		if list == nil {
			list = []paper.Position{}
		}
		out = list
	default:
		return fmt.Errorf("%w: unknown paper command %q: want status, positions, history, on or off", errUsage, pos[0])
	}
	return json.NewEncoder(a.stdout).Encode(out)
}

// cmdRisk: risk show|set NAME VALUE|halt [REASON]|resume|decisions [--json].
func cmdRisk(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("risk", "show|set NAME VALUE|halt [REASON]|resume|decisions [--rejected] [--scope S] [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	scope := fs.String("scope", "", "resume: only this scope's breaker; decisions: only this scope")
	rejected := fs.Bool("rejected", false, "decisions: only rejections")
	limit := fs.Int("limit", 50, "decisions: how many")
	pos, err := parseInterspersed(fs, c, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return fmt.Errorf("%w: want one of show, set, halt, resume, decisions", errUsage)
	}
	if pos[0] == "set" {
		if len(pos) != 3 {
			return fmt.Errorf("%w: risk set NAME VALUE (names: %s)", errUsage, strings.Join(risk.Names(), ", "))
		}
		v, err := strconv.ParseFloat(pos[2], 64)
		if err != nil {
			return fmt.Errorf("%w: value %q is not a number", errUsage, pos[2])
		}
		var s risk.Settings
		if err := s.Set(pos[1], v); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	d, err := a.connect(ctx, c, c.logger(a.stderr), true)
	if err != nil {
		return err
	}
	defer d.close()
	rs := risk.NewService(d.st)
	switch pos[0] {
	case "show":
		v, err := rs.Show(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(a.stdout).Encode(v)
		}
		state := "trading"
		if v.Halted {
			state = "HALTED: " + v.HaltReason
		}
		fmt.Fprintf(a.stdout, "kill switch: %s\n", state)
		for _, b := range v.Breakers {
			fmt.Fprintf(a.stdout, "breaker %s: tripped=%v %s\n", b.Scope, b.Tripped, b.Reason)
		}
		w := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
		for _, n := range risk.Names() {
			fmt.Fprintf(w, "%s\t%g\t%s\n", n, v.Settings[n], risk.Help(n))
		}
		return w.Flush()
	case "set":
		v, _ := strconv.ParseFloat(pos[2], 64)
		if err := rs.Set(ctx, pos[1], v); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s = %g\n", pos[1], v)
		return nil
	case "halt":
		if err := rs.Halt(ctx, strings.Join(pos[1:], " ")); err != nil {
			return err
		}
		fmt.Fprintln(a.stdout, "halted: no new entries until `coattail risk resume`")
		return nil
	case "resume":
		if err := rs.Resume(ctx, *scope); err != nil {
			return err
		}
		fmt.Fprintln(a.stdout, "resumed")
		return nil
	case "decisions":
		ds, err := rs.Decisions(ctx, risk.DecisionQuery{Scope: *scope, Rejected: *rejected, Limit: *limit})
		if err != nil {
			return err
		}
		if *asJSON {
			if ds == nil {
				ds = []risk.StoredDecision{}
			}
			return json.NewEncoder(a.stdout).Encode(ds)
		}
		w := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
		fmt.Fprintln(w, "id\tsignal\tscope\trule\tcoin\tside\tapproved\tsize_usd\treject\treason")
		for _, x := range ds {
			why := ""
			for _, ch := range x.Checks {
				if ch.Name == x.Reject {
					why = ch.Reason
				}
			}
			fmt.Fprintf(w, "%d\t%d\t%s\t%s\t%s\t%s\t%v\t%.2f\t%s\t%s\n", x.ID, x.SignalID, x.Scope, x.Rule, x.Coin, x.Side,
				x.Approved, x.SizeUSD, x.Reject, why)
		}
		return w.Flush()
	}
	return fmt.Errorf("%w: unknown risk command %q: want show, set, halt, resume or decisions", errUsage, pos[0])
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
