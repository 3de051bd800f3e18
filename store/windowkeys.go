package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The events a windowed group has applied (window_keys, migrations/014_window_keys.sql),
// so an event produced twice is folded into the windows once. One uuid per event: the
// event's key hash XOR a mask derived from the group's name (KeyMask), so groups keep
// separate sets in one single-column index, a btree of 16-byte keys compared with
// memcmp: the cheapest unique index Postgres has.
//
// Two ways to record keys. Writes.NewKeys queues a plain INSERT with the batch's other
// writes, for when no key is expected to have been applied before (every event arrives
// once: the normal case); if one was, the unique index fails the statement and the
// transaction, with ErrKeysApplied. RecordNewKeys tolerates keys applied before and
// reports which were new, for the batch redone after that error and for runs of
// repeats (a file replayed again). Either way a concurrent transaction recording the
// same key (one event on two shards) is serialised by the unique index: the later one
// waits for the earlier to commit and then finds the key, or proceeds if it rolled back.

// ErrKeysApplied is the error of a transaction whose Writes.NewKeys found a key applied
// before. The transaction is void; redo it with RecordNewKeys.
var ErrKeysApplied = errors.New("some event keys were applied before")

// KeyMask returns the mask XORed into a group's keys: the first 16 bytes of the SHA-256
// of its name.
func KeyMask(group string) [16]byte {
	s := sha256.Sum256([]byte(group))
	return [16]byte(s[:16])
}

// maskedKeys returns keys XOR group's mask, sorted and without repeats: index pages are
// then visited in order, and concurrent writers take their locks in one order.
func maskedKeys(group string, keys [][16]byte) [][16]byte {
	mask := KeyMask(group)
	ids := make([][16]byte, len(keys))
	for i, k := range keys {
		for j := range k {
			ids[i][j] = k[j] ^ mask[j]
		}
	}
	slices.SortFunc(ids, compareKeys)
	return slices.Compact(ids)
}

// compareKeys orders keys as bytes.Compare does, a 64-bit half at a time.
func compareKeys(a, b [16]byte) int {
	if c := cmp.Compare(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])); c != 0 {
		return c
	}
	return cmp.Compare(binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]))
}

// NewKeys queues the recording of keys (event key hashes) as applied by group, all of
// them new: the statement, and so the transaction, fails with ErrKeysApplied if one was
// recorded before. Repeats within keys are recorded once.
func (w *Writes) NewKeys(group string, keys [][16]byte) {
	if len(keys) == 0 {
		return
	}
	ids := maskedKeys(group, keys)
	qq := w.b.Queue(`INSERT INTO window_keys (key) SELECT unnest($1::uuid[])`, ids)
	qq.Fn = func(br pgx.BatchResults) error {
		_, err := br.Exec()
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
			return ErrKeysApplied
		}
		if err != nil {
			return fmt.Errorf("record %d applied events of %s: %w", len(ids), group, err)
		}
		return nil
	}
}

// RecordNewKeys records keys (event key hashes) as applied by group, tolerating ones
// recorded before, and reports for each whether it is new: neither recorded before nor
// an earlier element of keys. before is how many distinct keys were recorded before.
func RecordNewKeys(ctx context.Context, tx pgx.Tx, group string, keys [][16]byte) (fresh []bool, before int, err error) {
	fresh = make([]bool, len(keys))
	if len(keys) == 0 {
		return fresh, 0, nil
	}
	ids := maskedKeys(group, keys)
	rows, err := tx.Query(ctx, `INSERT INTO window_keys (key) SELECT k FROM unnest($1::uuid[]) AS k
		ON CONFLICT DO NOTHING RETURNING key`, ids)
	if err != nil {
		return nil, 0, fmt.Errorf("record %d applied events of %s: %w", len(ids), group, err)
	}
	inserted := make(map[[16]byte]bool, len(ids))
	var k [16]byte
	if _, err := pgx.ForEachRow(rows, []any{&k}, func() error { inserted[k] = true; return nil }); err != nil {
		return nil, 0, fmt.Errorf("record %d applied events of %s: %w", len(ids), group, err)
	}
	before = len(ids) - len(inserted)
	mask := KeyMask(group)
	for i, key := range keys {
		for j := range key {
			k[j] = key[j] ^ mask[j]
		}
		if inserted[k] {
			fresh[i] = true
			delete(inserted, k) // a repeat within keys is not new
		}
	}
	return fresh, before, nil
}
