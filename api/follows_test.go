package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/coattailcapital/coattail/api"
)

func TestFollowsNeedAValidToken(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	tok, info, err := e.st.CreateToken(ctx, "telegram", "111", "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, method, path, token string }{
		{"no token", "GET", "/api/follows", ""},
		{"unknown token", "GET", "/api/follows", "ctc_not-a-real-token"},
		{"not our format", "POST", "/api/follows", "abc"},
		{"delete without token", "DELETE", "/api/follows/" + walletA, ""},
	} {
		code, body := do(t, tc.method, e.srv.URL+tc.path, tc.token, `{"wallet":"`+walletA+`"}`)
		if code != 401 || !strings.Contains(body, "error") {
			t.Errorf("%s: %d %s, want 401", tc.name, code, body)
		}
	}
	if code, _ := do(t, "GET", e.srv.URL+"/api/follows", tok, ""); code != 200 {
		t.Fatalf("valid token: %d", code)
	}
	if n, err := e.st.RevokeTokens(ctx, info.ID, "", ""); err != nil || n != 1 {
		t.Fatalf("revoke: %d %v", n, err)
	}
	if code, _ := do(t, "GET", e.srv.URL+"/api/follows", tok, ""); code != 401 {
		t.Fatalf("revoked token: %d, want 401", code)
	}
}

func TestFollowsShareTheChatUsersRows(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.FollowLimit = 2 })
	ctx := context.Background()
	tok, _, err := e.st.CreateToken(ctx, "telegram", "111", "")
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := e.st.CreateToken(ctx, "telegram", "222", "")
	if err != nil {
		t.Fatal(err)
	}
	url := e.srv.URL + "/api/follows"
	steps := []struct {
		method, path, token, body string
		code                      int
		contains                  string
	}{
		{"POST", "", tok, `{"wallet":"0x` + strings.ToUpper(walletA[2:]) + `","label":"whale one"}`, 201, `"created":true`},
		{"POST", "", tok, `{"wallet":"` + walletA + `"}`, 200, `"created":false`},
		{"POST", "", tok, `{"wallet":"` + walletA + `","label":"renamed"}`, 200, `"label":"renamed"`},
		{"POST", "", tok, `{"wallet":"0x1234"}`, 400, "not a wallet address"},
		{"POST", "", tok, `{"wallet":"` + walletB + `","label":"` + strings.Repeat("x", 33) + `"}`, 400, "at most 32 characters"},
		{"POST", "", tok, `not json`, 400, "must be JSON"},
		{"POST", "", tok, `{"wallet":"` + walletB + `","extra":1}`, 400, "must be JSON"},
		{"POST", "", tok, `{"wallet":"` + walletB + `"}`, 201, `"created":true`},
		{"POST", "", tok, `{"wallet":"0x00000000000000000000000000000000000000dd"}`, 409, "limit"},
		{"GET", "", other, "", 200, `"follows":[]`},
		{"DELETE", "/" + walletA, other, "", 404, "do not follow"},
		{"DELETE", "/0xnope", tok, "", 400, "not a wallet address"},
		{"DELETE", "/" + walletA, tok, "", 204, ""},
		{"DELETE", "/" + walletA, tok, "", 404, "do not follow"},
	}
	for i, s := range steps {
		code, body := do(t, s.method, url+s.path, s.token, s.body)
		if code != s.code || !strings.Contains(body, s.contains) {
			t.Fatalf("step %d %s %s %s: %d %s, want %d containing %q", i, s.method, s.path, s.body, code, body, s.code, s.contains)
		}
	}
	// What the API did is what the chat sees: the store's rows for telegram/111.
	fs, err := e.st.Following(ctx, "telegram", "111")
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Wallet != walletB {
		t.Fatalf("store follows of telegram/111: %+v, want only %s", fs, walletB)
	}
	_, body := do(t, "GET", url, tok, "")
	l := decode[api.FollowList](t, body)
	if l.Platform != "telegram" || l.UserID != "111" || l.Limit != 2 || len(l.Follows) != 1 || l.Follows[0].Wallet != walletB {
		t.Fatalf("GET /api/follows = %+v", l)
	}
	// And a follow made in chat shows in the API.
	if _, err := e.st.Follow(ctx, "telegram", "111", walletA, "from chat", 2); err != nil {
		t.Fatal(err)
	}
	_, body = do(t, "GET", url, tok, "")
	if l = decode[api.FollowList](t, body); len(l.Follows) != 2 || l.Follows[1].Label != "from chat" {
		t.Fatalf("after a chat follow: %+v", l.Follows)
	}
}
