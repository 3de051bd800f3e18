package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EventRow is a raw event as stored.
type EventRow struct {
	Key  []byte // 16-byte key hash
	Kind string
	Src  string
	TS   time.Time
	Body []byte // canonical interchange JSON
}

// InsertEvents stores rows idempotently. It first tries a binary COPY inside a
// savepoint, which is several times cheaper than an upsert when every row is new (the
// common case: live data and first replays); if any key is already stored (a
// replay of old input, a redelivery) it rolls back to the savepoint and takes the
// upsert path, which skips the known keys.
func InsertEvents(ctx context.Context, tx pgx.Tx, rows []EventRow) (map[[16]byte]bool, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	if uniqueKeys(rows) {
		sp, err := tx.Begin(ctx) // a savepoint
		if err != nil {
			return nil, fmt.Errorf("insert events: savepoint: %w", err)
		}
		_, err = sp.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"key", "kind", "src", "ts", "body"},
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				r := &rows[i]
				return []any{r.Key, r.Kind, r.Src, r.TS, string(r.Body)}, nil
			}))
		if err == nil {
			if err := sp.Commit(ctx); err != nil {
				return nil, fmt.Errorf("insert events: release savepoint: %w", err)
			}
			fresh := make(map[[16]byte]bool, len(rows))
			for _, r := range rows {
				fresh[[16]byte(r.Key)] = true
			}
			return fresh, nil
		}
		if rbErr := sp.Rollback(ctx); rbErr != nil {
			return nil, fmt.Errorf("insert events: rollback to savepoint after %v: %w", err, rbErr)
		}
		if !isUniqueViolation(err) {
			return nil, fmt.Errorf("copy %d events: %w", len(rows), err)
		}
	}
	return upsertEvents(ctx, tx, rows)
}

// uniqueKeys reports whether no key repeats within rows (COPY would fail on one).
func uniqueKeys(rows []EventRow) bool {
	seen := make(map[[16]byte]struct{}, len(rows))
	for _, r := range rows {
		if len(r.Key) != 16 {
			return false
		}
		k := [16]byte(r.Key)
		if _, dup := seen[k]; dup {
			return false
		}
		seen[k] = struct{}{}
	}
	return true
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// upsertEvents stores rows in one round trip and returns the set of keys
// that were new (a key already stored, or repeated within rows, is returned once at
// most). Only new events may change derived state.
func upsertEvents(ctx context.Context, tx pgx.Tx, rows []EventRow) (map[[16]byte]bool, error) {
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
