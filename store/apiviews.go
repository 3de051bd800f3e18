package store

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Read queries over the windowed, risk, paper and alert tables for the HTTP API and the
// dashboard. Each takes a query struct whose zero values select everything, and bounds
// its rows, so a request can never ask for a whole table.

// clampLimit applies a query's default and upper bound.
func clampLimit(n, def, most int) int {
	if n <= 0 {
		return def
	}
	return min(n, most)
}

// AnomalyQuery filters Anomalies.
type AnomalyQuery struct {
	Symbol string    // "" for any
	Kind   string    // "" for any
	Since  time.Time // zero for any: only anomalies at or after it (event time)
	Limit  int       // defaults to 50, at most 1000
}

// AnomalyView is one row of the anomalies table as the API shows it.
type AnomalyView struct {
	ID        string          `json:"id"` // hex of the content hash
	Kind      string          `json:"kind"`
	Venue     string          `json:"venue"`
	Symbol    string          `json:"symbol"`
	TS        time.Time       `json:"ts"`
	Value     float64         `json:"value"`
	Baseline  float64         `json:"baseline"`
	Score     float64         `json:"score"`
	Evidence  json.RawMessage `json:"evidence"`
	Published bool            `json:"published"`
}

// Anomalies lists anomalies, newest first by event time.
func (s *Store) Anomalies(ctx context.Context, q AnomalyQuery) ([]AnomalyView, error) {
	var since *time.Time
	if !q.Since.IsZero() {
		since = &q.Since
	}
	rows, err := s.pool.Query(ctx, `SELECT id, kind, venue, symbol, ts, value, baseline, score, evidence::text,
			published_at IS NOT NULL
		FROM anomalies
		WHERE ($1 = '' OR symbol = $1) AND ($2 = '' OR kind = $2) AND ($3::timestamptz IS NULL OR ts >= $3)
		ORDER BY ts DESC, id LIMIT $4`, q.Symbol, q.Kind, since, clampLimit(q.Limit, 50, 1000))
	if err != nil {
		return nil, fmt.Errorf("anomalies: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AnomalyView, error) {
		var a AnomalyView
		var id []byte
		var ev string
		err := r.Scan(&id, &a.Kind, &a.Venue, &a.Symbol, &a.TS, &a.Value, &a.Baseline, &a.Score, &ev, &a.Published)
		a.ID, a.TS, a.Evidence = hex.EncodeToString(id), a.TS.UTC(), json.RawMessage(ev)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("anomalies: %w", err)
	}
	return out, nil
}

// FlowQuery filters Flows.
type FlowQuery struct {
	Token    string    // token address or symbol; "" for any
	Exchange string    // exchange label name; "" for any
	Window   string    // "1h" or "1d"; "" for both
	Since    time.Time // zero for any: only windows starting at or after it
	Limit    int       // defaults to 50, at most 1000
}

// FlowView is one exchange flow window summed over shards (exchange_flows_total).
type FlowView struct {
	Token            string    `json:"token"`
	Symbol           string    `json:"symbol"`
	Exchange         string    `json:"exchange"`
	Window           string    `json:"window"`
	Start            time.Time `json:"start"`
	End              time.Time `json:"end"`
	Inflow           float64   `json:"inflow"`
	Outflow          float64   `json:"outflow"`
	Net              float64   `json:"net"`
	InflowUSD        float64   `json:"inflow_usd"`
	OutflowUSD       float64   `json:"outflow_usd"`
	Deposits         int64     `json:"deposits"`
	Withdrawals      int64     `json:"withdrawals"`
	LargeDeposits    int64     `json:"large_deposits"`
	LargeWithdrawals int64     `json:"large_withdrawals"`
	Final            bool      `json:"final"`
}

// Flows lists exchange flow windows, newest window first.
func (s *Store) Flows(ctx context.Context, q FlowQuery) ([]FlowView, error) {
	var since *time.Time
	if !q.Since.IsZero() {
		since = &q.Since
	}
	rows, err := s.pool.Query(ctx, `SELECT token, symbol, exchange, res, start, "end", inflow, outflow, net,
			inflow_usd, outflow_usd, deposits, withdrawals, large_deposits, large_withdrawals, final
		FROM exchange_flows_total
		WHERE ($1 = '' OR token = $1 OR upper(symbol) = upper($1)) AND ($2 = '' OR exchange = $2)
		  AND ($3 = '' OR res = $3) AND ($4::timestamptz IS NULL OR start >= $4)
		ORDER BY start DESC, token, exchange, res LIMIT $5`,
		q.Token, q.Exchange, q.Window, since, clampLimit(q.Limit, 50, 1000))
	if err != nil {
		return nil, fmt.Errorf("exchange flows: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (FlowView, error) {
		var f FlowView
		err := r.Scan(&f.Token, &f.Symbol, &f.Exchange, &f.Window, &f.Start, &f.End, &f.Inflow, &f.Outflow, &f.Net,
			&f.InflowUSD, &f.OutflowUSD, &f.Deposits, &f.Withdrawals, &f.LargeDeposits, &f.LargeWithdrawals, &f.Final)
		f.Start, f.End = f.Start.UTC(), f.End.UTC()
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("exchange flows: %w", err)
	}
	return out, nil
}

// BarQuery selects Bars.
type BarQuery struct {
	Symbol   string // required
	Venue    string // "" for any venue
	Interval string // "1m", "5m" or "1h"
	Limit    int    // defaults to 100, at most 1000
}

// BarView is one price bar as the API shows it.
type BarView struct {
	Venue       string    `json:"venue"`
	Symbol      string    `json:"symbol"`
	Interval    string    `json:"interval"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Open        float64   `json:"open"`
	High        float64   `json:"high"`
	Low         float64   `json:"low"`
	Close       float64   `json:"close"`
	Volume      float64   `json:"volume"`
	QuoteVolume float64   `json:"quote_volume"`
	VWAP        *float64  `json:"vwap"` // null for bars built from prices only
	Trades      int64     `json:"trades"`
	Ticks       int64     `json:"ticks"`
	Late        int64     `json:"late"`
	Final       bool      `json:"final"`
}

// Bars returns the latest Limit bars of a symbol, oldest first (the order a chart
// draws them in).
func (s *Store) Bars(ctx context.Context, q BarQuery) ([]BarView, error) {
	rows, err := s.pool.Query(ctx, `SELECT * FROM (
			SELECT venue, symbol, res, start, "end", open, high, low, close, volume, quote_volume, vwap,
			       trades, ticks, late, final
			FROM price_bars WHERE symbol = $1 AND res = $2 AND ($3 = '' OR venue = $3)
			ORDER BY start DESC, venue LIMIT $4) b
		ORDER BY start, venue`, q.Symbol, q.Interval, q.Venue, clampLimit(q.Limit, 100, 1000))
	if err != nil {
		return nil, fmt.Errorf("bars of %s: %w", q.Symbol, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (BarView, error) {
		var b BarView
		err := r.Scan(&b.Venue, &b.Symbol, &b.Interval, &b.Start, &b.End, &b.Open, &b.High, &b.Low, &b.Close,
			&b.Volume, &b.QuoteVolume, &b.VWAP, &b.Trades, &b.Ticks, &b.Late, &b.Final)
		b.Start, b.End = b.Start.UTC(), b.End.UTC()
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("bars of %s: %w", q.Symbol, err)
	}
	return out, nil
}

// PaperFill is one simulated execution (paper_fills).
type PaperFill struct {
	ID         int64     `json:"id"`
	PositionID int64     `json:"position_id"`
	Coin       string    `json:"coin"`
	TS         time.Time `json:"ts"`
	Side       string    `json:"side"`
	Qty        float64   `json:"qty"`
	ObservedPx float64   `json:"observed_px"`
	Px         float64   `json:"px"`
	Fee        float64   `json:"fee"`
	Reason     string    `json:"reason"`
}

// PaperFills lists a paper scope's most recent fills, newest first.
func (s *Store) PaperFills(ctx context.Context, scope string, limit int) ([]PaperFill, error) {
	rows, err := s.pool.Query(ctx, `SELECT f.id, f.position_id, p.coin, f.ts, f.side, f.qty, f.observed_px, f.px, f.fee, f.reason
		FROM paper_fills f JOIN paper_positions p ON p.id = f.position_id
		WHERE f.scope = $1 ORDER BY f.id DESC LIMIT $2`, scope, clampLimit(limit, 20, 1000))
	if err != nil {
		return nil, fmt.Errorf("paper fills of %s: %w", scope, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PaperFill, error) {
		var f PaperFill
		err := r.Scan(&f.ID, &f.PositionID, &f.Coin, &f.TS, &f.Side, &f.Qty, &f.ObservedPx, &f.Px, &f.Fee, &f.Reason)
		f.TS = f.TS.UTC()
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("paper fills of %s: %w", scope, err)
	}
	return out, nil
}

// SignalDecision is one risk gate decision on a signal, as listed beside the signal.
// Checks is the stored array of {name, passed, reason, value, limit}.
type SignalDecision struct {
	Scope     string          `json:"scope"`
	Approved  bool            `json:"approved"`
	SizeUSD   float64         `json:"size_usd"`
	Reject    string          `json:"reject"`
	Checks    json.RawMessage `json:"checks"`
	DecidedAt time.Time       `json:"decided_at"`
}

// SignalDecisions returns the risk decisions of each of the signals ids, by scope.
// Signals without a decision are absent from the map.
func (s *Store) SignalDecisions(ctx context.Context, ids []int64) (map[int64][]SignalDecision, error) {
	out := map[int64][]SignalDecision{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT signal_id, scope, approved, size_usd, reject, checks::text, decided_at
		FROM risk_decisions WHERE signal_id = ANY($1) ORDER BY signal_id, scope`, ids)
	if err != nil {
		return nil, fmt.Errorf("decisions of %d signals: %w", len(ids), err)
	}
	var id int64
	var d SignalDecision
	var checks string
	_, err = pgx.ForEachRow(rows, []any{&id, &d.Scope, &d.Approved, &d.SizeUSD, &d.Reject, &checks, &d.DecidedAt}, func() error {
		d.Checks, d.DecidedAt = json.RawMessage(checks), d.DecidedAt.UTC()
		out[id] = append(out[id], d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("decisions of %d signals: %w", len(ids), err)
	}
	return out, nil
}

// GroupWatermark is one windowed group's event-time progress for one source over all
// of its shards: the slowest shard's watermark, the newest event time, the late events.
type GroupWatermark struct {
	Group     string    `json:"group"`
	Source    string    `json:"source"`
	Watermark time.Time `json:"watermark"`
	MaxEvent  time.Time `json:"max_event"`
	Late      int64     `json:"late"`
	Shards    int       `json:"shards"` // shards that have seen the source
}

// AllWatermarks returns the progress of every windowed group and source
// (window_sources), ordered by group and source.
func (s *Store) AllWatermarks(ctx context.Context) ([]GroupWatermark, error) {
	rows, err := s.pool.Query(ctx, `SELECT grp, source, min(watermark), max(max_event), sum(late)::bigint, count(*)::int
		FROM window_sources GROUP BY grp, source ORDER BY grp, source`)
	if err != nil {
		return nil, fmt.Errorf("watermarks: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (GroupWatermark, error) {
		var w GroupWatermark
		err := r.Scan(&w.Group, &w.Source, &w.Watermark, &w.MaxEvent, &w.Late, &w.Shards)
		w.Watermark, w.MaxEvent = w.Watermark.UTC(), w.MaxEvent.UTC()
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("watermarks: %w", err)
	}
	return out, nil
}

// DeliveryLatency summarises the time from a signal's event time to the delivery of
// its alerts.
type DeliveryLatency struct {
	Delivered int64    `json:"delivered"` // alerts delivered in the period
	P50       *float64 `json:"p50_seconds"`
	P99       *float64 `json:"p99_seconds"`
	Max       *float64 `json:"max_seconds"`
}

// AlertDeliveryLatency measures alert_outbox.delivered_at − signals.ts over the alerts
// delivered since since. The percentiles are null when nothing was delivered.
func (s *Store) AlertDeliveryLatency(ctx context.Context, since time.Time) (DeliveryLatency, error) {
	var d DeliveryLatency
	err := s.pool.QueryRow(ctx, `SELECT count(*),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY l), percentile_cont(0.99) WITHIN GROUP (ORDER BY l), max(l)
		FROM (SELECT greatest(extract(epoch FROM o.delivered_at - s.ts), 0)::float8 AS l
		      FROM alert_outbox o JOIN signals s ON s.id = o.signal_id
		      WHERE o.state = 'delivered' AND o.delivered_at >= $1) x`, since).Scan(&d.Delivered, &d.P50, &d.P99, &d.Max)
	if err != nil {
		return d, fmt.Errorf("alert delivery latency: %w", err)
	}
	return d, nil
}
