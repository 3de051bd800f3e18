package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrFenced is returned by AdvanceCheckpoint when the epoch is no longer current.
var ErrFenced = fmt.Errorf("stream checkpoint fenced by a newer owner")

// ClaimShard makes owner the owner of (stream, group): it bumps the epoch, which fences
// any earlier owner's commits, and returns it with the last committed stream id.
func (s *Store) ClaimShard(ctx context.Context, stream, group, owner string) (int64, string, error) {
	var epoch int64
	var last string
	err := s.pool.QueryRow(ctx, `
		INSERT INTO stream_checkpoints AS c (stream, grp, epoch, owner) VALUES ($1, $2, 1, $3)
		ON CONFLICT (stream, grp) DO UPDATE SET epoch = c.epoch + 1, owner = EXCLUDED.owner, updated_at = now()
		RETURNING epoch, last_id`, stream, group, owner).Scan(&epoch, &last)
	if err != nil {
		return 0, "", fmt.Errorf("claim %s/%s: %w", stream, group, err)
	}
	return epoch, last, nil
}

// AdvanceCheckpoint records lastID for (stream, group) inside tx if epoch is still the
// current one; it takes the row lock, so it should be the first statement of the
// transaction. ErrFenced when another owner claimed the shard since.
func AdvanceCheckpoint(ctx context.Context, tx pgx.Tx, stream, group string, epoch int64, lastID string) error {
	tag, err := tx.Exec(ctx, `UPDATE stream_checkpoints SET last_id = $4, updated_at = now()
		WHERE stream = $1 AND grp = $2 AND epoch = $3`, stream, group, epoch, lastID)
	if err != nil {
		return fmt.Errorf("advance checkpoint %s/%s: %w", stream, group, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrFenced
	}
	return nil
}

// Checkpoints returns the last committed id per stream for group.
func (s *Store) Checkpoints(ctx context.Context, group string) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT stream, last_id FROM stream_checkpoints WHERE grp = $1`, group)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints of %s: %w", group, err)
	}
	out := map[string]string{}
	var st, id string
	_, err = pgx.ForEachRow(rows, []any{&st, &id}, func() error { out[st] = id; return nil })
	if err != nil {
		return nil, fmt.Errorf("read checkpoints of %s: %w", group, err)
	}
	return out, nil
}

// CheckpointRow is one stream_checkpoints row: how far a consumer group has committed
// one stream, and who owns it.
type CheckpointRow struct {
	Stream    string    `json:"stream"`
	Group     string    `json:"group"`
	LastID    string    `json:"last_id"`
	Epoch     int64     `json:"epoch"`
	Owner     string    `json:"owner"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AllCheckpoints lists every group's checkpoint on every stream, by group then stream.
func (s *Store) AllCheckpoints(ctx context.Context) ([]CheckpointRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT stream, grp, last_id, epoch, owner, updated_at
		FROM stream_checkpoints ORDER BY grp, stream`)
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CheckpointRow, error) {
		var c CheckpointRow
		err := r.Scan(&c.Stream, &c.Group, &c.LastID, &c.Epoch, &c.Owner, &c.UpdatedAt)
		c.UpdatedAt = c.UpdatedAt.UTC()
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	return out, nil
}
