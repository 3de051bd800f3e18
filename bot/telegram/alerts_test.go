package telegram

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coattailcapital/coattail/alert"
	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
)

// alertEnv is a router on a real store, a bot on the fake API, and a dispatcher
// delivering through the bot's AlertSender.
type alertEnv struct {
	t   *testing.T
	f   *fakeAPI
	st  *store.Store
	run *running
	d   *alert.Dispatcher
}

func newAlertEnv(t *testing.T) *alertEnv {
	st := testenv.Store(t)
	as := alert.NewStore(st.Pool())
	r, err := bot.NewRouter(bot.Config{Reader: st, RateLimit: bot.RateLimit{Commands: -1}, Chats: as})
	if err != nil {
		t.Fatal(err)
	}
	bot.RegisterFollows(r, st, 0)
	bot.RegisterSettings(r, as)
	f := newFakeAPI(t, testToken)
	run := startBot(t, f, r, nil)
	d, err := alert.NewDispatcher(alert.Config{Pool: st.Pool(), Senders: []alert.Sender{run.bot.AlertSender()},
		Limits: map[string]alert.Limits{Platform: alert.TelegramLimits.Scaled(100)}, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &alertEnv{t: t, f: f, st: st, run: run, d: d}
}

// say sends a message as user in their private chat and waits for the answer.
func (e *alertEnv) say(user int64, text string) sentMessage {
	e.t.Helper()
	id, _ := e.f.push(chat{id: user, kind: "private"}, user, false, text)
	e.f.waitConfirmed(e.t, id+1)
	return e.f.next(e.t)
}

func (e *alertEnv) signal(s alert.Signal) {
	e.t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, e.st.Pool(), func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO signals (dedup_key, rule, wallet, coin, side, action, usd, price, confidence, ts)
			VALUES ($1, 'followed_move', $2, $3, 'long', 'open', $4, 3400, 0.9, $5) RETURNING id`,
			s.Coin+s.Wallet, s.Wallet, s.Coin, s.USD, time.Now()).Scan(&s.ID); err != nil {
			return err
		}
		s.Rule = alert.RuleFollowedMove
		return alert.Enqueue(ctx, tx, []alert.Signal{s})
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// drain runs dispatcher rounds until nothing is pending or due.
func (e *alertEnv) drain() {
	e.t.Helper()
	ctx := context.Background()
	for i := 0; i < 500; i++ {
		if _, err := e.d.Step(ctx); err != nil {
			e.t.Fatal(err)
		}
		var due int
		if err := e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM alert_outbox WHERE state = 'pending'`).Scan(&due); err != nil {
			e.t.Fatal(err)
		}
		if due == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond) // the scaled per-chat pacing (10 ms) must pass
	}
	e.t.Fatal("the outbox did not drain")
}

func (e *alertEnv) sentTo(chat int64) []sentMessage {
	sent, _, _, _, _ := e.f.snapshot()
	var out []sentMessage
	for _, m := range sent {
		if m.ChatID == chat {
			out = append(out, m)
		}
	}
	return out
}

func TestAlertToFollowerExactlyOnce(t *testing.T) {
	e := newAlertEnv(t)
	if m := e.say(7, "/follow "+addrA); !strings.Contains(m.Text, "Now following") {
		t.Fatalf("/follow answered %q", m.Text)
	}
	e.say(8, "/start") // user 8 talks to the bot but follows nothing
	e.signal(alert.Signal{Wallet: addrA, Coin: "ETH", USD: 250000})
	e.drain()
	e.drain() // a second pass finds nothing more to send
	got := e.sentTo(7)
	if len(got) != 2 { // the /follow answer and the alert
		t.Fatalf("user 7 got %d messages, want the /follow answer and one alert: %+v", len(got), got)
	}
	alertMsg := got[1]
	if _, err := htmlText(alertMsg.Text); err != nil || !strings.Contains(alertMsg.Text, "ETH") {
		t.Errorf("alert %q (%v)", alertMsg.Text, err)
	}
	if !strings.Contains(alertMsg.Text, `<a href="https://etherscan.io/address/`+addrA+`">`) {
		t.Errorf("alert does not link the wallet to an explorer: %q", alertMsg.Text)
	}
	if !strings.Contains(alertMsg.Markup, `"callback_data":"/unfollow `+addrA+`"`) {
		t.Errorf("alert keyboard = %q", alertMsg.Markup)
	}
	if n := len(e.sentTo(8)); n != 1 {
		t.Errorf("user 8 got %d messages, want only the /start answer", n)
	}
}

func TestAlertButtonUnfollows(t *testing.T) {
	e := newAlertEnv(t)
	e.say(7, "/follow "+addrA)
	id := e.f.pushCallback(chat{id: 7, kind: "private"}, 7, "cb1", "/unfollow "+addrA)
	e.f.waitConfirmed(t, id+1)
	m := e.f.next(t)
	if !strings.Contains(m.Text, "Stopped following") {
		t.Fatalf("button reply %q", m.Text)
	}
	e.f.mu.Lock()
	answered := append([]string(nil), e.f.answered...)
	e.f.mu.Unlock()
	if len(answered) != 1 || answered[0] != "cb1" {
		t.Errorf("answered callbacks %v", answered)
	}
	fs, err := e.st.Following(context.Background(), Platform, "7")
	if err != nil || len(fs) != 0 {
		t.Errorf("still following %v (%v)", fs, err)
	}
}

func TestAlert429BurstLosesNothing(t *testing.T) {
	e := newAlertEnv(t)
	for u := int64(10); u < 16; u++ {
		e.say(u, "/follow "+addrA)
	}
	e.f.mu.Lock()
	e.f.throttleSends, e.f.retryAfter = 2, 1
	e.f.mu.Unlock()
	e.signal(alert.Signal{Wallet: addrA, Coin: "BTC", USD: 1e6})
	e.drain()
	for u := int64(10); u < 16; u++ {
		if n := len(e.sentTo(u)); n != 2 {
			t.Errorf("user %d got %d messages, want the /follow answer and one alert", u, n)
		}
	}
}

func TestAlertBlockedChatDeactivated(t *testing.T) {
	e := newAlertEnv(t)
	e.say(7, "/follow "+addrA)
	e.f.mu.Lock()
	e.f.blocked[7] = true
	e.f.mu.Unlock()
	e.signal(alert.Signal{Wallet: addrA, Coin: "BTC", USD: 1})
	e.drain()
	active, err := alert.NewStore(e.st.Pool()).ChatActive(context.Background(), Platform, "7")
	if err != nil || active {
		t.Fatalf("chat active = %v (%v), want deactivated after 403", active, err)
	}
	// Writing to the bot again (unblocked) reactivates it.
	e.f.mu.Lock()
	e.f.blocked[7] = false
	e.f.mu.Unlock()
	e.say(7, "/following")
	if active, _ := alert.NewStore(e.st.Pool()).ChatActive(context.Background(), Platform, "7"); !active {
		t.Error("chat still inactive after the user wrote again")
	}
}

func TestWebhookVerifiesSecret(t *testing.T) {
	f := newFakeAPI(t, testToken)
	b, err := New(Config{Token: testToken, APIEndpoint: f.endpoint(), HTTPClient: f.srv.Client()}, newRouter(t))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "s3cret-s3cret-s3cret"
	if err := b.StartWebhook(context.Background(), "https://example.test/tg", secret); err != nil {
		t.Fatal(err)
	}
	if f.webhook["secret_token"] != secret || f.webhook["url"] != "https://example.test/tg" {
		t.Errorf("setWebhook got %v", f.webhook)
	}
	h := b.WebhookHandler(secret)
	update := `{"update_id":1,"message":{"message_id":5,"date":1,"from":{"id":7,"is_bot":false,"first_name":"A"},
		"chat":{"id":7,"type":"private"},"text":"/help","entities":[{"type":"bot_command","offset":0,"length":5}]}}`
	for _, tc := range []struct {
		secret string
		want   int
	}{{"", http.StatusUnauthorized}, {"wrong", http.StatusUnauthorized}, {secret, http.StatusOK}} {
		req := httptest.NewRequest(http.MethodPost, "/tg", bytes.NewBufferString(update))
		if tc.secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", tc.secret)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("secret %q: status %d, want %d", tc.secret, rec.Code, tc.want)
		}
	}
	sent, _, _, _, _ := f.snapshot()
	if len(sent) != 1 || !strings.Contains(sent[0].Text, "Commands") {
		t.Fatalf("want exactly one /help answer (the authorised call), got %+v", sent)
	}
}

func TestSendPhoto(t *testing.T) {
	f := newFakeAPI(t, testToken)
	b, err := New(Config{Token: testToken, APIEndpoint: f.endpoint(), HTTPClient: f.srv.Client()}, newRouter(t))
	if err != nil {
		t.Fatal(err)
	}
	png := bot.BarChartPNG([]string{"a", "b"}, []float64{3, -2})
	if err := b.AlertSender().Send(context.Background(), "7", alert.Message{Reply: bot.Reply{Text: "chart"}, PhotoPNG: png}); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.photos) != 1 || f.photos[0].ChatID != 7 || !bytes.Equal(f.photos[0].PNG, png) {
		t.Fatalf("photos %d", len(f.photos))
	}
}
