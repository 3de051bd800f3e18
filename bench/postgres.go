package bench

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
)

// scratchTable has the events table's shape (migrations/001_init.sql), so the raw
// figures write the same rows, keys and indexes as the book stage.
const scratchTable = `CREATE TABLE %s (
    key         bytea       PRIMARY KEY,
    kind        text        NOT NULL,
    src         text        NOT NULL,
    ts          timestamptz NOT NULL,
    body        text        NOT NULL,
    ingested_at timestamptz NOT NULL DEFAULT now()
)`

// measurePostgres is the raw Postgres reference, on one connection into the scratch
// schema: one COPY (pgx CopyFrom) of every row, then the book stage's idempotent
// `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING RETURNING key` in batches
// of cfg.UpsertBatch (each its own transaction). The tables are dropped afterwards so
// the end-to-end run starts from the same state.
func measurePostgres(ctx context.Context, dbURL string, w *workload, cfg Config) ([]Figure, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("bench: connect to postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, t := range []string{"raw_copy", "raw_upsert"} {
		if _, err := conn.Exec(ctx, fmt.Sprintf(scratchTable, t)); err != nil {
			return nil, fmt.Errorf("bench: create scratch table %s: %w", t, err)
		}
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS raw_copy, raw_upsert") }()
	n := len(w.rows)
	cfg.Progress(fmt.Sprintf("postgres: COPY %d event rows", n))

	start := time.Now()
	copied, err := conn.CopyFrom(ctx, pgx.Identifier{"raw_copy"}, []string{"key", "kind", "src", "ts", "body"},
		pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			r := &w.rows[i]
			return []any{r.key, r.kind, r.src, r.ts, r.body}, nil
		}))
	if err != nil {
		return nil, fmt.Errorf("bench: COPY %d rows: %w", n, err)
	}
	cp := time.Since(start)
	if copied != int64(n) {
		return nil, fmt.Errorf("bench: COPY of %d rows stored %d", n, copied)
	}
	cfg.Progress(fmt.Sprintf("postgres: COPY %.0f rows/s; unnest upsert in batches of %d", float64(n)/cp.Seconds(), cfg.UpsertBatch))

	b := cfg.UpsertBatch
	keys, kinds, srcs := make([][]byte, 0, b), make([]string, 0, b), make([]string, 0, b)
	tss, bodies := make([]time.Time, 0, b), make([]string, 0, b)
	var inserted int64
	start = time.Now()
	for lo := 0; lo < n; lo += b {
		keys, kinds, srcs, tss, bodies = keys[:0], kinds[:0], srcs[:0], tss[:0], bodies[:0]
		for i := lo; i < min(lo+b, n); i++ {
			r := &w.rows[i]
			keys, kinds, srcs = append(keys, r.key), append(kinds, r.kind), append(srcs, r.src)
			tss, bodies = append(tss, r.ts), append(bodies, r.body)
		}
		rows, err := conn.Query(ctx, `INSERT INTO raw_upsert (key, kind, src, ts, body)
			SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
			ON CONFLICT (key) DO NOTHING RETURNING key`, keys, kinds, srcs, tss, bodies)
		if err != nil {
			return nil, fmt.Errorf("bench: upsert rows %d..: %w", lo, err)
		}
		var k []byte
		got, err := pgx.ForEachRow(rows, []any{&k}, func() error { return nil })
		if err != nil {
			return nil, fmt.Errorf("bench: upsert rows %d..: %w", lo, err)
		}
		inserted += got.RowsAffected()
	}
	up := time.Since(start)
	// Demo keys are unique, so every row is new; fewer means the statement is wrong.
	if inserted != int64(n) {
		return nil, fmt.Errorf("bench: upsert of %d distinct rows inserted %d", n, inserted)
	}
	return []Figure{
		figure(FigPGCopy, "Postgres COPY (pgx CopyFrom)", int64(n), cp, "rows/s"),
		figure(FigPGUpsert, fmt.Sprintf("Postgres unnest upsert, %d rows a statement", b), int64(n), up, "rows/s"),
	}, nil
}

// withSearchPath returns dbURL with its search_path set to schema.
func withSearchPath(dbURL, schema string) (string, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", fmt.Errorf("bench: database url: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
