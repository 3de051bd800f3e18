package risk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
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

// LoadSwitches reads the kill switch and scope's breaker inside tx. A breaker
// tripped at least BreakerResetHours before now (event time) is cleared here.
func LoadSwitches(ctx context.Context, tx pgx.Tx, s Settings, scope string, now time.Time) (Switches, error) {
	var sw Switches
	if err := tx.QueryRow(ctx, `SELECT halted, reason FROM risk_state WHERE id = 1`).Scan(&sw.Halted, &sw.HaltReason); err != nil {
		return sw, fmt.Errorf("read kill switch: %w", err)
	}
	var at *time.Time
	err := tx.QueryRow(ctx, `SELECT tripped, reason, tripped_at FROM risk_breakers WHERE scope = $1`, scope).Scan(&sw.BreakerOn, &sw.BreakerReason, &at)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return sw, fmt.Errorf("read breaker of %s: %w", scope, err)
	}
	if sw.BreakerOn && s.BreakerResetHours > 0 && at != nil && now.Sub(*at) >= time.Duration(s.BreakerResetHours*float64(time.Hour)) {
		if _, err := tx.Exec(ctx, `UPDATE risk_breakers SET tripped = false, reason = '', tripped_at = NULL, updated_at = now() WHERE scope = $1`, scope); err != nil {
			return sw, fmt.Errorf("reset breaker of %s: %w", scope, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE paper_accounts SET day_start_equity = equity, peak_equity = equity WHERE scope = $1`, scope); err != nil {
			return sw, fmt.Errorf("reset breaker of %s: rebase account: %w", scope, err)
		}
		sw.BreakerOn, sw.BreakerReason = false, ""
	}
	return sw, nil
}

// Trip trips scope's breaker at (event) time at, unless it is tripped already.
func Trip(ctx context.Context, tx pgx.Tx, scope, reason string, at time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO risk_breakers (scope, tripped, reason, tripped_at) VALUES ($1, true, $2, $3)
		ON CONFLICT (scope) DO UPDATE SET tripped = true, reason = EXCLUDED.reason, tripped_at = EXCLUDED.tripped_at, updated_at = now()
		WHERE NOT risk_breakers.tripped`, scope, reason, at)
	if err != nil {
		return fmt.Errorf("trip breaker of %s: %w", scope, err)
	}
	return nil
}

// Record stores a decision on signal for scope; a decision already stored for the
// pair is kept (the first one wins, as on a replay). It returns whether it stored it.
func Record(ctx context.Context, tx pgx.Tx, signalID int64, scope string, d Decision) (bool, error) {
	checks, err := json.Marshal(d.Checks)
	if err != nil {
		return false, fmt.Errorf("encode checks: %w", err)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO risk_decisions (signal_id, scope, approved, size_usd, checks, reject)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (signal_id, scope) DO NOTHING`,
		signalID, scope, d.Approved, d.SizeUSD, checks, d.Reject)
	if err != nil {
		return false, fmt.Errorf("record decision on signal %d for %s: %w", signalID, scope, err)
	}
	return tag.RowsAffected() == 1, nil
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
