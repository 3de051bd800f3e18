package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// DeadLetter is one rejected input.
type DeadLetter struct {
	Reason string
	Detail string
	Source string // file:line, stream:id or ingestor name
	Raw    []byte // the input, truncated by the caller
}

// Key identifies a dead letter by why, where and what: the reason, the source's
// base name and position (file.ndjson:17 — the directory is left out so the same
// file replayed from elsewhere is the same input) and the stored input. The same bad
// input dead-lettered twice is stored once; two bad lines are two rows, even when
// their stored (truncated) bytes are equal.
func (d DeadLetter) Key() []byte {
	h := sha256.New()
	h.Write([]byte(d.Reason))
	h.Write([]byte{0})
	h.Write([]byte(filepath.Base(d.Source)))
	h.Write([]byte{0})
	h.Write(d.Raw)
	return h.Sum(nil)[:16]
}

// InsertDeadLetters stores dead letters in one round trip (idempotently).
func InsertDeadLetters(ctx context.Context, tx pgx.Tx, ds []DeadLetter) error {
	if len(ds) == 0 {
		return nil
	}
	keys := make([][]byte, len(ds))
	reasons := make([]string, len(ds))
	details := make([]string, len(ds))
	sources := make([]string, len(ds))
	raws := make([]string, len(ds))
	for i, d := range ds {
		keys[i] = d.Key()
		reasons[i] = d.Reason
		details[i] = cleanText(d.Detail)
		sources[i] = cleanText(d.Source)
		raws[i] = cleanText(string(d.Raw))
	}
	_, err := tx.Exec(ctx, `INSERT INTO dead_letters (key, reason, detail, source, raw)
		SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[])
		ON CONFLICT (key) DO NOTHING`, keys, reasons, details, sources, raws)
	if err != nil {
		return fmt.Errorf("insert %d dead letters: %w", len(ds), err)
	}
	return nil
}

// AddDeadLetters stores dead letters in their own transaction.
func (s *Store) AddDeadLetters(ctx context.Context, ds []DeadLetter) error {
	if len(ds) == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return InsertDeadLetters(ctx, tx, ds) })
}

// DeadLetterCounts returns the stored dead letters per reason.
func (s *Store) DeadLetterCounts(ctx context.Context) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT reason, count(*) FROM dead_letters GROUP BY reason`)
	if err != nil {
		return nil, fmt.Errorf("count dead letters: %w", err)
	}
	out := map[string]int64{}
	var r string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&r, &n}, func() error { out[r] = n; return nil })
	if err != nil {
		return nil, fmt.Errorf("count dead letters: %w", err)
	}
	return out, nil
}

// cleanText makes arbitrary bytes storable as Postgres text: valid UTF-8, no NUL.
func cleanText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "\\u0000")
}

// StoredDeadLetter is a dead letter as stored.
type StoredDeadLetter struct {
	Key       []byte // DeadLetter.Key: 16 bytes
	Reason    string
	Detail    string
	Source    string
	Raw       string
	CreatedAt time.Time
}

// DeadLetterFilter selects dead letters. The zero value selects every one.
type DeadLetterFilter struct {
	Reason string    // only this reason; "" for any
	Before time.Time // only those stored before this time; zero for any
}

// args are the filter's values for deadLetterWhere's $1 (reason) and $2 (before).
func (f DeadLetterFilter) args() []any {
	var before *time.Time
	if !f.Before.IsZero() {
		before = &f.Before
	}
	return []any{f.Reason, before}
}

const deadLetterWhere = `($1 = '' OR reason = $1) AND ($2::timestamptz IS NULL OR created_at < $2)`

func scanDeadLetter(row pgx.CollectableRow) (StoredDeadLetter, error) {
	var d StoredDeadLetter
	err := row.Scan(&d.Key, &d.Reason, &d.Detail, &d.Source, &d.Raw, &d.CreatedAt)
	return d, err
}

// ErrAmbiguous is returned by DeadLetterByKey when a key prefix matches more than one
// dead letter: the caller should ask for more digits.
var ErrAmbiguous = errors.New("ambiguous key prefix")

// RecentDeadLetters returns up to limit dead letters matching f, newest first (those
// stored together, in one batch, in key order).
func (s *Store) RecentDeadLetters(ctx context.Context, f DeadLetterFilter, limit int) ([]StoredDeadLetter, error) {
	rows, err := s.pool.Query(ctx, `SELECT key, reason, detail, source, raw, created_at FROM dead_letters
		WHERE `+deadLetterWhere+` ORDER BY created_at DESC, key LIMIT $3`, append(f.args(), limit)...)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanDeadLetter)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return out, nil
}

// DeadLetterByKey returns the dead letter whose hex key starts with prefix (1 to 32
// hex digits, any case). It returns ErrNotFound when none does and ErrAmbiguous when
// several do. The lookup is a range scan of the primary key.
func (s *Store) DeadLetterByKey(ctx context.Context, prefix string) (StoredDeadLetter, error) {
	p := strings.ToLower(prefix)
	if len(p) == 0 || len(p) > 32 || strings.Trim(p, "0123456789abcdef") != "" {
		return StoredDeadLetter{}, fmt.Errorf("dead letter key %q: want 1 to 32 hex digits", prefix)
	}
	lo, err := hex.DecodeString(p + strings.Repeat("0", 32-len(p)))
	if err != nil {
		return StoredDeadLetter{}, fmt.Errorf("dead letter key %q: %w", prefix, err)
	}
	hi, err := hex.DecodeString(p + strings.Repeat("f", 32-len(p)))
	if err != nil {
		return StoredDeadLetter{}, fmt.Errorf("dead letter key %q: %w", prefix, err)
	}
	rows, err := s.pool.Query(ctx, `SELECT key, reason, detail, source, raw, created_at FROM dead_letters
		WHERE key BETWEEN $1 AND $2 ORDER BY key LIMIT 2`, lo, hi)
	if err != nil {
		return StoredDeadLetter{}, fmt.Errorf("dead letter %s: %w", p, err)
	}
	ds, err := pgx.CollectRows(rows, scanDeadLetter)
	switch {
	case err != nil:
		return StoredDeadLetter{}, fmt.Errorf("dead letter %s: %w", p, err)
	case len(ds) == 0:
		return StoredDeadLetter{}, fmt.Errorf("dead letter %s: %w", p, ErrNotFound)
	case len(ds) > 1:
		return StoredDeadLetter{}, fmt.Errorf("dead letter %s: %w", p, ErrAmbiguous)
	}
	return ds[0], nil
}

// ScanDeadLetters returns up to limit dead letters matching f whose key is greater
// than after (nil: from the start), in key order: a stable way to walk them all in
// pages, even while the walker deletes what it has seen.
func (s *Store) ScanDeadLetters(ctx context.Context, f DeadLetterFilter, after []byte, limit int) ([]StoredDeadLetter, error) {
	if after == nil {
		after = []byte{}
	}
	rows, err := s.pool.Query(ctx, `SELECT key, reason, detail, source, raw, created_at FROM dead_letters
		WHERE `+deadLetterWhere+` AND key > $3 ORDER BY key LIMIT $4`, append(f.args(), after, limit)...)
	if err != nil {
		return nil, fmt.Errorf("scan dead letters: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanDeadLetter)
	if err != nil {
		return nil, fmt.Errorf("scan dead letters: %w", err)
	}
	return out, nil
}

// CountDeadLetters counts the dead letters matching f.
func (s *Store) CountDeadLetters(ctx context.Context, f DeadLetterFilter) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM dead_letters WHERE `+deadLetterWhere, f.args()...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count dead letters: %w", err)
	}
	return n, nil
}

// DeleteDeadLetters deletes the dead letters with these keys and returns how many
// there were.
func (s *Store) DeleteDeadLetters(ctx context.Context, keys [][]byte) (int64, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM dead_letters WHERE key = ANY($1)`, keys)
	if err != nil {
		return 0, fmt.Errorf("delete %d dead letters: %w", len(keys), err)
	}
	return tag.RowsAffected(), nil
}

// PurgeDeadLetters deletes every dead letter matching f and returns how many.
func (s *Store) PurgeDeadLetters(ctx context.Context, f DeadLetterFilter) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM dead_letters WHERE `+deadLetterWhere, f.args()...)
	if err != nil {
		return 0, fmt.Errorf("purge dead letters: %w", err)
	}
	return tag.RowsAffected(), nil
}

// StoredEventKeys reports which of the event key hashes are in the events table. Dead
// letter replay uses it: re-producing an event that is already stored changes nothing
// (the book stage skips known keys), so such a dead letter is not resolved by replay.
func (s *Store) StoredEventKeys(ctx context.Context, keys [][]byte) (map[[16]byte]bool, error) {
	out := map[[16]byte]bool{}
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT key FROM events WHERE key = ANY($1)`, keys)
	if err != nil {
		return nil, fmt.Errorf("look up %d event keys: %w", len(keys), err)
	}
	var k []byte
	_, err = pgx.ForEachRow(rows, []any{&k}, func() error {
		if len(k) == 16 {
			out[[16]byte(k)] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up %d event keys: %w", len(keys), err)
	}
	return out, nil
}
