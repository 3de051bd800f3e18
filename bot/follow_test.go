package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
)

// newFollowRouter is a test router with the follow commands on a fresh database.
func newFollowRouter(t *testing.T, limit int) (*Router, *store.Store) {
	t.Helper()
	st := testenv.Store(t)
	r, _ := newTestRouter(t, fixtureReader(), func(c *Config) { c.RateLimit.Commands = -1 })
	RegisterFollows(r, st, limit)
	return r, st
}

// A conversation: each step depends on the ones before it.
func TestFollowConversation(t *testing.T) {
	r, st := newFollowRouter(t, 3)
	const addrC = "0x00000000000000000000000000000000000000c0"
	steps := []struct {
		name    string
		user    string // defaults to "u1"
		text    string
		kind    Kind
		want    []string // substrings of reply.String()
		notWant []string
	}{
		{name: "nothing followed yet", text: "/following",
			want: []string{"You follow no wallets yet", "/follow " + addrA + " big whale"}},
		{name: "follow without address", text: "/follow", kind: KindUsage,
			want: []string{"/follow needs more arguments.", "Usage: /follow <address> [label]", "Example: /follow " + addrA + " big whale"}},
		{name: "follow short address", text: "/follow 0x123 whale", kind: KindUsage,
			want: []string{`"0x123" is not a wallet address`, "Example: /follow "}},
		{name: "follow bad checksum", text: "/follow 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", kind: KindUsage,
			want: []string{"has a bad EIP-55 checksum", "may be mistyped", "Usage: /follow <address> [label]", "Example: /follow "}},
		{name: "label too long", text: "/follow " + addrA + " " + strings.Repeat("x", 33), kind: KindUsage,
			want: []string{"A label is at most 32 characters; yours has 33.", "Example: /follow "}},
		{name: "label not printable", text: "/follow " + addrA + " a\u200bb", kind: KindUsage,
			want: []string{"only printable characters"}},
		{name: "follow checksummed with a two-word label", text: "/follow 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed Big   <Whale> & co",
			want: []string{"Now following " + addrB + " (Big <Whale> & co)."}},
		{name: "follow again", text: "/follow " + addrB, want: []string{"You already follow " + addrB + "."}},
		{name: "relabel", text: "/follow " + addrB + " whale", want: []string{"its label is now whale"}},
		{name: "label of exactly 32 runes", text: "/follow " + addrA + " " + strings.Repeat("é", 32),
			want: []string{"Now following " + addrA}},
		{name: "following lists both", text: "/following",
			want: []string{"Following 2 of 3 wallets", "address", "label", "since", addrB + "  whale", addrA + "  " + strings.Repeat("é", 32),
				"/unfollow <address> stops"}},
		{name: "other user sees nothing", user: "u2", text: "/following", want: []string{"You follow no wallets yet"}},
		{name: "third follow via deep link", text: "/start follow_" + addrC,
			want: []string{"Welcome to Coat Tail Capital", "Now following " + addrC + ".", "/leaderboard"}},
		{name: "fourth is over the limit", text: "/follow 0x00000000000000000000000000000000000000d0", kind: KindDenied,
			want: []string{"You already follow 3 wallets, the most one person can.", "/unfollow <address>"}},
		{name: "deep link over the limit still welcomes", text: "/start follow_0x00000000000000000000000000000000000000d0", kind: KindDenied,
			want: []string{"Welcome to Coat Tail Capital", "You already follow 3 wallets"}},
		{name: "deep link with a bad address", text: "/start follow_0xnope", kind: KindUsage,
			want: []string{"Welcome to Coat Tail Capital", "This link should follow a wallet, but \"0xnope\" is not a wallet address"}},
		{name: "other deep link payload is a plain start", text: "/start ref_42",
			want: []string{"Welcome to Coat Tail Capital"}, notWant: []string{"follow"}},
		{name: "unfollow needs one address", text: "/unfollow " + addrA + " x", kind: KindUsage,
			want: []string{"/unfollow takes at most 1 argument.", "Example: /unfollow " + addrA}},
		{name: "unfollow bad address", text: "/unfollow 0xzz", kind: KindUsage, want: []string{"not a wallet address"}},
		{name: "unfollow", text: "/unfollow " + strings.ToUpper(addrA[2:3]) + addrA[3:], kind: KindUsage,
			want: []string{"not a wallet address"}}, // no 0x
		{name: "unfollow upper case", text: "/unfollow 0x" + strings.ToUpper(addrA[2:]), want: []string{"Stopped following " + addrA + "."}},
		{name: "unfollow again", text: "/unfollow " + addrA, kind: KindNotFound, want: []string{"You do not follow " + addrA + "."}},
		{name: "room again", text: "/follow 0x00000000000000000000000000000000000000d0", want: []string{"Now following"}},
		{name: "following takes no arguments", text: "/following all", kind: KindUsage, want: []string{"/following takes no arguments."}},
	}
	for _, s := range steps {
		user := s.user
		if user == "" {
			user = "u1"
		}
		got := r.Handle(context.Background(), Request{Platform: "test", UserID: user, ChatID: "c1", Text: s.text})
		text := got.String()
		if got.Kind != s.kind {
			t.Errorf("%s: %q: kind %v, want %v\n%s", s.name, s.text, got.Kind, s.kind, text)
		}
		for _, w := range s.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: %q: reply lacks %q:\n%s", s.name, s.text, w, text)
			}
		}
		for _, w := range s.notWant {
			if strings.Contains(text, w) {
				t.Errorf("%s: %q: reply has %q:\n%s", s.name, s.text, w, text)
			}
		}
	}

	// The replies told the truth: the database holds what they said.
	got, err := st.Following(context.Background(), "test", "u1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{addrB + "/whale", addrC + "/", "0x00000000000000000000000000000000000000d0/"}
	if len(got) != len(want) {
		t.Fatalf("stored follows %+v, want %v", got, want)
	}
	for i, f := range got {
		if f.Wallet+"/"+f.Label != want[i] {
			t.Errorf("stored follow %d = %s/%s, want %s", i, f.Wallet, f.Label, want[i])
		}
	}
}

func TestRegisterFollowsKeepsCommandOrderAndHelp(t *testing.T) {
	r, _ := newFollowRouter(t, 0)
	var names []string
	for _, c := range r.Commands(false) {
		names = append(names, c.Name)
	}
	if got := fmt.Sprint(names); got != "[start help leaderboard wallet follow unfollow following]" {
		t.Errorf("Commands(false) = %s", got)
	}
	help := ask(r, "/help", false).String()
	for _, w := range []string{"/follow <address> [label] — get alerts when a wallet moves", "/unfollow <address> — ", "/following — the wallets you follow"} {
		if !strings.Contains(help, w) {
			t.Errorf("/help lacks %q:\n%s", w, help)
		}
	}
	if got := ask(r, "/following", false).String(); strings.Contains(got, "of 0 wallets") {
		t.Errorf("limit 0 should mean the default: %s", got)
	}
	if got := ask(r, "/follow "+addrA, false).String(); !strings.Contains(got, "Now following") {
		t.Fatalf("follow: %s", got)
	}
	if got := ask(r, "/following", false).String(); !strings.Contains(got, fmt.Sprintf("Following 1 of %d wallets", DefaultFollowLimit)) {
		t.Errorf("default limit not shown: %s", got)
	}
}

func TestRegisterFollowsPanicsOnMisuse(t *testing.T) {
	r, _ := newTestRouter(t, &fakeReader{}, nil)
	st := testenv.Store(t)
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	mustPanic("nil store", func() { RegisterFollows(r, nil, 0) })
	RegisterFollows(r, st, 0)
	mustPanic("twice", func() { RegisterFollows(r, st, 0) })
}

// A handler failure (here: the database is gone) is an apology, not a crash, and is logged.
func TestFollowStoreFailureIsAnApology(t *testing.T) {
	st := testenv.Store(t)
	r, logs := newTestRouter(t, &fakeReader{}, nil)
	RegisterFollows(r, st, 0)
	st.Close()
	got := ask(r, "/follow "+addrA, false)
	if got.Kind != KindError || !strings.Contains(got.Text, "something went wrong on our side while running /follow") {
		t.Fatalf("reply %v %q", got.Kind, got)
	}
	if !strings.Contains(logs.String(), `"command":"follow"`) {
		t.Fatalf("failure not logged: %s", logs)
	}
}
