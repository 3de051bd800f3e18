package paper

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/coattailcapital/coattail/risk"
	"github.com/coattailcapital/coattail/signal"
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
)

// lockKey serialises the paper trader's writes across shard workers (one
// transaction-scoped advisory lock): accounts span coins, and coins span shards.
const lockKey = 0x7061706572 // "paper"

// Trader is the risk gate in front of the paper executor, run inside the signal
// stage's transaction. It implements signal.Consumer and Executor.
type Trader struct {
	st  *store.Store
	cfg Config
	// exec carries out approved orders; the Trader itself unless replaced.
	exec Executor
}

var (
	_ signal.Consumer = (*Trader)(nil)
	_ Executor        = (*Trader)(nil)
)

// NewTrader returns the paper trader.
func NewTrader(st *store.Store, cfg Config) *Trader {
	t := &Trader{st: st, cfg: cfg.withDefaults()}
	t.exec = t
	return t
}

func enabledScopes(ctx context.Context, tx pgx.Tx) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT scope FROM paper_scopes WHERE enabled ORDER BY scope`)
	if err != nil {
		return nil, fmt.Errorf("paper scopes: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("paper scopes: %w", err)
	}
	return out, nil
}

func lock(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(lockKey)); err != nil {
		return fmt.Errorf("paper lock: %w", err)
	}
	return nil
}

// OnSignals runs the gate on each new entry signal of a traded rule for every enabled
// scope, stores every decision, and submits the approved ones; with
// CloseOnWalletExit, a wallet's close or flip exits the positions that copied it.
func (t *Trader) OnSignals(ctx context.Context, tx pgx.Tx, sigs []signal.Stored) error {
	var entries, exits []signal.Stored
	for _, s := range sigs {
		switch {
		case slices.Contains(t.cfg.Rules, s.Rule) && s.Entry() && s.Dir() != 0:
			entries = append(entries, s)
		case t.cfg.CloseOnWalletExit && s.Wallet != "" && (s.Action == "close" || s.Action == "flip"):
			exits = append(exits, s)
		}
	}
	if len(entries) == 0 && len(exits) == 0 {
		return nil
	}
	scopes, err := enabledScopes(ctx, tx)
	if err != nil || len(scopes) == 0 {
		return err
	}
	if err := lock(ctx, tx); err != nil {
		return err
	}
	settings, err := risk.LoadSettings(ctx, tx)
	if err != nil {
		return err
	}
	for _, scope := range scopes {
		if err := t.ensureAccount(ctx, tx, scope); err != nil {
			return err
		}
		for _, s := range exits {
			if err := t.exec.Exit(ctx, tx, scope, s.Wallet, s.Coin, s.TS); err != nil {
				return err
			}
		}
		for _, s := range entries {
			if err := t.gate(ctx, tx, settings, scope, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// gate decides on one signal for one scope and submits it when approved.
func (t *Trader) gate(ctx context.Context, tx pgx.Tx, settings risk.Settings, scope string, s signal.Stored) error {
	pf, err := t.exec.Portfolio(ctx, tx, scope)
	if err != nil {
		return err
	}
	sw, err := risk.LoadSwitches(ctx, tx, settings, scope, s.TS)
	if err != nil {
		return err
	}
	m, err := t.market(ctx, tx, settings, s.Coin, s.TS)
	if err != nil {
		return err
	}
	d := risk.Decide(settings, sw, pf, m, risk.Request{Coin: s.Coin, Dir: s.Dir(), TS: s.TS, Edge: s.Edge})
	fresh, err := risk.Record(ctx, tx, s.ID, scope, d)
	if err != nil || !fresh || !d.Approved {
		return err
	}
	return t.exec.Submit(ctx, tx, Order{Scope: scope, SignalID: s.ID, Wallet: s.Wallet, Coin: s.Coin, Dir: s.Dir(),
		SizeUSD: d.SizeUSD, SignalTS: s.TS})
}

// market reads the coin's last price and volatility as the stage saw them, and its
// liquidity: the notional of wallet actions in it over the liquidity window.
func (t *Trader) market(ctx context.Context, tx pgx.Tx, s risk.Settings, coin string, at time.Time) (risk.Market, error) {
	var m risk.Market
	var varSec float64
	var n int64
	err := tx.QueryRow(ctx, `SELECT px, ts, var_sec, n FROM paper_marks WHERE coin = $1`, coin).Scan(&m.Price, &m.PriceTS, &varSec, &n)
	if err != nil && err != pgx.ErrNoRows {
		return m, fmt.Errorf("mark of %s: %w", coin, err)
	}
	if n >= t.cfg.MinVolTicks && varSec > 0 {
		m.HorizonVol = math.Sqrt(varSec * s.VolHorizonHours * 3600)
	}
	win := time.Duration(s.LiquidityWindowMin * float64(time.Minute))
	if err := tx.QueryRow(ctx, `SELECT coalesce(sum(usd), 0) FROM signal_actions WHERE coin = $1 AND ts > $2 AND ts <= $3`,
		coin, at.Add(-win), at).Scan(&m.LiquidityUSD); err != nil {
		return m, fmt.Errorf("liquidity of %s: %w", coin, err)
	}
	return m, nil
}

func (t *Trader) ensureAccount(ctx context.Context, tx pgx.Tx, scope string) error {
	e := t.cfg.StartingEquity
	_, err := tx.Exec(ctx, `INSERT INTO paper_accounts (scope, start_equity, equity, peak_equity, day_start_equity)
		VALUES ($1, $2, $2, $2, $2) ON CONFLICT (scope) DO NOTHING`, scope, e)
	if err != nil {
		return fmt.Errorf("paper account %s: %w", scope, err)
	}
	return nil
}

// Portfolio implements Executor.
func (t *Trader) Portfolio(ctx context.Context, tx pgx.Tx, scope string) (risk.Portfolio, error) {
	var p risk.Portfolio
	err := tx.QueryRow(ctx, `SELECT equity, day_start_equity, peak_equity FROM paper_accounts WHERE scope = $1`, scope).
		Scan(&p.Equity, &p.DayStartEquity, &p.PeakEquity)
	if err != nil {
		return p, fmt.Errorf("paper account %s: %w", scope, err)
	}
	live, err := loadPositions(ctx, tx, `WHERE scope = $1 AND status <> 'closed'`, scope)
	if err != nil {
		return p, err
	}
	for _, q := range live {
		usd := q.SizeUSD
		if q.Status == "open" {
			usd = q.Qty * q.MarkPx
		}
		rp := risk.Position{Coin: q.Coin, Dir: q.Dir, USD: usd}
		if q.OpenedAt != nil {
			rp.OpenedAt = *q.OpenedAt
		}
		p.Positions = append(p.Positions, rp)
	}
	rows, err := tx.Query(ctx, `SELECT coin, max(signal_ts) FROM paper_positions WHERE scope = $1 AND exit_reason <> $2 GROUP BY coin`, scope, ExitNeverFills)
	if err != nil {
		return p, fmt.Errorf("last entries of %s: %w", scope, err)
	}
	p.LastEntry = map[string]time.Time{}
	var c string
	var ts time.Time
	if _, err := pgx.ForEachRow(rows, []any{&c, &ts}, func() error { p.LastEntry[c] = ts; return nil }); err != nil {
		return p, fmt.Errorf("last entries of %s: %w", scope, err)
	}
	return p, nil
}

// Submit implements Executor: the order waits for the coin's next observed price.
func (t *Trader) Submit(ctx context.Context, tx pgx.Tx, o Order) error {
	_, err := tx.Exec(ctx, `INSERT INTO paper_positions (scope, signal_id, wallet, coin, dir, status, size_usd, signal_ts)
		VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) ON CONFLICT (scope, signal_id) DO NOTHING`,
		o.Scope, o.SignalID, o.Wallet, o.Coin, o.Dir, o.SizeUSD, o.SignalTS)
	if err != nil {
		return fmt.Errorf("paper order on signal %d for %s: %w", o.SignalID, o.Scope, err)
	}
	return nil
}

// Exit implements Executor: open positions that copied wallet in coin close at the
// next price; pending ones are cancelled.
func (t *Trader) Exit(ctx context.Context, tx pgx.Tx, scope, wallet, coin string, at time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE paper_positions SET exit_asked = true
		WHERE scope = $1 AND wallet = $2 AND coin = $3 AND status = 'open' AND opened_at <= $4`, scope, wallet, coin, at); err != nil {
		return fmt.Errorf("paper exit %s %s: %w", wallet, coin, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE paper_positions SET status = 'closed', exit_reason = $5, closed_at = $4
		WHERE scope = $1 AND wallet = $2 AND coin = $3 AND status = 'pending' AND signal_ts <= $4`, scope, wallet, coin, at, ExitNeverFills); err != nil {
		return fmt.Errorf("paper cancel %s %s: %w", wallet, coin, err)
	}
	return nil
}

// OnPrices updates the coins' marks and volatility, then fills pending orders, runs
// the exits and marks open positions by each tick in order, and updates the accounts'
// equity, peak, drawdown and day, tripping a scope's breaker when its losses reach the
// limits.
func (t *Trader) OnPrices(ctx context.Context, tx pgx.Tx, ticks []signal.Tick) error {
	coins, any, err := t.updateMarks(ctx, tx, ticks)
	if err != nil {
		return err
	}
	if !any {
		return nil
	}
	if err := lock(ctx, tx); err != nil {
		return err
	}
	live, err := loadPositions(ctx, tx, `WHERE coin = ANY($1) AND status <> 'closed' ORDER BY id`, coins)
	if err != nil {
		return err
	}
	settings, err := risk.LoadSettings(ctx, tx)
	if err != nil {
		return err
	}
	accts := map[string]*account{}
	for _, p := range live {
		if _, ok := accts[p.Scope]; !ok {
			a, err := loadAccount(ctx, tx, p.Scope)
			if err != nil {
				return err
			}
			accts[p.Scope] = a
		}
	}
	changed := map[int64]bool{}
	for _, tk := range ticks {
		touched := map[string]bool{}
		for _, p := range live {
			if p.Coin != tk.Coin || p.Status == "closed" {
				continue
			}
			a := accts[p.Scope]
			switch p.Status {
			case "pending":
				if !tk.TS.After(p.SignalTS) {
					continue
				}
				fee := t.cfg.fillEntry(p, tk.Px, tk.TS)
				a.realized -= fee
				a.fees += fee
				if err := insertFill(ctx, tx, p, tk, "buy", p.EntryPx, fee, "entry"); err != nil {
					return err
				}
			case "open":
				if p.MarkTS != nil && !tk.TS.After(*p.MarkTS) {
					continue // an old or replayed price
				}
				if why := t.cfg.exitReason(p, tk.Px, tk.TS); why != "" {
					realized, fee := t.cfg.fillExit(p, tk.Px, tk.TS, why)
					a.realized += realized
					a.fees += fee
					if err := insertFill(ctx, tx, p, tk, "sell", p.ExitPx, fee, why); err != nil {
						return err
					}
				} else {
					if float64(p.Dir)*(tk.Px-p.BestPx) > 0 {
						p.BestPx = tk.Px
					}
					ts := tk.TS
					p.MarkPx, p.MarkTS = tk.Px, &ts
				}
			}
			changed[p.ID] = true
			touched[p.Scope] = true
		}
		for scope := range touched {
			a := accts[scope]
			unreal := 0.0
			for _, q := range live {
				if q.Scope == scope {
					unreal += q.unrealized()
				}
			}
			if err := a.mark(ctx, tx, settings, a.start+a.realized+unreal, tk.TS); err != nil {
				return err
			}
		}
	}
	for _, p := range live {
		if changed[p.ID] {
			if err := savePosition(ctx, tx, p); err != nil {
				return err
			}
		}
	}
	for _, a := range accts {
		if err := a.save(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}

// updateMarks records each coin's last price and its volatility (an EWMA of squared
// log returns per second) and returns the coins ticked, and whether any of them has a
// live paper position (read in the same round trip as the marks). A tick not newer
// than the coin's mark (a replay) changes nothing.
func (t *Trader) updateMarks(ctx context.Context, tx pgx.Tx, ticks []signal.Tick) ([]string, bool, error) {
	type mark struct {
		px     float64
		ts     time.Time
		varSec float64
		n      int64
		seen   bool
	}
	var coins []string
	for _, tk := range ticks {
		if !slices.Contains(coins, tk.Coin) {
			coins = append(coins, tk.Coin)
		}
	}
	marks := map[string]*mark{}
	for _, c := range coins {
		marks[c] = &mark{}
	}
	var live bool
	b := &pgx.Batch{}
	b.Queue(`SELECT coin, px, ts, var_sec, n FROM paper_marks WHERE coin = ANY($1)`, coins).Query(func(rows pgx.Rows) error {
		var c string
		var m mark
		if _, err := pgx.ForEachRow(rows, []any{&c, &m.px, &m.ts, &m.varSec, &m.n}, func() error {
			m.seen = true
			*marks[c] = m
			return nil
		}); err != nil {
			return fmt.Errorf("paper marks: %w", err)
		}
		return nil
	})
	b.Queue(`SELECT EXISTS (SELECT 1 FROM paper_positions WHERE coin = ANY($1) AND status <> 'closed')`, coins).QueryRow(func(r pgx.Row) error {
		if err := r.Scan(&live); err != nil {
			return fmt.Errorf("live paper positions: %w", err)
		}
		return nil
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, false, err
	}
	alpha := 1 - math.Pow(0.5, 1/t.cfg.VolHalfLife)
	for _, tk := range ticks {
		m := marks[tk.Coin]
		if m.seen && !tk.TS.After(m.ts) {
			continue
		}
		if m.seen && m.px > 0 && tk.Px > 0 {
			r := math.Log(tk.Px / m.px)
			dt := math.Max(tk.TS.Sub(m.ts).Seconds(), 1e-3)
			v := r * r / dt
			if m.n == 0 {
				m.varSec = v
			} else {
				m.varSec = (1-alpha)*m.varSec + alpha*v
			}
			m.n++
		}
		m.px, m.ts, m.seen = tk.Px, tk.TS, true
	}
	n := len(coins)
	cs, px, ts, vs, ns := make([]string, 0, n), make([]float64, 0, n), make([]time.Time, 0, n), make([]float64, 0, n), make([]int64, 0, n)
	for _, c := range coins {
		m := marks[c]
		cs, px, ts, vs, ns = append(cs, c), append(px, m.px), append(ts, m.ts), append(vs, m.varSec), append(ns, m.n)
	}
	_, err := tx.Exec(ctx, `INSERT INTO paper_marks (coin, px, ts, var_sec, n)
		SELECT * FROM unnest($1::text[], $2::float8[], $3::timestamptz[], $4::float8[], $5::bigint[])
		ON CONFLICT (coin) DO UPDATE SET px = EXCLUDED.px, ts = EXCLUDED.ts, var_sec = EXCLUDED.var_sec, n = EXCLUDED.n`,
		cs, px, ts, vs, ns)
	if err != nil {
		return nil, false, fmt.Errorf("save paper marks: %w", err)
	}
	return coins, live, nil
}

// account is a paper account being updated.
type account struct {
	scope                       string
	start, equity, realized     float64
	fees, peak, maxDD, dayStart float64
	day                         *time.Time
}

func loadAccount(ctx context.Context, tx pgx.Tx, scope string) (*account, error) {
	a := &account{scope: scope}
	err := tx.QueryRow(ctx, `SELECT start_equity, equity, realized, fees, peak_equity, max_drawdown, day, day_start_equity
		FROM paper_accounts WHERE scope = $1`, scope).Scan(&a.start, &a.equity, &a.realized, &a.fees, &a.peak, &a.maxDD, &a.day, &a.dayStart)
	if err != nil {
		return nil, fmt.Errorf("paper account %s: %w", scope, err)
	}
	return a, nil
}

// mark sets the account's equity at (event) time ts: the day rolls over at UTC
// midnight (the day starts at the equity before this tick), the peak and drawdown
// follow, a point joins the equity curve, and the breaker trips on a breach.
func (a *account) mark(ctx context.Context, tx pgx.Tx, s risk.Settings, equity float64, ts time.Time) error {
	day := ts.UTC().Truncate(24 * time.Hour)
	if a.day == nil || !a.day.Equal(day) {
		a.day = &day
		a.dayStart = a.equity
	}
	a.equity = equity
	a.peak = math.Max(a.peak, equity)
	if a.peak > 0 {
		a.maxDD = math.Max(a.maxDD, (a.peak-equity)/a.peak)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO paper_equity (scope, ts, equity) VALUES ($1, $2, $3)
		ON CONFLICT (scope, ts) DO UPDATE SET equity = EXCLUDED.equity`, a.scope, ts, equity); err != nil {
		return fmt.Errorf("equity of %s: %w", a.scope, err)
	}
	if why, ok := risk.Breach(s, risk.Portfolio{Equity: equity, DayStartEquity: a.dayStart, PeakEquity: a.peak}); ok {
		return risk.Trip(ctx, tx, a.scope, why, ts)
	}
	return nil
}

func (a *account) save(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `UPDATE paper_accounts SET equity = $2, realized = $3, fees = $4, peak_equity = $5,
		max_drawdown = $6, day = $7, day_start_equity = $8, updated_at = now() WHERE scope = $1`,
		a.scope, a.equity, a.realized, a.fees, a.peak, a.maxDD, a.day, a.dayStart)
	if err != nil {
		return fmt.Errorf("save paper account %s: %w", a.scope, err)
	}
	return nil
}

func insertFill(ctx context.Context, tx pgx.Tx, p *Position, tk signal.Tick, side string, px, fee float64, reason string) error {
	if p.Dir < 0 {
		if side == "buy" {
			side = "sell"
		} else {
			side = "buy"
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO paper_fills (position_id, scope, ts, side, qty, observed_px, px, fee, reason)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, p.ID, p.Scope, tk.TS, side, p.Qty, tk.Px, px, fee, reason)
	if err != nil {
		return fmt.Errorf("paper fill of position %d: %w", p.ID, err)
	}
	return nil
}

const positionCols = `id, scope, signal_id, wallet, coin, dir, status, size_usd, qty, entry_px, signal_ts, opened_at,
	stop_px, take_px, trail_pct, best_px, mark_px, mark_ts, exit_asked, closed_at, exit_px, exit_reason, fees, pnl`

type rowQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func loadPositions(ctx context.Context, q rowQuerier, where string, args ...any) ([]*Position, error) {
	rows, err := q.Query(ctx, `SELECT `+positionCols+` FROM paper_positions `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("paper positions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Position, error) {
		p := &Position{}
		err := r.Scan(&p.ID, &p.Scope, &p.SignalID, &p.Wallet, &p.Coin, &p.Dir, &p.Status, &p.SizeUSD, &p.Qty, &p.EntryPx,
			&p.SignalTS, &p.OpenedAt, &p.StopPx, &p.TakePx, &p.TrailPct, &p.BestPx, &p.MarkPx, &p.MarkTS, &p.ExitAsked,
			&p.ClosedAt, &p.ExitPx, &p.ExitReason, &p.Fees, &p.PnL)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("paper positions: %w", err)
	}
	return out, nil
}

func savePosition(ctx context.Context, tx pgx.Tx, p *Position) error {
	_, err := tx.Exec(ctx, `UPDATE paper_positions SET status = $2, qty = $3, entry_px = $4, opened_at = $5, stop_px = $6,
		take_px = $7, trail_pct = $8, best_px = $9, mark_px = $10, mark_ts = $11, closed_at = $12, exit_px = $13,
		exit_reason = $14, fees = $15, pnl = $16 WHERE id = $1`,
		p.ID, p.Status, p.Qty, p.EntryPx, p.OpenedAt, p.StopPx, p.TakePx, p.TrailPct, p.BestPx, p.MarkPx, p.MarkTS,
		p.ClosedAt, p.ExitPx, p.ExitReason, p.Fees, p.PnL)
	if err != nil {
		return fmt.Errorf("save paper position %d: %w", p.ID, err)
	}
	return nil
}
