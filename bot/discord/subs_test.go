package discord

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgSubscriptions keeps subscriptions in a real Postgres table in the test's
// schema. The production table comes with the alert outbox (migration 010); this
// one has the same shape so the tests run the adapter against real storage.
type pgSubscriptions struct{ pool *pgxpool.Pool }

func newPGSubscriptions(t *testing.T, pool *pgxpool.Pool) *pgSubscriptions {
	t.Helper()
	_, err := pool.Exec(context.Background(), `CREATE TABLE discord_alert_channels (
		guild_id   text             NOT NULL,
		channel_id text             PRIMARY KEY,
		min_usd    double precision NOT NULL DEFAULT 0,
		coins      text[]           NOT NULL DEFAULT '{}',
		wallets    text[]           NOT NULL DEFAULT '{}',
		kinds      text[]           NOT NULL DEFAULT '{}',
		created_at timestamptz      NOT NULL DEFAULT now())`)
	if err != nil {
		t.Fatalf("create subscriptions table: %v", err)
	}
	return &pgSubscriptions{pool: pool}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (p *pgSubscriptions) Subscribe(ctx context.Context, guildID, channelID string, f Filter) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO discord_alert_channels (guild_id, channel_id, min_usd, coins, wallets, kinds)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (channel_id) DO UPDATE SET min_usd = $3, coins = $4, wallets = $5, kinds = $6`,
		guildID, channelID, f.MinUSD, nonNil(f.Coins), nonNil(f.Wallets), nonNil(f.Kinds))
	return err
}

func (p *pgSubscriptions) Unsubscribe(ctx context.Context, guildID, channelID string) (bool, error) {
	tag, err := p.pool.Exec(ctx, `DELETE FROM discord_alert_channels WHERE guild_id = $1 AND channel_id = $2`, guildID, channelID)
	return tag.RowsAffected() > 0, err
}

func (p *pgSubscriptions) List(ctx context.Context, guildID string) ([]Subscription, error) {
	rows, err := p.pool.Query(ctx, `SELECT guild_id, channel_id, min_usd, coins, wallets, kinds, created_at
		FROM discord_alert_channels WHERE guild_id = $1 ORDER BY channel_id`, guildID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Subscription, error) {
		var s Subscription
		err := r.Scan(&s.GuildID, &s.ChannelID, &s.Filter.MinUSD, &s.Filter.Coins, &s.Filter.Wallets, &s.Filter.Kinds, &s.Since)
		for _, l := range []*[]string{&s.Filter.Coins, &s.Filter.Wallets, &s.Filter.Kinds} {
			if len(*l) == 0 {
				*l = nil
			}
		}
		return s, err
	})
}

var _ Subscriptions = (*pgSubscriptions)(nil)
