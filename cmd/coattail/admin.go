package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/paper"
	"github.com/coattailcapital/coattail/risk"
)

// paperAdmin is paper.Service as the bots' /papertrade and /paper see it.
type paperAdmin struct{ s *paper.Service }

var _ bot.Paper = paperAdmin{}

// SetEnabled implements bot.Paper; a scope the paper trader does not know is the
// admin's mistake, answered with the accepted forms.
func (p paperAdmin) SetEnabled(ctx context.Context, scope string, on bool) error {
	if err := paper.ValidScope(scope); err != nil {
		return &bot.UsageError{Reason: "Unknown scope " + strconv.Quote(scope) +
			": say global, telegram:<chat id> or discord:<server id>, or nothing for this chat.", Err: err}
	}
	return p.s.SetEnabled(ctx, scope, on)
}

// Status implements bot.Paper: the account in a few lines.
func (p paperAdmin) Status(ctx context.Context, scope string) (string, error) {
	if err := paper.ValidScope(scope); err != nil {
		return "", &bot.UsageError{Reason: "Unknown scope " + strconv.Quote(scope) +
			": say global, telegram:<chat id> or discord:<server id>, or nothing for this chat.", Err: err}
	}
	st, err := p.s.Status(ctx, scope)
	if errors.Is(err, paper.ErrNoAccount) {
		return fmt.Sprintf("Paper trading was never switched on for %s. /papertrade on %s starts it.", scope, scope), nil
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: %s\nEquity $%.2f (PnL %+.2f: realized %+.2f, unrealized %+.2f, fees %.2f)\n"+
		"Open %d, pending %d, closed %d (win rate %.0f%%)\nMax drawdown %.2f%%, exposure %.2fx",
		st.Scope, onOff(st.Enabled), st.Equity, st.PnL, st.Realized, st.Unrealized, st.Fees,
		st.Open, st.Pending, st.Closed, 100*st.WinRate, 100*st.MaxDrawdown, st.Exposure), nil
}

// riskAdmin is risk.Service as the bots' /risk, /halt and /resume see it.
type riskAdmin struct{ s *risk.Service }

var _ bot.Risk = riskAdmin{}

// Show implements bot.Risk: kill switch, tripped breakers and every limit.
func (r riskAdmin) Show(ctx context.Context) (string, error) {
	v, err := r.s.Show(ctx)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if v.Halted {
		fmt.Fprintf(&b, "Kill switch: HALTED (%s). /resume clears it.\n", v.HaltReason)
	} else {
		b.WriteString("Kill switch: off, trading.\n")
	}
	for _, br := range v.Breakers {
		if br.Tripped {
			fmt.Fprintf(&b, "Breaker %s: tripped (%s).\n", br.Scope, br.Reason)
		}
	}
	for _, n := range risk.Names() {
		fmt.Fprintf(&b, "%s = %s — %s\n", n, strconv.FormatFloat(v.Settings[n], 'g', -1, 64), risk.Help(n))
	}
	b.WriteString("Change one with /risk set <name> <value>.")
	return b.String(), nil
}

// Set implements bot.Risk. A bad name or value is a *bot.UsageError that names the
// setting and what it accepts.
func (r riskAdmin) Set(ctx context.Context, name, value string) error {
	name = strings.ToLower(name)
	def, ok := risk.Defaults().Get(name)
	if !ok {
		return &bot.UsageError{Reason: fmt.Sprintf("there is no risk setting %q. The settings are: %s.", name,
			strings.Join(risk.Names(), ", "))}
	}
	v, err := strconv.ParseFloat(value, 64)
	if err != nil {
		return &bot.UsageError{Reason: fmt.Sprintf("%s wants a number, such as /risk set %s %s, not %q.", name, name,
			strconv.FormatFloat(def, 'g', -1, 64), value), Err: err}
	}
	var check risk.Settings
	if err := check.Set(name, v); err != nil {
		return &bot.UsageError{Reason: err.Error() + ".", Err: err}
	}
	return r.s.Set(ctx, name, v)
}

// Halt implements bot.Risk: the global kill switch, with who pulled it.
func (r riskAdmin) Halt(ctx context.Context, by string) error {
	return r.s.Halt(ctx, "halted by "+by)
}

// Resume implements bot.Risk: clears the kill switch and every tripped breaker.
func (r riskAdmin) Resume(ctx context.Context, _ string) error {
	return r.s.Resume(ctx, "")
}
