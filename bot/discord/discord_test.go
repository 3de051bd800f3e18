package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/coattailcapital/coattail/alert"
	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
)

const (
	walletA = "0x51f63885534cb494f4592a0311551f369bff2b39"
	walletB = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
)

// env is a Bot on the real router and store, talking to a fake Discord.
type env struct {
	fake *fakeDiscord
	st   *store.Store
	subs *pgSubscriptions
	bot  *Bot
	logs *testenv.SyncBuffer

	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func newEnv(t *testing.T, mod func(*Config, *fakeDiscord)) *env {
	t.Helper()
	st := testenv.Store(t)
	r, err := bot.NewRouter(bot.Config{Reader: st, RateLimit: bot.RateLimit{Commands: -1}})
	if err != nil {
		t.Fatal(err)
	}
	bot.RegisterFollows(r, st, 0)
	e := &env{fake: newFakeDiscord(t), st: st, logs: &testenv.SyncBuffer{}, done: make(chan error, 1)}
	e.subs = newPGSubscriptions(t, st.Pool())
	cfg := Config{
		Token:         testToken,
		APIBase:       e.fake.apiBase(),
		Admins:        []string{"1"},
		Subscriptions: e.subs,
		Logger:        slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Sleep:         shortSleep,
	}
	if mod != nil {
		mod(&cfg, e.fake)
	}
	e.bot, err = New(cfg, r)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := e.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
		if logs := e.logs.String(); strings.Contains(logs, testToken) || strings.Contains(logs, testToken[30:]) {
			t.Errorf("the token leaked into the logs:\n%s", logs)
		}
	})
	return e
}

// start runs the bot and waits until it registered its commands.
func (e *env) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.done <- e.bot.Run(ctx) }()
	e.fake.wait(t, "ready")
	e.fake.wait(t, "commands")
}

func (e *env) stop() error {
	var err error
	e.once.Do(func() {
		if e.cancel == nil {
			return
		}
		e.cancel()
		select {
		case err = <-e.done:
		case <-time.After(15 * time.Second):
			err = errors.New("Run did not return after its context was cancelled")
		}
	})
	return err
}

// lastCallback waits for the next interaction callback and returns it.
func (e *env) nextCallback(t *testing.T) callback {
	t.Helper()
	e.fake.wait(t, "callback")
	cbs := e.fake.snapshot().callbacks
	return cbs[len(cbs)-1]
}

func embedText(embeds []*discordgo.MessageEmbed) string {
	var b strings.Builder
	for _, e := range embeds {
		b.WriteString(e.Title + "\n" + e.Description + "\n")
		if e.Footer != nil {
			b.WriteString(e.Footer.Text + "\n")
		}
	}
	return b.String()
}

func findCommand(cmds []*discordgo.ApplicationCommand, name string) *discordgo.ApplicationCommand {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// The bot connects, registers its slash commands, and a /follow from a server
// member lands in Postgres and is answered in the interaction callback.
func TestSlashFollowIsStoredAndAnswered(t *testing.T) {
	e := newEnv(t, nil)
	e.start(t)

	s := e.fake.snapshot()
	if len(s.identifies) != 1 {
		t.Fatalf("%d identifies, want 1", len(s.identifies))
	}
	cmds := s.commands[0]
	follow := findCommand(cmds, "follow")
	if follow == nil || len(follow.Options) != 2 || follow.Options[0].Name != "address" || !follow.Options[0].Required ||
		follow.Options[1].Name != "label" || follow.Options[1].Required {
		t.Fatalf("/follow registered as %+v; want options address (required) and label", follow)
	}
	for _, name := range []string{"start", "help", "leaderboard", "wallet", "unfollow", "following", "alerts"} {
		if findCommand(cmds, name) == nil {
			t.Errorf("/%s not registered", name)
		}
	}
	alerts := findCommand(cmds, "alerts")
	if alerts == nil || alerts.DefaultMemberPermissions == nil || *alerts.DefaultMemberPermissions != discordgo.PermissionManageChannels {
		t.Errorf("/alerts registered as %+v; want default member permissions Manage Channels", alerts)
	}

	e.fake.dispatch(t, "INTERACTION_CREATE", slashInteraction("1001", "42", 0, "follow",
		opt("label", discordgo.ApplicationCommandOptionString, "big whale"),
		opt("address", discordgo.ApplicationCommandOptionString, walletA)))
	cb := e.nextCallback(t)
	if cb.InteractionID != "1001" || cb.Token != "tok-1001" || cb.Type != discordgo.InteractionResponseChannelMessageWithSource {
		t.Fatalf("callback %+v: want a message answer to interaction 1001", cb)
	}
	if cb.Data.Flags&discordgo.MessageFlagsEphemeral != 0 {
		t.Errorf("a successful /follow was answered privately")
	}
	if got := embedText(cb.Data.Embeds); !strings.Contains(got, "Now following "+walletA+" (big whale)") {
		t.Errorf("/follow answered %q", got)
	}
	fs, err := e.st.Following(context.Background(), Platform, "42")
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Wallet != walletA || fs[0].Label != "big whale" {
		t.Fatalf("follows of discord user 42: %+v; want %s labelled big whale", fs, walletA)
	}

	// A bad address is a private usage answer, and stores nothing.
	e.fake.dispatch(t, "INTERACTION_CREATE", slashInteraction("1002", "42", 0, "follow",
		opt("address", discordgo.ApplicationCommandOptionString, "0x1234")))
	cb = e.nextCallback(t)
	if cb.Data.Flags&discordgo.MessageFlagsEphemeral == 0 || !strings.Contains(embedText(cb.Data.Embeds), "Usage: /follow") {
		t.Errorf("bad address answered %+v: want a private usage reply", cb.Data)
	}
	if fs, _ := e.st.Following(context.Background(), Platform, "42"); len(fs) != 1 {
		t.Errorf("after a bad /follow the user follows %d wallets, want 1", len(fs))
	}

	// The table of /following arrives in a code block.
	e.fake.dispatch(t, "INTERACTION_CREATE", slashInteraction("1003", "42", 0, "following"))
	cb = e.nextCallback(t)
	if got := embedText(cb.Data.Embeds); !strings.Contains(got, "```\naddress") || !strings.Contains(got, walletA+"  big whale") {
		t.Errorf("/following answered %q: want the table in a code block", got)
	}
	if s := e.fake.snapshot(); s.heartbeats == 0 {
		// Heartbeats start with the connection; by now at least the first one went.
		t.Errorf("no heartbeat reached the gateway")
	}
}

// /alerts subscribe is refused to a member who may not manage the channel, and
// works for one who may; the subscribed channel then gets an alert from Send.
func TestAlertsSubscribeAndSend(t *testing.T) {
	e := newEnv(t, nil)
	e.start(t)
	ctx := context.Background()

	subscribe := subcommand("subscribe",
		opt("min_usd", discordgo.ApplicationCommandOptionNumber, 50000.0),
		opt("coins", discordgo.ApplicationCommandOptionString, "btc, eth"),
		opt("kinds", discordgo.ApplicationCommandOptionString, "followed_move consensus"))

	sendMessages := int64(discordgo.PermissionSendMessages | discordgo.PermissionViewChannel)
	e.fake.dispatch(t, "INTERACTION_CREATE", slashInteraction("2001", "43", sendMessages, "alerts", subscribe))
	cb := e.nextCallback(t)
	if cb.Data.Flags&discordgo.MessageFlagsEphemeral == 0 || !strings.Contains(embedText(cb.Data.Embeds), "Manage Channels") {
		t.Errorf("non-manager answered %q (flags %d): want a private refusal naming Manage Channels", embedText(cb.Data.Embeds), cb.Data.Flags)
	}
	if subs, err := e.subs.List(ctx, "500"); err != nil || len(subs) != 0 {
		t.Fatalf("after a refused subscribe: %v, %v; want no subscription", subs, err)
	}

	e.fake.dispatch(t, "INTERACTION_CREATE", slashInteraction("2002", "44", sendMessages|discordgo.PermissionManageChannels, "alerts", subscribe))
	cb = e.nextCallback(t)
	if got := embedText(cb.Data.Embeds); !strings.Contains(got, "now receives alerts: moves of at least $50,000 · coins BTC, ETH · kinds followed\\_move, consensus") {
		t.Errorf("subscribe answered %q", got)
	}
	subs, err := e.subs.List(ctx, "500")
	if err != nil || len(subs) != 1 {
		t.Fatalf("subscriptions: %v, %v; want one", subs, err)
	}
	sub := subs[0]
	if sub.ChannelID != "600" || sub.Filter.MinUSD != 50000 || strings.Join(sub.Filter.Coins, ",") != "BTC,ETH" ||
		strings.Join(sub.Filter.Kinds, ",") != "followed_move,consensus" || sub.Filter.Wallets != nil {
		t.Fatalf("stored subscription %+v", sub)
	}

	// An administrator may too, and /alerts list shows the channel.
	e.fake.dispatch(t, "INTERACTION_CREATE", slashInteraction("2003", "45", discordgo.PermissionAdministrator, "alerts", subcommand("list")))
	cb = e.nextCallback(t)
	if got := embedText(cb.Data.Embeds); !strings.Contains(got, "<#600>: moves of at least $50,000") {
		t.Errorf("list answered %q", got)
	}

	// The fan-out: alerts that pass the filter go to the channel, others do not.
	alerts := []struct {
		kind, wallet, coin string
		usd                float64
	}{
		{"followed_move", walletA, "BTC", 120000},
		{"followed_move", walletA, "SOL", 120000}, // coin filtered out
		{"consensus", walletB, "eth", 40000},      // too small
		{"anomaly", walletB, "ETH", 90000},        // kind filtered out
	}
	sent := 0
	for _, a := range alerts {
		if !sub.Filter.Matches(a.kind, a.wallet, a.coin, a.usd) {
			continue
		}
		err := e.bot.Send(ctx, sub.ChannelID, alert.Message{
			Reply: bot.Reply{Title: "Whale opened a long", Text: a.wallet + " bought " + a.coin + " for $120,000",
				Table: &bot.Table{Columns: []bot.Column{{Name: "coin"}, {Name: "usd", Right: true}}, Rows: [][]string{{a.coin, "120000"}}}},
			Buttons:  []alert.Button{{Text: "Unfollow", Data: "unfollow:" + a.wallet}, {Text: "Wallet", Data: "wallet:" + a.wallet}},
			PhotoPNG: []byte("\x89PNG fake"),
		})
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		sent++
	}
	if sent != 1 {
		t.Fatalf("%d alerts passed the filter, want 1", sent)
	}
	msgs := e.fake.snapshot().messages
	if len(msgs) != 1 || msgs[0].ChannelID != "600" {
		t.Fatalf("channel messages %+v: want one in channel 600", msgs)
	}
	m := msgs[0]
	if got := embedText(m.Embeds); !strings.Contains(got, "Whale opened a long") || !strings.Contains(got, walletA+" bought BTC") || !strings.Contains(got, "```\ncoin") {
		t.Errorf("alert embed %q", got)
	}
	if len(m.Components) != 1 || len(m.Components[0].Components) != 2 || m.Components[0].Components[0].CustomID != "unfollow:"+walletA {
		t.Errorf("alert components %+v: want one row with Unfollow and Wallet", m.Components)
	}
	if string(m.Files[photoName]) != "\x89PNG fake" || m.Embeds[0].Image == nil || m.Embeds[0].Image.URL != "attachment://"+photoName {
		t.Errorf("picture: files %v, image %+v", m.Files, m.Embeds[0].Image)
	}

	// Pressing Unfollow under the alert runs /unfollow for whoever pressed it.
	if _, err := e.st.Follow(ctx, Platform, "46", walletA, "", 10); err != nil {
		t.Fatal(err)
	}
	press := slashInteraction("2004", "46", 0, "")
	press["type"] = int(discordgo.InteractionMessageComponent)
	press["data"] = map[string]any{"custom_id": "unfollow:" + walletA, "component_type": int(discordgo.ButtonComponent)}
	e.fake.dispatch(t, "INTERACTION_CREATE", press)
	cb = e.nextCallback(t)
	if cb.Data.Flags&discordgo.MessageFlagsEphemeral == 0 || !strings.Contains(embedText(cb.Data.Embeds), "Stopped following "+walletA) {
		t.Errorf("button press answered %q (flags %d)", embedText(cb.Data.Embeds), cb.Data.Flags)
	}
	if fs, _ := e.st.Following(ctx, Platform, "46"); len(fs) != 0 {
		t.Errorf("after Unfollow user 46 still follows %+v", fs)
	}

	// Unsubscribe removes the row.
	e.fake.dispatch(t, "INTERACTION_CREATE", slashInteraction("2005", "44", discordgo.PermissionManageChannels, "alerts", subcommand("unsubscribe")))
	cb = e.nextCallback(t)
	if !strings.Contains(embedText(cb.Data.Embeds), "no longer receives alerts") {
		t.Errorf("unsubscribe answered %q", embedText(cb.Data.Embeds))
	}
	if subs, _ := e.subs.List(ctx, "500"); len(subs) != 0 {
		t.Errorf("after unsubscribe: %+v", subs)
	}

	// A storage failure is an apology, and logged.
	if _, err := e.st.Pool().Exec(ctx, `DROP TABLE discord_alert_channels`); err != nil {
		t.Fatal(err)
	}
	e.fake.dispatch(t, "INTERACTION_CREATE", slashInteraction("2006", "44", discordgo.PermissionManageChannels, "alerts", subscribe))
	cb = e.nextCallback(t)
	if cb.Data.Flags&discordgo.MessageFlagsEphemeral == 0 || !strings.Contains(embedText(cb.Data.Embeds), "went wrong on our side") {
		t.Errorf("storage failure answered %q", embedText(cb.Data.Embeds))
	}
	if !strings.Contains(e.logs.String(), "discord_alert_channels") {
		t.Errorf("the storage failure was not logged:\n%s", e.logs.String())
	}
}

// Send maps Discord's refusals: 429 to RateLimitedError with Discord's wait,
// lost access to ErrBlocked, anything else to a plain error.
func TestSendErrors(t *testing.T) {
	f := newFakeDiscord(t)
	r, err := bot.NewRouter(bot.Config{Reader: testenv.Store(t)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Token: testToken, APIBase: f.apiBase()}, r)
	if err != nil {
		t.Fatal(err)
	}
	msg := alert.Message{Reply: bot.Reply{Text: "alert"}}
	rateLimited := func(h http.Header, body string) throttle { return throttle{header: h, body: body} }
	tests := []struct {
		name      string
		throttle  *throttle
		refuse    *refusal
		wantWait  time.Duration
		wantBlock bool
	}{
		{name: "429 with a JSON retry_after", wantWait: 2500 * time.Millisecond, throttle: ptr(rateLimited(http.Header{
			"Content-Type": {"application/json"}, "Retry-After": {"3"}, "X-Ratelimit-Reset-After": {"2.5"}},
			`{"message":"You are being rate limited.","retry_after":2.5,"global":false}`))},
		{name: "429 with only X-RateLimit-Reset-After", wantWait: 1750 * time.Millisecond, throttle: ptr(rateLimited(http.Header{
			"X-Ratelimit-Reset-After": {"1.75"}, "Retry-After": {"2"}}, `<html>429 Too Many Requests</html>`))},
		{name: "429 with only Retry-After", wantWait: 3 * time.Second, throttle: ptr(rateLimited(http.Header{
			"Retry-After": {"3"}}, `<html>429 Too Many Requests</html>`))},
		{name: "unknown channel", wantBlock: true, refuse: &refusal{http.StatusNotFound, 10003, "Unknown Channel"}},
		{name: "missing access", wantBlock: true, refuse: &refusal{http.StatusForbidden, 50001, "Missing Access"}},
		{name: "server error", refuse: &refusal{http.StatusInternalServerError, 0, "Internal Server Error"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch := "90" + string(rune('0'+i)) // a bucket of its own per case
			f.mu.Lock()
			if tc.throttle != nil {
				f.throttle[ch] = *tc.throttle
			}
			if tc.refuse != nil {
				f.refuse[ch] = *tc.refuse
			}
			f.mu.Unlock()
			err := b.Send(context.Background(), ch, msg)
			rl, isRL := errors.AsType[*alert.RateLimitedError](err)
			switch {
			case tc.wantWait > 0:
				if !isRL || rl.RetryAfter != tc.wantWait {
					t.Fatalf("Send: %v; want RateLimitedError after %v", err, tc.wantWait)
				}
			case tc.wantBlock:
				if !errors.Is(err, alert.ErrBlocked) {
					t.Fatalf("Send: %v; want ErrBlocked", err)
				}
			default:
				if err == nil || isRL || errors.Is(err, alert.ErrBlocked) {
					t.Fatalf("Send: %v; want a plain error", err)
				}
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("the error carries the token: %v", err)
			}
		})
	}
	// A throttled channel takes the message once the wait is over; a direct
	// message goes to the DM channel Discord opens.
	if err := b.Send(context.Background(), "user:31", msg); err != nil {
		t.Fatalf("Send to a user: %v", err)
	}
	msgs := f.snapshot().messages
	if len(msgs) != 1 || msgs[0].ChannelID != "7731" {
		t.Fatalf("messages %+v: want one in the DM channel 7731", msgs)
	}
	if err := b.Send(context.Background(), "#general", msg); err == nil {
		t.Errorf("Send to a channel name succeeded; want an error")
	}
}

// shortSleep stands in for the backoff: retries happen at once, but a loop that
// keeps failing does not spin.
func shortSleep(ctx context.Context, _ time.Duration) error { return sleep(ctx, 10*time.Millisecond) }

// libraryLogs collects what discordgo logs in every test, to check for the token.
var libraryLogs testenv.SyncBuffer

func TestMain(m *testing.M) {
	if err := SetLibraryLogger(slog.New(slog.NewTextHandler(&libraryLogs, nil))); err != nil {
		panic(err)
	}
	code := m.Run()
	if strings.Contains(libraryLogs.String(), testToken) {
		println("FAIL: the token leaked into discordgo's logs")
		code = 1
	}
	os.Exit(code)
}

func ptr[T any](v T) *T { return &v }

// When the gateway drops the socket, the bot reconnects, resumes its session and
// keeps answering.
func TestReconnectAfterDrop(t *testing.T) {
	e := newEnv(t, nil)
	e.start(t)
	e.fake.drop()
	e.fake.wait(t, "resumed")
	s := e.fake.snapshot()
	if s.connections != 2 || len(s.resumes) != 1 || s.resumes[0]["session_id"] != "session-1" {
		t.Fatalf("after a drop: %d connections, resumes %v; want a second connection resuming session-1", s.connections, s.resumes)
	}
	e.fake.dispatch(t, "INTERACTION_CREATE", slashInteraction("3001", "42", 0, "help"))
	cb := e.nextCallback(t)
	if !strings.Contains(embedText(cb.Data.Embeds), "/follow") {
		t.Errorf("/help after the reconnect answered %q", embedText(cb.Data.Embeds))
	}
	if !strings.Contains(e.logs.String(), "reconnecting") {
		t.Errorf("the reconnect was not logged:\n%s", e.logs.String())
	}
}

// With AckAfter negative every interaction is acknowledged first and the answer
// edits the acknowledgement; a reply longer than one message continues in
// follow-ups.
func TestDeferredAnswerAndLongReply(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *fakeDiscord) { c.AckAfter = -1 })
	e.start(t)
	ctx := context.Background()
	// 50 follows make a /following table too long for one embed description.
	for i := range 50 {
		w := fmt.Sprintf("0x%040x", i+1)
		if _, err := e.st.Follow(ctx, Platform, "42", w, fmt.Sprintf("label number %02d of a long list", i), 100); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := e.st.Following(ctx, Platform, "42")
	if err != nil {
		t.Fatal(err)
	}
	e.fake.dispatch(t, "INTERACTION_CREATE", slashInteraction("4001", "42", 0, "following"))
	e.fake.wait(t, "edit")
	s := e.fake.snapshot()
	if len(s.callbacks) != 1 || s.callbacks[0].Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		t.Fatalf("callbacks %+v: want one deferred acknowledgement", s.callbacks)
	}
	if len(s.edits) != 1 || s.edits[0].Token != "tok-4001" {
		t.Fatalf("edits %+v: want the original response edited", s.edits)
	}
	all := s.edits[0].Embeds
	for _, fu := range s.followups {
		all = append(all, fu.Embeds...)
	}
	got := embedText(all)
	for _, f := range fs {
		if strings.Count(got, f.Wallet) != 1 {
			t.Errorf("wallet %s shown %d times; want once", f.Wallet, strings.Count(got, f.Wallet))
		}
	}
	if len(all) < 2 {
		t.Errorf("a %d-row table fit in %d embed(s); the test wants it split", len(fs), len(all))
	}
	for _, em := range all {
		if !strings.HasPrefix(em.Description, "```\naddress") || !strings.HasSuffix(em.Description, "\n```") {
			t.Errorf("table part does not repeat the header in its own code block:\n%s", em.Description)
		}
	}
}

// A token Discord refuses ends Run with an error instead of retrying forever.
func TestBadTokenEndsRun(t *testing.T) {
	f := newFakeDiscord(t)
	r, err := bot.NewRouter(bot.Config{Reader: testenv.Store(t)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Token: "wrong.token.value", APIBase: f.apiBase()}, r)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = b.Run(ctx)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Run with a bad token: %v; want a 401 error before the deadline", err)
	}
}

// Config.Gateway (COATTAIL_DISCORD_GATEWAY) wins over the URL the REST API
// names: here the API names a dead address, and the bot still connects.
func TestGatewayOverride(t *testing.T) {
	e := newEnv(t, func(c *Config, f *fakeDiscord) { c.Gateway = f.gatewayURL() })
	e.fake.mu.Lock()
	e.fake.advertised = "ws://127.0.0.1:1/"
	e.fake.mu.Unlock()
	e.start(t)
	e.fake.dispatch(t, "INTERACTION_CREATE", slashInteraction("5001", "42", 0, "start"))
	if cb := e.nextCallback(t); !strings.Contains(embedText(cb.Data.Embeds), "Welcome") {
		t.Errorf("/start answered %q", embedText(cb.Data.Embeds))
	}
}
