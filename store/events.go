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

// InsertEvents stores rows idempotently in tx and returns the keys that were new. It
// first tries a binary COPY inside a savepoint (CopyNewEvents), which is several times
// cheaper than an upsert when every row is new; if any key is already stored (a replay
// of old input, a redelivery) it rolls back to the savepoint and takes the upsert
// (Writes.StoreEvents), which skips the known keys. The book stage sends the same
// statements in its own pipelines (bookwrites.go).
func InsertEvents(ctx context.Context, tx pgx.Tx, rows []EventRow) (map[[16]byte]bool, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	if uniqueKeys(rows) {
		sp, err := tx.Begin(ctx) // a savepoint
		if err != nil {
			return nil, fmt.Errorf("insert events: savepoint: %w", err)
		}
		err = CopyNewEvents(ctx, sp, rows)
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
		if !errors.Is(err, ErrEventsStored) {
			return nil, err
		}
	}
	fresh := make(map[[16]byte]bool, len(rows))
	if err := sendOne(ctx, tx, func(w *Writes) { w.StoreEvents(rows, fresh) }); err != nil {
		return nil, err
	}
	return fresh, nil
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

// EventCount returns how many raw events are stored.
func (s *Store) EventCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}
