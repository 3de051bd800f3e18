package discord

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/coattailcapital/coattail/bot"
)

// Discord's limits on application commands.
const (
	maxCommands          = 100 // global chat commands per application
	maxOptions           = 25
	maxCommandDesc       = 100
	maxOptionName        = 32
	maxOptionChoices     = 25
	adminPermissions     = int64(discordgo.PermissionManageGuild)
	alertsPermissions    = int64(discordgo.PermissionManageChannels)
	alertsCommand        = "alerts"
	optionDescriptionFmt = "%s, as in %s"
)

// slashCommand is a router command as registered with Discord: the options, in
// the order the router expects the arguments.
type slashCommand struct {
	name    string
	options []string
}

// applicationCommands turns the router's commands (admin ones included) and
// /alerts into Discord application commands, and returns the argument order of
// each router command so an interaction can be turned back into a message.
//
// Options come from the usage line: "<x>" is a required option x, "[x]" an
// optional one, "a|b" a choice between a and b; after an "or" (two forms of one
// command) every option is optional, and so is every option after an optional
// one, as Discord requires. Admin commands are shown by default only to members
// who may manage the server; the router still checks the admin list.
func applicationCommands(cmds []bot.Command) ([]*discordgo.ApplicationCommand, map[string]slashCommand) {
	out := make([]*discordgo.ApplicationCommand, 0, len(cmds)+1)
	order := make(map[string]slashCommand, len(cmds))
	for _, c := range cmds {
		if c.Name == alertsCommand || len(out) == maxCommands-1 {
			continue // /alerts is ours on Discord; keep room for it
		}
		ac := &discordgo.ApplicationCommand{
			Name:        c.Name,
			Type:        discordgo.ChatApplicationCommand,
			Description: clip(orDefault(c.Summary, c.Usage()), maxCommandDesc),
		}
		var names []string
		if c.MaxArgs != 0 {
			ac.Options, names = commandOptions(c)
		}
		if c.Admin {
			p := adminPermissions
			ac.DefaultMemberPermissions = &p
		}
		out = append(out, ac)
		order[c.Name] = slashCommand{name: c.Name, options: names}
	}
	return append(out, alertsApplicationCommand()), order
}

func commandOptions(c bot.Command) ([]*discordgo.ApplicationCommandOption, []string) {
	var opts []*discordgo.ApplicationCommandOption
	var names []string
	seen := map[string]bool{}
	optional := false
	for _, tok := range strings.Fields(c.Args) {
		if tok == "or" {
			optional = true
			continue
		}
		required := !strings.HasPrefix(tok, "[") && !optional
		if !required {
			optional = true
		}
		raw := strings.Trim(tok, "<>[].…")
		var choices []*discordgo.ApplicationCommandOptionChoice
		if alts := strings.Split(raw, "|"); len(alts) > 1 && len(alts) <= maxOptionChoices {
			for _, a := range alts {
				choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: a, Value: a})
			}
		}
		name := optionName(raw)
		for base, i := name, 2; seen[name]; i++ {
			name = clipExact(base, maxOptionName-2) + "_" + strconv.Itoa(i)
		}
		if len(opts) == maxOptions {
			break
		}
		seen[name] = true
		opts = append(opts, &discordgo.ApplicationCommandOption{
			Type:        discordgo.ApplicationCommandOptionString,
			Name:        name,
			Description: clip(fmt.Sprintf(optionDescriptionFmt, tok, c.Usage()), maxCommandDesc),
			Required:    required,
			Choices:     choices,
		})
		names = append(names, name)
	}
	return opts, names
}

// optionName makes an option name Discord accepts from a usage token: lowercase
// letters, digits, '-' and '_', at most 32 of them.
func optionName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := strings.Trim(b.String(), "_")
	if name == "" {
		name = "argument"
	}
	return clipExact(name, maxOptionName)
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// alertsApplicationCommand is /alerts with its three subcommands. Only members
// who may manage channels see it by default, and it exists only in servers; the
// handler checks the member's permissions again, since a server can change who
// sees a command.
func alertsApplicationCommand() *discordgo.ApplicationCommand {
	p := alertsPermissions
	contexts := []discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	zero := 0.0
	return &discordgo.ApplicationCommand{
		Name:                     alertsCommand,
		Type:                     discordgo.ChatApplicationCommand,
		Description:              "Post wallet alerts in this channel (needs Manage Channels)",
		DefaultMemberPermissions: &p,
		Contexts:                 &contexts,
		Options: []*discordgo.ApplicationCommandOption{
			{
				Type:        discordgo.ApplicationCommandOptionSubCommand,
				Name:        "subscribe",
				Description: "Post alerts here, optionally only those matching filters",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionNumber, Name: "min_usd", MinValue: &zero,
						Description: "Only moves of at least this many US dollars"},
					{Type: discordgo.ApplicationCommandOptionString, Name: "coins", MaxLength: 400,
						Description: "Only these coins, comma-separated: BTC,ETH"},
					{Type: discordgo.ApplicationCommandOptionString, Name: "wallets", MaxLength: 1000,
						Description: "Only these wallets, comma-separated 0x addresses"},
					{Type: discordgo.ApplicationCommandOptionString, Name: "kinds", MaxLength: 200,
						Description: "Only these signal kinds: " + strings.Join(SignalKinds, ", ")},
				},
			},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "unsubscribe", Description: "Stop posting alerts here"},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "list", Description: "The channels of this server that get alerts, with their filters"},
		},
	}
}

// messageText turns a slash command back into the message the router parses:
// "/name arg arg", the options in the order of the usage line.
func messageText(cmd slashCommand, opts []*discordgo.ApplicationCommandInteractionDataOption) string {
	byName := make(map[string]string, len(opts))
	for _, o := range opts {
		byName[o.Name] = optionValue(o)
	}
	var b strings.Builder
	b.WriteString("/" + cmd.name)
	for _, n := range cmd.options {
		if v := strings.TrimSpace(byName[n]); v != "" {
			b.WriteString(" " + v)
		}
	}
	return b.String()
}

func optionValue(o *discordgo.ApplicationCommandInteractionDataOption) string {
	switch v := o.Value.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// buttonText turns a button's custom id "name:arg" (alert.Button.Data, such as
// "follow:0x…") into the command message "/name arg".
func buttonText(customID string) (string, bool) {
	name, arg, _ := strings.Cut(customID, ":")
	if name == "" || optionName(name) != name {
		return "", false
	}
	if arg = strings.TrimSpace(arg); arg != "" {
		return "/" + name + " " + arg, true
	}
	return "/" + name, true
}
