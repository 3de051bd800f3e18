package signal

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/coattailcapital/coattail/analytics/book"
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// queueLoadBooks queues the read of the stage's book rows for keys on b; the returned
// map holds them once b has run. A missing row is an empty book.
func queueLoadBooks(b *pgx.Batch, keys []store.PositionKey) map[store.PositionKey]*book.Position {
	out := make(map[store.PositionKey]*book.Position, len(keys))
	if len(keys) == 0 {
		return out
	}
	ws := make([]string, len(keys))
	cs := make([]string, len(keys))
	for i, k := range keys {
		ws[i], cs[i] = k.Wallet, k.Coin
		out[k] = &book.Position{}
	}
	b.Queue(`
		SELECT p.wallet, p.coin, p.size::text, p.entry_px::text, p.unknown_basis, p.n, p.updated_at,
		       p.last_ts, coalesce(p.last_delta, 0)::text, coalesce(p.last_px, 0)::text
		FROM unnest($1::text[], $2::text[]) AS k(wallet, coin)
		CROSS JOIN LATERAL (SELECT * FROM signal_positions WHERE wallet = k.wallet AND coin = k.coin) p`, ws, cs).Query(func(rows pgx.Rows) error {
		var (
			w, c, size, entry, ld, lp string
			unk                       bool
			n                         int64
			upd                       time.Time
			lts                       *time.Time
		)
		_, err := pgx.ForEachRow(rows, []any{&w, &c, &size, &entry, &unk, &n, &upd, &lts, &ld, &lp}, func() error {
			p := out[store.PositionKey{Wallet: w, Coin: c}]
			var err error
			if p.Size, err = decimal.NewFromString(size); err != nil {
				return err
			}
			if p.EntryPx, err = decimal.NewFromString(entry); err != nil {
				return err
			}
			p.UnknownBasis, p.N, p.UpdatedAt, p.Started = unk, n, upd, n > 0
			if lts != nil {
				p.Last.TS = *lts
				p.Last.Delta, _ = decimal.NewFromString(ld)
				p.Last.Px, _ = decimal.NewFromString(lp)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("load signal book: %w", err)
		}
		return nil
	})
	return out
}

// queueSaveBooks queues on b the write of the stage's book rows.
func queueSaveBooks(b *pgx.Batch, keys []store.PositionKey, books map[store.PositionKey]*book.Position) {
	if len(keys) == 0 {
		return
	}
	n := len(keys)
	ws, cs, sizes, entries, lds, lps := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]*string, n), make([]*string, n)
	unk, ns, upd, lts := make([]bool, n), make([]int64, n), make([]time.Time, n), make([]*time.Time, n)
	for i, k := range keys {
		p := books[k]
		ws[i], cs[i], sizes[i], entries[i] = k.Wallet, k.Coin, p.Size.String(), p.EntryPx.String()
		unk[i], ns[i], upd[i] = p.UnknownBasis, p.N, p.UpdatedAt
		if !p.Last.Delta.IsZero() {
			t, d, x := p.Last.TS, p.Last.Delta.String(), p.Last.Px.String()
			lts[i], lds[i], lps[i] = &t, &d, &x
		}
	}
	b.Queue(`
		INSERT INTO signal_positions (wallet, coin, size, entry_px, unknown_basis, n, updated_at, last_ts, last_delta, last_px)
		SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::numeric[], $5::bool[], $6::bigint[],
		                     $7::timestamptz[], $8::timestamptz[], $9::numeric[], $10::numeric[])
		ON CONFLICT (wallet, coin) DO UPDATE SET size = EXCLUDED.size, entry_px = EXCLUDED.entry_px,
		  unknown_basis = EXCLUDED.unknown_basis, n = EXCLUDED.n, updated_at = EXCLUDED.updated_at,
		  last_ts = EXCLUDED.last_ts, last_delta = EXCLUDED.last_delta, last_px = EXCLUDED.last_px`,
		ws, cs, sizes, entries, unk, ns, upd, lts, lds, lps)
}

// walletInfo reads followers, the latest score and the size history of wallets, in
// one round trip, sending the writes pending on b with it.
func (s *Sink) walletInfo(ctx context.Context, tx pgx.Tx, b *pgx.Batch, wallets []string) (map[string]walletInfo, error) {
	out, finish := s.queueWalletInfo(b, wallets)
	err := tx.SendBatch(ctx, b).Close()
	*b = pgx.Batch{}
	if err != nil {
		return nil, err
	}
	finish()
	return out, nil
}

// queueWalletInfo queues walletInfo's reads on b; the map is complete once b has run
// and finish has been called.
func (s *Sink) queueWalletInfo(b *pgx.Batch, wallets []string) (map[string]walletInfo, func()) {
	out := make(map[string]walletInfo, len(wallets))
	// Lookups go through LATERAL over the keys: each is an index probe, whatever the
	// planner guesses of the array's length and the table's size (a generic plan on a
	// young table otherwise scans it whole on every batch).
	b.Queue(`SELECT k.w, f.n FROM unnest($1::text[]) AS k(w)
		CROSS JOIN LATERAL (SELECT count(*) AS n FROM follows WHERE wallet = k.w) f WHERE f.n > 0`, wallets).Query(func(rows pgx.Rows) error {
		var w string
		var n int64
		if _, err := pgx.ForEachRow(rows, []any{&w, &n}, func() error {
			wi := out[w]
			wi.followers = int(n)
			out[w] = wi
			return nil
		}); err != nil {
			return fmt.Errorf("followers: %w", err)
		}
		return nil
	})
	scores := queueLatestScores(b, s.cfg.ScoreWindow, wallets)
	b.Queue(`SELECT z.wallet, z.n, z.sum_log, z.sum_sq FROM unnest($1::text[]) AS k(w)
		CROSS JOIN LATERAL (SELECT * FROM signal_wallet_sizes WHERE wallet = k.w) z`, wallets).Query(func(rows pgx.Rows) error {
		var w string
		var n int64
		var sl, sq float64
		if _, err := pgx.ForEachRow(rows, []any{&w, &n, &sl, &sq}, func() error {
			wi := out[w]
			wi.n, wi.sumLog, wi.sumSq = n, sl, sq
			out[w] = wi
			return nil
		}); err != nil {
			return fmt.Errorf("wallet sizes: %w", err)
		}
		return nil
	})
	return out, func() {
		for w, sc := range scores {
			wi := out[w]
			wi.ranked, wi.rank, wi.score, wi.lcb = true, sc.rank, sc.score, sc.lcb
			wi.high = s.cfg.highAlpha(sc)
			out[w] = wi
		}
	}
}

type scoreRow struct {
	rank       int
	score, lcb float64
}

const latestScoresSQL = `
		WITH run AS (SELECT id FROM score_runs WHERE win = $1 ORDER BY as_of DESC, id DESC LIMIT 1)
		SELECT ws.wallet, ws.rank, ws.score, ws.lcb FROM wallet_scores ws JOIN run ON ws.run_id = run.id
		WHERE ws.wallet = ANY($2) AND ws.rank IS NOT NULL`

// latestScores reads the ranked wallets among wallets in the latest run of window.
func latestScores(ctx context.Context, q pgx.Tx, window string, wallets []string) (map[string]scoreRow, error) {
	rows, err := q.Query(ctx, latestScoresSQL, window, wallets)
	if err != nil {
		return nil, fmt.Errorf("latest scores: %w", err)
	}
	return collectScores(rows)
}

// queueLatestScores queues latestScores on b; the map is filled once b has run.
func queueLatestScores(b *pgx.Batch, window string, wallets []string) map[string]scoreRow {
	out := map[string]scoreRow{}
	b.Queue(latestScoresSQL, window, wallets).Query(func(rows pgx.Rows) error {
		got, err := collectScores(rows)
		for w, r := range got {
			out[w] = r
		}
		return err
	})
	return out
}

func collectScores(rows pgx.Rows) (map[string]scoreRow, error) {
	out := map[string]scoreRow{}
	var w string
	var r scoreRow
	if _, err := pgx.ForEachRow(rows, []any{&w, &r.rank, &r.score, &r.lcb}, func() error { out[w] = r; return nil }); err != nil {
		return nil, fmt.Errorf("latest scores: %w", err)
	}
	return out, nil
}

// queueSaveSizes queues on b the write of the wallets' size histories.
func queueSaveSizes(b *pgx.Batch, wallets []string, info map[string]walletInfo) {
	var ws []string
	var ns []int64
	var sl, sq []float64
	for _, w := range wallets {
		wi := info[w]
		if wi.n == 0 {
			continue
		}
		ws, ns, sl, sq = append(ws, w), append(ns, wi.n), append(sl, wi.sumLog), append(sq, wi.sumSq)
	}
	if len(ws) == 0 {
		return
	}
	b.Queue(`
		INSERT INTO signal_wallet_sizes (wallet, n, sum_log, sum_sq)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::float8[], $4::float8[])
		ON CONFLICT (wallet) DO UPDATE SET n = EXCLUDED.n, sum_log = EXCLUDED.sum_log, sum_sq = EXCLUDED.sum_sq`,
		ws, ns, sl, sq)
}

// queueActions queues on b the record of the actions.
func queueActions(b *pgx.Batch, acts []action, info map[string]walletInfo) {
	n := len(acts)
	keys, ws, cs, kinds, sides := make([][]byte, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	usd, ts, high := make([]float64, n), make([]time.Time, n), make([]bool, n)
	for i, a := range acts {
		keys[i], ws[i], cs[i], kinds[i], sides[i], usd[i], ts[i], high[i] = a.key, a.wallet, a.coin, a.kind, a.side, a.usd, a.ts, info[a.wallet].high
	}
	b.Queue(`
		INSERT INTO signal_actions (event_key, wallet, coin, kind, side, usd, ts, high_alpha)
		SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::timestamptz[], $8::bool[])
		ON CONFLICT (event_key) DO NOTHING`, keys, ws, cs, kinds, sides, usd, ts, high)
}

// flush sends the writes pending on b, if any (b may be nil).
func flush(ctx context.Context, tx pgx.Tx, b *pgx.Batch) error {
	if b == nil || b.Len() == 0 {
		return nil
	}
	err := tx.SendBatch(ctx, b).Close()
	*b = pgx.Batch{}
	if err != nil {
		return fmt.Errorf("signal stage writes: %w", err)
	}
	return nil
}

// consWallet is a wallet of a consensus window with its first counted entry in it.
type consWallet struct {
	wallet string
	ts     time.Time
	key    []byte
}

// consensusWallets lists the distinct high-alpha wallets with a counted entry in coin
// on side within the consensus window starting at start, each with its first such
// entry, in event-time order (ties by wallet): the k-th is the one that completed the
// consensus, whatever order the entries were read in.
func (s *Sink) consensusWallets(ctx context.Context, tx pgx.Tx, coin, side string, start time.Time) ([]consWallet, error) {
	rows, err := tx.Query(ctx, `
		SELECT wallet, ts, event_key FROM (
			SELECT DISTINCT ON (wallet) wallet, ts, event_key FROM signal_actions
			WHERE coin = $1 AND side = $2 AND high_alpha AND kind IN ('open', 'add', 'flip') AND usd >= $3
			  AND ts >= $4 AND ts < $5 ORDER BY wallet, ts, event_key) w
		ORDER BY ts, wallet`, coin, side, s.cfg.ConsensusMinUSD, start, start.Add(s.cfg.ConsensusWindow))
	if err != nil {
		return nil, fmt.Errorf("consensus of %s %s: %w", coin, side, err)
	}
	var out []consWallet
	var c consWallet
	if _, err := pgx.ForEachRow(rows, []any{&c.wallet, &c.ts, &c.key}, func() error {
		out = append(out, consWallet{wallet: c.wallet, ts: c.ts, key: slices.Clone(c.key)})
		return nil
	}); err != nil {
		return nil, fmt.Errorf("consensus of %s %s: %w", coin, side, err)
	}
	return out, nil
}

// walletsUpTo names the wallets of ws whose first entry is at or before t.
func walletsUpTo(ws []consWallet, t time.Time) []string {
	var out []string
	for _, w := range ws {
		if !w.ts.After(t) {
			out = append(out, w.wallet)
		}
	}
	slices.Sort(out)
	return out
}

// meanEdge is the mean latest score of wallets (0 when none is ranked).
func (s *Sink) meanEdge(ctx context.Context, tx pgx.Tx, wallets []string) (float64, error) {
	sc, err := latestScores(ctx, tx, s.cfg.ScoreWindow, wallets)
	if err != nil {
		return 0, err
	}
	if len(sc) == 0 {
		return 0, nil
	}
	var sum float64
	for _, r := range sc {
		sum += r.score
	}
	return sum / float64(len(sc)), nil
}

// insertSignals inserts sigs, skipping those whose dedup_key exists, and returns the
// ones inserted with their ids, in the order given.
func insertSignals(ctx context.Context, tx pgx.Tx, pend *pgx.Batch, sigs []Signal) ([]Stored, error) {
	if len(sigs) == 0 {
		// Nothing read back: the pending writes can wait for the commit.
		if pend == nil {
			return nil, nil
		}
		err := store.Defer(ctx, tx, pend)
		*pend = pgx.Batch{}
		return nil, err
	}
	n := len(sigs)
	keys, rules, ws, cs, sides, acts := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	usd, px, conf, ts, evs := make([]float64, n), make([]float64, n), make([]float64, n), make([]time.Time, n), make([]string, n)
	for i := range sigs {
		sg := &sigs[i]
		ev := sg.Evidence
		if ev == nil {
			ev = map[string]any{}
		}
		ev = withKV(ev, "edge", sg.Edge)
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("encode evidence of %s: %w", sg.DedupKey, err)
		}
		keys[i], rules[i], ws[i], cs[i], sides[i], acts[i] = sg.DedupKey, sg.Rule, sg.Wallet, sg.Coin, sg.Side, sg.Action
		usd[i], px[i], conf[i], ts[i], evs[i] = sg.USD, sg.Price, sg.Confidence, sg.TS, string(b)
	}
	ids := map[string]int64{}
	if pend == nil {
		pend = &pgx.Batch{}
	}
	pend.Queue(`
		INSERT INTO signals (dedup_key, rule, wallet, coin, side, action, usd, price, confidence, ts, evidence)
		SELECT k, r, w, c, s, a, u, p, f, t, e::jsonb
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[],
		            $9::float8[], $10::timestamptz[], $11::text[]) WITH ORDINALITY AS x(k, r, w, c, s, a, u, p, f, t, e, o)
		ORDER BY o
		ON CONFLICT (dedup_key) DO NOTHING
		RETURNING id, dedup_key`, keys, rules, ws, cs, sides, acts, usd, px, conf, ts, evs).Query(func(rows pgx.Rows) error {
		var id int64
		var k string
		if _, err := pgx.ForEachRow(rows, []any{&id, &k}, func() error { ids[k] = id; return nil }); err != nil {
			return fmt.Errorf("insert signals: %w", err)
		}
		return nil
	})
	if err := flush(ctx, tx, pend); err != nil {
		return nil, err
	}
	var out []Stored
	for _, sg := range sigs {
		if id, ok := ids[sg.DedupKey]; ok {
			delete(ids, sg.DedupKey) // the same key twice in one batch: the first only
			out = append(out, Stored{ID: id, Signal: sg})
		}
	}
	return out, nil
}

// Query filters Recent. Zero values select everything.
type Query struct {
	Rule   string
	Wallet string
	Coin   string
	Limit  int // defaults to 20, at most 1000
}

// Recent lists stored signals, newest first.
func Recent(ctx context.Context, st *store.Store, q Query) ([]Stored, error) {
	if q.Limit <= 0 {
		q.Limit = 20
	}
	q.Limit = min(q.Limit, 1000)
	rows, err := st.Pool().Query(ctx, `
		SELECT id, dedup_key, rule, wallet, coin, side, action, usd, price, confidence, ts, evidence
		FROM signals WHERE ($1 = '' OR rule = $1) AND ($2 = '' OR wallet = $2) AND ($3 = '' OR coin = $3)
		ORDER BY id DESC LIMIT $4`, q.Rule, q.Wallet, q.Coin, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("list signals: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Stored, error) {
		var s Stored
		var ev []byte
		if err := r.Scan(&s.ID, &s.DedupKey, &s.Rule, &s.Wallet, &s.Coin, &s.Side, &s.Action, &s.USD, &s.Price,
			&s.Confidence, &s.TS, &ev); err != nil {
			return s, err
		}
		s.TS = s.TS.UTC()
		if err := json.Unmarshal(ev, &s.Evidence); err != nil {
			return s, err
		}
		if e, ok := s.Evidence["edge"].(float64); ok {
			s.Edge = e
		}
		return s, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list signals: %w", err)
	}
	return out, nil
}
