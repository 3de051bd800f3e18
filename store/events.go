package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// EventRow is a raw event as stored.
type EventRow struct {
	Key  []byte // 16-byte key hash
	Kind string
	Src  string
	TS   time.Time
	Body []byte // canonical interchange JSON
}

// InsertEvents stores rows idempotently in one round trip and returns the set of keys
// that were new (a key already stored, or repeated within rows, is returned once at
// most). Only new events may change derived state.
func InsertEvents(ctx context.Context, tx pgx.Tx, rows []EventRow) (map[[16]byte]bool, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	keys := make([][]byte, len(rows))
	kinds := make([]string, len(rows))
	srcs := make([]string, len(rows))
	tss := make([]time.Time, len(rows))
	bodies := make([]string, len(rows))
	for i, r := range rows {
		keys[i], kinds[i], srcs[i], tss[i], bodies[i] = r.Key, r.Kind, r.Src, r.TS, string(r.Body)
	}
	res, err := tx.Query(ctx, `INSERT INTO events (key, kind, src, ts, body)
		SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
		ON CONFLICT (key) DO NOTHING RETURNING key`, keys, kinds, srcs, tss, bodies)
	if err != nil {
		return nil, fmt.Errorf("insert %d events: %w", len(rows), err)
	}
	fresh := make(map[[16]byte]bool, len(rows))
	var k []byte
	_, err = pgx.ForEachRow(res, []any{&k}, func() error {
		var kk [16]byte
		copy(kk[:], k)
		fresh[kk] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("insert %d events: %w", len(rows), err)
	}
	return fresh, nil
}

// EventCount returns how many raw events are stored.
func (s *Store) EventCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}
