package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// Score windows: the periods a scoring run ranks over (migrations/008_scores.sql).
const (
	Window7d  = "7d"
	Window30d = "30d"
	WindowAll = "all"
)

// ScoreWindows lists the windows a full rescore writes, shortest first.
func ScoreWindows() []string { return []string{Window7d, Window30d, WindowAll} }

// ValidScoreWindow reports whether w names a score window.
func ValidScoreWindow(w string) bool { return w == Window7d || w == Window30d || w == WindowAll }

// ScoreRun is one scoring run: every wallet scored over one window with what was known
// at AsOf.
type ScoreRun struct {
	ID        int64           `json:"id"`
	Window    string          `json:"window"`
	AsOf      time.Time       `json:"as_of"`
	Params    json.RawMessage `json:"params,omitempty"` // the method's parameters
	CreatedAt time.Time       `json:"created_at"`
}

// ScoreStats are the conventional figures kept beside a score (wallet_scores.stats),
// over the run's window, in USD where money is meant. They depend on size and luck
// and are shown, never ranked by.
type ScoreStats struct {
	// RealizedPnl is gross of fees (as venues report it); Fees are separate.
	RealizedPnl   float64 `json:"realized_pnl"`
	UnrealizedPnl float64 `json:"unrealized_pnl"`
	Fees          float64 `json:"fees"`
	// ROI is (realized − fees + unrealized) / the most capital deployed at once.
	ROI     float64 `json:"roi"`
	WinRate float64 `json:"win_rate"`
	// ProfitFactor and Sortino are null when they are infinite (profit and no losing
	// close), which JSON cannot carry.
	ProfitFactor *float64 `json:"profit_factor"`
	MaxDrawdown  float64  `json:"max_drawdown"`
	Sortino      *float64 `json:"sortino"`
	Trades       int      `json:"trades"`
	Closes       int      `json:"closes"`
}

// WalletScore is one wallet's row in a scoring run.
type WalletScore struct {
	Wallet string `json:"wallet"`
	// Rank is the wallet's place on the run's board, from 1; 0 when it is not ranked
	// (Eligible false: too few observations, a bot; Reason says which).
	Rank int `json:"rank"`
	// Score is the shrunk skill estimate (the posterior mean outcome per action, in
	// units of the coin's volatility); LCB its lower confidence bound, which the board
	// sorts by.
	Score    float64    `json:"skill"`
	LCB      float64    `json:"lcb"`
	N        int        `json:"n"`
	Eligible bool       `json:"eligible"`
	Reason   string     `json:"reason,omitempty"`
	Stats    ScoreStats `json:"stats"`
}

// BoardRow is one row of the alpha leaderboard: rank, wallet, score (the lower
// confidence bound the board is sorted by, equal to lcb), n (observations behind it),
// the skill estimate, and the conventional statistics of the window. Amounts of money
// are decimal strings in USD (rounded to 6 places), as everywhere in the API.
type BoardRow struct {
	Rank          int             `json:"rank"`
	Wallet        string          `json:"wallet"`
	Score         float64         `json:"score"`
	N             int             `json:"n"`
	LCB           float64         `json:"lcb"`
	Skill         float64         `json:"skill"`
	RealizedPnl   decimal.Decimal `json:"realized_pnl"` // gross of fees
	UnrealizedPnl decimal.Decimal `json:"unrealized_pnl"`
	Fees          decimal.Decimal `json:"fees"`
	ROI           float64         `json:"roi"`
	WinRate       float64         `json:"win_rate"`
	ProfitFactor  *float64        `json:"profit_factor"` // null: no losing close (infinite)
	MaxDrawdown   decimal.Decimal `json:"max_drawdown"`
	Sortino       *float64        `json:"sortino"` // null: no losing close (infinite)
	Trades        int             `json:"trades"`
}

func boardRow(r *BoardRow, st ScoreStats) {
	usd := func(v float64) decimal.Decimal { return decimal.NewFromFloat(v).Round(6) }
	r.RealizedPnl, r.UnrealizedPnl, r.Fees, r.MaxDrawdown = usd(st.RealizedPnl), usd(st.UnrealizedPnl), usd(st.Fees), usd(st.MaxDrawdown)
	r.ROI, r.WinRate, r.ProfitFactor, r.Sortino, r.Trades = st.ROI, st.WinRate, st.ProfitFactor, st.Sortino, st.Trades
}

// BoardQuery selects a page of the alpha leaderboard. Zero values are defaults.
type BoardQuery struct {
	Window string    // 7d, 30d or all. Defaults to all.
	AsOf   time.Time // the board of the latest run at or before AsOf. Defaults to the latest run.
	Limit  int       // rows per page. Defaults to 10; at most 1000.
	Offset int       // rows to skip.
}

// SaveScoreRun stores a scoring run and its rows, replacing any run of the same
// (window, as-of) atomically: readers see the old run or the new one, never a mix. It
// returns the run's id. Values that are not finite are stored as 0 (JSON and the
// board's sort cannot hold them).
func (s *Store) SaveScoreRun(ctx context.Context, run ScoreRun, rows []WalletScore) (int64, error) {
	if !ValidScoreWindow(run.Window) {
		return 0, fmt.Errorf("save score run: window %q: want 7d, 30d or all", run.Window)
	}
	params := run.Params
	if len(params) == 0 {
		params = json.RawMessage(`{}`)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("save score run %s %s: %w", run.Window, run.AsOf.Format(time.RFC3339), err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// The upsert locks the (win, as_of) row, so two rescorers saving the same run
	// serialise instead of racing to insert it.
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO score_runs (win, as_of, params) VALUES ($1, $2, $3)
		ON CONFLICT (win, as_of) DO UPDATE SET params = excluded.params, created_at = now()
		RETURNING id`, run.Window, run.AsOf.UTC(), string(params)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("save score run %s %s: %w", run.Window, run.AsOf.Format(time.RFC3339), err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM wallet_scores WHERE run_id = $1`, id); err != nil {
		return 0, fmt.Errorf("save score run %d: clear rows: %w", id, err)
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"wallet_scores"},
		[]string{"run_id", "wallet", "rank", "score", "lcb", "n", "eligible", "reason", "stats"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := &rows[i]
			var rank *int32
			if r.Rank > 0 {
				v := int32(r.Rank)
				rank = &v
			}
			st, err := json.Marshal(r.Stats.finite())
			if err != nil {
				return nil, fmt.Errorf("wallet %s stats: %w", r.Wallet, err)
			}
			return []any{id, r.Wallet, rank, finite(r.Score), finite(r.LCB), int32(r.N), r.Eligible, r.Reason, string(st)}, nil
		}))
	if err != nil {
		return 0, fmt.Errorf("save score run %d: %d rows: %w", id, len(rows), err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("save score run %d: commit: %w", id, err)
	}
	return id, nil
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

func (st ScoreStats) finite() ScoreStats {
	for _, p := range []*float64{&st.RealizedPnl, &st.UnrealizedPnl, &st.Fees, &st.ROI, &st.WinRate, &st.MaxDrawdown} {
		*p = finite(*p)
	}
	for _, p := range []**float64{&st.ProfitFactor, &st.Sortino} {
		if *p != nil && (math.IsNaN(**p) || math.IsInf(**p, 0)) {
			*p = nil
		}
	}
	return st
}

// ScoreRunAt returns the latest run of window with as_of at or before asOf (zero asOf:
// the latest run); ErrNotFound when there is none.
func (s *Store) ScoreRunAt(ctx context.Context, window string, asOf time.Time) (ScoreRun, error) {
	if window == "" {
		window = WindowAll
	}
	if !ValidScoreWindow(window) {
		return ScoreRun{}, fmt.Errorf("score run: window %q: want 7d, 30d or all", window)
	}
	q := `SELECT id, win, as_of, params, created_at FROM score_runs WHERE win = $1`
	args := []any{window}
	if !asOf.IsZero() {
		q += ` AND as_of <= $2`
		args = append(args, asOf.UTC())
	}
	q += ` ORDER BY as_of DESC LIMIT 1`
	var r ScoreRun
	var params string
	err := s.pool.QueryRow(ctx, q, args...).Scan(&r.ID, &r.Window, &r.AsOf, &params, &r.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return ScoreRun{}, fmt.Errorf("score run %s at %s: %w", window, fmtAsOf(asOf), ErrNotFound)
	}
	if err != nil {
		return ScoreRun{}, fmt.Errorf("score run %s at %s: %w", window, fmtAsOf(asOf), err)
	}
	r.Params = json.RawMessage(params)
	r.AsOf, r.CreatedAt = r.AsOf.UTC(), r.CreatedAt.UTC()
	return r, nil
}

func fmtAsOf(t time.Time) string {
	if t.IsZero() {
		return "latest"
	}
	return t.UTC().Format(time.RFC3339)
}

// Board returns a page of the alpha leaderboard: the ranked wallets of the latest run
// of q.Window at or before q.AsOf, by rank. It returns the run too; ErrNotFound when
// no such run exists (nothing was scored yet, or not that early).
func (s *Store) Board(ctx context.Context, q BoardQuery) (ScoreRun, []BoardRow, error) {
	if q.Limit <= 0 {
		q.Limit = 10
	}
	q.Limit = min(q.Limit, 1000)
	q.Offset = max(q.Offset, 0)
	run, err := s.ScoreRunAt(ctx, q.Window, q.AsOf)
	if err != nil {
		return ScoreRun{}, nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT wallet, rank, score, lcb, n, stats FROM wallet_scores
		WHERE run_id = $1 AND rank IS NOT NULL ORDER BY rank LIMIT $2 OFFSET $3`, run.ID, q.Limit, q.Offset)
	if err != nil {
		return ScoreRun{}, nil, fmt.Errorf("board of run %d: %w", run.ID, err)
	}
	out := []BoardRow{}
	var r BoardRow
	var stats []byte
	_, err = pgx.ForEachRow(rows, []any{&r.Wallet, &r.Rank, &r.Skill, &r.LCB, &r.N, &stats}, func() error {
		var st ScoreStats
		if err := json.Unmarshal(stats, &st); err != nil {
			return fmt.Errorf("wallet %s stats: %w", r.Wallet, err)
		}
		boardRow(&r, st)
		r.Score = r.LCB
		out = append(out, r)
		return nil
	})
	if err != nil {
		return ScoreRun{}, nil, fmt.Errorf("board of run %d: %w", run.ID, err)
	}
	return run, out, nil
}

// WalletScore returns the wallet's row in the latest run of window (zero asOf) or the
// latest at or before asOf, with the run; ErrNotFound when there is no such run or
// the wallet is not in it. A wallet in the run but not ranked has Rank 0 and says why
// in Reason.
func (s *Store) WalletScore(ctx context.Context, wallet, window string, asOf time.Time) (ScoreRun, WalletScore, error) {
	run, err := s.ScoreRunAt(ctx, window, asOf)
	if err != nil {
		return ScoreRun{}, WalletScore{}, err
	}
	ws, err := s.scoreRows(ctx, `WHERE run_id = $1 AND wallet = $2`, run.ID, wallet)
	if err != nil {
		return ScoreRun{}, WalletScore{}, err
	}
	if len(ws) == 0 {
		return run, WalletScore{}, fmt.Errorf("score of wallet %s in run %d: %w", wallet, run.ID, ErrNotFound)
	}
	return run, ws[0], nil
}

// LatestScores returns every wallet of the latest run of window (WindowAll for "is
// this a high-alpha wallet?"), ranked ones first by rank, then the unranked by
// wallet, with the run; ErrNotFound when nothing was scored yet. It is what the signal
// engine reads: a wallet is high-alpha when it is ranked (Eligible) with a positive
// LCB, or within the top N ranks, as its own rule says.
func (s *Store) LatestScores(ctx context.Context, window string) (ScoreRun, []WalletScore, error) {
	run, err := s.ScoreRunAt(ctx, window, time.Time{})
	if err != nil {
		return ScoreRun{}, nil, err
	}
	ws, err := s.scoreRows(ctx, `WHERE run_id = $1 ORDER BY rank NULLS LAST, wallet`, run.ID)
	if err != nil {
		return ScoreRun{}, nil, err
	}
	return run, ws, nil
}

func (s *Store) scoreRows(ctx context.Context, where string, args ...any) ([]WalletScore, error) {
	rows, err := s.pool.Query(ctx, `SELECT wallet, coalesce(rank, 0), score, lcb, n, eligible, reason, stats
		FROM wallet_scores `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("wallet scores: %w", err)
	}
	var out []WalletScore
	var w WalletScore
	var stats []byte
	_, err = pgx.ForEachRow(rows, []any{&w.Wallet, &w.Rank, &w.Score, &w.LCB, &w.N, &w.Eligible, &w.Reason, &stats}, func() error {
		w.Stats = ScoreStats{}
		if err := json.Unmarshal(stats, &w.Stats); err != nil {
			return fmt.Errorf("wallet %s stats: %w", w.Wallet, err)
		}
		out = append(out, w)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wallet scores: %w", err)
	}
	return out, nil
}

// ScoreRuns lists the runs of window with as_of in [from, to] (zero: unbounded), oldest
// first, without their rows: the history `coattail backfill` wrote.
func (s *Store) ScoreRuns(ctx context.Context, window string, from, to time.Time) ([]ScoreRun, error) {
	q := `SELECT id, win, as_of, params, created_at FROM score_runs WHERE win = $1`
	args := []any{window}
	if !from.IsZero() {
		args = append(args, from.UTC())
		q += fmt.Sprintf(` AND as_of >= $%d`, len(args))
	}
	if !to.IsZero() {
		args = append(args, to.UTC())
		q += fmt.Sprintf(` AND as_of <= $%d`, len(args))
	}
	rows, err := s.pool.Query(ctx, q+` ORDER BY as_of`, args...)
	if err != nil {
		return nil, fmt.Errorf("score runs %s: %w", window, err)
	}
	var out []ScoreRun
	var r ScoreRun
	var params string
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.Window, &r.AsOf, &params, &r.CreatedAt}, func() error {
		r.Params = json.RawMessage(params)
		r.AsOf, r.CreatedAt = r.AsOf.UTC(), r.CreatedAt.UTC()
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("score runs %s: %w", window, err)
	}
	return out, nil
}

// NewestEventTime returns the event time of the newest stored fill, position or price
// event (zero when there is none): how far the stored history reaches, to tell whether
// the latest score run is stale.
func (s *Store) NewestEventTime(ctx context.Context) (time.Time, error) {
	var t *time.Time
	err := s.pool.QueryRow(ctx, `SELECT max(ts) FROM events WHERE kind IN ('fill', 'position', 'price')`).Scan(&t)
	if err != nil {
		return time.Time{}, fmt.Errorf("newest event time: %w", err)
	}
	if t == nil {
		return time.Time{}, nil
	}
	return t.UTC(), nil
}

// ScoringEvents calls fn with the body of every stored fill, position, swap, price and
// trade event with ts at or before until (zero: all), in no particular order, streamed
// so that a long history is not held twice in memory. The body is only valid during
// the call.
func (s *Store) ScoringEvents(ctx context.Context, until time.Time, fn func(body []byte) error) error {
	q := `SELECT body FROM events WHERE kind IN ('fill', 'position', 'swap', 'price', 'trade')`
	var args []any
	if !until.IsZero() {
		q += ` AND ts <= $1`
		args = append(args, until.UTC())
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read scoring events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		raw := rows.RawValues()
		if err := fn(raw[0]); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read scoring events: %w", err)
	}
	return nil
}
