package alert

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coattailcapital/coattail/bot"
)

// DefaultDigestEvery is how often a user in digest mode gets a summary.
const DefaultDigestEvery = time.Hour

// Fanout decides who gets which signal. Its zero value is ready to use;
// [Enqueue] uses one.
type Fanout struct {
	// Now is the clock for quiet hours, mutes and digest slots. Defaults to time.Now.
	Now func() time.Time
	// DigestEvery is the digest period: alerts of a user in digest mode are held
	// to the next multiple of it (UTC). Defaults to DefaultDigestEvery.
	DigestEvery time.Duration
}

// Enqueue writes the alerts for sigs into the outbox, inside the caller's
// transaction tx (the one that inserted the signals), so the signals and their
// alerts commit together or not at all. Each signal goes at most once to each
// chat, even when called again with the same signals. Who gets a signal:
//   - users following the signal's wallet (any rule), through their settings;
//   - users whose settings ask for the signal's rule for every wallet
//     (alpha_move, consensus, ...), through their settings;
//   - channel subscriptions whose filters match (minimum USD, coins, wallets, rules).
//
// User settings filter by minimum USD, side and coin, drop alerts while muted,
// hold them to the end of quiet hours and, in digest mode, to the next digest slot.
func Enqueue(ctx context.Context, tx pgx.Tx, sigs []Signal) error {
	return Fanout{}.Enqueue(ctx, tx, sigs)
}

// target is one outbox row to write.
type target struct {
	platform, chat, kind, reason, subscriber string
	digest                                   bool
	due                                      time.Time
	signal                                   int64
}

// Enqueue is [Enqueue] with f's clock and digest period.
func (f Fanout) Enqueue(ctx context.Context, tx pgx.Tx, sigs []Signal) error {
	if len(sigs) == 0 {
		return nil
	}
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	every := f.DigestEvery
	if every <= 0 {
		every = DefaultDigestEvery
	}
	t := now().UTC()
	var out []target
	for _, sg := range sigs {
		seen := map[string]bool{}
		add := func(tg target) {
			k := tg.platform + "\x00" + tg.chat
			if seen[k] {
				return
			}
			seen[k] = true
			tg.signal = sg.ID
			out = append(out, tg)
		}
		users, err := userTargets(ctx, tx, sg)
		if err != nil {
			return err
		}
		for _, u := range users {
			if !passes(u.settings, sg, t) {
				continue
			}
			due, digest := dueAt(u.settings, t, every)
			add(target{platform: u.platform, chat: u.chat, kind: "private", reason: u.reason,
				subscriber: "user:" + u.userID, digest: digest, due: due})
		}
		subs, err := channelTargets(ctx, tx, sg)
		if err != nil {
			return err
		}
		for _, s := range subs {
			kind := "channel"
			if s.platform == "telegram" && strings.HasPrefix(s.chat, "-") {
				kind = "group"
			}
			add(target{platform: s.platform, chat: s.chat, kind: kind, reason: "channel",
				subscriber: fmt.Sprintf("sub:%d", s.id), due: t})
		}
	}
	if len(out) == 0 {
		return nil
	}
	return insertTargets(ctx, tx, out)
}

type userTarget struct {
	platform, userID, chat, reason string
	settings                       bot.AlertSettings
}

// userTargets lists the users a signal may go to: followers of its wallet first,
// then users who asked for its rule on every wallet.
func userTargets(ctx context.Context, tx pgx.Tx, sg Signal) ([]userTarget, error) {
	rows, err := tx.Query(ctx, `
		SELECT u.platform, u.user_id, coalesce(u.alert_chat, u.user_id), w.reason,
			coalesce(s.min_usd, 0), coalesce(s.sides, '{}'), coalesce(s.coins, '{}'),
			s.quiet_from, s.quiet_to, coalesce(s.digest, false), s.muted_until
		FROM (
			SELECT platform, user_id, 'followed' AS reason, 0 AS pri FROM follows WHERE wallet = $1 AND $1 <> ''
			UNION ALL
			SELECT platform, user_id, 'rule', 1 FROM user_settings WHERE $2 = ANY (rules)
		) w
		JOIN users u USING (platform, user_id)
		LEFT JOIN user_settings s USING (platform, user_id)
		ORDER BY w.pri, u.platform, u.user_id`, strings.ToLower(sg.Wallet), sg.Rule)
	if err != nil {
		return nil, fmt.Errorf("alert fan-out of signal %d: subscribers: %w", sg.ID, err)
	}
	defer rows.Close()
	var out []userTarget
	for rows.Next() {
		var u userTarget
		var from, to *int16
		var muted *time.Time
		if err := rows.Scan(&u.platform, &u.userID, &u.chat, &u.reason, &u.settings.MinUSD, &u.settings.Sides,
			&u.settings.Coins, &from, &to, &u.settings.Digest, &muted); err != nil {
			return nil, fmt.Errorf("alert fan-out of signal %d: %w", sg.ID, err)
		}
		if from != nil && to != nil {
			u.settings.Quiet, u.settings.QuietFrom, u.settings.QuietTo = true, int(*from), int(*to)
		}
		if muted != nil {
			u.settings.MutedUntil = *muted
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alert fan-out of signal %d: %w", sg.ID, err)
	}
	return out, nil
}

type channelTarget struct {
	id             int64
	platform, chat string
}

func channelTargets(ctx context.Context, tx pgx.Tx, sg Signal) ([]channelTarget, error) {
	rows, err := tx.Query(ctx, `SELECT id, platform, chat_id FROM channel_subscriptions
		WHERE min_usd <= $1
		  AND (coins = '{}' OR upper($2) = ANY (coins))
		  AND (wallets = '{}' OR lower($3) = ANY (wallets))
		  AND (rules = '{}' OR $4 = ANY (rules))
		ORDER BY id`, sg.USD, sg.Coin, sg.Wallet, sg.Rule)
	if err != nil {
		return nil, fmt.Errorf("alert fan-out of signal %d: channels: %w", sg.ID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (channelTarget, error) {
		var c channelTarget
		err := r.Scan(&c.id, &c.platform, &c.chat)
		return c, err
	})
}

// insertTargets writes the chats and outbox rows in two statements, however
// many there are; rows for deactivated chats are left out, and a (chat, signal)
// already in the outbox is not written again.
func insertTargets(ctx context.Context, tx pgx.Tx, ts []target) error {
	n := len(ts)
	plat, chat, kind, reason, sub := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	digest, due, sig := make([]bool, n), make([]time.Time, n), make([]int64, n)
	for i, t := range ts {
		plat[i], chat[i], kind[i], reason[i], sub[i] = t.platform, t.chat, t.kind, t.reason, t.subscriber
		digest[i], due[i], sig[i] = t.digest, t.due, t.signal
	}
	if _, err := tx.Exec(ctx, `INSERT INTO chats (platform, chat_id, kind)
		SELECT DISTINCT ON (p, c) p, c, k FROM unnest($1::text[], $2::text[], $3::text[]) AS t(p, c, k)
		ON CONFLICT (platform, chat_id) DO NOTHING`, plat, chat, kind); err != nil {
		return fmt.Errorf("alert fan-out: chats: %w", err)
	}
	// Rows are inserted in signal order (ORDER BY): the outbox ids, which the
	// dispatcher sends by, then follow the signals, so a chat gets "opened" before
	// "closed" whatever order the join produced.
	if _, err := tx.Exec(ctx, `INSERT INTO alert_outbox (platform, chat_id, signal_id, reason, subscriber, digest, due_at)
		SELECT t.p, t.c, t.s, t.r, t.sub, t.d, t.due
		FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bool[], $7::timestamptz[])
			WITH ORDINALITY AS t(p, c, s, r, sub, d, due, n)
		JOIN chats ch ON ch.platform = t.p AND ch.chat_id = t.c AND ch.active
		ORDER BY t.s, t.n
		ON CONFLICT (platform, chat_id, signal_id) DO NOTHING`, plat, chat, sig, reason, sub, digest, due); err != nil {
		return fmt.Errorf("alert fan-out: outbox: %w", err)
	}
	// Wake dispatchers now rather than at their next poll; delivered at commit.
	if _, err := tx.Exec(ctx, `SELECT pg_notify('`+notifyChannel+`', '')`); err != nil {
		return fmt.Errorf("alert fan-out: notify: %w", err)
	}
	return nil
}

// notifyChannel is the LISTEN/NOTIFY channel that wakes dispatchers.
const notifyChannel = "coattail_alerts"

// passes applies a user's filters to a signal at time now.
func passes(s bot.AlertSettings, sg Signal, now time.Time) bool {
	if s.MutedUntil.After(now) {
		return false
	}
	if s.MinUSD > 0 && sg.USD < s.MinUSD {
		return false
	}
	if len(s.Sides) > 0 && !contains(s.Sides, strings.ToLower(sg.Side)) {
		return false
	}
	if len(s.Coins) > 0 && !contains(s.Coins, strings.ToUpper(sg.Coin)) {
		return false
	}
	return true
}

// dueAt is when an alert created at now may go out under s: now, the next digest
// slot in digest mode, and in either case not during quiet hours.
func dueAt(s bot.AlertSettings, now time.Time, every time.Duration) (due time.Time, digest bool) {
	due = now
	if s.Digest {
		due = now.Truncate(every).Add(every)
		digest = true
	}
	if s.Quiet && inQuiet(s.QuietFrom, s.QuietTo, due) {
		due = quietEnd(s.QuietTo, due)
	}
	return due, digest
}

// inQuiet reports whether t (UTC) falls in [from, to) hours, wrapping midnight.
func inQuiet(from, to int, t time.Time) bool {
	h := t.UTC().Hour()
	if from < to {
		return h >= from && h < to
	}
	return h >= from || h < to
}

// quietEnd is the first time at hour `to`:00 UTC after t.
func quietEnd(to int, t time.Time) time.Time {
	t = t.UTC()
	end := time.Date(t.Year(), t.Month(), t.Day(), to, 0, 0, 0, time.UTC)
	if !end.After(t) {
		end = end.AddDate(0, 0, 1)
	}
	return end
}
