package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coattailcapital/coattail/alert"
	"github.com/coattailcapital/coattail/store"
)

// AlertResult is the time to deliver one signal to every follower of a wallet
// under Telegram's limits, scaled by Scale, beside the physical floor:
// followers / (30 msg/s × Scale).
type AlertResult struct {
	Followers int           `json:"followers"`
	Scale     float64       `json:"scale"`    // rate multiplier over Telegram's 30 msg/s
	Enqueue   time.Duration `json:"enqueue"`  // the fan-out transaction
	Deliver   time.Duration `json:"deliver"`  // commit to the last message accepted
	Floor     time.Duration `json:"floor"`    // followers / rate
	Ratio     float64       `json:"ratio"`    // Deliver / Floor; 1 is the best possible
	Messages  int64         `json:"messages"` // messages the sender accepted
}

func (r AlertResult) String() string {
	return fmt.Sprintf("alerts: 1 signal to %d followers at %.0f msg/s (Telegram ×%g): fan-out %v, delivered in %v, floor %v, ratio %.2f",
		r.Followers, alert.TelegramLimits.PerSecond*r.Scale, r.Scale, r.Enqueue.Round(time.Millisecond),
		r.Deliver.Round(time.Millisecond), r.Floor.Round(time.Millisecond), r.Ratio)
}

// countingSender accepts every message at once, as a platform with no latency
// would: what remains is the outbox and the scheduler.
type countingSender struct{ n atomic.Int64 }

func (c *countingSender) Platform() string { return "telegram" }
func (c *countingSender) Send(ctx context.Context, _ string, _ alert.Message) error {
	c.n.Add(1)
	return ctx.Err()
}

// Alerts makes followers users follow one wallet in st (a migrated, scratch
// schema), commits one signal for it with its fan-out, and runs a dispatcher at
// Telegram's limits times scale until every follower has the alert. Scale 1 is
// the real limit (10,000 followers: a floor of 333 s); a larger scale measures
// the scheduler's own overhead in less time.
func Alerts(ctx context.Context, st *store.Store, followers int, scale float64) (AlertResult, error) {
	res := AlertResult{Followers: followers, Scale: scale}
	const wallet = "0x51f63885534cb494f4592a0311551f369bff2b39"
	pool := st.Pool()
	if _, err := pool.Exec(ctx, `INSERT INTO users (platform, user_id)
		SELECT 'telegram', g::text FROM generate_series(1, $1) g ON CONFLICT DO NOTHING`, followers); err != nil {
		return res, fmt.Errorf("alerts bench: users: %w", err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO follows (platform, user_id, wallet)
		SELECT 'telegram', g::text, $2 FROM generate_series(1, $1) g ON CONFLICT DO NOTHING`, followers, wallet); err != nil {
		return res, fmt.Errorf("alerts bench: follows: %w", err)
	}
	start := time.Now()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		s := alert.Signal{Rule: alert.RuleFollowedMove, Wallet: wallet, Coin: "ETH", Side: "long", Action: "open",
			USD: 1e6, Price: 3400, Confidence: 0.9, TS: time.Now()}
		if err := tx.QueryRow(ctx, `INSERT INTO signals (dedup_key, rule, wallet, coin, side, action, usd, price, confidence, ts)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`, fmt.Sprintf("bench-%d", start.UnixNano()),
			s.Rule, s.Wallet, s.Coin, s.Side, s.Action, s.USD, s.Price, s.Confidence, s.TS).Scan(&s.ID); err != nil {
			return err
		}
		return alert.Enqueue(ctx, tx, []alert.Signal{s})
	})
	if err != nil {
		return res, fmt.Errorf("alerts bench: signal: %w", err)
	}
	res.Enqueue = time.Since(start)
	snd := &countingSender{}
	d, err := alert.NewDispatcher(alert.Config{Pool: pool, Senders: []alert.Sender{snd},
		Limits: map[string]alert.Limits{"telegram": alert.TelegramLimits.Scaled(scale)}, Poll: 5 * time.Millisecond})
	if err != nil {
		return res, err
	}
	start = time.Now()
	for snd.n.Load() < int64(followers) {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if _, err := d.Step(ctx); err != nil {
			return res, err
		}
	}
	res.Deliver = time.Since(start)
	res.Messages = snd.n.Load()
	res.Floor = time.Duration(float64(followers) / (alert.TelegramLimits.PerSecond * scale) * float64(time.Second))
	res.Ratio = res.Deliver.Seconds() / res.Floor.Seconds()
	return res, nil
}
