package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coattailcapital/coattail/alert"
	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/paper"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/signal"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"
)

// TargetSignalP99 is the event-to-signal latency bound at TargetLatencyRate.
const (
	TargetSignalP99   = 100 * time.Millisecond
	TargetLatencyRate = 5000
)

// LatencyConfig configures RunLatency.
type LatencyConfig struct {
	DatabaseURL string
	RedisURL    string
	// Rates are the steady loads measured, events per second. Defaults to 1k, 5k, 20k.
	Rates []int
	// Duration of each load. Defaults to 10 s.
	Duration time.Duration
	// Warmup runs the load this long before the measured part, then analyzes the
	// schema (as autovacuum would have on a live database). Defaults to 3 s;
	// negative: none.
	Warmup time.Duration
	// Wallets trading, each followed by one user. Defaults to 2000.
	Wallets int
	// Shards of the streams. Defaults to 8.
	Shards int
	// Stages returns extra stages to run beside the book and signal stages (the
	// windowed workers), so the latency is measured with the whole pipeline busy.
	Stages func(st *store.Store, rdb *redis.Client, scfg stream.Config) []pipeline.Stage
	// Progress receives one line at a time. Defaults to discarding them.
	Progress func(string)
	// Logger defaults to discarding.
	Logger *slog.Logger
}

// LatencyFigure is one steady load: how long an event took from entering the stream
// to its committed, risk-checked signal, and to its alert handed to the chat platform.
type LatencyFigure struct {
	Rate     int     `json:"rate"`     // asked events/s
	Achieved float64 `json:"achieved"` // produced events/s
	Events   int64   `json:"events"`
	Signals  int     `json:"signals"`
	// Decisions is how many risk-gate decisions were stored: every entry signal is
	// judged by the gate of the enabled global paper account.
	Decisions int `json:"risk_decisions"`
	// Followed is how many fills of followed wallets were produced (one signal each).
	Followed int64 `json:"followed_fills"`
	// Entries is how many followed fills opened a position (each an entry signal).
	Entries int64 `json:"entries"`
	// Decided is how many followed_move signals the paper runner judged; DP50ms…
	// are the times from their events to the commit of their risk decisions.
	Decided int     `json:"decided"`
	DP50ms  float64 `json:"decision_p50_ms"`
	DP99ms  float64 `json:"decision_p99_ms"`
	DMaxMs  float64 `json:"decision_max_ms"`
	P50ms   float64 `json:"signal_p50_ms"`
	P99ms   float64 `json:"signal_p99_ms"`
	MaxMs   float64 `json:"signal_max_ms"`
	Alerts  int     `json:"alerts"`
	AP50ms  float64 `json:"alert_p50_ms"`
	AP99ms  float64 `json:"alert_p99_ms"`
	AMaxMs  float64 `json:"alert_max_ms"`
}

// LatencyResult is what RunLatency measured.
type LatencyResult struct {
	Duration float64         `json:"seconds_per_load"`
	Wallets  int             `json:"wallets"`
	Figures  []LatencyFigure `json:"figures"`
	// Met: at TargetLatencyRate, the p99 of both the signal and its risk decision is
	// under TargetSignalP99 (false when that rate was not measured).
	Met bool `json:"met"`
}

func (c LatencyConfig) withDefaults() LatencyConfig {
	if c.DatabaseURL == "" {
		c.DatabaseURL = Config{}.withDefaults().DatabaseURL
	}
	if c.RedisURL == "" {
		c.RedisURL = Config{}.withDefaults().RedisURL
	}
	if len(c.Rates) == 0 {
		c.Rates = []int{1000, 5000, 20000}
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Warmup == 0 {
		c.Warmup = 3 * time.Second
	}
	if c.Wallets == 0 {
		c.Wallets = 2000
	}
	if c.Shards == 0 {
		c.Shards = 8
	}
	if c.Progress == nil {
		c.Progress = func(string) {}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// RunLatency measures event-to-signal and event-to-alert latency at each steady
// load, each in a scratch schema and key prefix removed afterwards. The load is a
// mix: 60% exchange trades (bars, anomalies), 10% reference prices, 20% fills of
// wallets nobody follows, and 10% fills of followed wallets that open or close a
// position — each of those fires a followed_move signal (dedup bucket 1 ms), passes
// the risk gate of an enabled global paper account and is fanned out to its
// follower's alert outbox; a dispatcher delivers the alerts to a platform that
// accepts at once.
func RunLatency(ctx context.Context, cfg LatencyConfig) (*LatencyResult, error) {
	cfg = cfg.withDefaults()
	for _, r := range cfg.Rates {
		if r < 1 || r > 1_000_000 {
			return nil, fmt.Errorf("bench: latency rate %d: must be 1..1000000 events/s", r)
		}
	}
	res := &LatencyResult{Duration: cfg.Duration.Seconds(), Wallets: cfg.Wallets}
	for _, rate := range cfg.Rates {
		f, err := measureLatency(ctx, cfg, rate)
		if err != nil {
			return res, err
		}
		res.Figures = append(res.Figures, f)
		if rate == TargetLatencyRate {
			bound := float64(TargetSignalP99 / time.Millisecond)
			res.Met = f.Signals > 0 && f.Decided > 0 && f.P99ms < bound && f.DP99ms < bound
		}
	}
	return res, nil
}

// instantSender accepts every alert at once.
type instantSender struct{}

func (instantSender) Platform() string { return "bench" }
func (instantSender) Send(context.Context, string, alert.Message) error {
	return nil
}

func measureLatency(ctx context.Context, cfg LatencyConfig, rate int) (f LatencyFigure, err error) {
	f.Rate = rate
	id := randomID()
	schema, prefix := "bench_"+id, "bench:"+id
	admin, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return f, fmt.Errorf("bench: connect to postgres: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return f, fmt.Errorf("bench: create schema: %w", err)
	}
	defer func() {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, derr := admin.Exec(c, "DROP SCHEMA "+schema+" CASCADE"); derr != nil {
			err = errors.Join(err, derr)
		}
	}()
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return f, fmt.Errorf("bench: redis url: %w", err)
	}
	opt.MaxRetries = -1 // the stream runtime refuses a client that re-sends commands (see stream.NewGroup)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	defer func() {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		err = errors.Join(err, deletePrefix(c, rdb, prefix))
	}()
	url, err := withSearchPath(cfg.DatabaseURL, schema)
	if err != nil {
		return f, err
	}
	st, err := store.Open(ctx, store.Config{URL: url, Logger: cfg.Logger})
	if err != nil {
		return f, err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return f, err
	}
	wallets := make([]string, cfg.Wallets)
	for i := range wallets {
		wallets[i] = fmt.Sprintf("0x%040x", 0xbe0000+i)
		if _, err := st.Follow(ctx, "bench", fmt.Sprintf("u%d", i), wallets[i], "", 10); err != nil {
			return f, fmt.Errorf("bench: follow: %w", err)
		}
	}
	if err := paper.NewService(st, paper.Config{}).SetEnabled(ctx, "global", true); err != nil {
		return f, fmt.Errorf("bench: enable paper trading: %w", err)
	}

	// Latencies of followed_move signals: to the signal's commit, and to its risk
	// decision's commit (by the paper runner).
	var mu sync.Mutex
	var lats, decs []time.Duration
	start := time.Now()
	observe := func(into *[]time.Duration) func([]signal.Stored) {
		return func(sigs []signal.Stored) {
			now := time.Now()
			mu.Lock()
			for _, s := range sigs {
				if s.Rule == alert.RuleFollowedMove && !s.TS.Before(start) {
					*into = append(*into, now.Sub(s.TS))
				}
			}
			mu.Unlock()
		}
	}
	trader := paper.NewTrader(paper.Config{Rules: []string{alert.RuleFollowedMove, alert.RuleAlphaMove, alert.RuleConsensus}})
	runner := paper.NewRunner(st, trader, paper.RunnerConfig{Committed: observe(&decs), Logger: cfg.Logger})
	waker := alert.NewWaker(st.Pool(), cfg.Logger)
	signalled := observe(&lats)
	committed := func(sigs []signal.Stored) {
		if len(sigs) > 0 {
			waker.Wake()
		}
		runner.Wake()
		signalled(sigs)
	}
	scfg := stream.Config{Prefix: prefix, Shards: cfg.Shards}
	stages := []pipeline.Stage{
		{Group: pipeline.BookGroup, Sink: pipeline.NewBookSink(st), Linger: pipeline.OffPathLinger},
		{Group: signal.Group, Sink: signal.NewSink(st, signal.Config{DedupWindow: time.Millisecond, OnSignals: alert.Hook,
			Consumers: []signal.Consumer{paper.NewInbox(trader)}, Committed: committed, Logger: cfg.Logger})},
	}
	if cfg.Stages != nil {
		stages = append(stages, cfg.Stages(st, rdb, scfg)...)
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	errc := make(chan error, len(stages)+2) // the stages, the dispatcher and the paper runner
	for _, sg := range stages {
		grp, err := stream.NewGroup(rdb, scfg, stream.GroupConfig{Group: sg.Group, Logger: cfg.Logger, Block: 50 * time.Millisecond, Linger: sg.Linger}, sg.Sink)
		if err != nil {
			return f, err
		}
		wg.Add(1)
		go func() { defer wg.Done(); errc <- grp.Run(rctx) }()
	}
	disp, err := alert.NewDispatcher(alert.Config{Pool: st.Pool(), Senders: []alert.Sender{instantSender{}},
		Limits: map[string]alert.Limits{"bench": {PerSecond: 1e6}}, Logger: cfg.Logger, Poll: 20 * time.Millisecond})
	if err != nil {
		return f, err
	}
	wg.Add(2)
	go func() { defer wg.Done(); errc <- disp.Run(rctx) }()
	go func() { defer wg.Done(); errc <- runner.Run(rctx) }()
	defer func() { stop(); wg.Wait() }()
	time.Sleep(1500 * time.Millisecond) // groups join and claim their shards

	cfg.Progress(fmt.Sprintf("latency: %d events/s for %s (%d followed wallets)", rate, cfg.Duration, cfg.Wallets))
	prod, err := stream.NewProducer(rdb, scfg)
	if err != nil {
		return f, err
	}
	tick := 10 * time.Millisecond
	perTick := float64(rate) * tick.Seconds()
	seq := make([]int, cfg.Wallets)
	var serial int64   // numbers every event produced, warm-up included (unique ids)
	var expected int64 // followed fills, one signal each
	// load produces rate events a second for d, counting into f.
	load := func(d time.Duration) error {
		var owed float64
		t := time.NewTicker(tick)
		defer t.Stop()
		var msgs []stream.Message
		for t0 := time.Now(); time.Since(t0) < d; {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
			owed += perTick
			msgs = msgs[:0]
			now := time.Now().UTC()
			for ; owed >= 1; owed-- {
				serial++
				f.Events++
				var ev event.Event
				ts := now.Add(time.Duration(serial % 1000))
				switch n := serial % 10; {
				case n == 0: // a followed wallet opens or closes: fires a signal
					i := int(serial/10) % cfg.Wallets
					side := event.Buy
					if seq[i]%2 == 1 {
						side = event.Sell
					} else {
						f.Entries++ // an open: an entry signal, judged by the risk gate
					}
					seq[i]++
					expected++
					f.Followed++
					ev = event.Event{Kind: event.KindFill, Src: "hyperliquid", TS: ts, Wallet: wallets[i],
						Coin: "ETH", Side: side, Px: decimal.NewFromInt(2000), Sz: decimal.NewFromInt(1), ID: fmt.Sprint(serial)}
				case n <= 6: // exchange trades: bars, anomalies
					sym := []string{"ETH-USDT", "BTC-USDT", "SOL-USDT"}[serial%3]
					side := event.Buy
					if serial%4 == 0 {
						side = event.Sell
					}
					ev = event.Event{Kind: event.KindTrade, Src: "binance", TS: ts, Symbol: sym, Side: side,
						Price: decimal.NewFromInt(100 + serial%7), Qty: decimal.NewFromInt(1 + serial%5), ID: fmt.Sprint(serial)}
				case n == 7: // the reference price the paper trader fills at
					ev = event.Event{Kind: event.KindPrice, Src: "hyperliquid", TS: ts, Symbol: "ETH", Price: decimal.NewFromInt(2000)}
				default: // wallets nobody follows: book and profiles only
					ev = event.Event{Kind: event.KindFill, Src: "hyperliquid", TS: ts, Wallet: fmt.Sprintf("0x%040x", 0xf00000+serial%5000),
						Coin: "SOL", Side: event.Buy, Px: decimal.NewFromInt(150), Sz: decimal.NewFromInt(2), ID: fmt.Sprint(serial)}
				}
				kh := ev.KeyHash()
				msgs = append(msgs, stream.Message{Shard: event.Shard(ev.ShardKey(), cfg.Shards), Key: kh[:], Body: event.AppendJSON(nil, &ev)})
			}
			if err := prod.Add(ctx, msgs); err != nil {
				return err
			}
		}
		return nil
	}
	// Warm up, then analyze the schema, as autovacuum does on a live database: the
	// tables start empty, and plans made for empty tables would scan what they have
	// since grown (a live database has statistics).
	if cfg.Warmup > 0 {
		if err := load(cfg.Warmup); err != nil {
			return f, err
		}
		time.Sleep(500 * time.Millisecond)
		if err := analyzeSchema(ctx, admin, schema); err != nil {
			return f, err
		}
		f.Events, f.Entries, f.Followed, expected = 0, 0, 0, 0
	}
	mu.Lock()
	lats, decs = lats[:0], decs[:0]
	start = time.Now()
	mu.Unlock()
	if err := load(cfg.Duration); err != nil {
		return f, err
	}
	f.Achieved = float64(f.Events) / time.Since(start).Seconds()
	// Wait for the last signals and alerts (bounded).
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n, nd := len(lats), len(decs)
		mu.Unlock()
		var pending int
		_ = st.Pool().QueryRow(ctx, `SELECT count(*) FROM alert_outbox WHERE state = 'pending'`).Scan(&pending)
		if int64(n) >= expected && int64(nd) >= f.Entries && pending == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case err := <-errc:
		if err != nil {
			return f, fmt.Errorf("bench: a stage failed: %w", err)
		}
	default:
	}
	mu.Lock()
	f.Signals = len(lats)
	f.P50ms, f.P99ms, f.MaxMs = percentiles(lats)
	f.Decided = len(decs)
	f.DP50ms, f.DP99ms, f.DMaxMs = percentiles(decs)
	mu.Unlock()
	err = st.Pool().QueryRow(ctx, `SELECT count(*),
		coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM o.delivered_at - s.ts)), 0) * 1000,
		coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM o.delivered_at - s.ts)), 0) * 1000,
		coalesce(max(extract(epoch FROM o.delivered_at - s.ts)), 0) * 1000
		FROM alert_outbox o JOIN signals s ON s.id = o.signal_id
		WHERE o.state = 'delivered' AND NOT o.digest AND s.ts >= $1`, start).Scan(&f.Alerts, &f.AP50ms, &f.AP99ms, &f.AMaxMs)
	if err != nil {
		return f, fmt.Errorf("bench: alert latency: %w", err)
	}
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM risk_decisions d JOIN signals s ON s.id = d.signal_id
		WHERE s.ts >= $1`, start).Scan(&f.Decisions); err != nil {
		return f, fmt.Errorf("bench: risk decisions: %w", err)
	}
	cfg.Progress(fmt.Sprintf("latency: %d events/s: %d signals p50 %.1f ms p99 %.1f ms max %.1f ms; %d risk decisions p50 %.1f ms p99 %.1f ms; %d alerts p50 %.1f ms p99 %.1f ms",
		rate, f.Signals, f.P50ms, f.P99ms, f.MaxMs, f.Decided, f.DP50ms, f.DP99ms, f.Alerts, f.AP50ms, f.AP99ms))
	return f, nil
}

func percentiles(ds []time.Duration) (p50, p99, max float64) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	at := func(q float64) float64 { return ms(ds[min(len(ds)-1, int(q*float64(len(ds))))]) }
	return at(0.50), at(0.99), ms(ds[len(ds)-1])
}

// WriteMarkdown writes the latency section of the benchmark report.
func (r *LatencyResult) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("## Latency at steady loads\n\n")
	fmt.Fprintf(&b, "Each load runs %.0f s in a fresh schema with every stage on, after a warm-up at the same rate and an ANALYZE of the schema (a live database has statistics; plans made while the tables were empty would scan them whole). The events are 60%% exchange trades, 10%% reference prices, 20%% fills of wallets nobody follows and 10%% fills of %d followed wallets that open or close a position: "+
		"each of those fires a `followed_move` signal that is fanned out to its follower's alert outbox and written to the paper inbox in the signal's own transaction; "+
		"the paper runner passes it through the risk gate of an enabled global paper account (which trades followed moves here); "+
		"a dispatcher hands alerts to a platform that accepts at once (Telegram's own rate limits are measured separately). "+
		"Signal: event entering the stream → its signal committed. Decision: → its risk decision committed. Alert: → alert marked delivered.\n\n", r.Duration, r.Wallets)
	b.WriteString("| load (events/s) | achieved | signals | signal p50 | signal p99 | decision p50 | decision p99 | decision max | alert p50 | alert p99 |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, f := range r.Figures {
		fmt.Fprintf(&b, "| %s | %s | %d | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n",
			thousands(float64(f.Rate)), thousands(f.Achieved), f.Signals, f.P50ms, f.P99ms, f.DP50ms, f.DP99ms, f.DMaxMs, f.AP50ms, f.AP99ms)
	}
	verdict := "MISSED"
	if r.Met {
		verdict = "met"
	}
	fmt.Fprintf(&b, "\nTarget: p99 from event to signal and to its risk decision under %d ms at %s events/s — **%s**.\n\n", TargetSignalP99/time.Millisecond, thousands(TargetLatencyRate), verdict)
	_, err := io.WriteString(w, b.String())
	return err
}

// analyzeSchema runs ANALYZE on every table of schema.
func analyzeSchema(ctx context.Context, admin *pgx.Conn, schema string) error {
	rows, err := admin.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1`, schema)
	if err != nil {
		return fmt.Errorf("bench: list tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("bench: list tables: %w", err)
	}
	for _, t := range tables {
		if _, err := admin.Exec(ctx, "ANALYZE "+pgx.Identifier{schema, t}.Sanitize()); err != nil {
			return fmt.Errorf("bench: analyze %s: %w", t, err)
		}
	}
	return nil
}
