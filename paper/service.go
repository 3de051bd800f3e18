package paper

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
)

// Service is the paper trader's admin and read side: `coattail paper` and the bots'
// /papertrade and /paper.
type Service struct {
	st  *store.Store
	cfg Config
}

// NewService returns the paper service; cfg gives the starting equity of new accounts.
func NewService(st *store.Store, cfg Config) *Service {
	return &Service{st: st, cfg: cfg.withDefaults()}
}

// SetEnabled turns paper trading on or off for scope. Turning it on creates the
// scope's account if it has none; off keeps the account and its open positions
// (they still exit by their stops) but opens nothing new.
func (s *Service) SetEnabled(ctx context.Context, scope string, on bool) error {
	if err := ValidScope(scope); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.st.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO paper_scopes (scope, enabled) VALUES ($1, $2)
			ON CONFLICT (scope) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = now()`, scope, on); err != nil {
			return fmt.Errorf("paper %s: %w", scope, err)
		}
		if on {
			return ensureAccount(ctx, tx, scope, s.cfg.StartingEquity)
		}
		return nil
	})
}

// Status is a scope's account.
type Status struct {
	Scope       string  `json:"scope"`
	Enabled     bool    `json:"enabled"`
	StartEquity float64 `json:"start_equity"`
	Equity      float64 `json:"equity"`
	PnL         float64 `json:"pnl"`      // equity − start
	Realized    float64 `json:"realized"` // net of fees
	Unrealized  float64 `json:"unrealized"`
	Fees        float64 `json:"fees"`
	Open        int     `json:"open"`
	Pending     int     `json:"pending"`
	Closed      int     `json:"closed"`
	Wins        int     `json:"wins"`
	Losses      int     `json:"losses"`
	WinRate     float64 `json:"win_rate"` // wins / closed trades that filled
	MaxDrawdown float64 `json:"max_drawdown"`
	Exposure    float64 `json:"exposure"` // open notional at mark / equity
	Peak        float64 `json:"peak_equity"`
}

// ErrNoAccount is returned by Status for a scope that was never enabled.
var ErrNoAccount = errors.New("no paper account for this scope (enable it first)")

// Status returns scope's account and statistics.
func (s *Service) Status(ctx context.Context, scope string) (Status, error) {
	if err := ValidScope(scope); err != nil {
		return Status{}, err
	}
	st := Status{Scope: scope}
	err := s.st.Pool().QueryRow(ctx, `SELECT coalesce((SELECT enabled FROM paper_scopes WHERE scope = $1), false),
		start_equity, equity, realized, fees, max_drawdown, peak_equity FROM paper_accounts WHERE scope = $1`, scope).
		Scan(&st.Enabled, &st.StartEquity, &st.Equity, &st.Realized, &st.Fees, &st.MaxDrawdown, &st.Peak)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, fmt.Errorf("paper %s: %w", scope, ErrNoAccount)
	}
	if err != nil {
		return st, fmt.Errorf("paper %s: %w", scope, err)
	}
	ps, err := loadPositions(ctx, s.st.Pool(), `WHERE scope = $1`, scope)
	if err != nil {
		return st, err
	}
	var gross float64
	for _, p := range ps {
		switch p.Status {
		case "open":
			st.Open++
			st.Unrealized += p.unrealized()
			gross += p.Qty * p.MarkPx
		case "pending":
			st.Pending++
		case "closed":
			if p.ExitReason == ExitNeverFills {
				continue
			}
			st.Closed++
			if p.PnL > 0 {
				st.Wins++
			} else {
				st.Losses++
			}
		}
	}
	if st.Closed > 0 {
		st.WinRate = float64(st.Wins) / float64(st.Closed)
	}
	st.PnL = st.Equity - st.StartEquity
	if st.Equity > 0 {
		st.Exposure = gross / st.Equity
	}
	return st, nil
}

// Positions lists scope's open and pending positions, oldest first.
func (s *Service) Positions(ctx context.Context, scope string) ([]Position, error) {
	ps, err := loadPositions(ctx, s.st.Pool(), `WHERE scope = $1 AND status <> 'closed' ORDER BY id`, scope)
	return deref(ps), err
}

// History lists scope's closed positions, newest first.
func (s *Service) History(ctx context.Context, scope string, limit int) ([]Position, error) {
	if limit <= 0 {
		limit = 50
	}
	ps, err := loadPositions(ctx, s.st.Pool(), `WHERE scope = $1 AND status = 'closed' ORDER BY closed_at DESC, id DESC LIMIT $2`, scope, min(limit, 1000))
	return deref(ps), err
}

// Point is one point of the equity curve.
type Point struct {
	TS     time.Time `json:"ts"`
	Equity float64   `json:"equity"`
}

// Equity returns scope's equity curve, oldest first.
func (s *Service) Equity(ctx context.Context, scope string) ([]Point, error) {
	rows, err := s.st.Pool().Query(ctx, `SELECT ts, equity FROM paper_equity WHERE scope = $1 ORDER BY ts`, scope)
	if err != nil {
		return nil, fmt.Errorf("equity of %s: %w", scope, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Point])
	if err != nil {
		return nil, fmt.Errorf("equity of %s: %w", scope, err)
	}
	return out, nil
}

// Scopes lists every scope with its toggle.
func (s *Service) Scopes(ctx context.Context) (map[string]bool, error) {
	rows, err := s.st.Pool().Query(ctx, `SELECT scope, enabled FROM paper_scopes ORDER BY scope`)
	if err != nil {
		return nil, fmt.Errorf("paper scopes: %w", err)
	}
	out := map[string]bool{}
	var sc string
	var on bool
	if _, err := pgx.ForEachRow(rows, []any{&sc, &on}, func() error { out[sc] = on; return nil }); err != nil {
		return nil, fmt.Errorf("paper scopes: %w", err)
	}
	return out, nil
}

func deref(ps []*Position) []Position {
	out := make([]Position, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out
}
