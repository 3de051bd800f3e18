package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
)

// TestPipelinedTransaction: statements sent in separate round trips and deferred
// writes run in one transaction (one now(), each seeing the earlier ones, the deferred
// ones before the next statements), committed together; an error from fn or from a
// deferred statement leaves nothing behind.
func TestPipelinedTransaction(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	pool := st.Pool()
	if _, err := pool.Exec(ctx, `CREATE TABLE pipe_t (k text PRIMARY KEY, at timestamptz)`); err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pipe_t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var first, second time.Time
	err := store.BeginPipelined(ctx, pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO pipe_t VALUES ('a', now())`)
		b.Queue(`SELECT now()`).QueryRow(func(r pgx.Row) error { return r.Scan(&first) })
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		d := &pgx.Batch{}
		d.Queue(`INSERT INTO pipe_t VALUES ('b', now())`)
		if err := store.Defer(ctx, tx, d); err != nil {
			return err
		}
		var seen int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM pipe_t`).Scan(&seen); err != nil {
			return err
		}
		if seen != 2 {
			t.Errorf("inside the transaction %d rows, want 2 (the deferred one sent first)", seen)
		}
		time.Sleep(5 * time.Millisecond)
		if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&second); err != nil {
			return err
		}
		d = &pgx.Batch{}
		d.Queue(`INSERT INTO pipe_t VALUES ('c', now())`)
		return store.Defer(ctx, tx, d) // goes with COMMIT
	})
	if err != nil {
		t.Fatal(err)
	}
	if !first.Equal(second) {
		t.Errorf("now() %v then %v: the round trips ran in different transactions", first, second)
	}
	if n := count(); n != 3 {
		t.Fatalf("%d rows committed, want 3", n)
	}

	// fn fails: what it sent and deferred is rolled back.
	boom := errors.New("boom")
	err = store.BeginPipelined(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO pipe_t VALUES ('d', now())`); err != nil {
			return err
		}
		d := &pgx.Batch{}
		d.Queue(`INSERT INTO pipe_t VALUES ('e', now())`)
		if err := store.Defer(ctx, tx, d); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || count() != 3 {
		t.Fatalf("after a failed fn: err %v, %d rows; want boom and 3", err, count())
	}

	// A deferred statement fails at COMMIT: the error comes back, nothing is kept.
	err = store.BeginPipelined(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO pipe_t VALUES ('f', now())`); err != nil {
			return err
		}
		d := &pgx.Batch{}
		d.Queue(`INSERT INTO pipe_t VALUES ('a', now())`) // a repeat: unique violation
		return store.Defer(ctx, tx, d)
	})
	if err == nil || count() != 3 {
		t.Fatalf("after a failing deferred insert: err %v, %d rows; want an error and 3", err, count())
	}
	// A query as the first statement (it carries BEGIN), read to the end, then a
	// deferred write and an Exec that carries it.
	err = store.BeginPipelined(ctx, pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT k FROM pipe_t ORDER BY k`)
		if err != nil {
			return err
		}
		ks, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(ks) != 3 || ks[0] != "a" || ks[2] != "c" {
			t.Errorf("rows %v (%v), want a b c", ks, err)
		}
		d := &pgx.Batch{}
		d.Queue(`INSERT INTO pipe_t VALUES ('g', now())`)
		if err := store.Defer(ctx, tx, d); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE pipe_t SET at = now() WHERE k = 'g'`)
		if err == nil && tag.RowsAffected() != 1 {
			t.Errorf("the deferred row was not there for the next statement: %v", tag)
		}
		return err
	})
	if err != nil || count() != 4 {
		t.Fatalf("query first: err %v, %d rows; want 4", err, count())
	}
	// The pool's connections are usable after all that.
	if n := count(); n != 4 {
		t.Fatal(n)
	}
}
