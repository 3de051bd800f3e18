package bot

import (
	"context"
	"strings"
)

// exampleAddress is the wallet used in usage examples.
const exampleAddress = "0x51f63885534cb494f4592a0311551f369bff2b39"

func (r *Router) registerBuiltins() {
	r.Register(Command{
		Name:    "start",
		Summary: "welcome and a quick tour",
		Example: "/start",
		MaxArgs: -1, // Telegram deep links send "/start <payload>"
		Handler: handleStart,
	})
	r.Register(Command{
		Name:    "help",
		Args:    "[command]",
		Summary: "every command, or the details of one",
		Example: "/help wallet",
		MaxArgs: 1,
		Handler: r.handleHelp,
	})
	r.Register(Command{
		Name:    "leaderboard",
		Args:    "[limit] or <window> [page]",
		Summary: "the top wallets, ranked by skill",
		Example: "/leaderboard 20",
		MaxArgs: 2,
		Handler: r.handleLeaderboard,
	})
	r.Register(Command{
		Name:    "wallet",
		Args:    "<address>",
		Summary: "PnL, rank and open positions of a wallet",
		Example: "/wallet " + exampleAddress,
		MinArgs: 1,
		MaxArgs: 1,
		Handler: r.handleWallet,
	})
}

func handleStart(context.Context, Call) (Reply, error) {
	return Reply{
		Title: "Welcome to Coat Tail Capital",
		Text: "Riding smart money so you don't have to think.\n" +
			"I watch what large, skilled wallets do and rank which of them really beat the market.\n" +
			"Try /leaderboard for the top wallets, /wallet <address> to look one up, or /help for every command.",
	}, nil
}

func (r *Router) handleHelp(_ context.Context, c Call) (Reply, error) {
	if len(c.Args) == 1 {
		return r.helpFor(c.Args[0], c.IsAdmin), nil
	}
	var b strings.Builder
	var admin []Command
	for _, cmd := range r.Commands(c.IsAdmin) {
		if cmd.Admin {
			admin = append(admin, cmd)
			continue
		}
		writeHelpLine(&b, cmd)
	}
	if len(admin) > 0 {
		b.WriteString("\n\nAdmin:")
		for _, cmd := range admin {
			writeHelpLine(&b, cmd)
		}
	}
	return Reply{
		Title:  "Commands",
		Text:   strings.TrimPrefix(b.String(), "\n"),
		Footer: "/help <command> shows the details and an example.",
	}, nil
}

func writeHelpLine(b *strings.Builder, c Command) {
	b.WriteByte('\n')
	b.WriteString(c.Usage())
	if c.Summary != "" {
		b.WriteString(" — ")
		b.WriteString(c.Summary)
	}
}

// helpFor details one command: "/help wallet", "/help /wallet".
func (r *Router) helpFor(arg string, admin bool) Reply {
	name := strings.ToLower(strings.TrimPrefix(arg, "/"))
	name, _, _ = strings.Cut(name, "@")
	c := r.lookup(name)
	if c == nil {
		return r.unknown(name, admin)
	}
	var b strings.Builder
	if c.Summary != "" {
		b.WriteString(strings.ToUpper(c.Summary[:1]) + c.Summary[1:] + ".\n")
	}
	b.WriteString("Usage: " + c.Usage())
	if c.Example != "" {
		b.WriteString("\nExample: " + c.Example)
	}
	if c.Admin {
		b.WriteString("\nFor admins only.")
	}
	return Reply{Title: "/" + c.Name, Text: b.String()}
}
