package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/coattailcapital/coattail/alert"
	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/bot/discord"
)

// newDiscord returns the Discord front end, or nil when COATTAIL_DISCORD_TOKEN is
// unset. The *discord.Bot is both the gateway client (run Run in the errgroup)
// and the alert.Sender for the "discord" platform. COATTAIL_DISCORD_API and
// COATTAIL_DISCORD_GATEWAY point it at a proxy or a test server. The token is
// read from the environment only, never from a flag, and never logged.
func newDiscord(getenv func(string) string, admins []string, r *bot.Router, pool *pgxpool.Pool, log *slog.Logger) (*discord.Bot, error) {
	token := getenv("COATTAIL_DISCORD_TOKEN")
	if token == "" {
		return nil, nil
	}
	if err := discord.SetLibraryLogger(log); err != nil {
		return nil, err
	}
	as := alert.NewStore(pool)
	dc, err := discord.New(discord.Config{
		Token:         token,
		APIBase:       getenv("COATTAIL_DISCORD_API"),
		Gateway:       getenv("COATTAIL_DISCORD_GATEWAY"),
		Admins:        admins,
		Subscriptions: channelSubscriptions{as: as, pool: pool},
		AlertChats:    as,
		Logger:        log,
	}, r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	return dc, nil
}

// channelSubscriptions stores /alerts subscriptions as the alert fan-out reads
// them: rows of channel_subscriptions with platform "discord".
type channelSubscriptions struct {
	as   *alert.Store
	pool *pgxpool.Pool
}

func (c channelSubscriptions) Subscribe(ctx context.Context, guildID, channelID string, f discord.Filter) error {
	_, err := c.as.Subscribe(ctx, alert.Subscription{
		Platform: discord.Platform, ChatID: channelID, GuildID: guildID,
		MinUSD: f.MinUSD, Coins: f.Coins, Wallets: f.Wallets, Rules: f.Kinds,
	})
	return err
}

func (c channelSubscriptions) Unsubscribe(ctx context.Context, _, channelID string) (bool, error) {
	return c.as.Unsubscribe(ctx, discord.Platform, channelID)
}

// List reads the guild's rows directly: alert.Store has no query by guild yet.
func (c channelSubscriptions) List(ctx context.Context, guildID string) ([]discord.Subscription, error) {
	rows, err := c.pool.Query(ctx, `SELECT chat_id, min_usd, coins, wallets, rules, created_at
		FROM channel_subscriptions WHERE platform = $1 AND guild_id = $2 ORDER BY chat_id`, discord.Platform, guildID)
	if err != nil {
		return nil, fmt.Errorf("list the alert channels of guild %s: %w", guildID, err)
	}
	subs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (discord.Subscription, error) {
		s := discord.Subscription{GuildID: guildID}
		err := r.Scan(&s.ChannelID, &s.Filter.MinUSD, &s.Filter.Coins, &s.Filter.Wallets, &s.Filter.Kinds, &s.Since)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("list the alert channels of guild %s: %w", guildID, err)
	}
	return subs, nil
}
