package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
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

// AlertsConfig configures RunAlerts.
type AlertsConfig struct {
	// DatabaseURL is the Postgres server; the run uses a scratch schema in it,
	// removed afterwards. Required.
	DatabaseURL string
	// Followers is how many users follow the wallet that moves. Required (1..1,000,000).
	Followers int
	// Scale multiplies Telegram's rates (10: ten times faster, to measure the
	// scheduler in a tenth of the time; 1: the real limits). Defaults to 1.
	Scale float64
	// Logger receives the store's logs. Defaults to discarding them.
	Logger *slog.Logger
	// Progress receives a line on each step. Defaults to discarding them.
	Progress func(string)
}

// RunAlerts measures [Alerts] in a migrated scratch schema of its own, removed
// afterwards also when the run fails or ctx ends.
func RunAlerts(ctx context.Context, cfg AlertsConfig) (res AlertResult, err error) {
	if cfg.Followers < 1 || cfg.Followers > 1_000_000 {
		return res, fmt.Errorf("bench: alert followers %d: must be 1..1000000", cfg.Followers)
	}
	if cfg.Scale == 0 {
		cfg.Scale = 1
	}
	if cfg.Scale < 0.01 || cfg.Scale > 10_000 {
		return res, fmt.Errorf("bench: alert rate scale %g: must be 0.01..10000", cfg.Scale)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Progress == nil {
		cfg.Progress = func(string) {}
	}
	schema := "bench_" + randomID()
	admin, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return res, fmt.Errorf("bench: connect to postgres: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return res, fmt.Errorf("bench: create schema %s: %w", schema, err)
	}
	defer func() {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, derr := admin.Exec(c, "DROP SCHEMA "+schema+" CASCADE"); derr != nil {
			err = errors.Join(err, fmt.Errorf("bench: drop schema %s: %w", schema, derr))
		}
	}()
	url, err := withSearchPath(cfg.DatabaseURL, schema)
	if err != nil {
		return res, err
	}
	st, err := store.Open(ctx, store.Config{URL: url, Logger: cfg.Logger})
	if err != nil {
		return res, fmt.Errorf("bench: open store in %s: %w", schema, err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return res, fmt.Errorf("bench: migrate %s: %w", schema, err)
	}
	floor := time.Duration(float64(cfg.Followers) / (alert.TelegramLimits.PerSecond * cfg.Scale) * float64(time.Second))
	cfg.Progress(fmt.Sprintf("alerts: one signal to %d followers at %.0f msg/s (Telegram ×%g; floor %v, schema %s)",
		cfg.Followers, alert.TelegramLimits.PerSecond*cfg.Scale, cfg.Scale, floor.Round(time.Millisecond), schema))
	res, err = Alerts(ctx, st, cfg.Followers, cfg.Scale)
	if err != nil {
		return res, err
	}
	cfg.Progress(res.String())
	return res, nil
}

// WriteMarkdown writes the alert fan-out section of the benchmark report.
func (r AlertResult) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	rate := alert.TelegramLimits.PerSecond * r.Scale
	realFloor := time.Duration(float64(r.Floor) * r.Scale)
	b.WriteString("## Alert fan-out under Telegram's limits\n\n")
	fmt.Fprintf(&b, "One `followed_move` signal of a wallet %s users follow: the signal and its %s outbox rows committed in one transaction, "+
		"then one dispatcher delivering them to a platform that accepts every message at once, paced at Telegram's limits "+
		"(%.0f messages/s per bot, 1/s per chat)", thousands(float64(r.Followers)), thousands(float64(r.Followers)), alert.TelegramLimits.PerSecond)
	if r.Scale != 1 {
		fmt.Fprintf(&b, " **sped up %g times** to %s messages/s, so that the run takes %.1f s rather than %.1f s (`--followers-scale 1` measures the real limits)",
			r.Scale, thousands(rate), r.Floor.Seconds(), realFloor.Seconds())
	}
	b.WriteString(". The floor is what no sender can beat at that rate: followers / rate. The ratio is the outbox's and the scheduler's cost over the floor; 1 is the best possible.\n\n")
	b.WriteString("| followers | rate (msg/s) | scale | fan-out commit | delivered in | floor | ratio to floor |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| %s | %s | ×%g | %s | %s | %s | %.2f |\n\n", thousands(float64(r.Followers)), thousands(rate), r.Scale,
		r.Enqueue.Round(time.Millisecond), r.Deliver.Round(time.Millisecond), r.Floor.Round(time.Millisecond), r.Ratio)
	if r.Scale != 1 {
		fmt.Fprintf(&b, "At Telegram's real rate the floor for %s followers is %.0f s; the speed-up measures the scheduler's own cost in 1/%g of the time, and a ratio near 1 here means the real limit, not the code, sets the delivery time.\n\n",
			thousands(float64(r.Followers)), realFloor.Seconds(), r.Scale)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
