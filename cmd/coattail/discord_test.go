package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/coattailcapital/coattail/alert"
	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/bot/discord"
	"github.com/coattailcapital/coattail/internal/testenv"
)

// Without a token there is no Discord front end; with one, /alerts
// subscriptions land in channel_subscriptions, where the alert fan-out reads them.
func TestNewDiscordAndChannelSubscriptions(t *testing.T) {
	st := testenv.Store(t)
	r, err := bot.NewRouter(bot.Config{Reader: st})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	log := slog.New(slog.DiscardHandler)
	if dc, err := newDiscord(getenv, nil, r, st.Pool(), log); dc != nil || err != nil {
		t.Fatalf("without a token: %v, %v; want nothing", dc, err)
	}
	env["COATTAIL_DISCORD_TOKEN"] = "token.value.here"
	env["COATTAIL_DISCORD_API"] = "ftp://nowhere"
	if _, err := newDiscord(getenv, nil, r, st.Pool(), log); err == nil || !strings.Contains(err.Error(), "APIBase") {
		t.Fatalf("a bad COATTAIL_DISCORD_API gave %v; want an error naming it", err)
	}
	env["COATTAIL_DISCORD_API"] = ""
	dc, err := newDiscord(getenv, []string{"1"}, r, st.Pool(), log)
	if err != nil || dc == nil || dc.Platform() != "discord" {
		t.Fatalf("with a token: %v, %v", dc, err)
	}

	ctx := context.Background()
	subs := channelSubscriptions{as: alert.NewStore(st.Pool()), pool: st.Pool()}
	f, err := discord.ParseFilter(1000, "eth", "", "consensus")
	if err != nil {
		t.Fatal(err)
	}
	if err := subs.Subscribe(ctx, "g1", "c1", f); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if err := subs.Subscribe(ctx, "g2", "c9", discord.Filter{}); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	got, err := subs.List(ctx, "g1")
	if err != nil || len(got) != 1 || got[0].ChannelID != "c1" || got[0].Filter.MinUSD != 1000 ||
		strings.Join(got[0].Filter.Coins, ",") != "ETH" || strings.Join(got[0].Filter.Kinds, ",") != "consensus" {
		t.Fatalf("List(g1) = %+v, %v", got, err)
	}
	if removed, err := subs.Unsubscribe(ctx, "g1", "c1"); err != nil || !removed {
		t.Fatalf("Unsubscribe: %v, %v", removed, err)
	}
	if got, err := subs.List(ctx, "g1"); err != nil || len(got) != 0 {
		t.Fatalf("after Unsubscribe: %+v, %v", got, err)
	}
}
