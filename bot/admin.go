package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Paper controls paper trading; the paper-trading engine implements it.
type Paper interface {
	// SetEnabled turns paper trading on or off for scope: "global" (one account every
	// signal may trade in), "telegram:<chat>" or "discord:<guild>". An invalid scope
	// is reported as a *UsageError.
	SetEnabled(ctx context.Context, scope string, on bool) error
	// Status describes paper trading in scope: on or off, positions, PnL.
	Status(ctx context.Context, scope string) (string, error)
}

// Risk shows and changes the risk gate's limits and its kill switch.
type Risk interface {
	Show(ctx context.Context) (string, error)
	// Set changes one limit; a bad name or value is a *UsageError whose reason
	// names the limit and the values it accepts.
	Set(ctx context.Context, name, value string) error
	Halt(ctx context.Context, by string) error
	Resume(ctx context.Context, by string) error
}

const (
	noPaper = "Paper trading is not available in this deployment."
	noRisk  = "The risk gate is not available in this deployment."
)

// RegisterAdmin adds the admin commands /papertrade, /paper, /risk, /halt and
// /resume. p or rk may be nil: the commands then say the feature is not
// available. The router refuses them to non-admins before they run.
func RegisterAdmin(r *Router, p Paper, rk Risk) {
	r.Register(Command{
		Name: "papertrade", Args: "on|off [scope]", Summary: "switch paper trading on or off: for this chat or server, or global",
		Example: "/papertrade on", Admin: true, MinArgs: 1, MaxArgs: 2,
		Handler: func(ctx context.Context, c Call) (Reply, error) {
			on := false
			switch strings.ToLower(c.Args[0]) {
			case "on":
				on = true
			case "off":
			default:
				return Reply{}, Usagef("Say on or off.")
			}
			if p == nil {
				return Reply{Kind: KindNotFound, Text: noPaper}, nil
			}
			scope := scopeArg(c, c.Args[1:])
			if err := p.SetEnabled(ctx, scope, on); err != nil {
				return Reply{}, fmt.Errorf("papertrade %v %s: %w", on, scope, err)
			}
			state := "off"
			if on {
				state = "on"
			}
			return Reply{Text: fmt.Sprintf("Paper trading is now %s for %s.", state, scope)}, nil
		},
	})
	r.Register(Command{
		Name: "paper", Args: "[scope]", Summary: "paper trading status and PnL",
		Example: "/paper", Admin: true, MaxArgs: 1,
		Handler: func(ctx context.Context, c Call) (Reply, error) {
			if p == nil {
				return Reply{Kind: KindNotFound, Text: noPaper}, nil
			}
			s, err := p.Status(ctx, scopeArg(c, c.Args))
			if err != nil {
				return Reply{}, fmt.Errorf("paper status: %w", err)
			}
			return Reply{Title: "Paper trading", Text: s}, nil
		},
	})
	r.Register(Command{
		Name: "risk", Args: "[show | set <name> <value>]", Summary: "show or change the risk limits",
		Example: "/risk set max_position_usd 5000", Admin: true, MaxArgs: 3,
		Handler: func(ctx context.Context, c Call) (Reply, error) {
			if rk == nil {
				return Reply{Kind: KindNotFound, Text: noRisk}, nil
			}
			switch {
			case len(c.Args) == 0 || (len(c.Args) == 1 && strings.EqualFold(c.Args[0], "show")):
				s, err := rk.Show(ctx)
				if err != nil {
					return Reply{}, fmt.Errorf("risk show: %w", err)
				}
				return Reply{Title: "Risk limits", Text: s}, nil
			case len(c.Args) == 3 && strings.EqualFold(c.Args[0], "set"):
				if err := rk.Set(ctx, c.Args[1], c.Args[2]); err != nil {
					// A usage error names the limit and the accepted values.
					if ue, ok := errors.AsType[*UsageError](err); ok {
						return Reply{Kind: KindUsage, Text: "Not changed: " + ue.Reason}, nil
					}
					return Reply{}, fmt.Errorf("risk set %s: %w", c.Args[1], err)
				}
				return Reply{Text: fmt.Sprintf("%s is now %s.", c.Args[1], c.Args[2])}, nil
			}
			return Reply{}, Usagef("Use /risk, /risk show or /risk set <name> <value>.")
		},
	})
	r.Register(Command{
		Name: "halt", Summary: "stop all trading at once (kill switch)", Example: "/halt", Admin: true,
		Handler: func(ctx context.Context, c Call) (Reply, error) {
			if rk == nil {
				return Reply{Kind: KindNotFound, Text: noRisk}, nil
			}
			if err := rk.Halt(ctx, c.Platform+":"+c.UserID); err != nil {
				return Reply{}, fmt.Errorf("halt: %w", err)
			}
			return Reply{Text: "Halted: no new orders until /resume."}, nil
		},
	})
	r.Register(Command{
		Name: "resume", Summary: "resume trading after /halt", Example: "/resume", Admin: true,
		Handler: func(ctx context.Context, c Call) (Reply, error) {
			if rk == nil {
				return Reply{Kind: KindNotFound, Text: noRisk}, nil
			}
			if err := rk.Resume(ctx, c.Platform+":"+c.UserID); err != nil {
				return Reply{}, fmt.Errorf("resume: %w", err)
			}
			return Reply{Text: "Resumed: the risk gate accepts orders again."}, nil
		},
	})
}

// GlobalScope is the paper-trading scope every signal may trade in.
const GlobalScope = "global"

// scopeArg is the paper-trading scope a command names, or by default the one it
// was sent from: the Telegram chat, the Discord server (global outside a server),
// global on the console. "all" is global.
func scopeArg(c Call, args []string) string {
	if len(args) > 0 && args[0] != "" {
		s := strings.ToLower(args[0])
		if s == "all" {
			return GlobalScope
		}
		return s
	}
	switch {
	case c.Platform == "telegram" && c.ChatID != "":
		return "telegram:" + c.ChatID
	case c.Platform == "discord" && c.Guild != "":
		return "discord:" + c.Guild
	}
	return GlobalScope
}
