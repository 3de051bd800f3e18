package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/coattailcapital/coattail/store"
)

func TestTokenCommands(t *testing.T) {
	s := newSchema(t)
	ctx := context.Background()
	r := s.cli.run(t, "token", "create", "--platform", "telegram", "--user", "111", "--note", "laptop")
	if r.code != 0 {
		t.Fatalf("token create: %s", r)
	}
	tok := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(tok, "ctc_") || strings.Contains(r.stderr, tok) {
		t.Fatalf("token create printed %q (stderr %q): want the token alone on stdout, never on stderr", r.stdout, r.stderr)
	}
	id, err := s.st.Authenticate(ctx, tok)
	if err != nil || id.Platform != "telegram" || id.UserID != "111" {
		t.Fatalf("authenticate the created token: %+v %v", id, err)
	}
	if r := s.cli.run(t, "token", "list", "--platform", "telegram", "--user", "111"); r.code != 0 || !strings.Contains(r.stdout, "laptop") || strings.Contains(r.stdout, tok) {
		t.Fatalf("token list: %s", r)
	}
	for _, args := range [][]string{
		{"token", "create", "--user", "111"},
		{"token", "revoke"},
		{"token", "revoke", "abc"},
		{"token", "revoke", "1", "--platform", "telegram", "--user", "111"},
		{"token", "list", "--platform", "telegram"},
	} {
		if r := s.cli.run(t, args...); r.code != 2 {
			t.Errorf("coattail %s: exit %d, want 2 (usage)\n%s", strings.Join(args, " "), r.code, r)
		}
	}
	if r := s.cli.run(t, "token", "revoke", "--platform", "telegram", "--user", "111"); r.code != 0 || !strings.Contains(r.stdout, "revoked 1") {
		t.Fatalf("token revoke: %s", r)
	}
	if _, err := s.st.Authenticate(ctx, tok); !errors.Is(err, store.ErrBadToken) {
		t.Fatalf("revoked token authenticates: %v", err)
	}
	if r := s.cli.run(t, "token", "revoke", "--platform", "telegram", "--user", "111"); r.code != 1 {
		t.Fatalf("revoking nothing: %s, want exit 1", r)
	}
}
