package risk

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Service stores the gate's settings, switches and decisions (migration 011). Its
// methods back `coattail risk` and the bots' /risk, /halt and /resume.
type Service struct {
	st *store.Store
}

// NewService returns the risk store on st.
func NewService(st *store.Store) *Service { return &Service{st: st} }

// Breaker is one scope's circuit breaker.
type Breaker struct {
	Scope     string     `json:"scope"`
	Tripped   bool       `json:"tripped"`
	Reason    string     `json:"reason"`
	TrippedAt *time.Time `json:"tripped_at,omitempty"`
}

// View is the gate's state for admins.
type View struct {
	Halted     bool               `json:"halted"`
	HaltReason string             `json:"halt_reason"`
	Settings   map[string]float64 `json:"settings"`
	Breakers   []Breaker          `json:"breakers"`
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// LoadSettings reads the settings: the stored values over Defaults.
func LoadSettings(ctx context.Context, q querier) (Settings, error) {
	rows, err := q.Query(ctx, `SELECT name, value FROM risk_settings`)
	if err != nil {
		return Defaults(), fmt.Errorf("read risk settings: %w", err)
	}
	return ScanSettings(rows)
}

// ScanSettings reads rows of (name, value) from risk_settings over Defaults.
func ScanSettings(rows pgx.Rows) (Settings, error) {
	s := Defaults()
	var name string
	var v float64
	_, err := pgx.ForEachRow(rows, []any{&name, &v}, func() error {
		// A stored name this version does not know is ignored, not fatal.
		_ = s.Set(name, v)
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("read risk settings: %w", err)
	}
	return s, nil
}

// Show returns the settings, the kill switch and every breaker.
func (sv *Service) Show(ctx context.Context) (View, error) {
	s, err := LoadSettings(ctx, sv.st.Pool())
	if err != nil {
		return View{}, err
	}
	v := View{Settings: map[string]float64{}}
	for _, n := range Names() {
		v.Settings[n], _ = s.Get(n)
	}
	if err := sv.st.Pool().QueryRow(ctx, `SELECT halted, reason FROM risk_state WHERE id = 1`).Scan(&v.Halted, &v.HaltReason); err != nil {
		return View{}, fmt.Errorf("read kill switch: %w", err)
	}
	rows, err := sv.st.Pool().Query(ctx, `SELECT scope, tripped, reason, tripped_at FROM risk_breakers ORDER BY scope`)
	if err != nil {
		return View{}, fmt.Errorf("read breakers: %w", err)
	}
	v.Breakers, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Breaker, error) {
		var b Breaker
		err := r.Scan(&b.Scope, &b.Tripped, &b.Reason, &b.TrippedAt)
		return b, err
	})
	if err != nil {
		return View{}, fmt.Errorf("read breakers: %w", err)
	}
	return v, nil
}

// Set changes one setting after checking its name and range.
func (sv *Service) Set(ctx context.Context, name string, value float64) error {
	var s Settings
	if err := s.Set(name, value); err != nil {
		return err
	}
	_, err := sv.st.Pool().Exec(ctx, `INSERT INTO risk_settings (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`, name, value)
	if err != nil {
		return fmt.Errorf("set risk setting %s: %w", name, err)
	}
	return nil
}

// Halt turns the global kill switch on: no new entry anywhere until Resume.
func (sv *Service) Halt(ctx context.Context, reason string) error {
	if reason == "" {
		reason = "halted by an admin"
	}
	_, err := sv.st.Pool().Exec(ctx, `UPDATE risk_state SET halted = true, reason = $1, updated_at = now() WHERE id = 1`, reason)
	if err != nil {
		return fmt.Errorf("halt: %w", err)
	}
	return nil
}

// Resume turns the kill switch off and resets the circuit breakers: of scope, or of
// every scope when scope is "". The reset breakers measure losses from the current
// equity on (the day's start and the peak are rebased to it), so the losses that
// tripped them do not trip them again at once.
func (sv *Service) Resume(ctx context.Context, scope string) error {
	return pgx.BeginFunc(ctx, sv.st.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE risk_state SET halted = false, reason = '', updated_at = now() WHERE id = 1`); err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE risk_breakers SET tripped = false, reason = '', tripped_at = NULL, updated_at = now()
			WHERE $1 = '' OR scope = $1`, scope); err != nil {
			return fmt.Errorf("resume breakers: %w", err)
		}
		// Resuming accepts the losses so far: the breaker measures from here on.
		if _, err := tx.Exec(ctx, `UPDATE paper_accounts SET day_start_equity = equity, peak_equity = equity
			WHERE $1 = '' OR scope = $1`, scope); err != nil {
			return fmt.Errorf("resume: rebase accounts: %w", err)
		}
		return nil
	})
}

// BreakerExpired reports whether a breaker tripped at trippedAt has cleared itself
// by now (event time): BreakerResetHours have passed. Never with no reset set.
func (s Settings) BreakerExpired(trippedAt *time.Time, now time.Time) bool {
	return s.BreakerResetHours > 0 && trippedAt != nil && now.Sub(*trippedAt) >= time.Duration(s.BreakerResetHours*float64(time.Hour))
}

// QueueTrip queues on b the trip of scope's breaker at (event) time at, unless it is
// tripped already.
func QueueTrip(b *pgx.Batch, scope, reason string, at time.Time) {
	b.Queue(`INSERT INTO risk_breakers (scope, tripped, reason, tripped_at) VALUES ($1, true, $2, $3)
		ON CONFLICT (scope) DO UPDATE SET tripped = true, reason = EXCLUDED.reason, tripped_at = EXCLUDED.tripped_at, updated_at = now()
		WHERE NOT risk_breakers.tripped`, scope, reason, at)
}

// QueueClear queues on b the clearing of scope's breaker (a row is made when it has
// none: the breaker may have tripped in the same batch).
func QueueClear(b *pgx.Batch, scope string) {
	b.Queue(`INSERT INTO risk_breakers (scope, tripped, reason, tripped_at) VALUES ($1, false, '', NULL)
		ON CONFLICT (scope) DO UPDATE SET tripped = false, reason = '', tripped_at = NULL, updated_at = now()`, scope)
}

// Decided is one decision of the gate on a signal for a scope.
type Decided struct {
	SignalID int64
	Scope    string
	Decision Decision
}

// QueueRecord queues on b the storing of ds, in order; a decision already stored for
// a (signal, scope) pair is kept (the first one wins, as on a replay). stored, if not
// nil, is called with how many were stored.
func QueueRecord(b *pgx.Batch, ds []Decided, stored func(int64)) error {
	n := len(ds)
	sigs, scopes, ok, sizes, checks, rejects := make([]int64, n), make([]string, n), make([]bool, n), make([]float64, n), make([]string, n), make([]string, n)
	for i, d := range ds {
		c, err := json.Marshal(d.Decision.Checks)
		if err != nil {
			return fmt.Errorf("encode checks: %w", err)
		}
		sigs[i], scopes[i], ok[i], sizes[i], checks[i], rejects[i] = d.SignalID, d.Scope, d.Decision.Approved, d.Decision.SizeUSD, string(c), d.Decision.Reject
	}
	q := b.Queue(`INSERT INTO risk_decisions (signal_id, scope, approved, size_usd, checks, reject)
		SELECT sg, sc, ok, sz, ch::jsonb, rj
		FROM unnest($1::bigint[], $2::text[], $3::bool[], $4::float8[], $5::text[], $6::text[]) WITH ORDINALITY AS u(sg, sc, ok, sz, ch, rj, ord)
		ORDER BY ord ON CONFLICT (signal_id, scope) DO NOTHING`, sigs, scopes, ok, sizes, checks, rejects)
	if stored != nil {
		q.Exec(func(ct pgconn.CommandTag) error { stored(ct.RowsAffected()); return nil })
	}
	return nil
}

// Record stores a decision on signal for scope; a decision already stored for the
// pair is kept (the first one wins, as on a replay). It returns whether it stored it.
func Record(ctx context.Context, tx pgx.Tx, signalID int64, scope string, d Decision) (bool, error) {
	b := &pgx.Batch{}
	var n int64
	if err := QueueRecord(b, []Decided{{SignalID: signalID, Scope: scope, Decision: d}}, func(k int64) { n = k }); err != nil {
		return false, err
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return false, fmt.Errorf("record decision on signal %d for %s: %w", signalID, scope, err)
	}
	return n == 1, nil
}

// StoredDecision is a decision as stored, with its signal.
type StoredDecision struct {
	ID        int64         `json:"id"`
	SignalID  int64         `json:"signal_id"`
	Scope     string        `json:"scope"`
	Approved  bool          `json:"approved"`
	SizeUSD   float64       `json:"size_usd"`
	Reject    string        `json:"reject"`
	Checks    []CheckResult `json:"checks"`
	DecidedAt time.Time     `json:"decided_at"`
	Rule      string        `json:"rule"`
	Wallet    string        `json:"wallet"`
	Coin      string        `json:"coin"`
	Side      string        `json:"side"`
}

// DecisionQuery filters Decisions. Zero values select everything.
type DecisionQuery struct {
	Scope    string
	Rejected bool   // only rejections
	Check    string // only rejections by this check
	Limit    int    // defaults to 50, at most 1000
}

// Decisions lists stored decisions, newest first.
func (sv *Service) Decisions(ctx context.Context, q DecisionQuery) ([]StoredDecision, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 1000)
	rows, err := sv.st.Pool().Query(ctx, `
		SELECT d.id, d.signal_id, d.scope, d.approved, d.size_usd, d.reject, d.checks, d.decided_at,
		       s.rule, s.wallet, s.coin, s.side
		FROM risk_decisions d JOIN signals s ON s.id = d.signal_id
		WHERE ($1 = '' OR d.scope = $1) AND (NOT $2 OR NOT d.approved) AND ($3 = '' OR d.reject = $3)
		ORDER BY d.id DESC LIMIT $4`, q.Scope, q.Rejected || q.Check != "", q.Check, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("list decisions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StoredDecision, error) {
		var d StoredDecision
		var checks []byte
		if err := r.Scan(&d.ID, &d.SignalID, &d.Scope, &d.Approved, &d.SizeUSD, &d.Reject, &checks, &d.DecidedAt,
			&d.Rule, &d.Wallet, &d.Coin, &d.Side); err != nil {
			return d, err
		}
		return d, json.Unmarshal(checks, &d.Checks)
	})
	if err != nil {
		return nil, fmt.Errorf("list decisions: %w", err)
	}
	return out, nil
}
