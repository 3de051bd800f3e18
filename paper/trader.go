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

// Trader is the risk gate in front of the paper executor. The paper Runner drives it
// from the paper inbox; as a signal.Consumer it can also run inside the signal stage's
// own transaction (the tests do, to compare both paths).
//
// A batch is simulated in memory: the trader reads what the batch touches (marks,
// live positions, accounts, breakers) in two round trips, runs the steps in stream
// order — prices fill, stop and mark; signals pass the gate and become orders — and
// writes everything back in two more. The result is the same as applying the steps
// one by one against the database, and costs the same whether the batch holds one
// signal or a thousand.
type Trader struct {
	cfg Config
}

var (
	_ signal.Consumer = (*Trader)(nil)
	_ Executor        = (*session)(nil)
)

// NewTrader returns the paper trader.
func NewTrader(cfg Config) *Trader {
	return &Trader{cfg: cfg.withDefaults()}
}

// OnBatch implements signal.Consumer. Each price tick updates its coin's mark and
// volatility, fills pending orders, runs the exits and marks open positions, and
// updates the accounts' equity, peak, drawdown and day, tripping a scope's breaker
// when its losses reach the limits. Each new entry signal of a traded rule goes
// through the gate of every enabled scope; every decision is stored and the approved
// ones become orders that wait for the coin's next price. With CloseOnWalletExit, a
// wallet's close or flip exits the positions that copied it.
func (t *Trader) OnBatch(ctx context.Context, tx pgx.Tx, steps []signal.Step) error {
	return t.apply(ctx, tx, steps, false)
}

// apply runs steps; locked says the caller holds the paper lock already.
func (t *Trader) apply(ctx context.Context, q pgx.Tx, steps []signal.Step, locked bool) error {
	s := t.newSession()
	s.setSteps(steps)
	if len(s.coins) == 0 && !s.exits {
		return nil
	}
	b := &pgx.Batch{}
	s.queueFixed(b)
	s.queueCoinReads(b)
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	return s.run(ctx, q, steps, locked)
}

func (t *Trader) newSession() *session {
	s := &session{t: t, cfg: t.cfg, marks: map[string]*mark{}, accts: map[string]*account{},
		breakers: map[string]*breaker{}, lastEntry: map[scopeCoin]time.Time{}, liquidity: map[int64]float64{},
		decided: map[decisionKey]bool{}, equity: map[equityKey]float64{}}
	s.exec = s
	return s
}

// setSteps records what the steps touch: their coins, entries and exits.
func (s *session) setSteps(steps []signal.Step) {
	for _, st := range steps {
		for _, tk := range st.Ticks {
			s.addCoin(tk.Coin, true)
		}
		for _, sg := range st.Signals {
			switch {
			case s.t.entry(sg):
				s.entries = append(s.entries, sg)
				s.addCoin(sg.Coin, false)
			case s.t.exit(sg):
				s.exits = true
			}
		}
	}
}

// run finishes the reads once the first round trip (queueFixed, and queueCoinReads or
// the runner's equivalent) is in, runs the steps in stream order and writes the
// result.
func (s *session) run(ctx context.Context, q pgx.Tx, steps []signal.Step, locked bool) error {
	if err := s.readRest(ctx, q, locked); err != nil {
		return err
	}
	for _, st := range steps {
		for _, tk := range st.Ticks {
			if err := s.tick(tk); err != nil {
				return err
			}
		}
		if len(st.Signals) > 0 {
			if err := s.signals(st.Signals); err != nil {
				return err
			}
		}
	}
	return s.write(ctx, q)
}

// entry: a new entry signal of a traded rule.
func (t *Trader) entry(s signal.Stored) bool {
	return slices.Contains(t.cfg.Rules, s.Rule) && s.Entry() && s.Dir() != 0
}

// exit: a followed wallet's close or flip, when positions follow their wallet out.
func (t *Trader) exit(s signal.Stored) bool {
	return t.cfg.CloseOnWalletExit && s.Wallet != "" && (s.Action == "close" || s.Action == "flip")
}

type scopeCoin struct{ scope, coin string }
type decisionKey struct {
	signal int64
	scope  string
}
type equityKey struct {
	scope string
	ts    int64
}

// mark is a coin's last price and volatility estimate.
type mark struct {
	px     float64
	ts     time.Time
	varSec float64
	n      int64
	seen   bool
	dirty  bool
}

// breaker is a scope's circuit breaker as the batch leaves it.
type breaker struct {
	on     bool
	reason string
	at     *time.Time
	// tripped or reset during the batch: written back
	tripped, reset bool
}

// fill is one simulated execution to store.
type fill struct {
	pos                    *Position
	ts                     time.Time
	side                   string
	qty, observed, px, fee float64
	reason                 string
}

// session is one batch's paper state, in memory.
type session struct {
	t    *Trader
	cfg  Config
	exec Executor // carries out the gate's orders: the session itself

	coins     []string // coins ticked or traded by the batch
	tickCoins []string
	entries   []signal.Stored
	exits     bool

	settings   risk.Settings
	liveTicked bool    // a position not closed in a ticked coin, before the batch
	orderIDs   []int64 // allocated for the batch's new orders, in order
	halted     bool
	haltReason string
	scopes     []string // enabled
	marks      map[string]*mark
	live       []*Position // not closed at the start, in id order, then the batch's new orders
	newOrders  []*Position
	accts      map[string]*account
	breakers   map[string]*breaker
	lastEntry  map[scopeCoin]time.Time // latest entry per scope and coin among positions closed before the batch
	liquidity  map[int64]float64       // per entry signal
	decided    map[decisionKey]bool    // decisions stored before the batch
	decisions  []risk.Decided
	fills      []fill
	equity     map[equityKey]float64
	eqOrder    []equityKey
	changed    []*Position
	isChanged  map[*Position]bool
}

func (s *session) addCoin(c string, ticked bool) {
	if !slices.Contains(s.coins, c) {
		s.coins = append(s.coins, c)
	}
	if ticked && !slices.Contains(s.tickCoins, c) {
		s.tickCoins = append(s.tickCoins, c)
	}
}

// queueFixed queues the reads that do not depend on the batch: the enabled scopes,
// and what the paper trader does not write itself (risk settings, the kill switch).
func (s *session) queueFixed(b *pgx.Batch) {
	b.Queue(`SELECT scope FROM paper_scopes WHERE enabled ORDER BY scope`).Query(func(rows pgx.Rows) error {
		var err error
		if s.scopes, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return fmt.Errorf("paper scopes: %w", err)
		}
		return nil
	})
	b.Queue(`SELECT name, value FROM risk_settings`).Query(func(rows pgx.Rows) error {
		var err error
		s.settings, err = risk.ScanSettings(rows)
		return err
	})
	b.Queue(`SELECT halted, reason FROM risk_state WHERE id = 1`).QueryRow(func(r pgx.Row) error {
		if err := r.Scan(&s.halted, &s.haltReason); err != nil {
			return fmt.Errorf("read kill switch: %w", err)
		}
		return nil
	})
}

// queueCoinReads queues the reads that depend on the batch's coins and signals: the
// coins' marks, whether a position lives in a ticked coin, and the entries' earlier
// decisions.
func (s *session) queueCoinReads(b *pgx.Batch) {
	b.Queue(`SELECT coin, px, ts, var_sec, n FROM paper_marks WHERE coin = ANY($1)`, s.coins).Query(func(rows pgx.Rows) error {
		var c string
		var m mark
		if _, err := pgx.ForEachRow(rows, []any{&c, &m.px, &m.ts, &m.varSec, &m.n}, func() error {
			mm := m
			mm.seen = true
			s.marks[c] = &mm
			return nil
		}); err != nil {
			return fmt.Errorf("paper marks: %w", err)
		}
		return nil
	})
	b.Queue(`SELECT EXISTS (SELECT 1 FROM paper_positions WHERE coin = ANY($1) AND status <> 'closed')`, s.tickCoins).QueryRow(func(r pgx.Row) error {
		if err := r.Scan(&s.liveTicked); err != nil {
			return fmt.Errorf("live paper positions: %w", err)
		}
		return nil
	})
	if ids := s.entryIDs(); len(ids) > 0 {
		b.Queue(`SELECT signal_id, scope FROM risk_decisions WHERE signal_id = ANY($1)`, ids).Query(func(rows pgx.Rows) error {
			var k decisionKey
			if _, err := pgx.ForEachRow(rows, []any{&k.signal, &k.scope}, func() error { s.decided[k] = true; return nil }); err != nil {
				return fmt.Errorf("earlier decisions: %w", err)
			}
			return nil
		})
	}
}

func (s *session) entryIDs() []int64 {
	var ids []int64
	for _, sg := range s.entries {
		ids = append(ids, sg.ID)
	}
	return ids
}

// readRest loads the rest of the state the batch needs, once the first reads are in.
// When only the marks change (no enabled scope trades and no position lives in a
// ticked coin) nothing else is read and no lock is taken.
func (s *session) readRest(ctx context.Context, q pgx.Tx, locked bool) error {
	ids := s.entryIDs()
	live := s.liveTicked
	for _, c := range s.coins {
		if s.marks[c] == nil {
			s.marks[c] = &mark{}
		}
	}
	trades := len(s.scopes) > 0 && (len(s.entries) > 0 || s.exits)
	if !trades && !live {
		// Only the marks change: no lock needed (a coin's prices come from one shard).
		s.scopes = nil
		return nil
	}
	scopes := s.scopes
	if !trades {
		scopes = nil
	}
	if !locked {
		if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(lockKey)); err != nil {
			return fmt.Errorf("paper lock: %w", err)
		}
	}
	b := &pgx.Batch{}
	if len(scopes) > 0 {
		b.Queue(ensureAccountsSQL, scopes, s.cfg.StartingEquity)
	}
	if len(scopes) > 0 && len(ids) > 0 {
		// Ids for the orders the batch may place (at most one per entry and scope), so
		// that they are written with the rest instead of in a round trip of their own.
		b.Queue(`SELECT nextval(pg_get_serial_sequence('paper_positions', 'id')) FROM generate_series(1, $1)`,
			len(ids)*len(scopes)).Query(func(rows pgx.Rows) error {
			var err error
			if s.orderIDs, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
				return fmt.Errorf("paper order ids: %w", err)
			}
			return nil
		})
	}
	// The scopes the batch touches: those trading, and those with a live position in a
	// ticked coin. All their live positions are needed (an account's equity counts
	// every open position, not only the ticked coins').
	const touched = `(SELECT unnest($1::text[]) UNION SELECT scope FROM paper_positions WHERE status <> 'closed' AND coin = ANY($2))`
	b.Queue(`SELECT `+positionCols+` FROM paper_positions
		WHERE status <> 'closed' AND scope IN `+touched+` ORDER BY id`, scopes, s.tickCoins).Query(func(rows pgx.Rows) error {
		var err error
		s.live, err = scanPositions(rows)
		return err
	})
	b.Queue(`SELECT scope, start_equity, equity, realized, fees, peak_equity, max_drawdown, day, day_start_equity
		FROM paper_accounts WHERE scope IN `+touched, scopes, s.tickCoins).Query(func(rows pgx.Rows) error {
		var a account
		_, err := pgx.ForEachRow(rows, []any{&a.scope, &a.start, &a.equity, &a.realized, &a.fees, &a.peak, &a.maxDD, &a.day, &a.dayStart}, func() error {
			aa := a
			s.accts[a.scope] = &aa
			return nil
		})
		if err != nil {
			return fmt.Errorf("paper accounts: %w", err)
		}
		return nil
	})
	b.Queue(`SELECT scope, tripped, reason, tripped_at FROM risk_breakers WHERE scope IN `+touched, scopes, s.tickCoins).Query(func(rows pgx.Rows) error {
		var sc string
		var br breaker
		_, err := pgx.ForEachRow(rows, []any{&sc, &br.on, &br.reason, &br.at}, func() error {
			bb := br
			s.breakers[sc] = &bb
			return nil
		})
		if err != nil {
			return fmt.Errorf("read breakers: %w", err)
		}
		return nil
	})
	if len(scopes) > 0 && len(ids) > 0 {
		// The cooldown's last entries among positions closed before the batch (the live
		// ones are in memory); an order cancelled before it filled is no entry.
		b.Queue(`SELECT scope, coin, max(signal_ts) FROM paper_positions
			WHERE scope = ANY($1) AND coin = ANY($2) AND status = 'closed' AND exit_reason <> $3 GROUP BY scope, coin`,
			scopes, s.coins, ExitNeverFills).Query(func(rows pgx.Rows) error {
			var k scopeCoin
			var ts time.Time
			if _, err := pgx.ForEachRow(rows, []any{&k.scope, &k.coin, &ts}, func() error { s.lastEntry[k] = ts; return nil }); err != nil {
				return fmt.Errorf("last entries: %w", err)
			}
			return nil
		})
	}
	liquidity := func() {}
	if len(ids) > 0 && len(scopes) > 0 && s.settings.MinLiquidityUSD > 0 {
		liquidity = s.queueLiquidity(b)
	}
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	liquidity()
	for _, sc := range scopes {
		if s.accts[sc] == nil {
			return fmt.Errorf("paper account %s: missing", sc)
		}
	}
	return nil
}

// queueLiquidity queues on b the reads that measure, for each entry signal, the notional of wallet actions in its
// coin over the liquidity window before it (the batch's own actions are stored
// already). Per coin, the part of the window every signal of the batch shares is
// summed once and only the rows at the edges are read, so the cost does not grow with
// the number of signals times the actions in a window. The returned function sets the
// figures once b has run.
func (s *session) queueLiquidity(b *pgx.Batch) func() {
	win := time.Duration(s.settings.LiquidityWindowMin * float64(time.Minute))
	type span struct{ lo, hi time.Time }
	spans := map[string]*span{}
	var coins []string
	for _, sg := range s.entries {
		sp := spans[sg.Coin]
		if sp == nil {
			spans[sg.Coin] = &span{sg.TS, sg.TS}
			coins = append(coins, sg.Coin)
			continue
		}
		if sg.TS.Before(sp.lo) {
			sp.lo = sg.TS
		}
		if sg.TS.After(sp.hi) {
			sp.hi = sg.TS
		}
	}
	// Per coin, three ranges (a, b]: the shared part, summed in the database, and two
	// edges whose rows are read. With lo and hi the earliest and latest signal:
	// shared (hi − win, lo], edges (lo − win, hi − win] and (lo, hi]; when the signals
	// span a whole window there is no shared part and one edge (lo − win, hi].
	n := len(coins)
	cA, cB, e1A, e1B, e2A, e2B := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n), make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	for i, c := range coins {
		lo, hi := spans[c].lo, spans[c].hi
		if hi.Sub(lo) < win {
			cA[i], cB[i], e1A[i], e1B[i], e2A[i], e2B[i] = hi.Add(-win), lo, lo.Add(-win), hi.Add(-win), lo, hi
		} else {
			cA[i], cB[i], e1A[i], e1B[i], e2A[i], e2B[i] = hi, hi, lo.Add(-win), hi, hi, hi
		}
	}
	common := map[string]float64{}
	type edge struct {
		ts  time.Time
		usd float64
	}
	edges := map[string][]edge{}
	b.Queue(`SELECT u.coin, coalesce((SELECT sum(a.usd) FROM signal_actions a WHERE a.coin = u.coin AND a.ts > u.a AND a.ts <= u.b), 0)
		FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS u(coin, a, b)`, coins, cA, cB).Query(func(rows pgx.Rows) error {
		var c string
		var v float64
		_, err := pgx.ForEachRow(rows, []any{&c, &v}, func() error { common[c] = v; return nil })
		return err
	})
	b.Queue(`SELECT u.coin, a.ts, a.usd
		FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[]) AS u(coin, a1, b1, a2, b2)
		CROSS JOIN LATERAL (
			SELECT ts, usd FROM signal_actions WHERE coin = u.coin AND ts > u.a1 AND ts <= u.b1
			UNION ALL
			SELECT ts, usd FROM signal_actions WHERE coin = u.coin AND ts > u.a2 AND ts <= u.b2) a`,
		coins, e1A, e1B, e2A, e2B).Query(func(rows pgx.Rows) error {
		var c string
		var e edge
		_, err := pgx.ForEachRow(rows, []any{&c, &e.ts, &e.usd}, func() error { edges[c] = append(edges[c], e); return nil })
		return err
	})
	return func() {
		for _, sg := range s.entries {
			v := common[sg.Coin]
			for _, e := range edges[sg.Coin] {
				if e.ts.After(sg.TS.Add(-win)) && !e.ts.After(sg.TS) {
					v += e.usd
				}
			}
			s.liquidity[sg.ID] = v
		}
	}
}

// tick applies one price: the coin's mark and volatility (an EWMA of squared log
// returns per second), then its live positions in id order, then the touched accounts.
// A tick not newer than the coin's mark (a replay) leaves the mark alone.
func (s *session) tick(tk signal.Tick) error {
	m := s.marks[tk.Coin]
	if !m.seen || tk.TS.After(m.ts) {
		if m.seen && m.px > 0 && tk.Px > 0 {
			r := math.Log(tk.Px / m.px)
			dt := math.Max(tk.TS.Sub(m.ts).Seconds(), 1e-3)
			v := r * r / dt
			if m.n == 0 {
				m.varSec = v
			} else {
				alpha := 1 - math.Pow(0.5, 1/s.cfg.VolHalfLife)
				m.varSec = (1-alpha)*m.varSec + alpha*v
			}
			m.n++
		}
		m.px, m.ts, m.seen, m.dirty = tk.Px, tk.TS, true, true
	}
	var touched []string
	for _, p := range s.live {
		if p.Coin != tk.Coin || p.Status == "closed" {
			continue
		}
		a := s.accts[p.Scope]
		if a == nil {
			return fmt.Errorf("paper account %s: missing", p.Scope)
		}
		switch p.Status {
		case "pending":
			if !tk.TS.After(p.SignalTS) {
				continue
			}
			fee := s.cfg.fillEntry(p, tk.Px, tk.TS)
			a.realized -= fee
			a.fees += fee
			s.addFill(p, tk, "buy", p.EntryPx, fee, "entry")
		case "open":
			if p.MarkTS != nil && !tk.TS.After(*p.MarkTS) {
				continue // an old or replayed price
			}
			if why := s.cfg.exitReason(p, tk.Px, tk.TS); why != "" {
				realized, fee := s.cfg.fillExit(p, tk.Px, tk.TS, why)
				a.realized += realized
				a.fees += fee
				s.addFill(p, tk, "sell", p.ExitPx, fee, why)
			} else {
				if float64(p.Dir)*(tk.Px-p.BestPx) > 0 {
					p.BestPx = tk.Px
				}
				ts := tk.TS
				p.MarkPx, p.MarkTS = tk.Px, &ts
			}
		}
		s.change(p)
		if !slices.Contains(touched, p.Scope) {
			touched = append(touched, p.Scope)
		}
	}
	for _, scope := range touched {
		a := s.accts[scope]
		unreal := 0.0
		for _, q := range s.live {
			if q.Scope == scope {
				unreal += q.unrealized()
			}
		}
		s.markAccount(a, a.start+a.realized+unreal, tk.TS)
	}
	return nil
}

func (s *session) change(p *Position) {
	if s.isChanged == nil {
		s.isChanged = map[*Position]bool{}
	}
	if !s.isChanged[p] {
		s.isChanged[p] = true
		s.changed = append(s.changed, p)
	}
}

func (s *session) addFill(p *Position, tk signal.Tick, side string, px, fee float64, reason string) {
	if p.Dir < 0 {
		if side == "buy" {
			side = "sell"
		} else {
			side = "buy"
		}
	}
	s.fills = append(s.fills, fill{pos: p, ts: tk.TS, side: side, qty: p.Qty, observed: tk.Px, px: px, fee: fee, reason: reason})
}

// markAccount sets the account's equity at (event) time ts: the day rolls over at UTC
// midnight (the day starts at the equity before this tick), the peak and drawdown
// follow, a point joins the equity curve, and the breaker trips on a breach.
func (s *session) markAccount(a *account, equity float64, ts time.Time) {
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
	a.dirty = true
	k := equityKey{a.scope, ts.UnixNano()}
	if _, ok := s.equity[k]; !ok {
		s.eqOrder = append(s.eqOrder, k)
	}
	s.equity[k] = equity
	if why, ok := risk.Breach(s.settings, risk.Portfolio{Equity: equity, DayStartEquity: a.dayStart, PeakEquity: a.peak}); ok {
		br := s.breaker(a.scope)
		if !br.on {
			at := ts
			br.on, br.reason, br.at, br.tripped = true, why, &at, true
		}
	}
}

func (s *session) breaker(scope string) *breaker {
	br := s.breakers[scope]
	if br == nil {
		br = &breaker{}
		s.breakers[scope] = br
	}
	return br
}

// signals runs one step of signals: for every enabled scope, the wallet exits first,
// then each entry through the gate.
func (s *session) signals(sigs []signal.Stored) error {
	for _, scope := range s.scopes {
		for _, sg := range sigs {
			if s.t.exit(sg) {
				if err := s.exec.Exit(scope, sg.Wallet, sg.Coin, sg.TS); err != nil {
					return err
				}
			}
		}
		for _, sg := range sigs {
			if s.t.entry(sg) && !s.decided[decisionKey{sg.ID, scope}] {
				if err := s.gate(scope, sg); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// gate decides on one signal for one scope and places the order when approved.
func (s *session) gate(scope string, sg signal.Stored) error {
	s.decided[decisionKey{sg.ID, scope}] = true
	sw := risk.Switches{Halted: s.halted, HaltReason: s.haltReason}
	if br := s.breakers[scope]; br != nil && br.on {
		if s.settings.BreakerExpired(br.at, sg.TS) {
			// Reset by time: the breaker measures from here on.
			br.on, br.reason, br.at, br.reset = false, "", nil, true
			if a := s.accts[scope]; a != nil {
				a.dayStart, a.peak, a.dirty = a.equity, a.equity, true
			}
		} else {
			sw.BreakerOn, sw.BreakerReason = true, br.reason
		}
	}
	var m risk.Market
	if mk := s.marks[sg.Coin]; mk != nil && mk.seen {
		m.Price, m.PriceTS = mk.px, mk.ts
		if mk.n >= s.cfg.MinVolTicks && mk.varSec > 0 {
			m.HorizonVol = math.Sqrt(mk.varSec * s.settings.VolHorizonHours * 3600)
		}
	}
	m.LiquidityUSD = s.liquidity[sg.ID]
	pf, err := s.exec.Portfolio(scope)
	if err != nil {
		return err
	}
	d := risk.Decide(s.settings, sw, pf, m, risk.Request{Coin: sg.Coin, Dir: sg.Dir(), TS: sg.TS, Edge: sg.Edge})
	s.decisions = append(s.decisions, risk.Decided{SignalID: sg.ID, Scope: scope, Decision: d})
	if !d.Approved {
		return nil
	}
	return s.exec.Submit(Order{Scope: scope, SignalID: sg.ID, Wallet: sg.Wallet, Coin: sg.Coin, Dir: sg.Dir(), SizeUSD: d.SizeUSD, SignalTS: sg.TS})
}

// Portfolio is the scope's account as the gate sees it at this point of the batch.
func (s *session) Portfolio(scope string) (risk.Portfolio, error) {
	a := s.accts[scope]
	if a == nil {
		return risk.Portfolio{}, fmt.Errorf("paper account %s: missing", scope)
	}
	p := risk.Portfolio{Equity: a.equity, DayStartEquity: a.dayStart, PeakEquity: a.peak, LastEntry: map[string]time.Time{}}
	for k, ts := range s.lastEntry {
		if k.scope == scope {
			p.LastEntry[k.coin] = ts
		}
	}
	for _, q := range s.live {
		if q.Scope != scope {
			continue
		}
		if q.ExitReason != ExitNeverFills {
			if last, ok := p.LastEntry[q.Coin]; !ok || q.SignalTS.After(last) {
				p.LastEntry[q.Coin] = q.SignalTS
			}
		}
		if q.Status == "closed" {
			continue
		}
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
	return p, nil
}

// Submit places an approved entry: the order waits for the coin's next price.
func (s *session) Submit(o Order) error {
	p := &Position{Scope: o.Scope, SignalID: o.SignalID, Wallet: o.Wallet, Coin: o.Coin, Dir: o.Dir,
		Status: "pending", SizeUSD: o.SizeUSD, SignalTS: o.SignalTS}
	s.live = append(s.live, p)
	s.newOrders = append(s.newOrders, p)
	return nil
}

// Exit closes the scope's positions that copied wallet in coin: open ones at the next
// price, pending ones are cancelled.
func (s *session) Exit(scope, wallet, coin string, at time.Time) error {
	for _, p := range s.live {
		if p.Scope != scope || p.Wallet != wallet || p.Coin != coin {
			continue
		}
		switch {
		case p.Status == "open" && p.OpenedAt != nil && !p.OpenedAt.After(at):
			p.ExitAsked = true
			s.change(p)
		case p.Status == "pending" && !p.SignalTS.After(at):
			t := at
			p.Status, p.ExitReason, p.ClosedAt = "closed", ExitNeverFills, &t
			s.change(p)
		}
	}
	return nil
}

// write stores what the batch changed in one batch of statements, new orders first
// (with the ids allocated for them), then what refers to them; on a pipelined
// transaction it goes with COMMIT.
func (s *session) write(ctx context.Context, q pgx.Tx) error {
	b := &pgx.Batch{}
	if n := len(s.newOrders); n > 0 {
		if len(s.orderIDs) < n {
			return fmt.Errorf("paper orders: %d placed, %d ids allocated", n, len(s.orderIDs))
		}
		ids, scopes, sigs := make([]int64, n), make([]string, n), make([]int64, n)
		wallets, coins, dirs, sizes, tss := make([]string, n), make([]string, n), make([]int32, n), make([]float64, n), make([]time.Time, n)
		for i, p := range s.newOrders {
			p.ID = s.orderIDs[i]
			ids[i], scopes[i], sigs[i] = p.ID, p.Scope, p.SignalID
			wallets[i], coins[i], dirs[i], sizes[i], tss[i] = p.Wallet, p.Coin, int32(p.Dir), p.SizeUSD, p.SignalTS
		}
		// Inserted as placed (pending); their later state in the batch is an update. A
		// signal already traded in a scope fails the unique (scope, signal_id).
		b.Queue(`INSERT INTO paper_positions (id, scope, signal_id, wallet, coin, dir, status, size_usd, signal_ts)
			SELECT id, sc, sg, w, c, d, 'pending', sz, ts
			FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::int[], $7::float8[], $8::timestamptz[])
				AS u(id, sc, sg, w, c, d, sz, ts)`,
			ids, scopes, sigs, wallets, coins, dirs, sizes, tss)
	}
	s.queueMarks(b)
	if len(s.decisions) > 0 {
		if err := risk.QueueRecord(b, s.decisions, nil); err != nil {
			return err
		}
	}
	s.queueFills(b)
	s.queuePositions(b)
	s.queueEquity(b)
	for _, a := range s.accts {
		if a.dirty {
			b.Queue(`UPDATE paper_accounts SET equity = $2, realized = $3, fees = $4, peak_equity = $5,
				max_drawdown = $6, day = $7, day_start_equity = $8, updated_at = now() WHERE scope = $1`,
				a.scope, a.equity, a.realized, a.fees, a.peak, a.maxDD, a.day, a.dayStart)
		}
	}
	for scope, br := range s.breakers {
		switch {
		case br.on && br.tripped:
			risk.QueueTrip(b, scope, br.reason, *br.at)
		case !br.on && br.reset:
			risk.QueueClear(b, scope)
		}
	}
	if err := store.Defer(ctx, q, b); err != nil {
		return fmt.Errorf("save paper batch: %w", err)
	}
	return nil
}

func (s *session) queueMarks(b *pgx.Batch) {
	var cs []string
	var px, vs []float64
	var ts []time.Time
	var ns []int64
	for _, c := range s.coins {
		if m := s.marks[c]; m.dirty {
			cs, px, ts, vs, ns = append(cs, c), append(px, m.px), append(ts, m.ts), append(vs, m.varSec), append(ns, m.n)
		}
	}
	if len(cs) == 0 {
		return
	}
	b.Queue(`INSERT INTO paper_marks (coin, px, ts, var_sec, n)
		SELECT * FROM unnest($1::text[], $2::float8[], $3::timestamptz[], $4::float8[], $5::bigint[])
		ON CONFLICT (coin) DO UPDATE SET px = EXCLUDED.px, ts = EXCLUDED.ts, var_sec = EXCLUDED.var_sec, n = EXCLUDED.n`,
		cs, px, ts, vs, ns)
}

func (s *session) queueFills(b *pgx.Batch) {
	n := len(s.fills)
	if n == 0 {
		return
	}
	ids, scopes, ts, sides, qty, obs, px, fee, why := make([]int64, n), make([]string, n), make([]time.Time, n), make([]string, n),
		make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]string, n)
	for i, f := range s.fills {
		ids[i], scopes[i], ts[i], sides[i], qty[i], obs[i], px[i], fee[i], why[i] = f.pos.ID, f.pos.Scope, f.ts, f.side, f.qty, f.observed, f.px, f.fee, f.reason
	}
	b.Queue(`INSERT INTO paper_fills (position_id, scope, ts, side, qty, observed_px, px, fee, reason)
		SELECT p, sc, ts, sd, q, o, px, f, r
		FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::text[])
		WITH ORDINALITY AS u(p, sc, ts, sd, q, o, px, f, r, ord) ORDER BY ord`, ids, scopes, ts, sides, qty, obs, px, fee, why)
}

func (s *session) queuePositions(b *pgx.Batch) {
	ps := s.changed // new orders that changed too: they were inserted as placed
	n := len(ps)
	if n == 0 {
		return
	}
	var (
		id                                            = make([]int64, n)
		status, reason                                = make([]string, n), make([]string, n)
		qty, entry, stop, take, trail, best, mpx, xpx = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		fees, pnl                                     = make([]float64, n), make([]float64, n)
		opened, markTS, closed                        = make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
		asked                                         = make([]bool, n)
	)
	for i, p := range ps {
		id[i], status[i], reason[i] = p.ID, p.Status, p.ExitReason
		qty[i], entry[i], stop[i], take[i], trail[i], best[i], mpx[i], xpx[i] = p.Qty, p.EntryPx, p.StopPx, p.TakePx, p.TrailPct, p.BestPx, p.MarkPx, p.ExitPx
		fees[i], pnl[i] = p.Fees, p.PnL
		opened[i], markTS[i], closed[i] = p.OpenedAt, p.MarkTS, p.ClosedAt
		asked[i] = p.ExitAsked
	}
	b.Queue(`UPDATE paper_positions p SET status = u.status, qty = u.qty, entry_px = u.entry, opened_at = u.opened,
		stop_px = u.stop, take_px = u.take, trail_pct = u.trail, best_px = u.best, mark_px = u.mpx, mark_ts = u.mts,
		exit_asked = u.asked, closed_at = u.closed, exit_px = u.xpx, exit_reason = u.reason, fees = u.fees, pnl = u.pnl
		FROM unnest($1::bigint[], $2::text[], $3::float8[], $4::float8[], $5::timestamptz[], $6::float8[], $7::float8[],
			$8::float8[], $9::float8[], $10::float8[], $11::timestamptz[], $12::bool[], $13::timestamptz[], $14::float8[],
			$15::text[], $16::float8[], $17::float8[])
			AS u(id, status, qty, entry, opened, stop, take, trail, best, mpx, mts, asked, closed, xpx, reason, fees, pnl)
		WHERE p.id = u.id`,
		id, status, qty, entry, opened, stop, take, trail, best, mpx, markTS, asked, closed, xpx, reason, fees, pnl)
}

func (s *session) queueEquity(b *pgx.Batch) {
	n := len(s.eqOrder)
	if n == 0 {
		return
	}
	scopes, ts, eq := make([]string, n), make([]time.Time, n), make([]float64, n)
	for i, k := range s.eqOrder {
		scopes[i], ts[i], eq[i] = k.scope, time.Unix(0, k.ts).UTC(), s.equity[k]
	}
	b.Queue(`INSERT INTO paper_equity (scope, ts, equity) SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::float8[])
		ON CONFLICT (scope, ts) DO UPDATE SET equity = EXCLUDED.equity`, scopes, ts, eq)
}

// account is a paper account being updated.
type account struct {
	scope                       string
	start, equity, realized     float64
	fees, peak, maxDD, dayStart float64
	day                         *time.Time
	dirty                       bool
}

// ensureAccountsSQL opens an account with the starting equity $2 for each scope of $1
// that has none.
const ensureAccountsSQL = `INSERT INTO paper_accounts (scope, start_equity, equity, peak_equity, day_start_equity)
	SELECT sc, $2, $2, $2, $2 FROM unnest($1::text[]) AS sc ON CONFLICT (scope) DO NOTHING`

// ensureAccount opens scope's account unless it has one.
func ensureAccount(ctx context.Context, tx pgx.Tx, scope string, equity float64) error {
	if _, err := tx.Exec(ctx, ensureAccountsSQL, []string{scope}, equity); err != nil {
		return fmt.Errorf("paper account %s: %w", scope, err)
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
	return scanPositions(rows)
}

func scanPositions(rows pgx.Rows) ([]*Position, error) {
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
