package telegram

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/shopspring/decimal"

	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
)

const (
	addrA = "0x51f63885534cb494f4592a0311551f369bff2b39"
	addrB = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed" // EIP-55: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
)

var (
	alice = chat{id: 7, kind: "private"} // user 7's private chat with the bot
	bob   = chat{id: 8, kind: "private"}
	group = chat{id: -1001234, kind: "supergroup"}
)

// leaders is a Reader over a fixed leaderboard.
type leaders []store.LeaderRow

func (l leaders) Leaderboard(_ context.Context, q store.LeaderboardQuery) ([]store.LeaderRow, error) {
	if q.Offset >= len(l) {
		return nil, nil
	}
	return l[q.Offset:min(len(l), q.Offset+q.Limit)], nil
}

func (l leaders) Wallet(context.Context, string) (store.WalletView, error) {
	return store.WalletView{}, store.ErrNotFound
}

func newRouter(t *testing.T) *bot.Router {
	t.Helper()
	r, err := bot.NewRouter(bot.Config{
		Reader: leaders{
			{Rank: 1, Wallet: addrA, Score: decimal.RequireFromString("1234567.89"), N: 4210},
			{Rank: 2, Wallet: addrB, Score: decimal.RequireFromString("-8765.4"), N: 37},
		},
		Now:       func() time.Time { return time.Date(2025, 11, 20, 12, 0, 0, 0, time.UTC) },
		RateLimit: bot.RateLimit{Commands: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// lockedBuffer is a log sink the test can read while the bot writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// sleeps records the waits the bot asks for and returns at once.
type sleeps struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.ds = append(s.ds, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.ds...)
}

// running is a Bot running against a fake API.
type running struct {
	bot    *Bot
	logs   *lockedBuffer
	sleeps *sleeps
	cancel context.CancelFunc
	done   chan error

	once sync.Once
	err  error
}

func startBot(t *testing.T, f *fakeAPI, r *bot.Router, mod func(*Config)) *running {
	t.Helper()
	run := &running{logs: &lockedBuffer{}, sleeps: &sleeps{}, done: make(chan error, 1)}
	cfg := Config{
		Token:       testToken,
		APIEndpoint: f.endpoint(),
		HTTPClient:  f.srv.Client(),
		Logger:      slog.New(slog.NewTextHandler(run.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Sleep:       run.sleeps.sleep,
	}
	if mod != nil {
		mod(&cfg)
	}
	b, err := New(cfg, r)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	run.bot = b
	ctx, cancel := context.WithCancel(context.Background())
	run.cancel = cancel
	go func() { run.done <- b.Run(ctx) }()
	t.Cleanup(func() {
		if err := run.stop(t); err != nil {
			t.Errorf("Run: %v", err)
		}
		if logs := run.logs.String(); strings.Contains(logs, testToken) || strings.Contains(logs, testToken[10:]) {
			t.Errorf("the token leaked into the logs:\n%s", logs)
		}
	})
	return run
}

// stop cancels Run and returns its result.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case r.err = <-r.done:
		case <-time.After(10 * time.Second):
			r.err = errors.New("Run did not return after its context was cancelled")
		}
	})
	return r.err
}

// shown is what Telegram displays for a sent message: its HTML parsed.
func shown(t *testing.T, m sentMessage) string {
	t.Helper()
	s, err := htmlText(m.Text)
	if err != nil {
		t.Fatalf("invalid HTML %v:\n%s", err, m.Text)
	}
	return s
}

func ask(r *bot.Router, user, chatID, text string) bot.Reply {
	return r.Handle(context.Background(), bot.Request{Platform: Platform, UserID: user, ChatID: chatID, Text: text})
}

func TestHelpAndLeaderboardReachTheChatAsHTML(t *testing.T) {
	f := newFakeAPI(t, testToken)
	r := newRouter(t)
	f.push(alice, 7, false, "/help")
	f.push(alice, 7, false, "/leaderboard")
	startBot(t, f, r, nil)

	help := f.next(t)
	if help.ChatID != 7 || help.ParseMode != "HTML" || help.ReplyTo != 0 {
		t.Fatalf("/help went to chat %d, mode %q, reply to %d; want chat 7, HTML, no reply-to", help.ChatID, help.ParseMode, help.ReplyTo)
	}
	for _, want := range []string{"<b>Commands</b>\n/start — ", "\n/wallet &lt;address&gt; — ", "\n/leaderboard [limit] or &lt;window&gt; [page] — "} {
		if !strings.Contains(help.Text, want) {
			t.Errorf("/help HTML lacks %q:\n%s", want, help.Text)
		}
	}
	if got, want := shown(t, help), ask(r, "7", "7", "/help").String(); got != want {
		t.Errorf("/help shows\n%s\nwant the router's reply\n%s", got, want)
	}

	lb := f.next(t)
	wantHTML := "<b>Top wallets — all time</b>\n<pre>#  wallet             score      n\n" +
		"1  0x51f6…2b39  +$1,234,568  4,210\n2  0x5aae…eaed      -$8,765     37</pre>\n"
	if lb.ChatID != 7 || lb.ParseMode != "HTML" || !strings.HasPrefix(lb.Text, wantHTML) {
		t.Errorf("/leaderboard sent to %d (%s):\n%s\nwant to 7 (HTML), starting:\n%s", lb.ChatID, lb.ParseMode, lb.Text, wantHTML)
	}
	if got, want := shown(t, lb), ask(r, "7", "7", "/leaderboard").String(); got != want {
		t.Errorf("/leaderboard shows\n%s\nwant the router's reply\n%s", got, want)
	}

	_, refused, _, menus, calls := f.snapshot()
	if len(refused) > 0 {
		t.Errorf("Telegram refused: %v", refused)
	}
	if calls["getMe"] != 1 {
		t.Errorf("getMe called %d times, want 1", calls["getMe"])
	}
	if len(menus) != 1 {
		t.Fatalf("setMyCommands called %d times, want 1", len(menus))
	}
	var names []string
	for _, c := range menus[0] {
		names = append(names, c.Command)
	}
	if got := fmt.Sprint(names); got != "[start help leaderboard wallet]" {
		t.Errorf("menu %s", got)
	}
	if d := menus[0][1].Description; d != "[command] — every command, or the details of one" {
		t.Errorf("menu line for /help: %q", d)
	}
}

func TestAdminsComeFromConfig(t *testing.T) {
	f := newFakeAPI(t, testToken)
	r := newRouter(t)
	r.Register(bot.Command{Name: "halt", Summary: "stop paper trading", Admin: true,
		Handler: func(_ context.Context, c bot.Call) (bot.Reply, error) {
			return bot.Reply{Text: "Halted by " + c.UserID + " in " + c.ChatID + "."}, nil
		}})
	f.push(alice, 7, false, "/halt")
	f.push(bob, 8, false, "/halt")
	startBot(t, f, r, func(c *Config) { c.Admins = []string{"7"} })

	got := map[int64]string{}
	for range 2 {
		m := f.next(t)
		got[m.ChatID] = shown(t, m)
	}
	if got[7] != "Halted by 7 in 7." || got[8] != "/halt is for admins only." {
		t.Fatalf("replies %v", got)
	}
	_, _, _, menus, _ := f.snapshot()
	for _, c := range menus[0] {
		if c.Command == "halt" {
			t.Errorf("admin command /halt is in the public menu")
		}
	}
}

func TestFollowRoundTripThroughPostgres(t *testing.T) {
	st := testenv.Store(t)
	f := newFakeAPI(t, testToken)
	r := newRouter(t)
	bot.RegisterFollows(r, st, 0)
	f.push(alice, 7, false, "/follow 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed Big <Whale> & co")
	last, _ := f.push(alice, 7, false, "/following")
	startBot(t, f, r, nil)

	if m := f.next(t); m.ChatID != 7 || shown(t, m) != "Now following "+addrB+" (Big <Whale> & co).\n/following lists the wallets you follow." ||
		!strings.Contains(m.Text, "(Big &lt;Whale&gt; &amp; co)") {
		t.Fatalf("/follow reply to %d:\n%s", m.ChatID, m.Text)
	}
	list := f.next(t)
	since := time.Now().UTC().Format("2006-01-02")
	for _, want := range []string{"<b>Following 1 of 50 wallets</b>\n<pre>address", "\n" + addrB + "  Big &lt;Whale&gt; &amp; co  ", "</pre>\n/unfollow &lt;address&gt; stops following one."} {
		if !strings.Contains(list.Text, want) {
			t.Errorf("/following HTML lacks %q:\n%s", want, list.Text)
		}
	}
	if list.ChatID != 7 || !strings.Contains(shown(t, list), addrB+"  Big <Whale> & co  ") {
		t.Errorf("/following to %d shows:\n%s", list.ChatID, shown(t, list))
	}
	f.waitConfirmed(t, last+1)

	// In a group: commands only, and only those for this bot; the answer is threaded.
	f.push(group, 7, false, "gm everyone, /following is neat")
	f.push(group, 7, false, "/following@OtherBot")
	f.push(group, 55, true, "/following")
	_, groupMsg := f.push(group, 7, false, "/following@CoatTailBot")
	last, _ = f.push(group, 8, false, "/following")
	f.waitConfirmed(t, last+1)
	sent, refused, _, _, _ := f.snapshot()
	if len(refused) > 0 {
		t.Errorf("Telegram refused: %v", refused)
	}
	if len(sent) != 4 {
		t.Fatalf("%d messages sent in all, want 4 (2 private, 2 group):\n%+v", len(sent), sent)
	}
	mine, bobs := sent[2], sent[3]
	if mine.ReplyTo != groupMsg {
		mine, bobs = bobs, mine
	}
	if mine.ChatID != group.id || mine.ReplyTo != groupMsg || !strings.Contains(mine.Text, addrB) {
		t.Errorf("group /following@CoatTailBot: %+v", mine)
	}
	if bobs.ChatID != group.id || !strings.HasPrefix(shown(t, bobs), "You follow no wallets yet") {
		t.Errorf("group /following by user 8: %+v", bobs)
	}

	fs, err := st.Following(context.Background(), Platform, "7")
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Wallet != addrB || fs[0].Label != "Big <Whale> & co" || fs[0].Since.Format("2006-01-02") != since {
		t.Fatalf("stored follows of telegram user 7: %+v", fs)
	}
}

func TestFollowWithBadChecksumGetsAHelpfulError(t *testing.T) {
	f := newFakeAPI(t, testToken)
	r := newRouter(t)
	bot.RegisterFollows(r, testenv.Store(t), 0)
	f.push(alice, 7, false, "/follow 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD whale")
	startBot(t, f, r, nil)

	m := f.next(t)
	want := "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD has a bad EIP-55 checksum: the upper/lower case of its letters does not match, " +
		"so it may be mistyped; check it and paste it again.\nUsage: /follow <address> [label]\nExample: /follow " + addrA + " big whale"
	if got := shown(t, m); got != want {
		t.Fatalf("reply\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(m.Text, "Usage: /follow &lt;address&gt; [label]") {
		t.Fatalf("usage line not escaped: %s", m.Text)
	}
}

func TestFloodControlDelaysButLosesNothing(t *testing.T) {
	f := newFakeAPI(t, testToken)
	f.throttleSends, f.retryAfter = 3, 7
	r := newRouter(t)
	for _, text := range []string{"/start", "/help", "/leaderboard"} {
		f.push(alice, 7, false, text)
	}
	run := startBot(t, f, r, nil)

	for _, want := range []string{"Welcome to Coat Tail Capital", "Commands", "Top wallets"} {
		if m := f.next(t); !strings.HasPrefix(shown(t, m), want) {
			t.Fatalf("got %q, want a reply starting %q", shown(t, m), want)
		}
	}
	_, _, _, _, calls := f.snapshot()
	if calls["sendMessage"] != 6 {
		t.Errorf("sendMessage called %d times, want 3 refused + 3 delivered", calls["sendMessage"])
	}
	if got := run.sleeps.all(); !slices.Equal(got, []time.Duration{7 * time.Second, 7 * time.Second, 7 * time.Second}) {
		t.Errorf("waited %v, want retry_after (7s) three times", got)
	}
}

func TestLongReplyIsSplitOnLineBoundaries(t *testing.T) {
	f := newFakeAPI(t, testToken)
	r := newRouter(t)
	long := bot.Reply{Title: "Long <report> & more", Footer: "the end 🐋"}
	var text []string
	for i := range 150 {
		text = append(text, fmt.Sprintf("line %03d: a & b < c > d — %s", i, strings.Repeat("x", 20)))
	}
	long.Text = strings.Join(text, "\n")
	long.Table = &bot.Table{Columns: []bot.Column{{Name: "#", Right: true}, {Name: "wallet"}, {Name: "note"}}}
	for i := range 120 {
		long.Table.Rows = append(long.Table.Rows, []string{fmt.Sprint(i), addrA, "<&>🐋"})
	}
	r.Register(bot.Command{Name: "long", Handler: func(context.Context, bot.Call) (bot.Reply, error) { return long, nil }})
	last, _ := f.push(alice, 7, false, "/long")
	startBot(t, f, r, nil)
	f.waitConfirmed(t, last+1)

	sent, refused, _, _, _ := f.snapshot()
	if len(refused) > 0 {
		t.Fatalf("Telegram refused: %v", refused)
	}
	if len(sent) < 3 {
		t.Fatalf("%d messages, want the reply split into at least 3", len(sent))
	}
	var parts []string
	for i, m := range sent {
		if n := utf16Len(m.Text); m.ChatID != 7 || n > maxMessageLen {
			t.Errorf("part %d: chat %d, %d characters", i, m.ChatID, n)
		}
		parts = append(parts, shown(t, m))
	}
	if got, want := strings.Join(parts, "\n"), long.String(); got != want {
		t.Errorf("the parts do not add up to the reply:\n%s\nwant\n%s", got, want)
	}
	if !strings.HasPrefix(sent[0].Text, "<b>Long &lt;report&gt; &amp; more</b>\nline 000") {
		t.Errorf("first part starts %q", sent[0].Text[:60])
	}
}

func TestCancelStopsRunWhilePolling(t *testing.T) {
	f := newFakeAPI(t, testToken)
	run := startBot(t, f, newRouter(t), nil)
	select {
	case <-f.polling:
	case <-time.After(10 * time.Second):
		t.Fatal("the bot never started a long poll")
	}
	if err := run.stop(t); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}

// Cancelling in the middle of a batch confirms what was answered, so a restart
// answers only the rest.
func TestCancelMidBatchConfirmsOnlyWhatWasAnswered(t *testing.T) {
	f := newFakeAPI(t, testToken)
	r := newRouter(t)
	started := make(chan struct{})
	r.Register(bot.Command{Name: "slow", Handler: func(ctx context.Context, _ bot.Call) (bot.Reply, error) {
		close(started)
		<-ctx.Done()
		return bot.Reply{}, ctx.Err()
	}})
	// One chat, so /slow starts only once the reply to /start is through.
	first, _ := f.push(alice, 7, false, "/start")
	slow, _ := f.push(alice, 7, false, "/slow")
	run := startBot(t, f, r, nil)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("/slow never started")
	}
	if err := run.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	sent, _, offsets, _, _ := f.snapshot()
	if len(sent) != 1 {
		t.Errorf("sent %+v, want only the reply to /start", sent)
	}
	if !slices.Equal(offsets, []int{0, slow}) || slow != first+1 {
		t.Errorf("getUpdates offsets %v, want [0 %d]: the answered update confirmed, the unanswered one not", offsets, slow)
	}
}

func TestNetworkErrorsAreRetriedWithBackoff(t *testing.T) {
	f := newFakeAPI(t, testToken)
	f.breakMe, f.breakPolls = 1, 2
	f.push(alice, 7, false, "/start")
	run := startBot(t, f, newRouter(t), nil)
	if m := f.next(t); !strings.HasPrefix(shown(t, m), "Welcome") {
		t.Fatalf("reply %q", m.Text)
	}
	waits := run.sleeps.all()
	if len(waits) != 3 {
		t.Fatalf("waited %v, want 3 backoffs (getMe once, getUpdates twice)", waits)
	}
	// 1st failure of getMe; then the 1st and 2nd of getUpdates: 0.5 s doubling, jittered in the upper half.
	for i, max := range []time.Duration{500 * time.Millisecond, 500 * time.Millisecond, time.Second} {
		if waits[i] < max/2 || waits[i] > max {
			t.Errorf("wait %d = %v, want between %v and %v", i, waits[i], max/2, max)
		}
	}
	logs := run.logs.String()
	if strings.Count(logs, "poll for messages failed") != 2 || !strings.Contains(logs, "check the bot token failed") {
		t.Errorf("logs:\n%s", logs)
	}
	if !strings.Contains(logs, "/bot<token>/getUpdates") {
		t.Errorf("the failed URL should be logged with the token masked:\n%s", logs)
	}
}

func TestRevokedTokenEndsRun(t *testing.T) {
	f := newFakeAPI(t, "42:another-token-entirely-xxxxxxxxxxxx")
	b, err := New(Config{Token: testToken, APIEndpoint: f.endpoint(), HTTPClient: f.srv.Client()}, newRouter(t))
	if err != nil {
		t.Fatal(err)
	}
	err = b.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "Unauthorized") || strings.Contains(err.Error(), testToken) {
		t.Fatalf("Run = %v, want an Unauthorized error without the token", err)
	}
}

func TestSendToAChat(t *testing.T) {
	f := newFakeAPI(t, testToken)
	b, err := New(Config{Token: testToken, APIEndpoint: f.endpoint(), HTTPClient: f.srv.Client(), Sleep: (&sleeps{}).sleep}, newRouter(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.Send(ctx, "-1001234", bot.Reply{Title: "Alert", Text: "0x51f6… bought 10 ETH"}); err != nil {
		t.Fatal(err)
	}
	if m := f.next(t); m.ChatID != -1001234 || m.Text != "<b>Alert</b>\n0x51f6… bought 10 ETH" {
		t.Fatalf("sent %+v", m)
	}
	if err := b.Send(ctx, "@channel", bot.Reply{Text: "x"}); err == nil {
		t.Fatal("Send to a non-numeric chat id succeeded")
	}
	f.mu.Lock()
	f.throttleSends, f.retryAfter = 1, 0 // 429 without retry_after: backoff, then delivered
	f.mu.Unlock()
	if err := b.Send(ctx, "7", bot.Reply{Text: "after a 429 without retry_after"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(ctx, "7", bot.Reply{}); err != nil {
		t.Fatalf("an empty reply sends nothing and is no error: %v", err)
	}
	if m := f.next(t); m.Text != "after a 429 without retry_after" {
		t.Fatalf("sent %+v", m)
	}
}

// A refusal other than flood control is not retried: the reply is dropped and
// logged, and the next messages are answered.
func TestRefusedReplyIsDroppedNotRetried(t *testing.T) {
	f := newFakeAPI(t, testToken)
	f.blocked[8] = true
	f.push(bob, 8, false, "/start")
	last, _ := f.push(alice, 7, false, "/start")
	run := startBot(t, f, newRouter(t), nil)
	f.waitConfirmed(t, last+1)
	sent, refused, _, _, calls := f.snapshot()
	if len(sent) != 1 || sent[0].ChatID != 7 || calls["sendMessage"] != 2 || len(refused) != 1 {
		t.Fatalf("sent %+v after %d calls (refused %v); want one reply to chat 7 and one refusal, not retried", sent, calls["sendMessage"], refused)
	}
	if waits := run.sleeps.all(); len(waits) != 0 {
		t.Errorf("waited %v before giving up on a refusal", waits)
	}
	if logs := run.logs.String(); !strings.Contains(logs, "reply not delivered") || !strings.Contains(logs, "bot was blocked by the user") {
		t.Errorf("refusal not logged:\n%s", logs)
	}

	err := run.bot.Send(context.Background(), "8", bot.Reply{Text: "alert"})
	if te, ok := errors.AsType[*tgbotapi.Error](err); !ok || te.Code != http.StatusForbidden {
		t.Fatalf("Send to a blocked user = %v, want the API's 403", err)
	}
}

func TestRetryAfterErrorIsTyped(t *testing.T) {
	f := newFakeAPI(t, testToken)
	f.throttleSends, f.retryAfter = 100, 3
	s := &sleeps{}
	b, err := New(Config{Token: testToken, APIEndpoint: f.endpoint(), HTTPClient: f.srv.Client(), Sleep: s.sleep}, newRouter(t))
	if err != nil {
		t.Fatal(err)
	}
	err = b.Send(context.Background(), "7", bot.Reply{Text: "hi"})
	ra, ok := errors.AsType[*RetryAfterError](err)
	if !ok || ra.After != 3*time.Second || ra.Method != "sendMessage" {
		t.Fatalf("Send under endless flood control = %v, want a *RetryAfterError of 3s", err)
	}
	if n := len(s.all()); n != sendAttempts-1 {
		t.Fatalf("waited %d times, want %d (attempts - 1)", n, sendAttempts-1)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	r := newRouter(t)
	tests := []struct {
		name string
		cfg  Config
		r    *bot.Router
		want string
	}{
		{"no router", Config{Token: testToken}, nil, "bot.Router is required"},
		{"no token", Config{}, r, "Token is required"},
		{"token with a slash", Config{Token: "1:a/b"}, r, "characters a bot token never has"},
		{"endpoint without placeholders", Config{Token: testToken, APIEndpoint: "https://example.org/bot"}, r, "two %s"},
		{"endpoint not http", Config{Token: testToken, APIEndpoint: "ftp://example.org/bot%s/%s"}, r, "http or https"},
		{"sub-second poll", Config{Token: testToken, PollTimeout: time.Millisecond}, r, "at least 1s"},
		{"client timeout below the poll", Config{Token: testToken, HTTPClient: &http.Client{Timeout: 10 * time.Second}}, r, "must exceed PollTimeout"},
		{"username as admin", Config{Token: testToken, Admins: []string{"@alice"}}, r, "numeric Telegram user id"},
		{"negative workers", Config{Token: testToken, Workers: -1}, r, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, tt.r)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Fatalf("error carries the token: %v", err)
			}
		})
	}
	c := &http.Client{}
	b, err := New(Config{Token: testToken, HTTPClient: c, PollTimeout: 20 * time.Second}, r)
	if err != nil {
		t.Fatal(err)
	}
	if c.Timeout != 0 || b.http.Timeout != 35*time.Second {
		t.Fatalf("client timeouts: caller's %v (want untouched), bot's %v (want 35s)", c.Timeout, b.http.Timeout)
	}
}

func TestLibraryLoggerGoesToSlogWithTokensMasked(t *testing.T) {
	var buf bytes.Buffer
	l := libraryLogger{log: slog.New(slog.NewTextHandler(&buf, nil))}
	l.Println("Post", `"https://api.telegram.org/bot`+testToken+`/getUpdates":`, "EOF")
	l.Printf("Endpoint: %s, params: %v\n", "getMe", map[string]string{})
	out := buf.String()
	if strings.Contains(out, testToken[10:]) || !strings.Contains(out, "/bot<token>/getUpdates") || !strings.Contains(out, "component=tgbotapi") {
		t.Fatalf("logged:\n%s", out)
	}
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, `msg="Endpoint: getMe, params: map[]"`) {
		t.Fatalf("want two records without trailing newlines:\n%s", out)
	}
	if err := SetLibraryLogger(nil); err == nil {
		t.Fatal("SetLibraryLogger(nil) succeeded")
	}
}
