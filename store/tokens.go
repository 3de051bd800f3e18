package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrBadToken is returned by Authenticate for a token that is unknown or revoked. The
// two are not told apart, so a caller learns nothing about which tokens exist.
var ErrBadToken = errors.New("unknown or revoked token")

// tokenPrefix marks coattail API tokens, so one pasted into the wrong place (a chat, a
// log) is recognisable and secret scanners can be taught the pattern.
const tokenPrefix = "ctc_"

// Token describes an API token without its secret.
type Token struct {
	ID        int64      `json:"id"`
	Platform  string     `json:"platform"`
	UserID    string     `json:"user_id"`
	Note      string     `json:"note"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"` // nil while the token is valid
}

// Identity is who a token speaks for: a chat user.
type Identity struct {
	Platform string
	UserID   string
	TokenID  int64
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// CreateToken makes a new API token for (platform, userID) and returns its plaintext,
// which is stored nowhere: only its SHA-256 is kept. The user row is created if needed,
// as /follow would, so the token's follows have a user to hang on.
func (s *Store) CreateToken(ctx context.Context, platform, userID, note string) (plaintext string, t Token, err error) {
	platform, userID = strings.TrimSpace(platform), strings.TrimSpace(userID)
	if platform == "" || userID == "" {
		return "", Token{}, errors.New("create token: platform and user id are required")
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Token{}, fmt.Errorf("create token: %w", err)
	}
	plaintext = tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO users (platform, user_id) VALUES ($1, $2)
			ON CONFLICT (platform, user_id) DO NOTHING`, platform, userID); err != nil {
			return fmt.Errorf("add user: %w", err)
		}
		return tx.QueryRow(ctx, `INSERT INTO api_tokens (token_hash, platform, user_id, note) VALUES ($1, $2, $3, $4)
			RETURNING id, platform, user_id, note, created_at`, hashToken(plaintext), platform, userID, note).
			Scan(&t.ID, &t.Platform, &t.UserID, &t.Note, &t.CreatedAt)
	})
	if err != nil {
		return "", Token{}, fmt.Errorf("create token for %s/%s: %w", platform, userID, err)
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return plaintext, t, nil
}

// Authenticate returns the identity of a valid token; ErrBadToken when it is unknown or
// revoked. The lookup is by hash, so the comparison never touches the plaintext.
func (s *Store) Authenticate(ctx context.Context, token string) (Identity, error) {
	if !strings.HasPrefix(token, tokenPrefix) {
		return Identity{}, ErrBadToken
	}
	var id Identity
	err := s.pool.QueryRow(ctx, `SELECT id, platform, user_id FROM api_tokens
		WHERE token_hash = $1 AND revoked_at IS NULL`, hashToken(token)).Scan(&id.TokenID, &id.Platform, &id.UserID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Identity{}, ErrBadToken
	}
	if err != nil {
		return Identity{}, fmt.Errorf("authenticate: %w", err)
	}
	return id, nil
}

// RevokeTokens revokes tokens: the one numbered id when id > 0, else every valid token
// of (platform, userID). It returns how many it revoked; revoking a revoked token again
// changes nothing and counts 0.
func (s *Store) RevokeTokens(ctx context.Context, id int64, platform, userID string) (int64, error) {
	var tag pgconn.CommandTag
	var err error
	if id > 0 {
		tag, err = s.pool.Exec(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
	} else {
		if platform == "" || userID == "" {
			return 0, errors.New("revoke tokens: give a token id, or a platform and a user id")
		}
		tag, err = s.pool.Exec(ctx, `UPDATE api_tokens SET revoked_at = now()
			WHERE platform = $1 AND user_id = $2 AND revoked_at IS NULL`, platform, userID)
	}
	if err != nil {
		return 0, fmt.Errorf("revoke tokens: %w", err)
	}
	return tag.RowsAffected(), nil
}

// Tokens lists tokens, newest first: every user's when platform is "", else those of
// (platform, userID).
func (s *Store) Tokens(ctx context.Context, platform, userID string) ([]Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, platform, user_id, note, created_at, revoked_at FROM api_tokens
		WHERE $1 = '' OR (platform = $1 AND user_id = $2) ORDER BY id DESC`, platform, userID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Token, error) {
		var t Token
		err := r.Scan(&t.ID, &t.Platform, &t.UserID, &t.Note, &t.CreatedAt, &t.RevokedAt)
		t.CreatedAt = t.CreatedAt.UTC()
		if t.RevokedAt != nil {
			u := t.RevokedAt.UTC()
			t.RevokedAt = &u
		}
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}
