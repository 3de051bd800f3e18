package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrFollowLimit is returned by Follow when the user already follows as many wallets
// as the limit allows and the wallet is not one of them.
var ErrFollowLimit = errors.New("follow limit reached")

// Follow is one wallet a chat user follows.
type Follow struct {
	Wallet string    `json:"wallet"` // lowercase 0x address
	Label  string    `json:"label"`  // the user's name for it; "" when none
	Since  time.Time `json:"since"`  // when it was first followed
}

// Follower is one chat user following a wallet: where an alert about it goes.
type Follower struct {
	Platform string    `json:"platform"`
	UserID   string    `json:"user_id"`
	Label    string    `json:"label"`
	Since    time.Time `json:"since"`
}

// Follow makes (platform, userID) follow wallet, a lowercase 0x address. It is
// idempotent: following a wallet again returns created == false and, when label is
// not empty, replaces the label (an empty label keeps the old one). A new follow is
// refused with ErrFollowLimit when the user already follows limit wallets; limit <= 0
// means no limit. The user row is locked for the check, so concurrent calls for one
// user cannot exceed the limit.
func (s *Store) Follow(ctx context.Context, platform, userID, wallet, label string, limit int) (created bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO users (platform, user_id) VALUES ($1, $2)
			ON CONFLICT (platform, user_id) DO NOTHING`, platform, userID); err != nil {
			return fmt.Errorf("add user: %w", err)
		}
		// Lock first, count in a later statement: under READ COMMITTED a statement that
		// waited for the lock still reads its older snapshot, and would miss a
		// concurrent follow that committed meanwhile.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE platform = $1 AND user_id = $2 FOR UPDATE`,
			platform, userID); err != nil {
			return fmt.Errorf("lock user: %w", err)
		}
		var n int
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(bool_or(wallet = $3), false) FROM follows
			WHERE platform = $1 AND user_id = $2`, platform, userID, wallet).Scan(&n, &exists); err != nil {
			return fmt.Errorf("count follows: %w", err)
		}
		if exists {
			if label == "" {
				return nil
			}
			_, err := tx.Exec(ctx, `UPDATE follows SET label = $4
				WHERE platform = $1 AND user_id = $2 AND wallet = $3 AND label <> $4`, platform, userID, wallet, label)
			if err != nil {
				return fmt.Errorf("relabel: %w", err)
			}
			return nil
		}
		if limit > 0 && n >= limit {
			return fmt.Errorf("%d of %d followed: %w", n, limit, ErrFollowLimit)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO follows (platform, user_id, wallet, label) VALUES ($1, $2, $3, $4)`,
			platform, userID, wallet, label); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		created = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("follow %s by %s/%s: %w", wallet, platform, userID, err)
	}
	return created, nil
}

// Unfollow stops (platform, userID) following wallet. removed is false when the user
// did not follow it; that is not an error.
func (s *Store) Unfollow(ctx context.Context, platform, userID, wallet string) (removed bool, err error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM follows WHERE platform = $1 AND user_id = $2 AND wallet = $3`,
		platform, userID, wallet)
	if err != nil {
		return false, fmt.Errorf("unfollow %s by %s/%s: %w", wallet, platform, userID, err)
	}
	return tag.RowsAffected() > 0, nil
}

// Following lists the wallets (platform, userID) follows, oldest follow first.
func (s *Store) Following(ctx context.Context, platform, userID string) ([]Follow, error) {
	rows, err := s.pool.Query(ctx, `SELECT wallet, label, created_at FROM follows
		WHERE platform = $1 AND user_id = $2 ORDER BY created_at, wallet`, platform, userID)
	if err != nil {
		return nil, fmt.Errorf("following of %s/%s: %w", platform, userID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Follow, error) {
		var f Follow
		err := r.Scan(&f.Wallet, &f.Label, &f.Since)
		f.Since = f.Since.UTC()
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("following of %s/%s: %w", platform, userID, err)
	}
	return out, nil
}

// FollowCount is how many wallets (platform, userID) follows.
func (s *Store) FollowCount(ctx context.Context, platform, userID string) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM follows WHERE platform = $1 AND user_id = $2`,
		platform, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("follow count of %s/%s: %w", platform, userID, err)
	}
	return n, nil
}

// Followers lists who follows wallet (lowercase), ordered by platform and user id: the
// recipients of an alert about it.
func (s *Store) Followers(ctx context.Context, wallet string) ([]Follower, error) {
	rows, err := s.pool.Query(ctx, `SELECT platform, user_id, label, created_at FROM follows
		WHERE wallet = $1 ORDER BY platform, user_id`, wallet)
	if err != nil {
		return nil, fmt.Errorf("followers of %s: %w", wallet, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Follower, error) {
		var f Follower
		err := r.Scan(&f.Platform, &f.UserID, &f.Label, &f.Since)
		f.Since = f.Since.UTC()
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("followers of %s: %w", wallet, err)
	}
	return out, nil
}

// FollowedWallets returns every wallet someone follows, on any platform, in address order.
func (s *Store) FollowedWallets(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT wallet FROM follows ORDER BY wallet`)
	if err != nil {
		return nil, fmt.Errorf("followed wallets: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("followed wallets: %w", err)
	}
	return out, nil
}
