package alert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/coattailcapital/coattail/bot"
)

// Store keeps alert settings, chats and channel subscriptions in Postgres. It
// implements bot.SettingsStore.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a Store on pool (store.Store.Pool()).
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

var _ bot.SettingsStore = (*Store)(nil)

// Settings returns a user's alert settings, the defaults when none were saved.
func (s *Store) Settings(ctx context.Context, platform, userID string) (bot.AlertSettings, error) {
	var st bot.AlertSettings
	var from, to *int16
	var muted *time.Time
	err := s.pool.QueryRow(ctx, `SELECT min_usd, sides, coins, rules, quiet_from, quiet_to, digest, muted_until
		FROM user_settings WHERE platform = $1 AND user_id = $2`, platform, userID).
		Scan(&st.MinUSD, &st.Sides, &st.Coins, &st.Rules, &from, &to, &st.Digest, &muted)
	if errors.Is(err, pgx.ErrNoRows) {
		return bot.AlertSettings{}, nil
	}
	if err != nil {
		return st, fmt.Errorf("settings of %s/%s: %w", platform, userID, err)
	}
	if from != nil && to != nil {
		st.Quiet, st.QuietFrom, st.QuietTo = true, int(*from), int(*to)
	}
	if muted != nil {
		st.MutedUntil = *muted
	}
	return st, nil
}

// SaveSettings stores a user's alert settings, creating the user when new.
func (s *Store) SaveSettings(ctx context.Context, platform, userID string, st bot.AlertSettings) error {
	var from, to *int16
	if st.Quiet {
		f, t := int16(st.QuietFrom), int16(st.QuietTo)
		from, to = &f, &t
	}
	var muted *time.Time
	if !st.MutedUntil.IsZero() {
		muted = &st.MutedUntil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO users (platform, user_id) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, platform, userID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO user_settings
			(platform, user_id, min_usd, sides, coins, rules, quiet_from, quiet_to, digest, muted_until)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (platform, user_id) DO UPDATE SET min_usd = $3, sides = $4, coins = $5, rules = $6,
				quiet_from = $7, quiet_to = $8, digest = $9, muted_until = $10, updated_at = now()`,
			platform, userID, st.MinUSD, nonNil(st.Sides), nonNil(st.Coins), nonNil(st.Rules), from, to, st.Digest, muted)
		return err
	})
	if err != nil {
		return fmt.Errorf("save settings of %s/%s: %w", platform, userID, err)
	}
	return nil
}

// SetAlertChat records where a user's personal alerts go, when that is not the
// user id itself (a Discord DM channel, say), and makes sure the chat exists and
// is active again (a user who unblocked the bot and wrote to it).
func (s *Store) SetAlertChat(ctx context.Context, platform, userID, chatID string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO users (platform, user_id, alert_chat) VALUES ($1, $2, $3)
			ON CONFLICT (platform, user_id) DO UPDATE SET alert_chat = $3`, platform, userID, chatID); err != nil {
			return err
		}
		return TouchChat(ctx, tx, platform, chatID, "private")
	})
	if err != nil {
		return fmt.Errorf("set alert chat of %s/%s: %w", platform, userID, err)
	}
	return nil
}

// TouchChat records a chat we heard from, reactivating it if it had been
// deactivated: a user who blocked the bot and writes to it again has unblocked it.
func TouchChat(ctx context.Context, q execer, platform, chatID, kind string) error {
	_, err := q.Exec(ctx, `INSERT INTO chats (platform, chat_id, kind) VALUES ($1, $2, $3)
		ON CONFLICT (platform, chat_id) DO UPDATE SET active = true, kind = $3,
			deactivated_at = NULL, deactivated_reason = ''
		WHERE chats.active = false OR chats.kind <> $3`, platform, chatID, kind)
	return err
}

// Subscription is a channel's subscription to the signals matching its filters.
// Each empty filter matches everything.
type Subscription struct {
	ID        int64
	Platform  string // "discord", "telegram"
	ChatID    string // the channel
	GuildID   string
	CreatedBy string // the platform user id that subscribed it
	MinUSD    float64
	Coins     []string // upper case
	Wallets   []string // lowercase 0x addresses
	Rules     []string // signal rules: followed_move, alpha_move, consensus, ...
	CreatedAt time.Time
}

// Validate normalises the filters and checks them.
func (sub *Subscription) Validate() error {
	if sub.Platform == "" || sub.ChatID == "" {
		return errors.New("a subscription needs a platform and a chat")
	}
	if sub.MinUSD < 0 {
		return fmt.Errorf("minimum USD %v is negative", sub.MinUSD)
	}
	for i, c := range sub.Coins {
		sub.Coins[i] = strings.ToUpper(strings.TrimSpace(c))
	}
	for i, w := range sub.Wallets {
		w = strings.ToLower(strings.TrimSpace(w))
		if len(w) != 42 || !strings.HasPrefix(w, "0x") {
			return fmt.Errorf("wallet %q is not a 0x address", w)
		}
		sub.Wallets[i] = w
	}
	for _, r := range sub.Rules {
		if !contains(Rules, r) {
			return fmt.Errorf("unknown signal kind %q; choose from %s", r, strings.Join(Rules, ", "))
		}
	}
	return nil
}

// Subscribe creates or replaces the subscription of sub's channel and returns its id.
func (s *Store) Subscribe(ctx context.Context, sub Subscription) (int64, error) {
	if err := sub.Validate(); err != nil {
		return 0, err
	}
	kind := "channel"
	if sub.Platform == "telegram" && strings.HasPrefix(sub.ChatID, "-") {
		kind = "group"
	}
	var id int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := TouchChat(ctx, tx, sub.Platform, sub.ChatID, kind); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO channel_subscriptions
			(platform, chat_id, guild_id, created_by, min_usd, coins, wallets, rules)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (platform, chat_id) DO UPDATE SET guild_id = $3, created_by = $4, min_usd = $5,
				coins = $6, wallets = $7, rules = $8, created_at = now()
			RETURNING id`, sub.Platform, sub.ChatID, sub.GuildID, sub.CreatedBy, sub.MinUSD,
			nonNil(sub.Coins), nonNil(sub.Wallets), nonNil(sub.Rules)).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("subscribe %s/%s: %w", sub.Platform, sub.ChatID, err)
	}
	return id, nil
}

// Unsubscribe removes a channel's subscription; removed is false when it had none.
// Alerts already in the outbox for the channel are still delivered.
func (s *Store) Unsubscribe(ctx context.Context, platform, chatID string) (removed bool, err error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM channel_subscriptions WHERE platform = $1 AND chat_id = $2`, platform, chatID)
	if err != nil {
		return false, fmt.Errorf("unsubscribe %s/%s: %w", platform, chatID, err)
	}
	return tag.RowsAffected() > 0, nil
}

// Subscription returns a channel's subscription; ok is false when it has none.
func (s *Store) Subscription(ctx context.Context, platform, chatID string) (sub Subscription, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT id, platform, chat_id, guild_id, created_by, min_usd, coins, wallets, rules, created_at
		FROM channel_subscriptions WHERE platform = $1 AND chat_id = $2`, platform, chatID).
		Scan(&sub.ID, &sub.Platform, &sub.ChatID, &sub.GuildID, &sub.CreatedBy, &sub.MinUSD,
			&sub.Coins, &sub.Wallets, &sub.Rules, &sub.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Subscription{}, false, nil
	}
	if err != nil {
		return Subscription{}, false, fmt.Errorf("subscription of %s/%s: %w", platform, chatID, err)
	}
	return sub, true, nil
}

// ChatActive reports whether alerts still go to a chat; a chat never seen is active.
func (s *Store) ChatActive(ctx context.Context, platform, chatID string) (bool, error) {
	var active bool
	err := s.pool.QueryRow(ctx, `SELECT active FROM chats WHERE platform = $1 AND chat_id = $2`, platform, chatID).Scan(&active)
	if errors.Is(err, pgx.ErrNoRows) {
		return true, nil
	}
	return active, err
}

// execer is a pool, a connection or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
