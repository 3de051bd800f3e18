package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SaveSourceCheckpoint stores pos, a live source's position (ingest.Checkpointer,
// JSON), as the one checkpoint of the source name, replacing the previous one.
func (s *Store) SaveSourceCheckpoint(ctx context.Context, name string, pos []byte) error {
	if name == "" {
		return errors.New("save source checkpoint: empty source name")
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO source_checkpoints (source, position, updated_at) VALUES ($1, $2::jsonb, now())
		ON CONFLICT (source) DO UPDATE SET position = EXCLUDED.position, updated_at = EXCLUDED.updated_at`,
		name, string(pos))
	if err != nil {
		return fmt.Errorf("save checkpoint of source %s: %w", name, err)
	}
	return nil
}

// LoadSourceCheckpoint returns the last checkpoint saved for the source name; ok is
// false when there is none (a first start). The JSON comes back as Postgres
// normalises jsonb (key order and spacing may differ from what was saved).
func (s *Store) LoadSourceCheckpoint(ctx context.Context, name string) (pos []byte, ok bool, err error) {
	var text string
	err = s.pool.QueryRow(ctx, `SELECT position::text FROM source_checkpoints WHERE source = $1`, name).Scan(&text)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("load checkpoint of source %s: %w", name, err)
	}
	return []byte(text), true, nil
}
