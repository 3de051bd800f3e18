package discord

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/bwmarrin/discordgo"
	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/store"
)

// fuzzReader answers the router's reads with nothing, so the fuzzed path needs no
// database.
type fuzzReader struct{}

func (fuzzReader) Leaderboard(context.Context, store.LeaderboardQuery) ([]store.LeaderRow, error) {
	return nil, nil
}

func (fuzzReader) Wallet(context.Context, string) (store.WalletView, error) {
	return store.WalletView{}, store.ErrNotFound
}

// memSubs keeps channel subscriptions in memory.
type memSubs struct {
	mu sync.Mutex
	m  map[string]Subscription
}

func (s *memSubs) Subscribe(_ context.Context, guild, channel string, f Filter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[channel] = Subscription{GuildID: guild, ChannelID: channel, Filter: f}
	return nil
}

func (s *memSubs) Unsubscribe(_ context.Context, _, channel string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[channel]
	delete(s.m, channel)
	return ok, nil
}

func (s *memSubs) List(_ context.Context, guild string) ([]Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Subscription
	for _, v := range s.m {
		if v.GuildID == guild {
			out = append(out, v)
		}
	}
	return out, nil
}

// FuzzInteraction: any INTERACTION_CREATE payload the gateway could deliver (a slash
// command, /alerts, a button) is routed to an answer — never nothing, never a panic —
// and that answer renders to embeds within Discord's limits. A subscription it stores
// has a filter that ParseFilter accepts again unchanged.
func FuzzInteraction(f *testing.F) {
	perms := int64(discordgo.PermissionManageChannels)
	seeds := []any{
		slashInteraction("1", "42", 0, "help"),
		slashInteraction("2", "42", 0, "leaderboard", opt("limit", discordgo.ApplicationCommandOptionInteger, 5)),
		slashInteraction("3", "42", 0, "wallet", opt("address", discordgo.ApplicationCommandOptionString, "0x51f63885534cb494f4592a0311551f369bff2b39")),
		slashInteraction("4", "42", 0, "follow", opt("address", discordgo.ApplicationCommandOptionString, "0x51f63885534cb494f4592a0311551f369bff2b39"), opt("label", discordgo.ApplicationCommandOptionString, "whale")),
		slashInteraction("5", "42", perms, alertsCommand, subcommand("subscribe",
			opt("min_usd", discordgo.ApplicationCommandOptionNumber, 25000.5), opt("coins", discordgo.ApplicationCommandOptionString, "btc, eth"),
			opt("kinds", discordgo.ApplicationCommandOptionString, "consensus"))),
		slashInteraction("6", "42", perms, alertsCommand, subcommand("list")),
		slashInteraction("7", "42", 0, alertsCommand, subcommand("unsubscribe")),
		slashInteraction("8", "42", 0, "nosuchcommand", opt("x", discordgo.ApplicationCommandOptionBoolean, true)),
		map[string]any{"id": "9", "type": 3, "token": "t", "channel_id": "600", "user": map[string]any{"id": "42"},
			"data": map[string]any{"custom_id": "follow:0x51f63885534cb494f4592a0311551f369bff2b39", "component_type": 2}},
		map[string]any{"id": "10", "type": 3, "token": "t", "channel_id": "600", "data": map[string]any{"custom_id": ":", "component_type": 2}},
	}
	for _, s := range seeds {
		b, err := json.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":2,"data":{"name":"alerts","options":[{"name":"subscribe","type":1,"options":[{"name":"min_usd","type":10,"value":-1}]}]},"guild_id":"1","member":{"user":{"id":"2"},"permissions":"16"}}`))
	f.Add([]byte(`{"type":2}`))

	r, err := bot.NewRouter(bot.Config{Reader: fuzzReader{}, RateLimit: bot.RateLimit{Commands: -1}})
	if err != nil {
		f.Fatal(err)
	}
	b, err := New(Config{Token: "fuzz-token", Subscriptions: &memSubs{m: map[string]Subscription{}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, r)
	if err != nil {
		f.Fatal(err)
	}
	_, b.commands = applicationCommands(r.Commands(true))
	subs := b.subs.(*memSubs)
	f.Fuzz(func(t *testing.T, payload []byte) {
		subs.mu.Lock()
		clear(subs.m) // each input starts from no subscription, so a failure reproduces
		subs.mu.Unlock()
		var i discordgo.Interaction
		if err := json.Unmarshal(payload, &i); err != nil {
			return // discordgo drops a payload it cannot decode
		}
		if i.Type != discordgo.InteractionApplicationCommand && i.Type != discordgo.InteractionMessageComponent {
			return // onInteraction ignores the other types
		}
		a := b.route(context.Background(), &i)
		if a.reply.IsZero() {
			t.Fatalf("no answer to %s", payload)
		}
		for _, msg := range renderEmbeds(a.reply) {
			if len(msg) == 0 || len(msg) > 10 {
				t.Fatalf("a message of %d embeds", len(msg))
			}
			total := 0
			for _, e := range msg {
				// Discord counts UTF-16 code units (units).
				if units(e.Description) > 4096 || units(e.Title) > 256 {
					t.Fatalf("embed over Discord's limits: title %d, description %d", units(e.Title), units(e.Description))
				}
				total += embedChars(e)
			}
			if total > 6000 {
				t.Fatalf("message of %d characters, Discord allows 6000", total)
			}
		}
		all, _ := subs.List(context.Background(), i.GuildID)
		for _, s := range all {
			g := s.Filter
			back, err := ParseFilter(g.MinUSD, strings.Join(g.Coins, ","), strings.Join(g.Wallets, ","), strings.Join(g.Kinds, ","))
			if err != nil || !sameFilter(back, g) {
				t.Fatalf("stored filter %+v does not parse back (%+v, %v)", g, back, err)
			}
		}
	})
}

// FuzzParseFilter: an accepted /alerts filter parses back from its own lists to the
// same filter, within its bounds; a refused one says why.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []struct {
		min                   float64
		coins, wallets, kinds string
	}{
		{0, "", "", ""}, {10000, "btc,eth", "", "consensus"}, {1, "BTC ETH btc", "0x51f63885534cb494f4592a0311551f369bff2b39", "alpha_move anomaly"},
		{-1, "", "", ""}, {0, "b/tc", "", ""}, {0, "", "0x12", ""}, {0, "", "", "whale"},
		{0, strings.Repeat("A,", 40), "", ""}, {1e300, "A-B.C", "", ""},
	} {
		f.Add(s.min, s.coins, s.wallets, s.kinds)
	}
	f.Fuzz(func(t *testing.T, min float64, coins, wallets, kinds string) {
		g, err := ParseFilter(min, coins, wallets, kinds)
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("a refusal without a reason")
			}
			return
		}
		if !(g.MinUSD >= 0) || len(g.Coins) > maxFilterCoins || len(g.Wallets) > maxFilterWallets {
			t.Fatalf("accepted %+v", g)
		}
		for _, k := range g.Kinds {
			if !slices.Contains(SignalKinds, k) {
				t.Fatalf("accepted kind %q", k)
			}
		}
		back, err := ParseFilter(g.MinUSD, strings.Join(g.Coins, " "), strings.Join(g.Wallets, ","), strings.Join(g.Kinds, ","))
		if err != nil || !sameFilter(back, g) {
			t.Fatalf("%+v does not parse back: %+v, %v", g, back, err)
		}
		if g.Describe() == "" {
			t.Fatal("empty description")
		}
		// Whatever matches the filter has a coin and kind from its lists, when it has lists.
		if g.Matches("consensus", "", "BTC", g.MinUSD) && ((len(g.Coins) > 0 && !slices.Contains(g.Coins, "BTC")) ||
			(len(g.Kinds) > 0 && !slices.Contains(g.Kinds, "consensus"))) {
			t.Fatalf("%+v matches BTC consensus", g)
		}
	})
}

func sameFilter(a, b Filter) bool {
	return strconv.FormatFloat(a.MinUSD, 'g', -1, 64) == strconv.FormatFloat(b.MinUSD, 'g', -1, 64) &&
		slices.Equal(a.Coins, b.Coins) && slices.Equal(a.Wallets, b.Wallets) && slices.Equal(a.Kinds, b.Kinds)
}
