package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/coattailcapital/coattail/store"
)

const (
	addrA = "0x51f63885534cb494f4592a0311551f369bff2b39"
	addrB = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed" // EIP-55 form 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
)

var t0 = time.Date(2025, 11, 20, 12, 0, 0, 0, time.UTC)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// fixtureReader holds 12 ranked wallets and two detailed ones.
func fixtureReader() *fakeReader {
	f := &fakeReader{wallets: map[string]store.WalletView{}}
	for i := 1; i <= 12; i++ {
		f.rows = append(f.rows, store.LeaderRow{
			Rank:   i,
			Wallet: fmt.Sprintf("0x%040x", 0xabc000+i),
			Score:  decimal.NewFromInt(int64(2_000_000 / i)).Sub(decimal.NewFromInt(300_000)),
			N:      int64(100 * i),
		})
	}
	f.rows[0].Wallet = addrA
	f.wallets[addrA] = store.WalletView{
		Wallet:        addrA,
		RealizedPnl:   dec("12345.678"),
		UnrealizedPnl: dec("-1234"),
		Fees:          dec("456.784"),
		N:             1234,
		Rank:          1,
		LastSeen:      t0.Add(-3 * time.Hour),
		Positions: []store.PositionView{
			{Coin: "ETH", Size: dec("-12.5"), EntryPx: dec("3012.456"), MarkPx: decimal.NewNullDecimal(dec("2950.1")), UnrealizedPnl: dec("779.45")},
			{Coin: "BTC", Size: dec("0.75"), EntryPx: dec("67321.5"), MarkPx: decimal.NewNullDecimal(dec("65000")), UnrealizedPnl: dec("-1741.125")},
			{Coin: "PEPE", Size: dec("15000000"), EntryPx: dec("0.0000123456"), UnknownBasis: true},
			{Coin: "SOL", Size: decimal.Zero, RealizedPnl: dec("10")}, // closed: not shown
		},
	}
	f.wallets[addrB] = store.WalletView{Wallet: addrB, N: 3}
	return f
}

func newTestRouter(t *testing.T, f *fakeReader, mod func(*Config)) (*Router, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	cfg := Config{
		Reader:  f,
		Now:     func() time.Time { return t0 },
		Logger:  slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		BotName: "@CoatTailBot",
	}
	if mod != nil {
		mod(&cfg)
	}
	r, err := NewRouter(cfg)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	return r, &logs
}

func ask(r *Router, text string, admin bool) Reply {
	return r.Handle(context.Background(), Request{Platform: "test", UserID: "u1", ChatID: "c1", Text: text, IsAdmin: admin})
}

func TestHandleReplies(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		admin   bool
		kind    Kind
		want    []string // substrings of reply.String()
		notWant []string
		zero    bool
	}{
		{name: "empty", text: "   ", zero: true},
		{name: "not a command", text: "hello bot", kind: KindHint, want: []string{"Commands start with / — try /help"}},
		{name: "bare slash", text: "/", kind: KindHint, want: []string{"try /help"}},
		{name: "start", text: "/start", want: []string{"Welcome to Coat Tail Capital", "/leaderboard", "/wallet <address>", "/help"}},
		{name: "start deep link payload", text: "/start ref_42", want: []string{"Welcome"}},
		{name: "case-insensitive with bot name", text: "/START@coattailbot", want: []string{"Welcome"}},
		{name: "addressed to another bot", text: "/start@OtherBot", zero: true},
		{name: "help lists only implemented commands", text: "/help",
			want:    []string{"Commands", "/start — ", "/help [command] — ", "/leaderboard [limit] or <window> [page] — ", "/wallet <address> — "},
			notWant: []string{"/follow", "/unfollow", "/following", "/whales", "/signals", "/settings", "/papertrade", "/paper", "/risk", "/halt", "/resume", "Admin"}},
		{name: "help for one command", text: "/help /Wallet", want: []string{"/wallet\n", "Usage: /wallet <address>", "Example: /wallet " + addrA}},
		{name: "help for unknown command", text: "/help walet", kind: KindUnknown, want: []string{"Unknown command /walet. Did you mean /wallet?"}},
		{name: "help too many args", text: "/help a b", kind: KindUsage, want: []string{"/help takes at most 1 argument.", "Usage: /help [command]"}},
		{name: "typo suggests", text: "/leaderbord", kind: KindUnknown,
			want: []string{"Unknown command /leaderbord. Did you mean /leaderboard?\n/help lists every command."}},
		{name: "transposition suggests", text: "/hlep", kind: KindUnknown, want: []string{"Did you mean /help?"}},
		{name: "stem suggests", text: "/lead", kind: KindUnknown, want: []string{"Did you mean /leaderboard?"}},
		{name: "nothing close", text: "/xyzzy", kind: KindUnknown, want: []string{"Unknown command /xyzzy.\n/help lists every command."}, notWant: []string{"Did you mean"}},
		{name: "unimplemented follow is unknown", text: "/follow " + addrA, kind: KindUnknown, want: []string{"Unknown command /follow.", "/help lists every command."}},
		{name: "unimplemented halt is unknown even for admins", text: "/halt", admin: true, kind: KindUnknown, want: []string{"Unknown command /halt."}},
		{name: "long unknown name is cut", text: "/" + strings.Repeat("z", 100), kind: KindUnknown, want: []string{"/" + strings.Repeat("z", 32) + "…."}},
		{name: "wallet without address", text: "/wallet", kind: KindUsage,
			want: []string{"/wallet needs more arguments.\nUsage: /wallet <address>\nExample: /wallet 0x51f63885534cb494f4592a0311551f369bff2b39"}},
		{name: "wallet with two args", text: "/wallet " + addrA + " x", kind: KindUsage, want: []string{"takes at most 1 argument", "Usage: /wallet <address>"}},
		{name: "wallet short address", text: "/wallet 0x123", kind: KindUsage,
			want: []string{`"0x123" is not a wallet address: want 0x followed by 40 hex digits.`, "Example: /wallet " + addrA}},
		{name: "wallet non-hex", text: "/wallet 0x51f63885534cb494f4592a0311551f369bff2bzz", kind: KindUsage, want: []string{"not a wallet address", "hex digits"}},
		{name: "wallet bad checksum", text: "/wallet 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", kind: KindUsage,
			want: []string{"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD has a bad EIP-55 checksum", "may be mistyped", "Usage: /wallet <address>"}},
		{name: "wallet good checksum", text: "/wallet 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", want: []string{"Wallet " + addrB, "PnL rank: not ranked", "No open positions."}},
		{name: "wallet upper case", text: "/wallet 0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", want: []string{"Wallet " + addrB}},
		{name: "wallet unknown", text: "/wallet 0x0000000000000000000000000000000000000001", kind: KindNotFound,
			want: []string{"No data for wallet 0x0000000000000000000000000000000000000001 yet"}},
		{name: "leaderboard bad limit", text: "/leaderboard 51", kind: KindUsage, want: []string{"between 1 and 50", "Usage: /leaderboard [limit] or <window> [page]", "Example: /leaderboard 20"}},
		{name: "leaderboard zero limit", text: "/leaderboard 0", kind: KindUsage, want: []string{"between 1 and 50"}},
		{name: "leaderboard negative limit", text: "/leaderboard -5", kind: KindUsage, want: []string{"between 1 and 50"}},
		{name: "leaderboard huge limit", text: "/leaderboard 99999999999999999999999", kind: KindUsage, want: []string{"between 1 and 50"}},
		{name: "leaderboard limit then more", text: "/leaderboard 20 2", kind: KindUsage, want: []string{"/leaderboard all 2"}},
		{name: "leaderboard unknown window", text: "/leaderboard 1y", kind: KindUsage, want: []string{`Unknown window "1y"; choose from: all.`}},
		{name: "leaderboard bad page", text: "/leaderboard all two", kind: KindUsage, want: []string{"page must be a number between 1 and 1000"}},
		{name: "leaderboard page past end", text: "/leaderboard all 3", kind: KindNotFound, want: []string{"Nothing on page 3"}},
		{name: "leaderboard too many args", text: "/leaderboard all 2 3", kind: KindUsage, want: []string{"at most 2 arguments"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newTestRouter(t, fixtureReader(), nil)
			got := ask(r, tt.text, tt.admin)
			if tt.zero {
				if !got.IsZero() {
					t.Fatalf("want no reply, got %q", got)
				}
				return
			}
			if got.IsZero() {
				t.Fatal("got no reply")
			}
			if got.Kind != tt.kind {
				t.Errorf("kind = %v, want %v; reply:\n%s", got.Kind, tt.kind, got)
			}
			s := got.String()
			for _, w := range tt.want {
				if !strings.Contains(s, w) {
					t.Errorf("reply lacks %q:\n%s", w, s)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(s, w) {
					t.Errorf("reply has %q:\n%s", w, s)
				}
			}
		})
	}
}

func TestBadChecksumDoesNotQueryStore(t *testing.T) {
	f := fixtureReader()
	r, _ := newTestRouter(t, f, nil)
	ask(r, "/wallet 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", false)
	ask(r, "/wallet 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", false)
	_, lookups := f.calls()
	if len(lookups) != 1 || lookups[0] != addrB {
		t.Fatalf("lookups = %q, want only the valid address in lowercase", lookups)
	}
}

func TestLeaderboardQueries(t *testing.T) {
	tests := []struct {
		text string
		want store.LeaderboardQuery
	}{
		{"/leaderboard", store.LeaderboardQuery{Limit: 10, Offset: 0, Window: "all"}},
		{"/leaderboard 20", store.LeaderboardQuery{Limit: 20, Offset: 0, Window: "all"}},
		{"/leaderboard 50", store.LeaderboardQuery{Limit: 50, Offset: 0, Window: "all"}},
		{"/leaderboard ALL", store.LeaderboardQuery{Limit: 10, Offset: 0, Window: "all"}},
		{"/leaderboard all 2", store.LeaderboardQuery{Limit: 10, Offset: 10, Window: "all"}},
		{"/leaderboard 7d 2", store.LeaderboardQuery{Limit: 10, Offset: 10, Window: "7d"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			f := fixtureReader()
			r, _ := newTestRouter(t, f, func(c *Config) { c.Windows = []string{"all", "24h", "7d"} })
			if got := ask(r, tt.text, false); got.Kind != KindInfo {
				t.Fatalf("kind %v, reply:\n%s", got.Kind, got)
			}
			qs, _ := f.calls()
			if len(qs) != 1 || qs[0] != tt.want {
				t.Fatalf("queries = %+v, want [%+v]", qs, tt.want)
			}
		})
	}
}

func TestLeaderboardRendering(t *testing.T) {
	r, _ := newTestRouter(t, fixtureReader(), nil)
	got := ask(r, "/leaderboard 3", false)
	wantLines := []string{
		"Top wallets — all time",
		"#  wallet             score    n",
		"1  0x51f6…2b39  +$1,700,000  100",
		"2  0x0000…c002    +$700,000  200",
		"3  0x0000…c003    +$366,666  300",
		"score: realized + unrealized PnL net of fees, in USD; n: observations behind it.",
	}
	if s := got.String(); s != strings.Join(wantLines, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", s, strings.Join(wantLines, "\n"))
	}
	if got.Table == nil || len(got.Table.Rows) != 3 || got.Table.Rows[2][2] != "+$366,666" {
		t.Fatalf("table = %+v", got.Table)
	}

	// Default page size on a full page offers the next one; a page with a loss.
	got = ask(r, "/leaderboard all 1", false)
	s := got.String()
	for _, w := range []string{"10  0x0000…c00a    -$100,000  1,000", "Next page: /leaderboard all 2"} {
		if !strings.Contains(s, w) {
			t.Errorf("reply lacks %q:\n%s", w, s)
		}
	}
	got = ask(r, "/leaderboard all 2", false)
	s = got.String()
	if !strings.HasPrefix(s, "Top wallets — all time — page 2\n") || !strings.Contains(s, "12  0x0000…c00c  -$133,334  1,200") || strings.Contains(s, "Next page") {
		t.Errorf("page 2:\n%s", s)
	}
}

func TestLeaderboardEmpty(t *testing.T) {
	r, _ := newTestRouter(t, &fakeReader{}, nil)
	got := ask(r, "/leaderboard", false)
	if got.Kind != KindInfo || got.Table != nil || !strings.Contains(got.Text, "No ranked wallets yet — the book fills as events arrive.") {
		t.Fatalf("got %v:\n%s", got.Kind, got)
	}
}

func TestWalletRendering(t *testing.T) {
	r, _ := newTestRouter(t, fixtureReader(), nil)
	got := ask(r, "/wallet 0x51F63885534CB494F4592A0311551F369BFF2B39", false)
	s := got.String()
	for _, w := range []string{
		"Wallet " + addrA + "\nPnL rank: #1\nNet PnL: +$10,654.89 (after fees)\nRealized: +$12,345.68\nUnrealized: -$1,234.00\nFees: $456.78\nObservations: 1,234\nLast seen: 2025-11-20 09:00 UTC (3h ago)\nOpen positions: 3\n",
		"basis unknown: opened before the history we have",
	} {
		if !strings.Contains(s, w) {
			t.Errorf("reply lacks %q:\n%s", w, s)
		}
	}
	if strings.Contains(s, "SOL") {
		t.Errorf("closed position shown:\n%s", s)
	}
	wantRows := [][]string{
		{"BTC", "long", "0.75", "67,321.5", "65,000", "-$1,741.13"},
		{"ETH", "short", "12.5", "3,012.46", "2,950.1", "+$779.45"},
		{"PEPE", "long", "15,000,000", "?", "n/a", "basis unknown"},
	}
	if got.Table == nil || fmt.Sprint(got.Table.Rows) != fmt.Sprint(wantRows) {
		t.Fatalf("rows = %v, want %v", got.Table, wantRows)
	}
	wantTable := strings.Join([]string{
		"coin  side         size     entry     mark           uPnL",
		"BTC   long         0.75  67,321.5   65,000     -$1,741.13",
		"ETH   short        12.5  3,012.46  2,950.1       +$779.45",
		"PEPE  long   15,000,000         ?      n/a  basis unknown",
	}, "\n")
	if got := got.Table.String(); got != wantTable {
		t.Errorf("table:\n%s\nwant:\n%s", got, wantTable)
	}
}

func TestWalletManyPositionsCapped(t *testing.T) {
	f := fixtureReader()
	v := store.WalletView{Wallet: addrB}
	for i := range 30 {
		v.Positions = append(v.Positions, store.PositionView{Coin: fmt.Sprintf("C%02d", i), Size: decimal.NewFromInt(1)})
	}
	f.wallets[addrB] = v
	r, _ := newTestRouter(t, f, nil)
	got := ask(r, "/wallet "+addrB, false)
	if got.Table == nil || len(got.Table.Rows) != walletMaxPositions || !strings.Contains(got.Footer, "… and 5 more.") {
		t.Fatalf("got %d rows, footer %q", len(got.Table.Rows), got.Footer)
	}
}

// logLines decodes the JSON log lines the router wrote.
func logLines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		m := map[string]any{}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestHandlerFailuresApologizeAndLog(t *testing.T) {
	secret := errors.New("dial tcp 10.0.0.7:5432: connection refused (password=hunter2)")
	tests := []struct {
		name      string
		text      string
		reader    *fakeReader
		ctx       func() context.Context
		wantLevel string
		wantMsg   string
		command   string
	}{
		{name: "leaderboard store down", text: "/leaderboard", reader: &fakeReader{err: secret},
			wantLevel: "ERROR", wantMsg: "bot command failed", command: "leaderboard"},
		{name: "wallet store down", text: "/wallet " + addrA, reader: &fakeReader{err: secret},
			wantLevel: "ERROR", wantMsg: "bot command failed", command: "wallet"},
		{name: "handler panics", text: "/wallet " + addrA, reader: &fakeReader{panics: true},
			wantLevel: "ERROR", wantMsg: "bot command panicked", command: "wallet"},
		{name: "cancelled context", text: "/leaderboard", reader: &fakeReader{},
			ctx:       func() context.Context { c, cancel := context.WithCancel(context.Background()); cancel(); return c },
			wantLevel: "WARN", wantMsg: "bot command failed", command: "leaderboard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, logs := newTestRouter(t, tt.reader, nil)
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			got := r.Handle(ctx, Request{Platform: "test", UserID: "u9", Text: tt.text})
			want := "Sorry, something went wrong on our side while running /" + tt.command + ". Please try again in a moment."
			if got.Kind != KindError || got.String() != want {
				t.Fatalf("reply %v %q, want %q", got.Kind, got, want)
			}
			lines := logLines(t, logs)
			if len(lines) != 1 {
				t.Fatalf("want 1 log line, got %d: %s", len(lines), logs)
			}
			l := lines[0]
			if l["level"] != tt.wantLevel || l["msg"] != tt.wantMsg || l["command"] != tt.command || l["user"] != "u9" || l["platform"] != "test" {
				t.Errorf("log = %v", l)
			}
			if tt.reader.err != nil && !strings.Contains(fmt.Sprint(l["err"]), "hunter2") {
				t.Errorf("log lacks the cause: %v", l)
			}
		})
	}
}

func TestUsageErrorFromCustomHandler(t *testing.T) {
	r, logs := newTestRouter(t, &fakeReader{}, nil)
	r.Register(Command{Name: "echo", Args: "<word>", Example: "/echo hi", MaxArgs: -1, Handler: func(_ context.Context, c Call) (Reply, error) {
		if len(c.Args) != 1 {
			return Reply{}, fmt.Errorf("echo: %w", Usagef("Give exactly one word, not %d.", len(c.Args)))
		}
		return Reply{Text: c.Args[0]}, nil
	}})
	if got := ask(r, "/echo a b", false); got.Kind != KindUsage || got.Text != "Give exactly one word, not 2.\nUsage: /echo <word>\nExample: /echo hi" {
		t.Fatalf("got %v %q", got.Kind, got.Text)
	}
	if got := ask(r, "/Echo@CoatTailBot hi", false); got.Text != "hi" {
		t.Fatalf("got %q", got.Text)
	}
	if logs.Len() != 0 {
		t.Errorf("usage errors must not be logged as failures: %s", logs)
	}
}

// TestLaterCommandsPlugIn adds commands the way later features will, without
// touching the router: a user command and admin commands.
func TestLaterCommandsPlugIn(t *testing.T) {
	r, _ := newTestRouter(t, fixtureReader(), nil)
	var followed []string
	r.Register(Command{Name: "follow", Args: "<address> [label]", Summary: "alerts when a wallet moves", MinArgs: 1, MaxArgs: -1,
		Handler: func(_ context.Context, c Call) (Reply, error) {
			addr, err := ParseAddress(c.Args[0])
			if err != nil {
				return Reply{}, &UsageError{Reason: err.Error(), Err: err}
			}
			followed = append(followed, c.Platform+"/"+c.ChatID+"/"+addr+"/"+strings.Join(c.Args[1:], " "))
			return Reply{Text: "Following " + ShortAddress(addr)}, nil
		}})
	halted := false
	r.Register(Command{Name: "halt", Summary: "stop all paper trading", Admin: true,
		Handler: func(context.Context, Call) (Reply, error) { halted = true; return Reply{Text: "Halted."}, nil }})

	if got := ask(r, "/follow "+addrA+" big fish", false); got.Text != "Following 0x51f6…2b39" {
		t.Fatalf("follow: %v %q", got.Kind, got)
	}
	if want := "test/c1/" + addrA + "/big fish"; len(followed) != 1 || followed[0] != want {
		t.Fatalf("followed = %q, want %q", followed, want)
	}

	got := ask(r, "/halt", false)
	if got.Kind != KindDenied || got.Text != "/halt is for admins only." || halted {
		t.Fatalf("non-admin halt: %v %q, halted=%v", got.Kind, got, halted)
	}
	if got := ask(r, "/halt", true); got.Text != "Halted." || !halted {
		t.Fatalf("admin halt: %q", got)
	}

	user := ask(r, "/help", false).String()
	admin := ask(r, "/help", true).String()
	if !strings.Contains(user, "/follow <address> [label] — alerts when a wallet moves") || strings.Contains(user, "/halt") || strings.Contains(user, "Admin") {
		t.Errorf("user help:\n%s", user)
	}
	if !strings.Contains(admin, "\n\nAdmin:\n/halt — stop all paper trading") {
		t.Errorf("admin help:\n%s", admin)
	}
	if got := ask(r, "/help halt", false).String(); !strings.Contains(got, "For admins only.") {
		t.Errorf("help halt:\n%s", got)
	}
	// Suggestions only name commands the user may run.
	if got := ask(r, "/hal", false).String(); strings.Contains(got, "/halt") {
		t.Errorf("non-admin suggestion leaks /halt: %s", got)
	}
	if got := ask(r, "/hal", true).String(); !strings.Contains(got, "Did you mean /halt?") {
		t.Errorf("admin suggestion: %s", got)
	}
	if got := ask(r, "/folow", false).String(); !strings.Contains(got, "Did you mean /follow?") {
		t.Errorf("follow suggestion: %s", got)
	}

	names := func(cs []Command) (out []string) {
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	if got := fmt.Sprint(names(r.Commands(false))); got != "[start help leaderboard wallet follow]" {
		t.Errorf("Commands(false) = %s", got)
	}
	if got := fmt.Sprint(names(r.Commands(true))); got != "[start help leaderboard wallet follow halt]" {
		t.Errorf("Commands(true) = %s", got)
	}
}

func TestRegisterPanics(t *testing.T) {
	h := func(context.Context, Call) (Reply, error) { return Reply{}, nil }
	tests := map[string]Command{
		"duplicate":     {Name: "wallet", Handler: h},
		"empty name":    {Name: "", Handler: h},
		"upper case":    {Name: "Follow", Handler: h},
		"slash":         {Name: "/follow", Handler: h},
		"too long":      {Name: strings.Repeat("a", 33), Handler: h},
		"nil handler":   {Name: "follow"},
		"bad arg range": {Name: "follow", MinArgs: 2, MaxArgs: 1, Handler: h},
	}
	for name, c := range tests {
		t.Run(name, func(t *testing.T) {
			r, _ := newTestRouter(t, &fakeReader{}, nil)
			defer func() {
				if recover() == nil {
					t.Fatal("Register did not panic")
				}
			}()
			r.Register(c)
		})
	}
}

func TestNewRouterValidates(t *testing.T) {
	tests := map[string]Config{
		"no reader":        {},
		"negative per":     {Reader: &fakeReader{}, RateLimit: RateLimit{Per: -time.Second}},
		"negative timeout": {Reader: &fakeReader{}, HandlerTimeout: -1},
		"numeric window":   {Reader: &fakeReader{}, Windows: []string{"all", "20"}},
		"upper window":     {Reader: &fakeReader{}, Windows: []string{"ALL"}},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			if r, err := NewRouter(cfg); err == nil || r != nil {
				t.Fatalf("NewRouter = %v, %v; want an error", r, err)
			}
		})
	}
	if _, err := NewRouter(Config{Reader: &fakeReader{}}); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	now := t0
	r, _ := newTestRouter(t, fixtureReader(), func(c *Config) {
		c.Now = func() time.Time { return now }
		c.RateLimit = RateLimit{Commands: 3, Per: 10 * time.Second}
	})
	send := func(user, text string) Reply {
		return r.Handle(context.Background(), Request{Platform: "telegram", UserID: user, Text: text})
	}
	for i := range 3 {
		if got := send("alice", "/start"); got.Kind != KindInfo {
			t.Fatalf("message %d: %v %q", i, got.Kind, got)
		}
	}
	got := send("alice", "/start")
	// One token refills in 10s/3 = 3.34s, rounded up.
	if got.Kind != KindSlowDown || got.Text != "Slow down a little: that is a lot of commands at once. You can send the next one in 4 s." {
		t.Fatalf("4th message: %v %q", got.Kind, got)
	}
	// Told once; more messages while throttled get no reply at all, and
	// non-commands count too.
	if got := send("alice", "/help"); !got.IsZero() {
		t.Fatalf("5th message: %q", got)
	}
	if got := send("alice", "hello"); !got.IsZero() {
		t.Fatalf("6th message: %q", got)
	}
	// Other users, and the same user id on another platform, are separate.
	if got := send("bob", "/start"); got.Kind != KindInfo {
		t.Fatalf("bob: %v", got.Kind)
	}
	if got := r.Handle(context.Background(), Request{Platform: "discord", UserID: "alice", Text: "/start"}); got.Kind != KindInfo {
		t.Fatalf("alice on discord: %v", got.Kind)
	}
	now = now.Add(3 * time.Second)
	if got := send("alice", "/start"); !got.IsZero() {
		t.Fatalf("after 3s, still throttled and already told: %v %q", got.Kind, got)
	}
	now = now.Add(400 * time.Millisecond)
	if got := send("alice", "/start"); got.Kind != KindInfo {
		t.Fatalf("after 3.4s: %v %q", got.Kind, got)
	}
	if got := send("alice", "/start"); got.Kind != KindSlowDown {
		t.Fatalf("bucket empty again, warned anew: %v %q", got.Kind, got)
	}
	now = now.Add(time.Hour)
	for i := range 3 {
		if got := send("alice", "/start"); got.Kind != KindInfo {
			t.Fatalf("after an hour, message %d: %v", i, got.Kind)
		}
	}
}

func TestRateLimitDisabled(t *testing.T) {
	r, _ := newTestRouter(t, fixtureReader(), func(c *Config) { c.RateLimit.Commands = -1 })
	for i := range 200 {
		if got := ask(r, "/start", false); got.Kind != KindInfo {
			t.Fatalf("message %d: %v", i, got.Kind)
		}
	}
}

func TestLimiterSweepsIdleBuckets(t *testing.T) {
	l := newLimiter(RateLimit{Commands: 2, Per: time.Second})
	for i := range minSweep - 1 {
		l.allow(fmt.Sprint("u", i), t0)
	}
	half := t0.Add(500 * time.Millisecond)
	l.allow("busy", half)
	l.allow("busy", half) // "busy" is now empty
	if len(l.buckets) != minSweep {
		t.Fatalf("before sweep: %d buckets", len(l.buckets))
	}
	// A new key at t0+1s finds the map full and sweeps the refilled buckets;
	// "busy" has refilled only one of its two tokens and stays.
	l.allow("new", t0.Add(time.Second))
	if _, ok := l.buckets["busy"]; !ok || len(l.buckets) != 2 {
		t.Fatalf("after sweep: %d buckets, busy kept=%v", len(l.buckets), ok)
	}
	// The kept bucket was not reset by the sweep: it refilled 1 token in 0.5s.
	if ok, _, _ := l.allow("busy", t0.Add(time.Second)); !ok {
		t.Fatal("busy should have one token")
	}
	if ok, _, _ := l.allow("busy", t0.Add(time.Second)); ok {
		t.Fatal("busy should be empty")
	}
}

func TestHandleConcurrent(t *testing.T) {
	r, _ := newTestRouter(t, fixtureReader(), func(c *Config) { c.RateLimit.Commands = 1000 })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				text := []string{"/leaderboard", "/wallet " + addrA, "/help", "/nope"}[i%4]
				got := r.Handle(context.Background(), Request{Platform: "test", UserID: fmt.Sprint(g), Text: text})
				if got.IsZero() || got.Kind == KindError {
					t.Errorf("%s: %v %q", text, got.Kind, got)
				}
			}
		})
	}
	wg.Wait()
}

func TestParse(t *testing.T) {
	tests := []struct {
		text   string
		isCmd  bool
		name   string
		target string
		args   string
	}{
		{"/help", true, "help", "", "[]"},
		{"/HeLp@CoatTailBot", true, "help", "CoatTailBot", "[]"},
		{"/wallet   0xAB \t x\ny", true, "wallet", "", "[0xAB x y]"},
		{"/start@", true, "start", "", "[]"},
		{"help", false, "", "", "[]"},
		{"/", false, "", "", "[]"},
		{"/@bot", false, "", "", "[]"},
		{"hi /help", false, "", "", "[]"},
	}
	for _, tt := range tests {
		p, isCmd := parse(tt.text)
		if isCmd != tt.isCmd || p.name != tt.name || p.target != tt.target || fmt.Sprint(p.args) != tt.args {
			t.Errorf("parse(%q) = %+v, %v", tt.text, p, isCmd)
		}
	}
}

func BenchmarkHandleLeaderboard(b *testing.B) {
	r, err := NewRouter(Config{Reader: fixtureReader(), RateLimit: RateLimit{Commands: -1}})
	if err != nil {
		b.Fatal(err)
	}
	req := Request{Platform: "bench", UserID: "u", Text: "/leaderboard"}
	for b.Loop() {
		if r.Handle(context.Background(), req).Table == nil {
			b.Fatal("no table")
		}
	}
}
