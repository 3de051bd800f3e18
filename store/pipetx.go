package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A pipelined transaction saves round trips that pgx.BeginFunc spends apart from the
// work: its BEGIN goes with the transaction's first statements, writes deferred with
// Defer (ones nothing reads back) go with the next statements sent, and COMMIT goes
// with the last of them. On this kind of machine a round trip costs two context
// switches on each side, more than most statements; a stage that commits small
// batches all day pays mostly for round trips.

// BeginPipelined runs fn in a transaction as pgx.BeginFunc does (committed when fn
// returns nil, rolled back otherwise), on a pipelined transaction: BEGIN rides with
// the first statements fn sends and COMMIT with the writes fn deferred.
// The transaction does not support nested transactions (Begin) or large objects.
func BeginPipelined(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) (err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release() // a connection left inside a transaction is closed, not reused
	t := &pipeTx{conn: conn}
	if err := fn(t); err != nil {
		_ = t.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return t.Commit(ctx)
}

// Defer queues b's statements on tx to run before its next statements or its commit,
// if tx is a pipelined transaction (their errors fail that round trip); on any other
// transaction it sends them now.
func Defer(ctx context.Context, tx pgx.Tx, b *pgx.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	if t, ok := tx.(*pipeTx); ok && !t.done {
		for _, q := range b.QueuedQueries {
			if q.Fn == nil {
				sql := q.SQL
				q.Exec(func(ct pgconn.CommandTag) error { return nil })
				fn := q.Fn
				q.Fn = func(br pgx.BatchResults) error {
					if err := fn(br); err != nil {
						return fmt.Errorf("deferred %.40q: %w", sql, err)
					}
					return nil
				}
			}
			t.pending = append(t.pending, q)
		}
		return nil
	}
	return tx.SendBatch(ctx, b).Close()
}

type pipeTx struct {
	conn    *pgxpool.Conn
	begun   bool               // BEGIN sent
	pending []*pgx.QueuedQuery // deferred, to send first
	done    bool               // committed or rolled back
}

var _ pgx.Tx = (*pipeTx)(nil)

// prefix takes what must precede the next statements: BEGIN, then the deferred ones.
func (t *pipeTx) prefix() []*pgx.QueuedQuery {
	var p []*pgx.QueuedQuery
	if !t.begun {
		t.begun = true
		p = append(p, &pgx.QueuedQuery{SQL: "BEGIN"})
	}
	p = append(p, t.pending...)
	t.pending = nil
	return p
}

// flush sends the prefix on its own (before a statement that cannot carry it).
func (t *pipeTx) flush(ctx context.Context) error {
	if t.done {
		return pgx.ErrTxClosed
	}
	p := t.prefix()
	if len(p) == 0 {
		return nil
	}
	return t.conn.SendBatch(ctx, &pgx.Batch{QueuedQueries: p}).Close()
}

func (t *pipeTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if t.done {
		return pgx.FailedBatchResults(b, pgx.ErrTxClosed)
	}
	p := t.prefix()
	if len(p) == 0 {
		return t.conn.SendBatch(ctx, b)
	}
	all := &pgx.Batch{QueuedQueries: append(p, b.QueuedQueries...)}
	return &prefixed{br: t.conn.SendBatch(ctx, all), prefix: p}
}

// prefixed hides the results of the statements put before the caller's.
type prefixed struct {
	br     pgx.BatchResults
	prefix []*pgx.QueuedQuery
	err    error
}

func (r *prefixed) skip() error {
	for len(r.prefix) > 0 && r.err == nil {
		q := r.prefix[0]
		r.prefix = r.prefix[1:]
		if q.Fn != nil {
			r.err = q.Fn(r.br)
		} else {
			_, r.err = r.br.Exec()
		}
	}
	return r.err
}

func (r *prefixed) Exec() (pgconn.CommandTag, error) {
	if err := r.skip(); err != nil {
		return pgconn.CommandTag{}, err
	}
	return r.br.Exec()
}

func (r *prefixed) Query() (pgx.Rows, error) {
	_ = r.skip() // a failed prefix fails the caller's statements too (aborted transaction)
	return r.br.Query()
}

func (r *prefixed) QueryRow() pgx.Row {
	_ = r.skip()
	return r.br.QueryRow()
}

func (r *prefixed) Tx() pgx.Tx { return nil }

func (r *prefixed) Close() error {
	err := r.skip()
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// sendAfterPrefix sends one statement after the prefix (BEGIN, deferred writes) in one
// round trip, its results behind the prefix's; nil when there is no prefix to send.
func (t *pipeTx) sendAfterPrefix(ctx context.Context, sql string, args ...any) *prefixed {
	p := t.prefix()
	if len(p) == 0 {
		return nil
	}
	b := &pgx.Batch{QueuedQueries: p}
	b.Queue(sql, args...)
	return &prefixed{br: t.conn.SendBatch(ctx, b), prefix: p}
}

func (t *pipeTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.done {
		return pgconn.CommandTag{}, pgx.ErrTxClosed
	}
	br := t.sendAfterPrefix(ctx, sql, args...)
	if br == nil {
		return t.conn.Exec(ctx, sql, args...)
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (t *pipeTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if t.done {
		return nil, pgx.ErrTxClosed
	}
	br := t.sendAfterPrefix(ctx, sql, args...)
	if br == nil {
		return t.conn.Query(ctx, sql, args...)
	}
	if err := br.skip(); err != nil {
		_ = br.Close()
		return nil, err
	}
	rows, err := br.br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (t *pipeTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := t.Query(ctx, sql, args...)
	if err != nil {
		return errRow{err}
	}
	return rowOf{rows}
}

// batchRows are the rows of a query sent in a batch after the transaction's prefix:
// closing them closes the batch.
type batchRows struct {
	pgx.Rows
	br   *prefixed
	err  error
	done bool
}

func (r *batchRows) Close() {
	if r.done {
		return
	}
	r.done = true
	r.Rows.Close()
	r.err = r.br.Close()
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

// rowOf is the one row of rows, as pgx.Conn.QueryRow gives it.
type rowOf struct{ rows pgx.Rows }

func (r rowOf) Scan(dest ...any) error {
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

func (t *pipeTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	if err := t.flush(ctx); err != nil {
		return 0, err
	}
	return t.conn.CopyFrom(ctx, table, cols, src)
}

func (t *pipeTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return t.conn.Conn().Prepare(ctx, name, sql)
}

// Commit sends the deferred statements and COMMIT in one round trip.
func (t *pipeTx) Commit(ctx context.Context) error {
	if t.done {
		return pgx.ErrTxClosed
	}
	t.done = true
	if !t.begun && len(t.pending) == 0 {
		return nil // nothing was sent: nothing to commit
	}
	commit := &pgx.QueuedQuery{SQL: "COMMIT"}
	commit.Exec(func(ct pgconn.CommandTag) error {
		if ct.String() == "ROLLBACK" { // COMMIT of a failed transaction rolls it back
			return pgx.ErrTxCommitRollback
		}
		return nil
	})
	err := t.conn.SendBatch(ctx, &pgx.Batch{QueuedQueries: append(t.prefix(), commit)}).Close()
	if err != nil && t.conn.Conn().PgConn().TxStatus() != 'I' {
		_, _ = t.conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
	return err
}

func (t *pipeTx) Rollback(ctx context.Context) error {
	if t.done {
		return pgx.ErrTxClosed
	}
	t.done = true
	if !t.begun {
		return nil
	}
	_, err := t.conn.Exec(ctx, "ROLLBACK")
	return err
}

func (t *pipeTx) Begin(context.Context) (pgx.Tx, error) {
	return nil, errors.New("store: a pipelined transaction has no nested transactions")
}

func (t *pipeTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }

func (t *pipeTx) Conn() *pgx.Conn { return t.conn.Conn() }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
