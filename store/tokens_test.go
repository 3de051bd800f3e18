package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
)

func TestTokens(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	a, ta, err := st.CreateToken(ctx, "telegram", "111", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := st.CreateToken(ctx, "telegram", "111", "")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := st.CreateToken(ctx, "discord", "111", "")
	if err != nil {
		t.Fatal(err)
	}
	if a == b || len(a) < 40 {
		t.Fatalf("tokens %q and %q: want distinct long random strings", a, b)
	}
	// Only the hash is stored.
	var stored []byte
	if err := st.Pool().QueryRow(ctx, `SELECT token_hash FROM api_tokens WHERE id = $1`, ta.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if h := sha256.Sum256([]byte(a)); string(stored) != string(h[:]) {
		t.Fatal("the stored hash is not the token's SHA-256")
	}
	id, err := st.Authenticate(ctx, a)
	if err != nil || id.Platform != "telegram" || id.UserID != "111" || id.TokenID != ta.ID {
		t.Fatalf("Authenticate = %+v, %v", id, err)
	}
	for _, bad := range []string{"", "ctc_", a + "x", a[:len(a)-1], "Bearer " + a} {
		if _, err := st.Authenticate(ctx, bad); !errors.Is(err, store.ErrBadToken) {
			t.Errorf("Authenticate(%q) = %v, want ErrBadToken", bad, err)
		}
	}
	if _, _, err := st.CreateToken(ctx, "telegram", " ", ""); err == nil {
		t.Error("a token without a user id was created")
	}
	// Revoke one by id, then the rest of the user's; the other platform's stays.
	if n, err := st.RevokeTokens(ctx, ta.ID, "", ""); err != nil || n != 1 {
		t.Fatalf("revoke by id: %d %v", n, err)
	}
	if n, _ := st.RevokeTokens(ctx, ta.ID, "", ""); n != 0 {
		t.Errorf("revoking a revoked token counted %d", n)
	}
	if _, err := st.Authenticate(ctx, a); !errors.Is(err, store.ErrBadToken) {
		t.Errorf("revoked token: %v", err)
	}
	if n, err := st.RevokeTokens(ctx, 0, "telegram", "111"); err != nil || n != 1 {
		t.Fatalf("revoke the user's: %d %v", n, err)
	}
	if _, err := st.Authenticate(ctx, b); !errors.Is(err, store.ErrBadToken) {
		t.Errorf("token b after revoking the user's: %v", err)
	}
	if _, err := st.Authenticate(ctx, c); err != nil {
		t.Errorf("another platform's token was revoked: %v", err)
	}
	ts, err := st.Tokens(ctx, "telegram", "111")
	if err != nil || len(ts) != 2 || ts[0].RevokedAt == nil || ts[1].RevokedAt == nil || ts[1].Note != "laptop" {
		t.Fatalf("Tokens = %+v, %v", ts, err)
	}
	if all, _ := st.Tokens(ctx, "", ""); len(all) != 3 {
		t.Errorf("all tokens: %d, want 3", len(all))
	}
}
