package bot

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coattailcapital/coattail/store"
	"github.com/shopspring/decimal"
)

// FuzzHandle feeds arbitrary chat text through the router: it must never panic, must
// answer every command-shaped message with a non-empty reply, and must never echo a
// handler's internal error text (the apology path).
func FuzzHandle(f *testing.F) {
	for _, s := range []string{
		"/help", "/start", "/start follow_0x51f63885534cb494f4592a0311551f369bff2b39",
		"/leaderboard", "/leaderboard 20", "/leaderboard all 2", "/leaderboard 0", "/leaderboard 99999999999999999999",
		"/wallet 0x51f63885534cb494f4592a0311551f369bff2b39", "/wallet 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
		"/wallet 0x5aaEb6053F3E94C9b9A09f33669435E7Ef1BeAed", "/WALLET@SomeBot 0x1", "/", "//", "/ ", "hello",
		"/leaderbord", "/wallet", "/help wallet", "\x00/help", "/help\u00a0x", strings.Repeat("/x ", 1000),
	} {
		f.Add(s)
	}
	r, err := NewRouter(Config{Reader: &fakeReader{
		rows:    []store.LeaderRow{{Rank: 1, Wallet: "0x51f63885534cb494f4592a0311551f369bff2b39", Score: decimal.NewFromInt(5), N: 3}},
		wallets: map[string]store.WalletView{},
	}, RateLimit: RateLimit{Commands: -1}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		reply := r.Handle(context.Background(), Request{Platform: "console", UserID: "fuzz", ChatID: "fuzz", Text: text})
		out := reply.String()
		if strings.HasPrefix(strings.TrimSpace(text), "/") && len(strings.TrimSpace(text)) > 1 && reply.IsZero() {
			// Only a command addressed to another bot may be answered with nothing.
			if !strings.Contains(strings.Fields(text)[0], "@") {
				t.Fatalf("no reply to command %q", text)
			}
		}
		if !utf8.ValidString(out) {
			t.Fatalf("reply to %q is not valid UTF-8: %q", text, out)
		}
	})
}
