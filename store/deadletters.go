package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
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
