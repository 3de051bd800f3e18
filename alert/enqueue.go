package alert

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/store"
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
// After the commit, wake the dispatchers with a Waker (or let them poll).
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
	users, chans, err := targets(ctx, tx, sigs)
	if err != nil {
		return err
	}
	var out []target
	for i, sg := range sigs {
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
		for _, u := range users[i] {
			if !passes(u.settings, sg, t) {
				continue
			}
			due, digest := dueAt(u.settings, t, every)
			add(target{platform: u.platform, chat: u.chat, kind: "private", reason: u.reason,
				subscriber: "user:" + u.userID, digest: digest, due: due})
		}
		for _, s := range chans[i] {
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

type channelTarget struct {
	id             int64
	platform, chat string
}

// targets lists, per signal (by index in sigs), the users it may go to — followers of
// its wallet first, then users who asked for its rule on every wallet, each group by
// platform and user — and the channel subscriptions whose filters match it, by id.
// Two plain queries for the whole batch (cheap to plan: no per-signal joins); the
// matching is done here.
func targets(ctx context.Context, tx pgx.Tx, sigs []Signal) (map[int][]userTarget, map[int][]channelTarget, error) {
	var wallets, rules []string
	maxUSD := 0.0
	for _, sg := range sigs {
		if w := strings.ToLower(sg.Wallet); w != "" && !contains(wallets, w) {
			wallets = append(wallets, w)
		}
		if !contains(rules, sg.Rule) {
			rules = append(rules, sg.Rule)
		}
		maxUSD = max(maxUSD, sg.USD)
	}
	type candidate struct {
		wallet string // followed wallet; "" for a rule subscriber
		rules  []string
		u      userTarget
	}
	var users []candidate
	type channel struct {
		c                     channelTarget
		minUSD                float64
		coins, wallets, rules []string
	}
	var chans []channel
	b := &pgx.Batch{}
	b.Queue(`
		SELECT f.wallet, 'followed', '{}'::text[], u.platform, u.user_id, coalesce(u.alert_chat, u.user_id),
			coalesce(s.min_usd, 0), coalesce(s.sides, '{}'), coalesce(s.coins, '{}'),
			s.quiet_from, s.quiet_to, coalesce(s.digest, false), s.muted_until
		FROM unnest($1::text[]) AS k(w)
		CROSS JOIN LATERAL (SELECT wallet, platform, user_id FROM follows WHERE wallet = k.w) f
		CROSS JOIN LATERAL (SELECT * FROM users WHERE platform = f.platform AND user_id = f.user_id) u
		LEFT JOIN LATERAL (SELECT * FROM user_settings WHERE platform = f.platform AND user_id = f.user_id) s ON true
		UNION ALL
		SELECT '', 'rule', s.rules, u.platform, u.user_id, coalesce(u.alert_chat, u.user_id),
			s.min_usd, s.sides, s.coins, s.quiet_from, s.quiet_to, s.digest, s.muted_until
		FROM user_settings s JOIN users u USING (platform, user_id)
		WHERE s.rules && $2`, wallets, rules).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var c candidate
			var from, to *int16
			var muted *time.Time
			if err := rows.Scan(&c.wallet, &c.u.reason, &c.rules, &c.u.platform, &c.u.userID, &c.u.chat, &c.u.settings.MinUSD,
				&c.u.settings.Sides, &c.u.settings.Coins, &from, &to, &c.u.settings.Digest, &muted); err != nil {
				return fmt.Errorf("alert fan-out: subscribers: %w", err)
			}
			if from != nil && to != nil {
				c.u.settings.Quiet, c.u.settings.QuietFrom, c.u.settings.QuietTo = true, int(*from), int(*to)
			}
			if muted != nil {
				c.u.settings.MutedUntil = *muted
			}
			users = append(users, c)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("alert fan-out: subscribers: %w", err)
		}
		return nil
	})
	b.Queue(`SELECT id, platform, chat_id, min_usd, coins, wallets, rules FROM channel_subscriptions
		WHERE min_usd <= $1 AND (rules = '{}' OR rules && $2)`, maxUSD, rules).Query(func(rows pgx.Rows) error {
		var c channel
		if _, err := pgx.ForEachRow(rows, []any{&c.c.id, &c.c.platform, &c.c.chat, &c.minUSD, &c.coins, &c.wallets, &c.rules}, func() error {
			chans = append(chans, c)
			return nil
		}); err != nil {
			return fmt.Errorf("alert fan-out: channels: %w", err)
		}
		return nil
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, err
	}
	// Followers before rule subscribers, each by platform and user.
	slices.SortStableFunc(users, func(a, b candidate) int {
		if (a.wallet == "") != (b.wallet == "") {
			if a.wallet != "" {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.u.platform, b.u.platform); c != 0 {
			return c
		}
		return strings.Compare(a.u.userID, b.u.userID)
	})
	slices.SortFunc(chans, func(a, b channel) int { return cmp.Compare(a.c.id, b.c.id) })
	followers := map[string][]userTarget{}
	var byRule []candidate
	for _, c := range users {
		if c.wallet != "" {
			followers[c.wallet] = append(followers[c.wallet], c.u)
		} else {
			byRule = append(byRule, c)
		}
	}
	outU, outC := map[int][]userTarget{}, map[int][]channelTarget{}
	for i, sg := range sigs {
		w, coin := strings.ToLower(sg.Wallet), strings.ToUpper(sg.Coin)
		if w != "" {
			outU[i] = append(outU[i], followers[w]...)
		}
		for _, c := range byRule {
			if contains(c.rules, sg.Rule) {
				outU[i] = append(outU[i], c.u)
			}
		}
		for _, c := range chans {
			if c.minUSD <= sg.USD && (len(c.coins) == 0 || contains(c.coins, coin)) &&
				(len(c.wallets) == 0 || contains(c.wallets, w)) && (len(c.rules) == 0 || contains(c.rules, sg.Rule)) {
				outC[i] = append(outC[i], c.c)
			}
		}
	}
	return outU, outC, nil
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
	// One round trip: the chats, then the outbox rows (a batch runs in order). Rows
	// are inserted in signal order (ORDER BY): the outbox ids, which the dispatcher
	// sends by, then follow the signals, so a chat gets "opened" before "closed"
	// whatever order the join produced.
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO chats (platform, chat_id, kind)
		SELECT DISTINCT ON (p, c) p, c, k FROM unnest($1::text[], $2::text[], $3::text[]) AS t(p, c, k)
		ON CONFLICT (platform, chat_id) DO NOTHING`, plat, chat, kind)
	b.Queue(`INSERT INTO alert_outbox (platform, chat_id, signal_id, reason, subscriber, digest, due_at)
		SELECT t.p, t.c, t.s, t.r, t.sub, t.d, t.due
		FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bool[], $7::timestamptz[])
			WITH ORDINALITY AS t(p, c, s, r, sub, d, due, n)
		CROSS JOIN LATERAL (SELECT 1 FROM chats ch WHERE ch.platform = t.p AND ch.chat_id = t.c AND ch.active LIMIT 1) ch
		ORDER BY t.s, t.n
		ON CONFLICT (platform, chat_id, signal_id) DO NOTHING`, plat, chat, sig, reason, sub, digest, due)
	// Nothing reads them back in the transaction: on a pipelined one they go with COMMIT.
	if err := store.Defer(ctx, tx, b); err != nil {
		return fmt.Errorf("alert fan-out: chats and outbox: %w", err)
	}
	// Dispatchers are woken after the commit (Waker), not from inside it.
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
