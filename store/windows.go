package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The windowed stages' tables (migrations/007_windows.sql). Writers take the stage's
// transaction, so results commit with the stream checkpoint.

// LoadWindowState returns the serialised keyed state of (stream, group), nil when none.
func LoadWindowState(ctx context.Context, q Querier, stream, group string) ([]byte, error) {
	rows, err := q.Query(ctx, `SELECT state FROM window_state WHERE stream = $1 AND grp = $2`, stream, group)
	if err != nil {
		return nil, fmt.Errorf("load window state %s/%s: %w", stream, group, err)
	}
	b, err := pgx.CollectOneRow(rows, pgx.RowTo[[]byte])
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load window state %s/%s: %w", stream, group, err)
	}
	return b, nil
}

// Writes queues the windowed stage's writes of one transaction, to send them in one
// round trip (Send). Each method queues nothing when it has nothing to write. The
// functions WriteBars, SaveWindowState and the like are the one-statement forms.
type Writes struct {
	b pgx.Batch
}

// queue adds a statement; its error is reported as what (formatted with whatArgs)
// failed.
func (w *Writes) queue(what string, whatArgs []any, sql string, args ...any) {
	qq := w.b.Queue(sql, args...)
	qq.Fn = func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf(what+": %w", append(whatArgs, err)...)
		}
		return nil
	}
}

// Send runs the queued statements in tx, in order, and stops at the first error.
func (w *Writes) Send(ctx context.Context, tx pgx.Tx) error {
	if w.b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, &w.b).Close()
}

// Commit runs the queued statements in one round trip outside any transaction block:
// Postgres runs a pipeline as one implicit transaction, committed if every statement
// succeeds and rolled back at the first error, which Commit returns. Queue Fence first.
func (w *Writes) Commit(ctx context.Context, pool *pgxpool.Pool) error {
	if w.b.Len() == 0 {
		return nil
	}
	return pool.SendBatch(ctx, &w.b).Close()
}

// Fence queues the advance of the checkpoint of (stream, group) to lastID if epoch is
// still the current one, as AdvanceCheckpoint, and fails the statement, and so the
// transaction, with ErrFenced when it is not (advance_checkpoint_fenced, migration
// 014). The first statement of a transaction, for the row lock.
func (w *Writes) Fence(stream, group string, epoch int64, lastID string) {
	QueueFence(&w.b, stream, group, epoch, lastID)
}

// QueueFence queues Writes.Fence's statement on b, for a stage that sends its own
// batches: fences first, before the batch's reads.
func QueueFence(b *pgx.Batch, stream, group string, epoch int64, lastID string) {
	qq := b.Queue(`SELECT advance_checkpoint_fenced($1, $2, $3, $4)`, stream, group, epoch, lastID)
	qq.Fn = func(br pgx.BatchResults) error {
		_, err := br.Exec()
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "CTF01" {
			return fmt.Errorf("advance checkpoint %s/%s: %w", stream, group, ErrFenced)
		}
		if err != nil {
			return fmt.Errorf("advance checkpoint %s/%s: %w", stream, group, err)
		}
		return nil
	}
}

// DeadLetters queues InsertDeadLetters (the same statement).
func (w *Writes) DeadLetters(ds []DeadLetter) {
	if len(ds) == 0 {
		return
	}
	keys := make([][]byte, len(ds))
	reasons, details, sources, raws := make([]string, len(ds)), make([]string, len(ds)), make([]string, len(ds)), make([]string, len(ds))
	for i, d := range ds {
		keys[i], reasons[i], details[i], sources[i], raws[i] = d.Key(), d.Reason, cleanText(d.Detail), cleanText(d.Source), cleanText(string(d.Raw))
	}
	w.queue("insert %d dead letters", []any{len(ds)}, `INSERT INTO dead_letters (key, reason, detail, source, raw)
		SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[])
		ON CONFLICT (key) DO NOTHING`, keys, reasons, details, sources, raws)
}

func sendOne(ctx context.Context, tx pgx.Tx, queue func(*Writes)) error {
	var w Writes
	queue(&w)
	return w.Send(ctx, tx)
}

// SaveWindowState stores the keyed state of (stream, group).
func SaveWindowState(ctx context.Context, tx pgx.Tx, stream, group string, state []byte) error {
	return sendOne(ctx, tx, func(w *Writes) { w.WindowState(stream, group, state) })
}

// WindowState queues SaveWindowState.
func (w *Writes) WindowState(stream, group string, state []byte) {
	w.queue("save window state %s/%s", []any{stream, group}, `INSERT INTO window_state (stream, grp, state)
		VALUES ($1, $2, $3) ON CONFLICT (stream, grp) DO UPDATE SET state = EXCLUDED.state, updated_at = now()`,
		stream, group, state)
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
	return sendOne(ctx, tx, func(w *Writes) { w.SourceProgress(stream, group, ps) })
}

// SourceProgress queues SaveSourceProgress.
func (w *Writes) SourceProgress(stream, group string, ps []SourceProgress) {
	if len(ps) == 0 {
		return
	}
	src, late := make([]string, len(ps)), make([]int64, len(ps))
	wm, mx := make([]time.Time, len(ps)), make([]time.Time, len(ps))
	for i, p := range ps {
		src[i], wm[i], mx[i], late[i] = p.Source, p.Watermark, p.MaxEvent, p.Late
	}
	w.queue("save source progress %s/%s", []any{stream, group}, `INSERT INTO window_sources (stream, grp, source, watermark, max_event, late)
		SELECT $1, $2, s, w, m, l FROM unnest($3::text[], $4::timestamptz[], $5::timestamptz[], $6::bigint[]) AS u(s, w, m, l)
		ON CONFLICT (stream, grp, source) DO UPDATE SET watermark = EXCLUDED.watermark, max_event = EXCLUDED.max_event, late = EXCLUDED.late`,
		stream, group, src, wm, mx, late)
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
	return sendOne(ctx, tx, func(w *Writes) { w.Bars(rows, merge) })
}

// Bars queues WriteBars.
func (w *Writes) Bars(rows []BarRow, merge bool) {
	if len(rows) == 0 {
		return
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
	w.queue("write %d price bars", []any{n}, `INSERT INTO price_bars AS b (venue, symbol, res, start, "end", open, high, low, close,
			open_ts, close_ts, volume, quote_volume, vwap, trades, ticks, late, final)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],
			$6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::timestamptz[], $11::timestamptz[],
			$12::float8[], $13::float8[], $14::float8[], $15::bigint[], $16::bigint[], $17::bigint[], $18::boolean[])
		ON CONFLICT (venue, symbol, res, start) DO UPDATE SET `+set,
		venue, sym, res, start, end, o, h, l, c, ots, cts, v, q, vwap, tr, tk, lt, fin)
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
	return sendOne(ctx, tx, func(w *Writes) { w.Flows(rows, merge) })
}

// Flows queues WriteFlows.
func (w *Writes) Flows(rows []FlowRow, merge bool) {
	if len(rows) == 0 {
		return
	}
	n := len(rows)
	tok, sym, ex, res := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	start, end := make([]time.Time, n), make([]time.Time, n)
	shard := make([]int32, n)
	in, out, iu, ou := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	d, wd, li, lo, lt := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	fin := make([]bool, n)
	for i, r := range rows {
		tok[i], sym[i], ex[i], res[i], start[i], end[i], shard[i] = r.Token, r.Symbol, r.Exchange, r.Res, r.Start, r.End, int32(r.Shard)
		in[i], out[i], iu[i], ou[i] = r.In, r.Out, r.InUSD, r.OutUSD
		d[i], wd[i], li[i], lo[i], lt[i], fin[i] = r.Deposits, r.Withdrawals, r.LargeIn, r.LargeOut, r.Late, r.Final
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
	w.queue("write %d exchange flows", []any{n}, `INSERT INTO exchange_flows AS f (token, symbol, exchange, res, start, "end", shard,
			inflow, outflow, inflow_usd, outflow_usd, deposits, withdrawals, large_deposits, large_withdrawals, late, final)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],
			$7::int[], $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::bigint[], $13::bigint[],
			$14::bigint[], $15::bigint[], $16::bigint[], $17::boolean[])
		ON CONFLICT (token, exchange, res, start, shard) DO UPDATE SET `+set,
		tok, sym, ex, res, start, end, shard, in, out, iu, ou, d, wd, li, lo, lt, fin)
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
	return sendOne(ctx, tx, func(w *Writes) { w.Anomalies(rows) })
}

// Anomalies queues InsertAnomalies.
func (w *Writes) Anomalies(rows []AnomalyRow) {
	if len(rows) == 0 {
		return
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
	w.queue("insert %d anomalies", []any{n}, `INSERT INTO anomalies (id, kind, venue, symbol, ts, value, baseline, score, evidence, stream)
		SELECT i, k, ve, sy, t, va, ba, sc, e::jsonb, st FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[],
			$5::timestamptz[], $6::float8[], $7::float8[], $8::float8[], $9::text[], $10::text[]) AS u(i, k, ve, sy, t, va, ba, sc, e, st)
		ON CONFLICT (id) DO NOTHING`, id, kind, venue, sym, ts, v, b, sc, ev, st)
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
	rows, err := q.Query(ctx, `SELECT wallet, state FROM wallet_profiles WHERE wallet = ANY($1)`, wallets)
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

// UpsertProfiles stores profiles, of distinct wallets.
func UpsertProfiles(ctx context.Context, tx pgx.Tx, rows []ProfileRow) error {
	return sendOne(ctx, tx, func(w *Writes) { w.Profiles(rows) })
}

// Profiles queues UpsertProfiles: one statement for all the rows, so a wallet may not
// come twice (ON CONFLICT DO UPDATE cannot change a row twice).
func (w *Writes) Profiles(rows []ProfileRow) {
	if len(rows) == 0 {
		return
	}
	n := len(rows)
	wallet, style, coins, state := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	vol, avg, largest, buy := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	hold := make([]*float64, n)
	trades := make([]int64, n)
	perMin := make([]int32, n)
	first, last := make([]time.Time, n), make([]time.Time, n)
	hf, mm := make([]bool, n), make([]bool, n)
	for i, r := range rows {
		c := r.Coins
		if c == nil {
			c = []string{}
		}
		cj, _ := json.Marshal(c) // strings always marshal
		wallet[i], style[i], coins[i], state[i] = r.Wallet, r.Style, string(cj), string(r.State)
		vol[i], avg[i], largest[i], buy[i], hold[i] = r.VolumeUSD, r.AvgSizeUSD, r.LargestUSD, r.BuyShare, r.TypicalHoldSeconds
		trades[i], perMin[i], first[i], last[i], hf[i], mm[i] = r.Trades, int32(r.MaxTradesPerMinute), r.FirstSeen, r.LastSeen,
			r.BotHighFrequency, r.BotMarketMaker
	}
	w.queue("upsert %d profiles", []any{n}, `INSERT INTO wallet_profiles (wallet, volume_usd, trades, avg_size_usd,
			largest_usd, typical_hold_seconds, coins, first_seen, last_seen, style, buy_share, max_trades_per_minute,
			bot_high_frequency, bot_market_maker, state)
		SELECT w, v, t, a, l, h, ARRAY(SELECT jsonb_array_elements_text(c::jsonb)), f, la, s, b, m, hf, mm, st
		FROM unnest($1::text[], $2::float8[], $3::bigint[], $4::float8[], $5::float8[], $6::float8[], $7::text[],
			$8::timestamptz[], $9::timestamptz[], $10::text[], $11::float8[], $12::int[], $13::boolean[], $14::boolean[],
			$15::text[]) AS u(w, v, t, a, l, h, c, f, la, s, b, m, hf, mm, st)
		ON CONFLICT (wallet) DO UPDATE SET volume_usd = EXCLUDED.volume_usd, trades = EXCLUDED.trades,
			avg_size_usd = EXCLUDED.avg_size_usd, largest_usd = EXCLUDED.largest_usd,
			typical_hold_seconds = EXCLUDED.typical_hold_seconds, coins = EXCLUDED.coins,
			first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen, style = EXCLUDED.style,
			buy_share = EXCLUDED.buy_share, max_trades_per_minute = EXCLUDED.max_trades_per_minute,
			bot_high_frequency = EXCLUDED.bot_high_frequency, bot_market_maker = EXCLUDED.bot_market_maker,
			state = EXCLUDED.state`,
		wallet, vol, trades, avg, largest, hold, coins, first, last, style, buy, perMin, hf, mm, state)
}

// ProfiledBots returns the wallets whose whale profile flags them as bot-like (many
// trades a minute, or a market-making pattern), for the alpha ranking to exclude.
func (s *Store) ProfiledBots(ctx context.Context) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT wallet FROM wallet_profiles WHERE bot_high_frequency OR bot_market_maker`)
	if err != nil {
		return nil, fmt.Errorf("profiled bots: %w", err)
	}
	ws, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("profiled bots: %w", err)
	}
	out := make(map[string]bool, len(ws))
	for _, w := range ws {
		out[w] = true
	}
	return out, nil
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
