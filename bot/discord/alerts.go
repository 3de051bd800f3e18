package discord

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/coattailcapital/coattail/bot"
)

// SignalKinds are the signal rules a channel can filter on (signals.rule,
// migrations/009_signals.sql).
var SignalKinds = []string{"followed_move", "alpha_move", "consensus", "exchange_flow", "anomaly"}

// Bounds on one channel's filter, so that a subscription stays readable.
const (
	maxFilterCoins   = 25
	maxFilterWallets = 25
	maxCoinLen       = 20
)

// Filter selects the alerts a channel receives. The zero Filter lets every alert
// through; each non-empty part narrows it.
type Filter struct {
	// MinUSD is the smallest move, in US dollars, worth an alert; 0 for any.
	MinUSD float64
	// Coins are upper-case tickers ("BTC"); empty for any coin.
	Coins []string
	// Wallets are lowercase 0x addresses; empty for any wallet.
	Wallets []string
	// Kinds are signal rules from [SignalKinds]; empty for any kind.
	Kinds []string
}

// Matches reports whether an alert of the signal rule kind, about wallet moving
// usd dollars of coin, passes the filter. Coins compare without regard to case,
// wallets in lowercase.
func (f Filter) Matches(kind, wallet, coin string, usd float64) bool {
	if usd < f.MinUSD {
		return false
	}
	if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, kind) {
		return false
	}
	if len(f.Coins) > 0 && !slices.Contains(f.Coins, strings.ToUpper(coin)) {
		return false
	}
	return len(f.Wallets) == 0 || slices.Contains(f.Wallets, strings.ToLower(wallet))
}

// Describe words the filter for people: "moves of at least $10,000 · coins BTC, ETH".
func (f Filter) Describe() string {
	var parts []string
	if f.MinUSD > 0 {
		parts = append(parts, "moves of at least "+formatUSD(f.MinUSD))
	}
	if len(f.Coins) > 0 {
		parts = append(parts, "coins "+strings.Join(f.Coins, ", "))
	}
	if len(f.Wallets) > 0 {
		short := make([]string, len(f.Wallets))
		for i, w := range f.Wallets {
			short[i] = bot.ShortAddress(w)
		}
		parts = append(parts, "wallets "+strings.Join(short, ", "))
	}
	if len(f.Kinds) > 0 {
		parts = append(parts, "kinds "+strings.Join(f.Kinds, ", "))
	}
	if len(parts) == 0 {
		return "every alert"
	}
	return strings.Join(parts, " · ")
}

// Subscription is one channel that receives alerts.
type Subscription struct {
	GuildID   string
	ChannelID string
	Filter    Filter
	Since     time.Time
}

// Subscriptions stores which channels receive alerts. The alert fan-out reads the
// same table.
type Subscriptions interface {
	// Subscribe makes the channel receive the alerts f lets through, replacing
	// the channel's filter if it is already subscribed.
	Subscribe(ctx context.Context, guildID, channelID string, f Filter) error
	// Unsubscribe stops the channel's alerts; removed is false when it had none.
	Unsubscribe(ctx context.Context, guildID, channelID string) (removed bool, err error)
	// List returns the subscribed channels of a guild, in a stable order.
	List(ctx context.Context, guildID string) ([]Subscription, error)
}

// ParseFilter reads the /alerts subscribe options: min_usd, and comma- or
// space-separated coins, wallets and kinds. Its errors are written for the user.
func ParseFilter(minUSD float64, coins, wallets, kinds string) (Filter, error) {
	var f Filter
	if math.IsNaN(minUSD) || math.IsInf(minUSD, 0) || minUSD < 0 {
		return f, errors.New("min_usd must be a number of dollars, 0 or more")
	}
	f.MinUSD = minUSD
	for _, c := range splitList(coins) {
		c = strings.ToUpper(c)
		if len(c) > maxCoinLen || strings.IndexFunc(c, func(r rune) bool {
			return (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' && r != '.'
		}) >= 0 {
			return Filter{}, fmt.Errorf("%q is not a coin ticker: use letters and digits, such as BTC or ETH", clip(c, 24))
		}
		if !slices.Contains(f.Coins, c) {
			f.Coins = append(f.Coins, c)
		}
	}
	if len(f.Coins) > maxFilterCoins {
		return Filter{}, fmt.Errorf("at most %d coins per channel; you gave %d", maxFilterCoins, len(f.Coins))
	}
	for _, w := range splitList(wallets) {
		addr, err := bot.ParseAddress(w)
		if err != nil {
			return Filter{}, err
		}
		if !slices.Contains(f.Wallets, addr) {
			f.Wallets = append(f.Wallets, addr)
		}
	}
	if len(f.Wallets) > maxFilterWallets {
		return Filter{}, fmt.Errorf("at most %d wallets per channel; you gave %d", maxFilterWallets, len(f.Wallets))
	}
	for _, k := range splitList(kinds) {
		k = strings.ToLower(k)
		if !slices.Contains(SignalKinds, k) {
			return Filter{}, fmt.Errorf("%q is not a signal kind; choose from %s", clip(k, 24), strings.Join(SignalKinds, ", "))
		}
		if !slices.Contains(f.Kinds, k) {
			f.Kinds = append(f.Kinds, k)
		}
	}
	return f, nil
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// mayManage reports whether the member may manage the channel the interaction
// came from: the permissions Discord computed for them there include Manage
// Channels, or Administrator, which implies it.
func mayManage(m *discordgo.Member) bool {
	return m != nil && m.Permissions&(discordgo.PermissionManageChannels|discordgo.PermissionAdministrator) != 0
}

// botCanPost is what the bot needs in a channel to post alerts.
const botCanPost = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages | discordgo.PermissionEmbedLinks

// handleAlerts answers /alerts subscribe|unsubscribe|list.
func (b *Bot) handleAlerts(ctx context.Context, i *discordgo.Interaction, data discordgo.ApplicationCommandInteractionData) bot.Reply {
	if i.GuildID == "" || i.Member == nil {
		return bot.Reply{Kind: bot.KindUsage, Text: "/alerts works in a server channel: run it in the channel that should receive the alerts."}
	}
	if b.subs == nil {
		return bot.Reply{Kind: bot.KindError, Text: "Channel alerts are not available on this installation yet."}
	}
	if !mayManage(i.Member) {
		return bot.Reply{Kind: bot.KindDenied, Text: "Only members who may manage this channel (the Manage Channels permission) can change or list its alerts."}
	}
	if len(data.Options) != 1 || data.Options[0].Type != discordgo.ApplicationCommandOptionSubCommand {
		return bot.Reply{Kind: bot.KindUsage, Text: "Usage: /alerts subscribe [min_usd] [coins] [wallets] [kinds], /alerts unsubscribe or /alerts list."}
	}
	sub := data.Options[0]
	switch sub.Name {
	case "subscribe":
		return b.alertsSubscribe(ctx, i, sub.Options)
	case "unsubscribe":
		removed, err := b.subs.Unsubscribe(ctx, i.GuildID, i.ChannelID)
		if err != nil {
			return b.alertsFailed(ctx, "unsubscribe", i, err)
		}
		if !removed {
			return bot.Reply{Kind: bot.KindNotFound, Text: "This channel does not receive alerts; nothing to stop."}
		}
		return bot.Reply{Text: "This channel no longer receives alerts."}
	case "list":
		subs, err := b.subs.List(ctx, i.GuildID)
		if err != nil {
			return b.alertsFailed(ctx, "list", i, err)
		}
		if len(subs) == 0 {
			return bot.Reply{Title: "Alert channels", Text: "No channel of this server receives alerts. Run /alerts subscribe in one."}
		}
		lines := make([]string, len(subs))
		for k, s := range subs {
			lines[k] = "• <#" + s.ChannelID + ">: " + s.Filter.Describe()
		}
		return bot.Reply{Title: "Alert channels", Text: strings.Join(lines, "\n"),
			Footer: "/alerts subscribe changes a channel's filters; /alerts unsubscribe stops them."}
	default:
		return bot.Reply{Kind: bot.KindUsage, Text: "Unknown /alerts subcommand " + sub.Name + "; use subscribe, unsubscribe or list."}
	}
}

func (b *Bot) alertsSubscribe(ctx context.Context, i *discordgo.Interaction, opts []*discordgo.ApplicationCommandInteractionDataOption) bot.Reply {
	if i.AppPermissions != 0 && i.AppPermissions&botCanPost != botCanPost {
		return bot.Reply{Kind: bot.KindDenied, Text: "I cannot post alerts in this channel: give me View Channel, Send Messages and Embed Links here, then run /alerts subscribe again."}
	}
	var minUSD float64
	var coins, wallets, kinds string
	for _, o := range opts {
		switch o.Name {
		case "min_usd":
			v, ok := o.Value.(float64)
			if !ok {
				return bot.Reply{Kind: bot.KindUsage, Text: "min_usd must be a number of dollars."}
			}
			minUSD = v
		case "coins":
			coins = optionValue(o)
		case "wallets":
			wallets = optionValue(o)
		case "kinds":
			kinds = optionValue(o)
		}
	}
	f, err := ParseFilter(minUSD, coins, wallets, kinds)
	if err != nil {
		return bot.Reply{Kind: bot.KindUsage, Text: capitalize(err.Error()) + ".\nExample: /alerts subscribe min_usd:50000 coins:BTC,ETH kinds:consensus"}
	}
	if err := b.subs.Subscribe(ctx, i.GuildID, i.ChannelID, f); err != nil {
		return b.alertsFailed(ctx, "subscribe", i, err)
	}
	return bot.Reply{Text: "This channel now receives alerts: " + f.Describe() + ".",
		Footer: "/alerts unsubscribe stops them; /alerts list shows every channel of this server."}
}

func (b *Bot) alertsFailed(ctx context.Context, op string, i *discordgo.Interaction, err error) bot.Reply {
	b.log.ErrorContext(ctx, "discord: /alerts failed", "op", op, "guild", i.GuildID, "channel", i.ChannelID, "err", err)
	return bot.Reply{Kind: bot.KindError, Text: "Sorry, something went wrong on our side while changing this channel's alerts. Please try again in a moment."}
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
