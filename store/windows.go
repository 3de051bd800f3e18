package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The windowed stages' tables (migrations/007_windows.sql). Writers take the stage's
// transaction, so results commit with the stream checkpoint.

// InsertSeen records the event keys group has applied and returns those that were new.
func InsertSeen(ctx context.Context, tx pgx.Tx, group string, keys [][]byte) (map[[16]byte]bool, error) {
	fresh := map[[16]byte]bool{}
	if len(keys) == 0 {
		return fresh, nil
	}
	rows, err := tx.Query(ctx, `INSERT INTO window_seen (grp, key) SELECT $1, k FROM unnest($2::bytea[]) AS k
		ON CONFLICT DO NOTHING RETURNING key`, group, keys)
	if err != nil {
		return nil, fmt.Errorf("record seen events of %s: %w", group, err)
	}
	var k []byte
	_, err = pgx.ForEachRow(rows, []any{&k}, func() error { fresh[[16]byte(k)] = true; return nil })
	if err != nil {
		return nil, fmt.Errorf("record seen events of %s: %w", group, err)
	}
	return fresh, nil
}

// LoadWindowState returns the serialised keyed state of (stream, group), nil when none.
func LoadWindowState(ctx context.Context, tx pgx.Tx, stream, group string) ([]byte, error) {
	var b []byte
	err := tx.QueryRow(ctx, `SELECT state FROM window_state WHERE stream = $1 AND grp = $2`, stream, group).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load window state %s/%s: %w", stream, group, err)
	}
	return b, nil
}

// SaveWindowState stores the keyed state of (stream, group).
func SaveWindowState(ctx context.Context, tx pgx.Tx, stream, group string, state []byte) error {
	_, err := tx.Exec(ctx, `INSERT INTO window_state (stream, grp, state) VALUES ($1, $2, $3)
		ON CONFLICT (stream, grp) DO UPDATE SET state = EXCLUDED.state, updated_at = now()`, stream, group, state)
	if err != nil {
		return fmt.Errorf("save window state %s/%s: %w", stream, group, err)
	}
	return nil
}

// SourceProgress is a shard's event-time progress for one source.
type SourceProgress struct {
	Source    string
	Watermark time.Time
	MaxEvent  time.Time
	Late      int64
}

// SaveSourceProgress upserts a shard's per-source progress.
func SaveSourceProgress(ctx context.Context, tx pgx.Tx, stream, group string, ps []SourceProgress) error {
	if len(ps) == 0 {
		return nil
	}
	src, late := make([]string, len(ps)), make([]int64, len(ps))
	wm, mx := make([]time.Time, len(ps)), make([]time.Time, len(ps))
	for i, p := range ps {
		src[i], wm[i], mx[i], late[i] = p.Source, p.Watermark, p.MaxEvent, p.Late
	}
	_, err := tx.Exec(ctx, `INSERT INTO window_sources (stream, grp, source, watermark, max_event, late)
		SELECT $1, $2, s, w, m, l FROM unnest($3::text[], $4::timestamptz[], $5::timestamptz[], $6::bigint[]) AS u(s, w, m, l)
		ON CONFLICT (stream, grp, source) DO UPDATE SET watermark = EXCLUDED.watermark, max_event = EXCLUDED.max_event, late = EXCLUDED.late`,
		stream, group, src, wm, mx, late)
	if err != nil {
		return fmt.Errorf("save source progress %s/%s: %w", stream, group, err)
	}
	return nil
}

// Watermarks returns, per source over every shard of group, the lowest watermark (the
// source's progress is as far as its slowest shard), the largest event time and the
// late events.
func (s *Store) Watermarks(ctx context.Context, group string) ([]SourceProgress, error) {
	rows, err := s.pool.Query(ctx, `SELECT source, min(watermark), max(max_event), sum(late)::bigint
		FROM window_sources WHERE grp = $1 GROUP BY source ORDER BY source`, group)
	if err != nil {
		return nil, fmt.Errorf("watermarks of %s: %w", group, err)
	}
	var out []SourceProgress
	var p SourceProgress
	_, err = pgx.ForEachRow(rows, []any{&p.Source, &p.Watermark, &p.MaxEvent, &p.Late}, func() error { out = append(out, p); return nil })
	if err != nil {
		return nil, fmt.Errorf("watermarks of %s: %w", group, err)
	}
	return out, nil
}

// BarRow is one price bar (price_bars).
type BarRow struct {
	Venue, Symbol, Res     string
	Start, End             time.Time
	Open, High, Low, Close float64
	OpenTS, CloseTS        time.Time
	Volume, Quote          float64
	VWAP                   *float64
	Trades, Ticks, Late    int64
	Final                  bool
}

// WriteBars stores bars. With merge false a row replaces the stored one (an open
// window's current value, or its final one); with merge true it is a correction merged
// into the stored bar (earliest open, latest close, extremes, sums).
func WriteBars(ctx context.Context, tx pgx.Tx, rows []BarRow, merge bool) error {
	if len(rows) == 0 {
		return nil
	}
	n := len(rows)
	venue, sym, res := make([]string, n), make([]string, n), make([]string, n)
	start, end, ots, cts := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	o, h, l, c, v, q := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	vwap := make([]*float64, n)
	tr, tk, lt := make([]int64, n), make([]int64, n), make([]int64, n)
	fin := make([]bool, n)
	for i, r := range rows {
		venue[i], sym[i], res[i], start[i], end[i] = r.Venue, r.Symbol, r.Res, r.Start, r.End
		o[i], h[i], l[i], c[i], ots[i], cts[i] = r.Open, r.High, r.Low, r.Close, r.OpenTS, r.CloseTS
		v[i], q[i], vwap[i], tr[i], tk[i], lt[i], fin[i] = r.Volume, r.Quote, r.VWAP, r.Trades, r.Ticks, r.Late, r.Final
	}
	set := `open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
		open_ts = EXCLUDED.open_ts, close_ts = EXCLUDED.close_ts, volume = EXCLUDED.volume,
		quote_volume = EXCLUDED.quote_volume, vwap = EXCLUDED.vwap, trades = EXCLUDED.trades,
		ticks = EXCLUDED.ticks, late = EXCLUDED.late, final = EXCLUDED.final`
	if merge {
		set = `open = CASE WHEN EXCLUDED.open_ts < b.open_ts THEN EXCLUDED.open ELSE b.open END,
		open_ts = least(b.open_ts, EXCLUDED.open_ts),
		close = CASE WHEN EXCLUDED.close_ts >= b.close_ts THEN EXCLUDED.close ELSE b.close END,
		close_ts = greatest(b.close_ts, EXCLUDED.close_ts),
		high = greatest(b.high, EXCLUDED.high), low = least(b.low, EXCLUDED.low),
		volume = b.volume + EXCLUDED.volume, quote_volume = b.quote_volume + EXCLUDED.quote_volume,
		vwap = CASE WHEN b.volume + EXCLUDED.volume > 0 THEN (b.quote_volume + EXCLUDED.quote_volume) / (b.volume + EXCLUDED.volume) END,
		trades = b.trades + EXCLUDED.trades, ticks = b.ticks + EXCLUDED.ticks, late = b.late + EXCLUDED.late`
	}
	_, err := tx.Exec(ctx, `INSERT INTO price_bars AS b (venue, symbol, res, start, "end", open, high, low, close,
			open_ts, close_ts, volume, quote_volume, vwap, trades, ticks, late, final)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],
			$6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::timestamptz[], $11::timestamptz[],
			$12::float8[], $13::float8[], $14::float8[], $15::bigint[], $16::bigint[], $17::bigint[], $18::boolean[])
		ON CONFLICT (venue, symbol, res, start) DO UPDATE SET `+set,
		venue, sym, res, start, end, o, h, l, c, ots, cts, v, q, vwap, tr, tk, lt, fin)
	if err != nil {
		return fmt.Errorf("write %d price bars: %w", n, err)
	}
	return nil
}

// FlowRow is one shard's part of an exchange flow window (exchange_flows).
type FlowRow struct {
	Token, Symbol, Exchange, Res string
	Start, End                   time.Time
	Shard                        int
	In, Out, InUSD, OutUSD       float64
	Deposits, Withdrawals        int64
	LargeIn, LargeOut, Late      int64
	Final                        bool
}

// WriteFlows stores flow rows, replacing (merge false) or adding to (merge true, a
// correction) the stored ones.
func WriteFlows(ctx context.Context, tx pgx.Tx, rows []FlowRow, merge bool) error {
	if len(rows) == 0 {
		return nil
	}
	n := len(rows)
	tok, sym, ex, res := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	start, end := make([]time.Time, n), make([]time.Time, n)
	shard := make([]int32, n)
	in, out, iu, ou := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	d, w, li, lo, lt := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	fin := make([]bool, n)
	for i, r := range rows {
		tok[i], sym[i], ex[i], res[i], start[i], end[i], shard[i] = r.Token, r.Symbol, r.Exchange, r.Res, r.Start, r.End, int32(r.Shard)
		in[i], out[i], iu[i], ou[i] = r.In, r.Out, r.InUSD, r.OutUSD
		d[i], w[i], li[i], lo[i], lt[i], fin[i] = r.Deposits, r.Withdrawals, r.LargeIn, r.LargeOut, r.Late, r.Final
	}
	set := `inflow = EXCLUDED.inflow, outflow = EXCLUDED.outflow, inflow_usd = EXCLUDED.inflow_usd,
		outflow_usd = EXCLUDED.outflow_usd, deposits = EXCLUDED.deposits, withdrawals = EXCLUDED.withdrawals,
		large_deposits = EXCLUDED.large_deposits, large_withdrawals = EXCLUDED.large_withdrawals,
		late = EXCLUDED.late, final = EXCLUDED.final`
	if merge {
		set = `inflow = f.inflow + EXCLUDED.inflow, outflow = f.outflow + EXCLUDED.outflow,
		inflow_usd = f.inflow_usd + EXCLUDED.inflow_usd, outflow_usd = f.outflow_usd + EXCLUDED.outflow_usd,
		deposits = f.deposits + EXCLUDED.deposits, withdrawals = f.withdrawals + EXCLUDED.withdrawals,
		large_deposits = f.large_deposits + EXCLUDED.large_deposits,
		large_withdrawals = f.large_withdrawals + EXCLUDED.large_withdrawals, late = f.late + EXCLUDED.late`
	}
	_, err := tx.Exec(ctx, `INSERT INTO exchange_flows AS f (token, symbol, exchange, res, start, "end", shard,
			inflow, outflow, inflow_usd, outflow_usd, deposits, withdrawals, large_deposits, large_withdrawals, late, final)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],
			$7::int[], $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::bigint[], $13::bigint[],
			$14::bigint[], $15::bigint[], $16::bigint[], $17::boolean[])
		ON CONFLICT (token, exchange, res, start, shard) DO UPDATE SET `+set,
		tok, sym, ex, res, start, end, shard, in, out, iu, ou, d, w, li, lo, lt, fin)
	if err != nil {
		return fmt.Errorf("write %d exchange flows: %w", n, err)
	}
	return nil
}

// AnomalyRow is one anomaly (anomalies).
type AnomalyRow struct {
	ID                     []byte
	Kind, Venue, Symbol    string
	TS                     time.Time
	Value, Baseline, Score float64
	Evidence               json.RawMessage
	Stream                 string
}

// InsertAnomalies stores anomalies, skipping ids already stored.
func InsertAnomalies(ctx context.Context, tx pgx.Tx, rows []AnomalyRow) error {
	if len(rows) == 0 {
		return nil
	}
	n := len(rows)
	id := make([][]byte, n)
	kind, venue, sym, ev, st := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	ts := make([]time.Time, n)
	v, b, sc := make([]float64, n), make([]float64, n), make([]float64, n)
	for i, r := range rows {
		id[i], kind[i], venue[i], sym[i], ts[i] = r.ID, r.Kind, r.Venue, r.Symbol, r.TS
		v[i], b[i], sc[i], ev[i], st[i] = r.Value, r.Baseline, r.Score, string(r.Evidence), r.Stream
	}
	_, err := tx.Exec(ctx, `INSERT INTO anomalies (id, kind, venue, symbol, ts, value, baseline, score, evidence, stream)
		SELECT i, k, ve, sy, t, va, ba, sc, e::jsonb, st FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[],
			$5::timestamptz[], $6::float8[], $7::float8[], $8::float8[], $9::text[], $10::text[]) AS u(i, k, ve, sy, t, va, ba, sc, e, st)
		ON CONFLICT (id) DO NOTHING`, id, kind, venue, sym, ts, v, b, sc, ev, st)
	if err != nil {
		return fmt.Errorf("insert %d anomalies: %w", n, err)
	}
	return nil
}

// UnpublishedAnomalies returns the anomalies of stream not yet published, oldest first.
func (s *Store) UnpublishedAnomalies(ctx context.Context, stream string, limit int) ([]AnomalyRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, kind, venue, symbol, ts, value, baseline, score, evidence::text, stream
		FROM anomalies WHERE stream = $1 AND published_at IS NULL ORDER BY ts, id LIMIT $2`, stream, limit)
	if err != nil {
		return nil, fmt.Errorf("unpublished anomalies of %s: %w", stream, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AnomalyRow, error) {
		var a AnomalyRow
		var ev string
		err := r.Scan(&a.ID, &a.Kind, &a.Venue, &a.Symbol, &a.TS, &a.Value, &a.Baseline, &a.Score, &ev, &a.Stream)
		a.Evidence = json.RawMessage(ev)
		return a, err
	})
}

// MarkAnomaliesPublished records that ids were published.
func (s *Store) MarkAnomaliesPublished(ctx context.Context, ids [][]byte) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, `UPDATE anomalies SET published_at = now() WHERE id = ANY($1) AND published_at IS NULL`, ids)
	if err != nil {
		return fmt.Errorf("mark %d anomalies published: %w", len(ids), err)
	}
	return nil
}

// ProfileRow is one wallet profile (wallet_profiles): the summary and the state.
type ProfileRow struct {
	Wallet             string    `json:"wallet"`
	VolumeUSD          float64   `json:"volume_usd"`
	Trades             int64     `json:"trades"`
	AvgSizeUSD         float64   `json:"avg_size_usd"`
	LargestUSD         float64   `json:"largest_usd"`
	TypicalHoldSeconds *float64  `json:"typical_hold_seconds"`
	Coins              []string  `json:"coins"`
	FirstSeen          time.Time `json:"first_seen"`
	LastSeen           time.Time `json:"last_seen"`
	Style              string    `json:"style"`
	BuyShare           float64   `json:"buy_share"`
	MaxTradesPerMinute int       `json:"max_trades_per_minute"`
	BotHighFrequency   bool      `json:"bot_high_frequency"`
	BotMarketMaker     bool      `json:"bot_market_maker"`
	State              []byte    `json:"-"`
}

// LoadProfileStates returns the stored profiler state of each wallet that has one.
func LoadProfileStates(ctx context.Context, q Querier, wallets []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	if len(wallets) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT wallet, state::text FROM wallet_profiles WHERE wallet = ANY($1)`, wallets)
	if err != nil {
		return nil, fmt.Errorf("load %d profiles: %w", len(wallets), err)
	}
	var w, st string
	_, err = pgx.ForEachRow(rows, []any{&w, &st}, func() error { out[w] = []byte(st); return nil })
	if err != nil {
		return nil, fmt.Errorf("load %d profiles: %w", len(wallets), err)
	}
	return out, nil
}

// UpsertProfiles stores profiles.
func UpsertProfiles(ctx context.Context, tx pgx.Tx, rows []ProfileRow) error {
	if len(rows) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, r := range rows {
		coins := r.Coins
		if coins == nil {
			coins = []string{}
		}
		b.Queue(`INSERT INTO wallet_profiles (wallet, volume_usd, trades, avg_size_usd, largest_usd, typical_hold_seconds,
			coins, first_seen, last_seen, style, buy_share, max_trades_per_minute, bot_high_frequency, bot_market_maker, state)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb)
			ON CONFLICT (wallet) DO UPDATE SET volume_usd = EXCLUDED.volume_usd, trades = EXCLUDED.trades,
			avg_size_usd = EXCLUDED.avg_size_usd, largest_usd = EXCLUDED.largest_usd,
			typical_hold_seconds = EXCLUDED.typical_hold_seconds, coins = EXCLUDED.coins,
			first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen, style = EXCLUDED.style,
			buy_share = EXCLUDED.buy_share, max_trades_per_minute = EXCLUDED.max_trades_per_minute,
			bot_high_frequency = EXCLUDED.bot_high_frequency, bot_market_maker = EXCLUDED.bot_market_maker,
			state = EXCLUDED.state`,
			r.Wallet, r.VolumeUSD, r.Trades, r.AvgSizeUSD, r.LargestUSD, r.TypicalHoldSeconds, coins, r.FirstSeen,
			r.LastSeen, r.Style, r.BuyShare, r.MaxTradesPerMinute, r.BotHighFrequency, r.BotMarketMaker, string(r.State))
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("upsert %d profiles: %w", len(rows), err)
	}
	return nil
}

// WalletProfile returns a wallet's profile; ErrNotFound when it has none.
func (s *Store) WalletProfile(ctx context.Context, wallet string) (ProfileRow, error) {
	var r ProfileRow
	err := s.pool.QueryRow(ctx, `SELECT wallet, volume_usd, trades, avg_size_usd, largest_usd, typical_hold_seconds,
		coins, first_seen, last_seen, style, buy_share, max_trades_per_minute, bot_high_frequency, bot_market_maker
		FROM wallet_profiles WHERE wallet = $1`, wallet).Scan(&r.Wallet, &r.VolumeUSD, &r.Trades, &r.AvgSizeUSD,
		&r.LargestUSD, &r.TypicalHoldSeconds, &r.Coins, &r.FirstSeen, &r.LastSeen, &r.Style, &r.BuyShare,
		&r.MaxTradesPerMinute, &r.BotHighFrequency, &r.BotMarketMaker)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("profile of %s: %w", wallet, err)
	}
	return r, nil
}
