package paper

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/coattailcapital/coattail/signal"
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
)

// Inbox is the signal stage's side of the paper trader (a signal.Consumer): it writes
// the batch's price ticks and the signals the trader acts on into paper_inbox, in
// stream order, inside the stage's transaction: a row per signal, and a row per run of
// ticks between them (most of a market's events are ticks; a row each cost more than
// the rest of the stage's writes). A Runner applies them. Unlike the
// Trader used as a consumer directly, it takes no lock: the stage's shards commit
// without waiting for each other.
type Inbox struct {
	t *Trader
}

var _ signal.Consumer = (*Inbox)(nil)

// NewInbox returns the inbox writer for the trader t (its rules decide which signals
// are written).
func NewInbox(t *Trader) *Inbox { return &Inbox{t: t} }

// OnBatch implements signal.Consumer.
func (in *Inbox) OnBatch(ctx context.Context, tx pgx.Tx, steps []signal.Step) error {
	var (
		sigIDs             []*int64
		stepIDs            []int64
		rules, wallets     []string
		sides, acts, coins []string
		edges, pxs         []float64
		tss                []time.Time
		// a row's ticks are ticks[lo:hi] (1-based, inclusive; hi 0: none)
		los, his []int32
		tCoins   []string
		tPxs     []float64
		tTSs     []time.Time
	)
	row := func(sigID *int64, step int64, sg signal.Stored, lo, hi int32) {
		sigIDs, stepIDs = append(sigIDs, sigID), append(stepIDs, step)
		rules, wallets, sides, acts = append(rules, sg.Rule), append(wallets, sg.Wallet), append(sides, sg.Side), append(acts, sg.Action)
		edges, coins, pxs, tss = append(edges, sg.Edge), append(coins, sg.Coin), append(pxs, sg.Price), append(tss, sg.TS)
		los, his = append(los, lo), append(his, hi)
	}
	for _, st := range steps {
		if len(st.Ticks) > 0 {
			lo := int32(len(tCoins) + 1)
			for _, tk := range st.Ticks {
				tCoins, tPxs, tTSs = append(tCoins, tk.Coin), append(tPxs, tk.Px), append(tTSs, tk.TS)
			}
			// a run of ticks: no signal, coin '', ts its first tick's
			row(nil, 0, signal.Stored{Signal: signal.Signal{TS: st.Ticks[0].TS}}, lo, int32(len(tCoins)))
		}
		var step int64
		for _, sg := range st.Signals {
			if !in.t.entry(sg) && !in.t.exit(sg) {
				continue
			}
			id := sg.ID
			if step == 0 {
				step = id
			}
			row(&id, step, sg, 0, 0)
		}
	}
	if len(coins) == 0 {
		return nil
	}
	// Nothing reads it back in the transaction: on a pipelined one it goes with COMMIT.
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO paper_inbox (signal_id, step, rule, wallet, side, action, edge, coin, px, ts, ticks_coin, ticks_px, ticks_ts)
		SELECT s, st, r, w, sd, a, e, c, p, t,
			CASE WHEN hi > 0 THEN ($13::text[])[lo:hi] END,
			CASE WHEN hi > 0 THEN ($14::float8[])[lo:hi] END,
			CASE WHEN hi > 0 THEN ($15::timestamptz[])[lo:hi] END
		FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::text[], $9::float8[], $10::timestamptz[], $11::int[], $12::int[])
			WITH ORDINALITY AS u(s, st, r, w, sd, a, e, c, p, t, lo, hi, n)
		ORDER BY n`, sigIDs, stepIDs, rules, wallets, sides, acts, edges, coins, pxs, tss, los, his, tCoins, tPxs, tTSs)
	if err := store.Defer(ctx, tx, b); err != nil {
		return fmt.Errorf("paper inbox: %w", err)
	}
	return nil
}

// RunnerConfig configures a Runner. Zero values are defaults.
type RunnerConfig struct {
	// Batch bounds the inbox rows applied per transaction. Defaults to 5000.
	Batch int
	// Poll is the wait between rounds when the inbox was empty and no Wake came.
	// Defaults to 100ms.
	Poll time.Duration
	// Committed, if set, is called after each round that applied signals, with those
	// signals (metrics, latency). It must not block.
	Committed func(sigs []signal.Stored)
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Runner applies the paper inbox to the paper accounts through the trader, one
// transaction per round: it takes the oldest rows, runs them as steps in id order and
// deletes them, so a crash loses or repeats nothing. Runners in several processes take
// turns (the trader's advisory lock); a round that does not get the lock leaves the
// rows to the runner that has it.
type Runner struct {
	st   *store.Store
	t    *Trader
	cfg  RunnerConfig
	wake chan struct{}
}

// NewRunner returns a runner applying the inbox through t.
func NewRunner(st *store.Store, t *Trader, cfg RunnerConfig) *Runner {
	if cfg.Batch <= 0 {
		cfg.Batch = 5000
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 100 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Runner{st: st, t: t, cfg: cfg, wake: make(chan struct{}, 1)}
}

// Wake asks for a round now (after the signal stage committed); it never blocks.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run applies the inbox until ctx ends: a round, the next at once while rounds come
// full, otherwise on Wake or after Poll. Failures are logged and retried with
// backoff; Run returns nil when ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	backoff := r.cfg.Poll
	for {
		n, err := r.round(ctx, false)
		wait := r.cfg.Poll
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			r.cfg.Logger.Warn("paper runner failed; retrying", "err", err, "in", backoff)
			wait = backoff
			backoff = min(2*backoff, 30*time.Second)
		default:
			backoff = r.cfg.Poll
			if n == r.cfg.Batch {
				continue
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-r.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// Drain applies the inbox until it is empty, waiting for its turn: a replay ends with
// the paper accounts up to date. It returns the rows applied.
func (r *Runner) Drain(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := r.round(ctx, true)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// round applies up to Batch inbox rows in one transaction and returns how many.
//
// The transaction is pipelined (store.BeginPipelined): three round trips, BEGIN and
// COMMIT riding with the first and the last: (1) take the rows (with the lock, the
// marks of their coins, whether a position lives in a ticked coin, and the decisions
// already made on their signals) and the fixed reads; (2) the accounts, positions and
// breakers the rows touch; (3) every write, then COMMIT.
func (r *Runner) round(ctx context.Context, wait bool) (int, error) {
	// The lock and the take in one statement: the lock is an InitPlan, evaluated once
	// before any row; without it (another runner has its turn) nothing is taken.
	lock := `pg_try_advisory_xact_lock($2)`
	if wait {
		lock = `(SELECT true FROM pg_advisory_xact_lock($2))`
	}
	type row struct {
		id, step int64
		sig      *int64
		s        signal.Stored
		px       float64
		m        struct {
			px, varSec *float64
			ts         *time.Time
			n          *int64
		}
		live    *bool
		decided []string
	}
	var rs []row
	var applied []signal.Stored
	taken := 0 // inbox rows (a run of ticks is one row of rs per tick)
	err := store.BeginPipelined(ctx, r.st.Pool(), func(tx pgx.Tx) error {
		rs, applied, taken = nil, nil, 0
		s := r.t.newSession()
		b := &pgx.Batch{}
		b.Queue(`WITH taken AS (
				DELETE FROM paper_inbox WHERE (SELECT `+lock+`)
					AND id IN (SELECT id FROM paper_inbox ORDER BY id LIMIT $1)
				RETURNING id, signal_id, step, rule, wallet, side, action, edge, coin, px, ts, ticks_coin, ticks_px, ticks_ts),
			-- a row of a run of ticks gives a row per tick
			x AS (
				SELECT t.id, t.signal_id, t.step, t.rule, t.wallet, t.side, t.action, t.edge, u.coin, u.px, u.ts, u.n
				FROM taken t CROSS JOIN LATERAL unnest(coalesce(t.ticks_coin, ARRAY[t.coin]), coalesce(t.ticks_px, ARRAY[t.px]),
					coalesce(t.ticks_ts, ARRAY[t.ts])) WITH ORDINALITY AS u(coin, px, ts, n))
			SELECT x.id, x.signal_id, x.step, x.rule, x.wallet, x.side, x.action, x.edge, x.coin, x.px, x.ts,
				m.px, m.ts, m.var_sec, m.n,
				CASE WHEN x.signal_id IS NULL THEN lp.coin IS NOT NULL END,
				CASE WHEN x.signal_id IS NOT NULL THEN ARRAY(SELECT d.scope FROM risk_decisions d WHERE d.signal_id = x.signal_id) END
			FROM x LEFT JOIN paper_marks m ON m.coin = x.coin
				LEFT JOIN (SELECT DISTINCT coin FROM paper_positions WHERE status <> 'closed') lp ON lp.coin = x.coin
			ORDER BY x.id, x.n`, r.cfg.Batch, int64(lockKey)).Query(func(rows pgx.Rows) error {
			var x row
			_, err := pgx.ForEachRow(rows, []any{&x.id, &x.sig, &x.step, &x.s.Rule, &x.s.Wallet, &x.s.Side, &x.s.Action, &x.s.Edge,
				&x.s.Coin, &x.px, &x.s.TS, &x.m.px, &x.m.ts, &x.m.varSec, &x.m.n, &x.live, &x.decided},
				func() error {
					if len(rs) == 0 || rs[len(rs)-1].id != x.id {
						taken++
					}
					rs = append(rs, x)
					x.decided = nil
					return nil
				})
			if err != nil {
				return fmt.Errorf("paper inbox: %w", err)
			}
			return nil
		})
		s.queueFixed(b)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		var steps []signal.Step
		step := int64(-1)
		for _, x := range rs {
			last := len(steps) - 1
			if x.sig == nil {
				tk := signal.Tick{Coin: x.s.Coin, Px: x.px, TS: x.s.TS.UTC()}
				if last >= 0 && len(steps[last].Signals) == 0 {
					steps[last].Ticks = append(steps[last].Ticks, tk)
				} else {
					steps = append(steps, signal.Step{Ticks: []signal.Tick{tk}})
				}
				continue
			}
			sg := x.s
			sg.ID, sg.Price, sg.TS = *x.sig, x.px, sg.TS.UTC()
			applied = append(applied, sg)
			if last >= 0 && len(steps[last].Ticks) == 0 && x.step == step {
				steps[last].Signals = append(steps[last].Signals, sg)
			} else {
				steps = append(steps, signal.Step{Signals: []signal.Stored{sg}})
			}
			step = x.step
		}
		s.setSteps(steps)
		if len(s.coins) == 0 && !s.exits {
			return nil // nothing to simulate (no rows, or only signals the trader does not act on)
		}
		// What queueCoinReads reads, from the take's own columns.
		for _, x := range rs {
			if x.live != nil && *x.live {
				s.liveTicked = true
			}
			for _, sc := range x.decided {
				s.decided[decisionKey{*x.sig, sc}] = true
			}
			if _, ok := s.marks[x.s.Coin]; !ok && slices.Contains(s.coins, x.s.Coin) && x.m.px != nil {
				s.marks[x.s.Coin] = &mark{px: *x.m.px, ts: *x.m.ts, varSec: *x.m.varSec, n: *x.m.n, seen: true}
			}
		}
		return s.run(ctx, tx, steps, true)
	})
	if err != nil {
		return 0, err
	}
	if len(applied) > 0 && r.cfg.Committed != nil {
		r.cfg.Committed(applied)
	}
	return taken, nil
}
